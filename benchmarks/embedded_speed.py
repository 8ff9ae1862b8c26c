"""Speed of the embedded world model on this CPU: one FD chunk (16 steps, 3 views) at batch 1, throughput at 16.

Also times inverse dynamics (17 frames) and the policy. Runs with ``--threads`` torch threads (target machine:
2 cores). Writes ``benchmarks/results/embedded_speed.json``.

    .venv/bin/python benchmarks/embedded_speed.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint

RESULT = Path(__file__).parent / "results" / "embedded_speed.json"


def timed(fn, repeats: int) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_ms": round(1000 * float(np.median(times)), 1), "min_ms": round(1000 * float(np.min(times)), 1),
            "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_checkpoint(DEFAULT_WEIGHTS)
    gen = torch.Generator().manual_seed(0)

    def inputs(batch: int):
        images = torch.rand(batch, 3, 3, 128, 128, generator=gen) * 2 - 1
        return images, torch.randn(batch, 14, generator=gen), torch.rand(batch, 16, 10, generator=gen) * 2 - 1

    result = {"threads": args.threads, "cpu": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "torch": torch.__version__}
    with torch.inference_mode():
        for batch in (1, 16):
            images, state, actions = inputs(batch)
            fd = timed(lambda images=images, state=state, actions=actions:
                       model.forward_dynamics(images, state, actions), args.repeats if batch == 1 else 2)
            fd["chunks_per_s"] = round(batch / (fd["median_ms"] / 1000), 2)
            fd["frames_per_s"] = round(batch * 16 * 3 / (fd["median_ms"] / 1000), 1)
            result[f"fd_batch{batch}"] = fd
        images, state, _ = inputs(1)
        video = torch.rand(1, 17, 3, 3, 128, 128, generator=gen) * 2 - 1
        result["id_batch1"] = timed(lambda: model.inverse_dynamics(video), args.repeats)
        result["policy_batch1"] = timed(lambda: model.policy(images, state), args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
