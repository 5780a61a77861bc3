"""docs/derivations.md: every section ends with a worked example and the one command that confirms it; the test
runs every command in the file and checks that it prints the numbers of the handout and agrees with finite
differences."""
import re
import shlex
from pathlib import Path

import pytest

from tinygen.cli import main
from tinygen.derivations import EXAMPLES

DOC = Path(__file__).resolve().parents[1] / "docs" / "derivations.md"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def sections():
    """[(title, hand-worked text, command, expected output)] for every numbered section."""
    out = []
    for part in re.split(r"\n## ", DOC.read_text())[1:]:
        title = part.splitlines()[0]
        m = re.search(r"```sh\n(tinygen [^\n]+)\n```\n\n```text\n(.*?)\n```", part, re.S)
        assert m, f"section {title!r} has no command with its output"
        hand = part[part.index("**Worked example.**"):m.start()]
        out.append((title, hand, m.group(1), m.group(2)))
    return out


SECTIONS = sections()


def test_every_section_has_a_worked_example_and_every_example_a_section():
    assert [t.split(".")[0] for t, *_ in SECTIONS] == [str(i) for i in range(1, 10)]
    assert sorted(shlex.split(c)[-1] for _, _, c, _ in SECTIONS) == sorted(EXAMPLES)


@pytest.mark.parametrize("title, hand, command, expected", SECTIONS, ids=[s[2].split()[-1] for s in SECTIONS])
def test_the_command_prints_the_handouts_numbers_and_agrees_with_finite_differences(title, hand, command,
                                                                                     expected, capsys):
    argv = shlex.split(command)
    assert argv[:2] == ["tinygen", "derivation"]
    assert main(argv[1:]) == 0
    got = capsys.readouterr().out.rstrip("\n").splitlines()
    want = expected.splitlines()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w.startswith("finite differences"):
            assert g.split(" (worst")[0] == w.split(" (worst")[0] and ": agree" in g
        else:
            assert g == w
    # every number the command prints was worked out by hand in the section, to the printed precision
    hand_numbers = [float(n) for n in NUMBER.findall(hand)]
    for line in want[1:]:
        if " = " not in line:
            continue
        for value in NUMBER.findall(line.split(" = ", 1)[1]):
            assert any(abs(float(value) - h) < 5e-7 for h in hand_numbers), (title, line, value)


def test_a_wrong_gradient_makes_the_command_fail(monkeypatch, capsys):
    from tinygen.ops.activation import Tanh
    real = Tanh.backward
    monkeypatch.setattr(Tanh, "backward", lambda self, gy: real(self, gy) * 1.01)
    assert main(["derivation", "gradient-penalty"]) == 1
    assert "DISAGREE" in capsys.readouterr().out


def test_unknown_derivation_is_one_sentence(capsys):
    assert main(["derivation", "vq-vae"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygen: error: unknown derivation 'vq-vae'; choose one of") and err.count("\n") == 1
