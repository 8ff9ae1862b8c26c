"""Quality of the embedded world model against SimDroid-v0 on held-out seeds (FD, state, ID, success, policy).

Held-out episodes come from seeds the training never saw (default 1,000,000+), from the same expert ladder.

* FD: PSNR / SSIM per horizon step of the 16 predicted frames (3 views, 128 px), true chunks vs chunks shuffled
  across windows (action sensitivity), and the copy-the-conditioning-frame baseline.
* state: flange position error (mm) of the state head per horizon step; success detector accuracy (head at k=0)
  on every held-out frame.
* ID: MSE in the normalized 10D model space; policy: success rate driving the real simulator (float32).
* ``--paths float32 float32_channels_last bfloat16``: the world-model metrics once per inference path
  (``world_models.embedded.runtime.PATHS``) on the same episodes (the first under ``world_model``, others under
  ``world_model_<path>`` with their differences to the first), e.g. to check the CPU paths against today's float32.

    .venv/bin/python benchmarks/embedded_eval.py --episodes 48 --policy-seeds 50 --workers 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from machine import cpu_report  # benchmarks/machine.py
from tqdm import tqdm

from cosmos_robotics.training.data import generate_episodes
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.config import CHUNK
from cosmos_robotics.world_models.embedded.model import to_model_images
from cosmos_robotics.world_models.embedded.runtime import PATHS, prepare

RESULT = Path(__file__).parent / "results" / "embedded_eval.json"
HELD_OUT_SEED = 1_000_000


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per image PSNR (dB) of [-1, 1] images ``[..., 3, H, W]`` on the 0..255 scale."""
    mse = ((pred - target) / 2).pow(2).mean((-3, -2, -1)).clamp_min(1e-10)
    return -10 * torch.log10(mse)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per image SSIM (Gaussian window 11, sigma 1.5, on [0, 1] images, mean over channels)."""
    x, y = ((pred.flatten(0, -4) + 1) / 2).float(), ((target.flatten(0, -4) + 1) / 2).float()
    g = torch.exp(-(torch.arange(11, device=x.device) - 5.0) ** 2 / (2 * 1.5**2))
    g = (g / g.sum())
    kernel = (g[:, None] * g[None]).expand(3, 1, 11, 11).contiguous()

    def blur(z):
        return F.conv2d(z, kernel, groups=3)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.mean((-3, -2, -1)).reshape(pred.shape[:-3])


def evaluate_model(model, episodes, device, stride: int = 8, batch: int = 16) -> dict:
    """FD / state / ID / success metrics over windows starting every ``stride`` frames."""
    n, windows = episodes.chunks.shape[:2]
    index = [(e, t) for e in range(n) for t in range(0, windows, stride)]
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(index))
    acc = {"psnr": [], "ssim": [], "psnr_shuffled": [], "ssim_shuffled": [], "psnr_copy": [], "ssim_copy": [],
           "pos_err_mm": [], "id_mse": []}
    for start in tqdm(range(0, len(index), batch), desc="FD/ID windows"):
        rows = index[start:start + batch]
        other = [index[i] for i in shuffled[start:start + batch]]
        video = to_model_images(torch.from_numpy(np.stack([
            episodes.images[e, t:t + CHUNK + 1] for e, t in rows])).to(device))
        state = torch.from_numpy(np.stack([episodes.states[e, t] for e, t in rows])).to(device)
        chunk = torch.from_numpy(np.stack([episodes.chunks[e, t] for e, t in rows])).to(device)
        chunk_shuf = torch.from_numpy(np.stack([episodes.chunks[e, t] for e, t in other])).to(device)
        deltas = np.stack([episodes.deltas[e, t] for e, t in rows])
        with torch.inference_mode():
            out = model.forward_dynamics(video[:, 0], state, chunk)
            out_s = model.forward_dynamics(video[:, 0], state, chunk_shuf)
            ident = model.inverse_dynamics(video).clamp(-1, 1)
        target = video[:, 1:]
        copy = video[:, :1].expand_as(target)
        acc["psnr"].append(psnr(out["frames"], target).cpu())
        acc["ssim"].append(ssim(out["frames"], target).cpu())
        acc["psnr_shuffled"].append(psnr(out_s["frames"], target).cpu())
        acc["ssim_shuffled"].append(ssim(out_s["frames"], target).cpu())
        acc["psnr_copy"].append(psnr(copy, target).cpu())
        acc["ssim_copy"].append(ssim(copy, target).cpu())
        pred_delta = (out["state"] * model.delta_std).cpu().numpy()
        acc["pos_err_mm"].append(torch.from_numpy(1000 * np.linalg.norm(pred_delta[..., :3] - deltas[..., :3], axis=-1)))
        acc["id_mse"].append(((ident - chunk) ** 2).mean(-1).cpu())
    cat = {k: torch.cat(v).float() for k, v in acc.items()}  # [W, 16(, V)]
    result = {"windows": len(index)}
    for k in ("psnr", "ssim", "psnr_shuffled", "ssim_shuffled", "psnr_copy", "ssim_copy"):
        result[f"{k}_mean"] = round(float(cat[k].mean()), 4)
        result[f"{k}_per_step"] = [round(float(v), 4) for v in cat[k].mean((0, 2))]
        result[f"{k}_per_view"] = [round(float(v), 4) for v in cat[k].mean((0, 1))]
    result["shuffle_psnr_drop_db"] = round(result["psnr_mean"] - result["psnr_shuffled_mean"], 3)
    result["pos_err_mm_per_step"] = [round(float(v), 2) for v in cat["pos_err_mm"].mean(0)]
    result["pos_err_mm_mean"] = round(float(cat["pos_err_mm"].mean()), 3)
    result["id_mse_normalized"] = round(float(cat["id_mse"].mean()), 5)
    result["id_mse_per_step"] = [round(float(v), 5) for v in cat["id_mse"].mean(0)]
    result["success_detector"] = success_accuracy(model, episodes, device)
    return result


def success_accuracy(model, episodes, device, batch: int = 64) -> dict:
    n, frames = episodes.success.shape
    preds, labels = [], []
    for e in range(n):
        for start in range(0, frames, batch):
            imgs = to_model_images(torch.from_numpy(episodes.images[e, start:start + batch]).to(device))
            state = torch.from_numpy(episodes.states[e, start:start + batch]).to(device)
            dummy = torch.zeros(len(state), 1, 10, device=device)
            with torch.inference_mode():
                logit = model.forward_dynamics(imgs, state, dummy, steps=torch.ones(len(state), 1, dtype=torch.long,
                                                                                  device=device))["success"][:, 0]
            preds.append((logit > 0).cpu().numpy())
            labels.append(episodes.success[e, start:start + batch])
    p, y = np.concatenate(preds), np.concatenate(labels)
    return {"frames": int(len(y)), "positives": int(y.sum()), "accuracy": round(float((p == y).mean()), 4),
            "balanced_accuracy": round(float(((p & y).sum() / max(y.sum(), 1) + (~p & ~y).sum() / max((~y).sum(), 1))
                                             / 2), 4)}


def _policy_episode(job: tuple[int, int, int, str]) -> dict:
    seed, replan, length, weights = job
    torch.set_num_threads(1)
    from cosmos_robotics.envs import SimChunkEnv
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.rollout import run_episode

    global _POLICY_ENV, _POLICY_MODEL
    if "_POLICY_ENV" not in globals():
        _POLICY_ENV = SimChunkEnv(episode_length=length)
        _POLICY_MODEL = load_checkpoint(Path(weights))
    episode = run_episode(_POLICY_ENV, ExecuteK(EmbeddedPolicy(_POLICY_MODEL), replan), seed, keep_observations=False)
    first = int(np.argmax(episode.success)) + 1 if episode.success.any() else None
    return {"seed": seed, "success": episode.is_success, "first_success_step": first}


def evaluate_policy(weights: Path, seeds: range, replan: int, length: int, workers: int) -> dict:
    jobs = [(s, replan, length, str(weights)) for s in seeds]
    start = time.perf_counter()
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            rows = list(tqdm(pool.imap(_policy_episode, jobs), total=len(jobs), desc=f"policy replan={replan}"))
    else:
        rows = [_policy_episode(j) for j in tqdm(jobs, desc=f"policy replan={replan}")]
    return {"replan": replan, "episode_length": length, "episodes": len(rows),
            "success_rate": round(float(np.mean([r["success"] for r in rows])), 4),
            "successes": int(sum(r["success"] for r in rows)), "seconds": round(time.perf_counter() - start, 1),
            "seeds": [seeds.start, seeds.stop - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--episodes", type=int, default=48)
    parser.add_argument("--policy-seeds", type=int, default=50)
    parser.add_argument("--replan", type=int, nargs="*", default=[8])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--episode-length", type=int, default=130)
    parser.add_argument("--paths", nargs="+", choices=sorted(PATHS), default=["float32"])
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    result: dict = {"weights": str(args.weights), "device": args.device, "host": platform.node(),
                    "held_out_seeds": [HELD_OUT_SEED, HELD_OUT_SEED + args.episodes - 1]}
    if args.episodes:
        episodes = generate_episodes(args.episodes, HELD_OUT_SEED, args.episode_length, args.workers)
        result["cpu"] = cpu_report()
        for i, name in enumerate(args.paths):
            model = prepare(load_checkpoint(args.weights, args.device), PATHS[name])
            key = "world_model" if i == 0 else f"world_model_{name}"
            result[key] = {"path": name, **evaluate_model(model, episodes, args.device)}
            if i:
                result[key]["minus_first"] = {k: round(result[key][k] - result["world_model"][k], 5) for k in
                                              ("psnr_mean", "ssim_mean", "id_mse_normalized", "pos_err_mm_mean")}
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    seeds = range(HELD_OUT_SEED + 500_000, HELD_OUT_SEED + 500_000 + args.policy_seeds)
    result["policy"] = [evaluate_policy(args.weights, seeds, r, args.episode_length, args.workers)
                        for r in args.replan] if args.policy_seeds else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for key in [k for k in result if k.startswith("world_model")]:
        print(key, json.dumps({k: v for k, v in result[key].items() if not isinstance(v, list)}, indent=1))
    print(json.dumps(result["policy"], indent=1))


if __name__ == "__main__":
    main()
