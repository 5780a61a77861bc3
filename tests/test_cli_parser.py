"""tinygen/cli_parser.py: the ``tinygen`` command's arguments (what each command does: tests/test_cli.py)."""
from __future__ import annotations

import argparse

import pytest

from tinygen import cli_parser
from tinygen.cli import COMMANDS, build_parser
from tinygen.models import model_kinds


@pytest.mark.parametrize("parse, good, bad", [(cli_parser.positive_int, "3", ["0", "-2", "x", "1.5"]),
                                               (cli_parser.nonneg_int, "0", ["-1", "x"]),
                                               (cli_parser.positive_float, "0.5", ["0", "-1", "inf", "x"]),
                                               (cli_parser.threads, "auto", ["0", "many"])])
def test_each_number_type_takes_what_it_says_and_names_what_it_expected(parse, good, bad):
    parse(good)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected .*, got {text!r}"):
            parse(text)


def test_every_command_has_a_parser_and_runs_its_function():
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    assert p.parse_args(["train", model_kinds()[0]]).func is COMMANDS["train"]
    assert p.parse_args(["info"]).func is COMMANDS["info"]
