"""Where the embedded world model's optimism in offline policy evaluation comes from, and whether the cheapest
remedy (a head fine-tuned on near-miss episodes, the rest frozen) removes it.

1. **Open loop from real frames** (no compounding drift): simulator episodes of noisy embedded policies; from the
   *real* frame + state at each window start just before the grasp (``grasp - 12 .. grasp``, the gripper still
   open in the conditioning frame) and the *real* 16-step chunk, the forward dynamics predicts the gripper
   position at the window's end. A missed grasp closes the real gripper fully (> 0.85: nothing between the
   fingers); a held cube stops it near 0.58. Windows are grouped by what the simulator did.
2. **State-head fine-tune**: the state head reads the same context as the success head (GRU over the chunk +
   pooled conditioning latent) and predicts the gripper; it alone is fitted on frozen features of near-miss
   episodes (noisy embedded policies, seeds 4,000,000+) plus expert-ladder replay (seeds 0..), then judged on
   part 1's windows (open loop) and closed loop: the same seeds in the simulator, the shipped model and the
   fine-tuned one, each imagined episode judged by the calibrated head and frame (pixel) detectors.

Seeds are disjoint from evaluation (2,000,000+), calibration (3,000,000+) and training beyond the replayed ladder
seeds. The fine-tuned weights go to ``--candidate`` (a temporary directory, not shipped). Writes
``benchmarks/results/ope_diagnose.json``.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/ope_diagnose.py --workers 2
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from benchmarks.machine import cpu_report, idleness
from cosmos_robotics.training.data import ladder_spec, simulate_episode
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint, save_checkpoint
from cosmos_robotics.world_models.embedded.config import VIEWS
from cosmos_robotics.world_models.embedded.model import EmbeddedNet, to_model_images

RESULT = Path(__file__).parent / "results" / "ope_diagnose.json"
HELD_OUT = ("embedded:noise=0.05", "embedded:noise=0.1")  # two graded rungs, on diagnosis seeds
NEAR_MISS = ("embedded:noise=0.06", "embedded:noise=0.08", "embedded:noise=0.1", "embedded:noise=0.12")
DIAGNOSIS_SEED, NEAR_MISS_SEED, CLOSED_LOOP_SEED = 5_000_000, 4_000_000, 5_100_000
MISSED, HELD = 0.85, (0.4, 0.75)  # real gripper position at the window's end


def _simulate(job: tuple[int, str, bool]):
    torch.set_num_threads(1)
    seed, spec, clone = job
    return spec, simulate_episode(seed, spec, clone, 130)


def simulate(jobs: list[tuple[int, str, bool]], workers: int, desc: str) -> list:
    with get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(_simulate, jobs), total=len(jobs), desc=desc, unit="episode"))


@torch.inference_mode()
def head_inputs(model: EmbeddedNet, episode, starts) -> tuple[torch.Tensor, torch.Tensor]:
    """What the state head reads for windows ``starts`` (``[W, 16, hidden + pooled]``) and its targets."""
    starts = list(starts)
    pooled = []
    for i in range(0, len(starts), 32):
        _, _, z = model.encode(to_model_images(torch.from_numpy(episode.images[starts[i:i + 32]])))
        pooled.append(z.mean((2, 3)).unflatten(0, (-1, len(VIEWS))).flatten(1))
    pooled = torch.cat(pooled)
    ctx = model.context(torch.from_numpy(episode.states[starts]), torch.from_numpy(episode.chunks[starts]))
    x = torch.cat([ctx[:, 1:], pooled[:, None].expand(-1, ctx.shape[1] - 1, -1)], -1).float()
    return x, torch.from_numpy(episode.deltas[starts]) / model.delta_std


def grasp_windows(episode) -> list[int]:
    """Window starts from 12 steps before the gripper command first closes up to that step."""
    closing = np.flatnonzero(episode.gripper > 0.5)
    if not len(closing):
        return []
    grasp = int(closing[0])
    return [t for t in range(max(0, grasp - 12), grasp + 1, 2) if t < len(episode.chunks)]


def open_loop(head: torch.nn.Module, model: EmbeddedNet, held_out: list) -> dict:
    """Predicted vs real gripper at the end of each pre-grasp window, grouped by what the simulator did."""
    predicted, real = [], []
    for _, episode in held_out:
        starts = grasp_windows(episode)
        if starts:
            x, y = head_inputs(model, episode, starts)
            with torch.no_grad():
                predicted.append((head(x) * model.delta_std)[:, -1, 6].numpy())
            real.append((y * model.delta_std)[:, -1, 6].numpy())
    predicted, real = np.concatenate(predicted), np.concatenate(real)
    groups = {"missed": real > MISSED, "held": (real > HELD[0]) & (real < HELD[1])}
    out = {"windows": len(real), "gripper_abs_error": round(float(np.abs(predicted - real).mean()), 4)}
    for name, rows in groups.items():
        out[name] = {"windows": int(rows.sum())}
        if rows.any():
            out[name] |= {"real_gripper": round(float(real[rows].mean()), 3),
                          "imagined_gripper": round(float(predicted[rows].mean()), 3),
                          "imagined_above_0.85": round(float((predicted[rows] > MISSED).mean()), 3)}
    return out


def fit_state_head(model: EmbeddedNet, train: list, steps: int, lr: float, seed: int = 0) -> tuple[EmbeddedNet, list]:
    """A copy of ``model`` whose state head alone is fitted (MSE on the normalized deltas, as in training)."""
    xs, ys = zip(*(head_inputs(model, e, range(len(e.chunks))) for _, e in tqdm(train, desc="features", unit="episode")),
                 strict=True)
    x, y = torch.cat(xs), torch.cat(ys)
    tuned = copy.deepcopy(model)
    optim = torch.optim.AdamW(tuned.state_head.parameters(), lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    history = []
    tuned.state_head.train()
    for step in tqdm(range(steps), desc="state head", unit="step"):
        rows = torch.randint(len(x), (256,), generator=generator)
        loss = F.mse_loss(tuned.state_head(x[rows]), y[rows])
        optim.zero_grad()
        loss.backward()
        optim.step()
        if (step + 1) % max(1, steps // 4) == 0:
            history.append({"step": step + 1, "loss": round(float(loss), 5)})
    tuned.state_head.eval()
    return tuned, history


def closed_loop(policy: str, seeds: list[int], weights: dict[str, Path]) -> dict:
    """Each seed in the simulator and in each world model; imagined finals judged by the head and frame detectors."""
    from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
    from cosmos_robotics.evaluation.success import make_detector
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.rollout import run_episode
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

    torch.set_num_threads(1)
    envs, detectors = {"simulator": SimChunkEnv(episode_length=130)}, {}
    for name, path in weights.items():
        world_model = EmbeddedWorldModel(path)
        envs[name] = CosmosWorldEnv(world_model, episode_length=130)
        detectors[name] = {d: make_detector(d, world_model) for d in ("head", "frame")}
    rows = []
    for seed in tqdm(seeds, desc=f"closed loop {policy}", unit="seed"):
        row = {"seed": seed}
        for name, env in envs.items():
            episode = run_episode(env, make_policy(policy), seed)
            final = [{k: v[None] for k, v in episode.observations[-1].items()}]
            row[name] = {"success": episode.is_success, "gripper_max": round(float(episode.states()[:, 6].max()), 3)}
            for d, detector in detectors.get(name, {}).items():
                row[name][d] = detector.judge(final, episode.task)[0].success
        rows.append(row)
    summary = {"simulator": sum(r["simulator"]["success"] for r in rows)}
    for name in weights:
        for d in ("head", "frame"):
            summary[f"{name}_{d}"] = sum(r[name][d] for r in rows)
            summary[f"{name}_{d}_agrees_with_simulator"] = sum(r[name][d] == r["simulator"]["success"] for r in rows)
    return {"policy": policy, "seeds": [seeds[0], seeds[-1]], "episodes": len(rows), "successes": summary,
            "per_seed": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", type=int, default=8, help="diagnosis episodes per held-out policy")
    parser.add_argument("--near-miss", type=int, default=24, help="near-miss training episodes")
    parser.add_argument("--replay", type=int, default=8, help="expert-ladder replay episodes (seeds 0..)")
    parser.add_argument("--closed-loop", type=int, default=8, help="closed-loop seeds")
    parser.add_argument("--closed-loop-policy", default="embedded:noise=0.075")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--candidate", type=Path, default=Path("outputs/ope_diagnose_candidate"))
    parser.add_argument("--compare", type=Path, default=None, metavar="WEIGHTS",
                        help="only part 1, for the shipped weights and these, on the same held-out episodes "
                             "(writes ope_diagnose_compare.json)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start, before = time.perf_counter(), {**cpu_report(), **idleness()}
    held_out = simulate([(DIAGNOSIS_SEED + i, spec, False) for spec in HELD_OUT for i in range(args.held_out)],
                        args.workers, "held-out episodes")
    if args.compare is not None:
        models = {"shipped": load_checkpoint(DEFAULT_WEIGHTS), str(args.compare): load_checkpoint(args.compare)}
        result = {"command": f"benchmarks/ope_diagnose.py --held-out {args.held_out} --compare WEIGHTS",
                  "compared": str(args.compare), "held_out": {"policies": list(HELD_OUT), "seeds": [
                      DIAGNOSIS_SEED, DIAGNOSIS_SEED + args.held_out - 1], "simulator_successes": {
                      s: int(sum(bool(e.success[-1]) for p, e in held_out if p == s)) for s in HELD_OUT}},
                  "open_loop_pre_grasp": {k: open_loop(m.state_head, m, held_out) for k, m in models.items()},
                  "seconds": round(time.perf_counter() - start, 1), "machine_before": before}
        RESULT.with_name("ope_diagnose_compare.json").write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result["open_loop_pre_grasp"], indent=1))
        return
    train = simulate([(NEAR_MISS_SEED + i, NEAR_MISS[i % len(NEAR_MISS)], False) for i in range(args.near_miss)]
                     + [(i, *ladder_spec(i, 512)) for i in range(args.replay)], args.workers, "training episodes")
    model = load_checkpoint(DEFAULT_WEIGHTS)
    shipped = open_loop(model.state_head, model, held_out)
    tuned, history = fit_state_head(model, train, args.steps, args.lr)
    tuned_open = open_loop(tuned.state_head, model, held_out)
    training = json.loads((DEFAULT_WEIGHTS / "training.json").read_text())
    save_checkpoint(tuned, args.candidate, {**training, "state_head_fine_tune": {
        "near_miss_seeds": [NEAR_MISS_SEED, NEAR_MISS_SEED + args.near_miss - 1], "policies": list(NEAR_MISS),
        "replay_seeds": [0, args.replay - 1], "steps": args.steps, "lr": args.lr, "history": history}})
    seeds = list(range(CLOSED_LOOP_SEED, CLOSED_LOOP_SEED + args.closed_loop))
    loop = closed_loop(args.closed_loop_policy, seeds, {"shipped": DEFAULT_WEIGHTS, "state_head_tuned": args.candidate})
    result = {"command": "benchmarks/ope_diagnose.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "candidate"),
              "held_out": {"policies": list(HELD_OUT), "seeds": [DIAGNOSIS_SEED, DIAGNOSIS_SEED + args.held_out - 1],
                           "simulator_successes": {s: int(sum(bool(e.success[-1]) for p, e in held_out if p == s))
                                                   for s in HELD_OUT}},
              "training": {"near_miss_policies": list(NEAR_MISS),
                           "near_miss_seeds": [NEAR_MISS_SEED, NEAR_MISS_SEED + args.near_miss - 1],
                           "replay_seeds": [0, args.replay - 1], "history": history},
              "open_loop_pre_grasp": {"shipped": shipped, "state_head_tuned": tuned_open},
              "closed_loop": loop, "seconds": round(time.perf_counter() - start, 1),
              "machine_before": before, "idle_after": idleness()}
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("open_loop_pre_grasp",)}, indent=1), json.dumps(loop["successes"]))


if __name__ == "__main__":
    main()
