"""Batched world-model steps: ``WorldModelVectorEnv`` (one ``generate_batch`` per step) vs N single
``CosmosWorldEnv``s stepped one after another, on the embedded default, N = 1, 4, 16, and the embedded model's
per-item cost by batch size (why a batch can cost more per item than single calls).

    .venv/bin/python benchmarks/vector_env.py --repeats 3

Writes ``benchmarks/results/vector_env.json`` and prints a markdown table (CPU model and flags recorded).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from machine import best_of, cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.envs import CosmosWorldEnv, WorldModelVectorEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.world_models.base import WorldModelRequest
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

RESULT = Path(__file__).parent / "results" / "vector_env.json"
CHUNK = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    wm = EmbeddedWorldModel()
    policy = make_policy("embedded")
    rows = []
    for n in args.sizes:
        vec = WorldModelVectorEnv(n, wm, episode_length=10_000)
        obs, _ = vec.reset(seed=list(range(n)))
        chunks = [policy.select_action_chunk({k: v[i] for k, v in obs.items()}) for i in range(n)]
        vec.step(chunks)  # warm-up
        batched = best_of(lambda vec=vec, chunks=chunks: vec.step(chunks), args.repeats)
        singles = [CosmosWorldEnv(wm, episode_length=10_000) for _ in range(n)]
        for i, env in enumerate(singles):
            env.reset(seed=i)

        def sequential(singles=singles, chunks=chunks):
            for env, chunk in zip(singles, chunks, strict=True):
                env.step(chunk)

        single = best_of(sequential, args.repeats)
        rows.append({"num_envs": n, "batched_s": round(batched, 4), "sequential_s": round(single, 4),
                     "batched_steps_per_s": round(n * CHUNK / batched, 1),
                     "sequential_steps_per_s": round(n * CHUNK / single, 1),
                     "speedup": round(single / batched, 3)})
        print(rows[-1])
    # per-item cost of the backend's batch by size (forward dynamics only, same request repeated)
    frame = np.zeros((384, 128, 3), np.uint8)
    state = np.r_[0.5, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0, np.zeros(7)].astype(np.float32)
    request = WorldModelRequest(ActionMode.FORWARD_DYNAMICS, "droid", frame[None], actions=np.zeros((CHUNK, 10)),
                                state=state)
    wm.generate(request)
    per_item = {}
    for b in (1, 2, 4, 8, 16):
        per_item[b] = round(1000 * best_of(lambda b=b: wm.generate_batch([request] * b), args.repeats) / b, 1)
    report = {"machine": cpu_report(), "idleness": idleness(), "inference_path": wm.inference_path, "world_model": "embedded", "chunk": CHUNK,
              "rows": rows, "fd_ms_per_item_by_batch": per_item,
              "command": "benchmarks/vector_env.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items()
                                                                if k != "out")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("| N | batched step (s) | N single steps (s) | batched steps/s | speed-up |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['num_envs']} | {r['batched_s']} | {r['sequential_s']} | {r['batched_steps_per_s']} "
              f"| {r['speedup']}x |")
    print("FD ms per item by batch size:", per_item)


if __name__ == "__main__":
    main()
