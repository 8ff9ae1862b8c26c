"""The README's command chain, run as written: each command reads what the one before wrote.

The commands are parsed out of the README's first ``bash`` block under "## Commands" (so the README and this test
cannot drift) and run in order through ``cosmos_robotics.cli.main`` in a temporary directory. Only sizes are
shrunk (``SMALLER``: episodes, steps, batch, workers, videos), to about the smallest settings the commands allow;
nothing else changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from cosmos_robotics.cli import main

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")

# Per command: option -> smaller value (replaced where the README gives the option, added where it does not).
SMALLER = {
    "actions encode": {},
    "sim record": {"--episodes": "2", "--steps": "17", "--workers": "1"},  # 17 frames = one 16-action chunk
    "fd": {},
    "id": {},
    "train": {"--steps": "2", "--batch-size": "2", "--episode-length": "16", "--decoded-steps": "1"},
    "evaluate": {"--episodes": "1", "--steps": "16", "--videos": "0"},
}
CHAINED = ("embodiments", "actions encode", "actions decode", "sim record", "dataset inspect", "fd", "id", "train",
           "evaluate")  # what the block must contain: every link of the chain


def readme_chain(repo_root) -> list[list[str]]:
    text = (repo_root / "README.md").read_text()
    section = text[text.index("\n## Commands\n"):]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    assert all(argv[0] == "cosmos-robotics" for argv in commands), block
    return [argv[1:] for argv in commands]


def command_name(argv: list[str]) -> str:
    return " ".join(argv[:2]) if argv[0] in ("actions", "sim", "dataset", "dev") else argv[0]


def shrunk(argv: list[str]) -> list[str]:
    argv = list(argv)
    for option, value in SMALLER.get(command_name(argv), {}).items():
        if option in argv:  # the README's value (and, for nargs options, its further values) -> ours
            at = argv.index(option) + 1
            end = next((i for i in range(at, len(argv)) if argv[i].startswith("--")), len(argv))
            argv[at:end] = [value]
        else:
            argv += [option, value]
    return argv


@pytest.fixture(scope="module")
def chained(repo_root, tmp_path_factory):
    """The README chain, run once: ``(directory, {command: [stdout of each run]})``."""
    chain = readme_chain(repo_root)
    assert {command_name(argv) for argv in chain} == set(CHAINED)
    assert set(SMALLER) <= set(CHAINED)
    root = tmp_path_factory.mktemp("chain")
    (root / "datasets").symlink_to(repo_root / "datasets")
    outputs: dict[str, list[str]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for argv in chain:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(shrunk(argv))
            assert code == 0, f"{shlex.join(argv)}: exit {code}\n{err.getvalue()[-3000:]}"
            outputs.setdefault(command_name(argv), []).append(out.getvalue())
    return root, outputs


def test_readme_commands_chain(chained):
    tmp_path, outputs = chained
    encoded = json.loads((tmp_path / "chunk.json").read_text())
    assert encoded["shape"] == [32, 10]
    assert np.asarray(json.loads((tmp_path / "command.json").read_text())["poses"]).shape == (33, 4, 4)
    assert "episodes  2," in outputs["dataset inspect"][0] and (tmp_path / "sheet.png").is_file()
    fd = json.loads((tmp_path / "out/fd/actions.json").read_text())
    np.testing.assert_allclose(fd["actions"], encoded["actions"])  # fd read the encoded chunk, both chunks of it
    assert "wrote out/fd/video.mp4 (33 frames)" in outputs["fd"][0]
    identified = np.asarray(json.loads((tmp_path / "out/id/actions.json").read_text())["actions"])
    assert identified.shape == (32, 10) and np.isfinite(identified).all()  # id read fd's 33-frame video
    assert (tmp_path / "out/id/decoded.png").is_file()  # decode read id's two chunks
    training = json.loads((tmp_path / "weights/training.json").read_text())
    assert "data/sim" in training["data"] and training["episodes"] == 2  # train read sim record's dataset
    report = json.loads((tmp_path / "outputs/ope/report.json").read_text())
    world_model = report["protocol"]["world_model"]  # evaluate ran the weights train wrote, and knows their seeds
    assert world_model["sha256"] == hashlib.sha256((tmp_path / "weights/model.safetensors").read_bytes()).hexdigest()
    assert {"source": "embedded world model training", "first": 0, "last": 1} in report["protocol"]["excluded_seeds"]
    assert len(report["outcomes"]["policies"]) == 2


def test_fd_from_an_image_and_a_state_file_equals_fd_from_the_dataset(chained, monkeypatch, capsys):
    """``fd --image --state`` (the README's other way to give the embedded backend its start) conditions exactly
    like ``fd --dataset`` on the same recorded frame (the chain's dataset, episode 1, frame 3)."""
    from PIL import Image

    from cosmos_robotics.data.lerobot_frames import IMAGE_PREFIX, STATE_KEY, read_observation
    from cosmos_robotics.media import read_video
    from cosmos_robotics.world_models.embedded.backend import stack_views
    from cosmos_robotics.world_models.embedded.config import VIEWS

    monkeypatch.chdir(chained[0])
    observation, _ = read_observation("data/sim", 1, 3, VIEWS)
    Image.fromarray(stack_views(*(observation[IMAGE_PREFIX + v] for v in VIEWS))).save("start.png")
    Path("state.json").write_text(json.dumps({"state": observation[STATE_KEY].tolist()}))
    common = ["fd", "--backend", "embedded", "--embodiment", "droid", "--actions", "chunk.json"]
    assert main([*common, "--dataset", "data/sim", "--episode", "1", "--frame", "3", "--out", "from_dataset"]) == 0
    assert main([*common, "--image", "start.png", "--state", "state.json", "--out", "from_files"]) == 0
    np.testing.assert_array_equal(read_video("from_files/video.mp4"), read_video("from_dataset/video.mp4"))
    capsys.readouterr()
    assert main([*common, "--image", "start.png", "--out", "no_state"]) == 2  # the embedded model needs the state
    assert "observation.state" in capsys.readouterr().err
