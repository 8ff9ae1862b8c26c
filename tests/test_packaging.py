"""A non-editable install must carry what the package reads at run time (stats, licences, assets, weights)."""

import subprocess
import sys
import zipfile


def test_wheel_contains_runtime_data(tmp_path, repo_root):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(repo_root), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("cosmos_robotics-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for stats in ("droid_lerobot_stats.json", "umi_lerobot_stats.json", "LICENSE.OpenMDW-1.1"):
        assert f"cosmos_robotics/embodiments/stats/{stats}" in names
    assert any(n.startswith("cosmos_robotics/sim/assets/") and n.endswith(".xml") for n in names)
    assert not any(n.startswith(("datasets/", "tests/", "benchmarks/")) for n in names)
