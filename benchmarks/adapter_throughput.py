"""Adapter throughput: encode + decode of a 10,000-step trajectory on one core (target >= 500k steps/s).

Measured side by side with a per-step Python loop (the reference pseudo-code of the action contract), so the ratio
holds on a noisy machine. Run: ``.venv/bin/python benchmarks/adapter_throughput.py``.
"""

from __future__ import annotations

import os

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one core, before numpy

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from machine import best_of, cpu_report  # noqa: E402  (benchmarks/machine.py)
from scipy.spatial.transform import Rotation  # noqa: E402

from cosmos_robotics import geometry  # noqa: E402
from cosmos_robotics.embodiments import get_adapter  # noqa: E402
from cosmos_robotics.embodiments.droid import make_droid_adapter  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "adapter_throughput.json"


def smooth_trajectory(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A DROID-like flange path: mm-scale steps and small rotations, so nothing is clamped."""
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(scale=0.003, size=(steps + 1, 3)), axis=0)
    rotvec = np.cumsum(rng.normal(scale=0.01, size=(steps + 1, 3)), axis=0)
    poses = geometry.pose_matrix(Rotation.from_rotvec(rotvec).as_matrix(), pos)
    return poses, (rng.uniform(size=steps) > 0.5).astype(float)


def loop_reference(poses: np.ndarray, gripper: np.ndarray, adapter) -> np.ndarray:
    """Per-step encode + decode, as the contract's pseudo-code writes it."""
    norm = adapter.normalizer
    to_cv = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    rows = []
    for i in range(len(poses) - 1):
        a, b = poses[i].copy(), poses[i + 1].copy()
        a[:3, :3] = a[:3, :3] @ to_cv
        b[:3, :3] = b[:3, :3] @ to_cv
        d = np.linalg.inv(a) @ b
        raw = np.concatenate([d[:3, 3], d[:3, 0], d[:3, 1], [1 - gripper[i]]])
        rows.append((raw - norm.mid) / norm.half)
    start = poses[0].copy()
    start[:3, :3] = start[:3, :3] @ to_cv
    out = [start]
    for row in rows:
        raw = row * norm.half + norm.mid
        c0, c1 = raw[3:6], raw[6:9]
        u, _, vt = np.linalg.svd(np.stack([c0, c1, np.cross(c0, c1)], axis=1))
        d = np.eye(4)
        d[:3, :3], d[:3, 3] = u @ vt, raw[:3]
        out.append(out[-1] @ d)
    out = np.stack(out)
    out[:, :3, :3] = out[:, :3, :3] @ to_cv.T
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    poses, gripper = smooth_trajectory(args.steps)
    rows = []
    for name in ("droid", "umi", "av"):
        adapter = make_droid_adapter(clamp=False) if name == "droid" else get_adapter(name)
        grip = None if name == "av" else gripper * (0.08 if name == "umi" else 1.0)
        encoded = adapter.encode_poses(poses, grip)
        err = np.abs(adapter.decode(encoded, poses[0]).poses - poses).max()
        encode_s = best_of(lambda a=adapter, g=grip: a.encode_poses(poses, g), args.repeats)
        decode_s = best_of(lambda a=adapter, e=encoded: a.decode(e, poses[0]), args.repeats)
        rows.append({"embodiment": name, "steps": args.steps, "encode_s": encode_s, "decode_s": decode_s,
                     "steps_per_s": args.steps / (encode_s + decode_s), "round_trip_max_err_m": float(err)})
    droid = make_droid_adapter(clamp=False)
    loop_s = best_of(lambda: loop_reference(poses, gripper, droid), max(1, args.repeats // 3))
    ref_err = np.abs(loop_reference(poses, gripper, droid) - droid.decode(droid.encode_poses(poses, gripper), poses[0]).poses).max()
    result = {
        "benchmark": "adapter_throughput", "target_steps_per_s": 500_000, "threads": 1,
        "machine": {**cpu_report(), "python": platform.python_version(), "numpy": np.__version__},
        "results": rows,
        "loop_reference": {"embodiment": "droid", "seconds": loop_s, "steps_per_s": args.steps / loop_s,
                           "max_abs_diff_vs_vectorized": float(ref_err)},
        "speedup_vs_loop": rows[0]["steps_per_s"] / (args.steps / loop_s),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| embodiment | encode ms | decode ms | steps/s (encode+decode) | round-trip err (m) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['embodiment']} | {r['encode_s'] * 1e3:.2f} | {r['decode_s'] * 1e3:.2f} | "
              f"{r['steps_per_s']:,.0f} | {r['round_trip_max_err_m']:.1e} |")
    print(f"| droid, per-step loop | | | {args.steps / loop_s:,.0f} | diff {ref_err:.1e} |")
    print(f"\nvectorized / loop: {result['speedup_vs_loop']:.0f}x; target >= 500,000 steps/s")


if __name__ == "__main__":
    main()
