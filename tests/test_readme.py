"""The README's Python snippets run as written (a newcomer copies them first)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")


def test_readme_python_snippets_run(repo_root, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (repo_root / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has no Python snippet"
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 -- the point is to run it as written
    assert namespace["chunk"].shape == (16, 10) and namespace["command"].poses.shape == (17, 4, 4)
    assert capsys.readouterr().out.strip()
