"""``evaluate --ray`` on a local cluster (two CPU workers, one embedded world model each) writes the episodes the
single-process run writes for the same seeds, with the driver as the one writer."""

from __future__ import annotations

import json

import numpy as np

from cosmos_robotics.evaluation import evaluate

POLICIES = ["random"]  # the world model's frames are what must match; one cheap policy keeps the test short
SMALL = ["--episodes", "2", "--steps", "16", "--videos", "1"]


def _episodes(out):
    """Every record (without its wall-clock seconds) and every kept observation array, by file."""
    records = {p.relative_to(out).as_posix(): {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
               for p in sorted(out.glob("episodes/*/*/*.json"))}
    arrays = {}
    for p in sorted(out.glob("episodes/*/*/*.npz")):
        with np.load(p) as data:
            arrays.update({f"{p.relative_to(out).as_posix()}:{k}": data[k] for k in data.files})
    return records, arrays


def test_ray_workers_write_the_single_process_episodes(ray_cluster, tmp_path, capsys):
    from cosmos_robotics.cli import main

    single = evaluate(POLICIES, tmp_path / "single", episodes=2, steps=16, videos=1, threads=1,
                      progress=False)
    code = main(["evaluate", "--policies", *POLICIES, *SMALL, "--ray", "local", "--workers", "2",
                 "--gpus-per-worker", "0", "--out", str(tmp_path / "ray")])
    assert code == 0, capsys.readouterr().err
    records, arrays = _episodes(tmp_path / "single")
    ray_records, ray_arrays = _episodes(tmp_path / "ray")
    assert len(records) == 4 and ray_records == records
    assert ray_arrays.keys() == arrays.keys()
    for key, value in arrays.items():
        np.testing.assert_array_equal(ray_arrays[key], value, err_msg=key)
    videos = sorted(p.relative_to(tmp_path / "single") for p in (tmp_path / "single").glob("videos/*/*.mp4"))
    assert len(videos) == 2 and videos == sorted(p.relative_to(tmp_path / "ray")
                                                 for p in (tmp_path / "ray").glob("videos/*/*.mp4"))
    report = json.loads((tmp_path / "ray" / "report.json").read_text())
    assert report["outcomes"] == single["outcomes"]
