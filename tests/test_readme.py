"""Every code block of README.md runs as written.

``python`` blocks are executed, each on its own (a reader copies one block, not the page), in a temporary
folder; a ``test_*`` function a block defines is called too. ``sh`` blocks install packages, train for
minutes or run the whole suite, so they are checked without being run: each must parse as shell (``bash -n``)
and each command in it must be one that works here: a ``tinygen`` command line that the CLI's own parser
accepts, ``pip install`` of this project with extras that setup.cfg defines (or of named packages),
``python -m pytest``, or ``python SCRIPT`` of a script in the repository. A block in another language (or in
none: the layout tree) is not code to run.
"""
from __future__ import annotations

import configparser
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest

from tinygen.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def _blocks(language):
    text = README.read_text()
    return [pytest.param(m.group(2), id=f"README.md:{text.count(chr(10), 0, m.start()) + 2}")
            for m in FENCE.finditer(text) if m.group(1) == language]


def test_the_readme_has_the_blocks_this_test_reads():
    assert len(_blocks("python")) >= 5 and len(_blocks("sh")) >= 3


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_block_runs(code, request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    exec(compile(code, request.node.callspec.id, "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()                                  # an example test in the README must pass


def _extras():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return set(cfg["options.extras_require"])


def _check_command(argv):
    """None when ``argv`` would work here, else what is wrong."""
    prog, args = argv[0], argv[1:]
    if prog == "tinygen":
        try:
            build_parser().parse_args(args)
        except SystemExit:
            return "the CLI's parser refuses it"
        return None
    if prog == "pip" and args[:1] == ["install"]:
        if "-e" not in args:
            return None if len(args) > 1 else "nothing to install"
        target = args[args.index("-e") + 1]
        extras = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", target)
        if not extras:
            return f"pip install -e {target}: not this project"
        unknown = set((extras.group(1) or "").split(",")) - {""} - _extras()
        return f"no extras {sorted(unknown)} in setup.cfg" if unknown else None
    if prog == "python" and args[:2] == ["-m", "pytest"]:
        return None
    if prog == "python" and args and args[0].endswith(".py"):
        return None if (ROOT / args[0]).is_file() else f"no script {args[0]} in the repository"
    return "a command this test does not know how to check"


@pytest.mark.parametrize("code", _blocks("sh"))
def test_sh_block_parses_and_its_commands_exist(code):
    if shutil.which("bash"):
        r = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    for line in code.splitlines():
        commands = [[]]
        for word in shlex.split(line, comments=True):
            if word == "&&":
                commands.append([])
            else:
                commands[-1].append(word)
        for argv in filter(None, commands):
            problem = _check_command(argv)
            assert problem is None, f"{line.strip()!r}: {problem}"


@pytest.mark.parametrize("argv, ok", [(["tinygen", "train", "vae", "--epochs", "2"], True),
                                      (["tinygen", "train", "vea", "--epochs", "2"], False),
                                      (["pip", "install", "-e", ".[test]"], True),
                                      (["pip", "install", "-e", ".[tests]"], False),
                                      (["python", "benchmarks/compare.py"], True),
                                      (["python", "benchmarks/nothing.py"], False),
                                      (["make", "all"], False)])
def test_the_sh_checker_can_fail(argv, ok):
    assert (_check_command(argv) is None) == ok
