"""Every case of the committed malformed-input corpus (``tests/data/malformed``: bad JSON / .npy / images / videos /
LeRobot directories and bad options for ``actions encode|decode``, ``fd``, ``id``, ``dataset inspect``,
``sim record``) exits 2 with exactly one ``error:`` line on stderr: no traceback, no partial output file.

The cases run in-process through ``cosmos_robotics.cli.main`` (an exception escaping it would be a traceback);
a sample also runs as real ``python -m cosmos_robotics.cli`` processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cosmos_robotics.cli import main

CORPUS = Path(__file__).parent / "data" / "malformed"
CASES = json.loads((CORPUS / "cases.json").read_text())
SUBPROCESS_SAMPLE = [c["name"] for c in CASES[:: max(1, len(CASES) // 10)]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A private copy: some commands create lock files next to the directory they are given."""
    copy = tmp_path_factory.mktemp("corpus") / "files"
    shutil.copytree(CORPUS / "files", copy)
    return copy


def argv_of(case: dict, corpus: Path, tmp: Path) -> list[str]:
    out = []
    for arg in case["argv"]:
        arg = arg.replace("{tmp}", str(tmp))
        out.append(str(corpus / arg[1:]) if arg.startswith("@") else arg)
    return out


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 150
    commands = {" ".join(c["argv"][:2]) if c["argv"][0] in ("actions", "dataset", "sim") else c["argv"][0]
                for c in CASES}
    assert {"actions encode", "actions decode", "fd", "id", "dataset inspect", "sim record"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_malformed_input_exits_2_with_one_error_line(case, corpus, tmp_path, capsys):
    tmp = tmp_path / "work"
    tmp.mkdir()
    try:
        code = main(argv_of(case, corpus, tmp))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit {code}; stderr: {err[-500:]}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert not list(tmp.rglob("*.partial*")), "a half-written output was left"


@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_sample_as_real_processes_print_no_traceback(name, corpus, tmp_path):
    case = next(c for c in CASES if c["name"] == name)
    tmp = tmp_path / "work"
    tmp.mkdir()
    result = subprocess.run([sys.executable, "-m", "cosmos_robotics.cli", *argv_of(case, corpus, tmp)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
