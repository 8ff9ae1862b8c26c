"""Uplift study: does world-model augmentation help a small policy? Four arms trained with the same budget.

(a) N simulator demonstrations (scripted expert at the DROID contract speed, ``expert:contract=1``);
(b) the same N + K synthetic episodes that passed the quality filter (``augment --strategies new-starts``: the
    embedded policy closed loop inside the embedded world model from fresh start states);
(b') the same N + the first K synthetic candidates, unfiltered (what the filter is worth);
(c) the same N + K more simulator demonstrations (the ceiling).

The policy is the embedded model's policy path (shared encoder + spatial trunk + chunk head, ``EmbeddedNet.policy``)
at a reduced width, trained from scratch with the same steps, batch and seed in every arm on windows drawn by the
embedded model's own training sampler (``training.embedded.Batches``). Evaluation: ``SimDroid-v0`` closed loop,
re-planning every 8 steps, up to 130 steps, on held-out seeds, with Wilson 95 % intervals. Seeds are interleaved
over arms (seed s runs in every arm before seed s + 1), so a run cut short is still a like-for-like comparison.

World model used for (b)/(b'): the shipped embedded model, trained on 512 SimDroid-v0 episodes with seeds 0-511
(60 % expert demonstrations at the contract speed, 40 % noisier experts; ``weights/training.json``) -- far more
expert data than N. Demonstration seeds here start at 200000, synthetic start states at 400000, evaluation seeds at
300000: none were seen by the world model or by any other arm.

    PYTHONPATH=. .venv/bin/python benchmarks/augment_uplift.py --out benchmarks/results/augment_uplift.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cosmos_robotics.evaluation.statistics import wilson

DEMO_SEED, EVAL_SEED, SYNTH_SEED = 200_000, 300_000, 400_000
EXPERT = "expert:contract=1"
EPISODE_LENGTH = 130


def demos(count: int):
    from cosmos_robotics.training.data import simulate_episode

    return [simulate_episode(DEMO_SEED + i, EXPERT, True, EPISODE_LENGTH) for i in range(count)]


def as_training_episode(candidate):
    """An imagined episode (L + 1 observations, L actions) as the training arrays of one episode."""
    from cosmos_robotics.training.data import Episodes, window_targets
    from cosmos_robotics.world_models.embedded.config import VIEWS

    episode = candidate.episode
    images = np.asarray([np.stack([o[f"observation.images.{v}"] for v in VIEWS]) for o in episode.observations])
    states = episode.states().astype(np.float32)
    gripper = episode.actions[:, 6].astype(np.float32)
    chunks, deltas = window_targets(states.astype(np.float64), gripper)
    success = np.concatenate([[False], episode.success])
    return Episodes(images, states, gripper, success, chunks, deltas, np.asarray(True), np.asarray(candidate.job.seed))


def synthetic(k: int, max_attempts: int, log: list):
    """First K candidates (unfiltered) and first K kept ones, in job order."""
    from cosmos_robotics.augmentation import AugmentConfig, Generator, judge, plan_jobs

    config = AugmentConfig(strategies=("new-starts",), seed=SYNTH_SEED, steps=EPISODE_LENGTH)
    generator = Generator(config)
    unfiltered, kept = [], []
    for job in plan_jobs(config.strategies, max_attempts, config.seed, 0):
        start = time.perf_counter()
        candidate = generator.candidate(job)
        verdict = judge(candidate, generator.world_model, config.filter)
        log.append({"seed": job.seed, "kept": verdict.kept, "reasons": list(verdict.reasons),
                    "scores": verdict.scores, "seconds": round(time.perf_counter() - start, 1)})
        print("synthetic", log[-1], flush=True)
        episode = as_training_episode(candidate)
        if len(unfiltered) < k:
            unfiltered.append(episode)
        if verdict.kept:
            kept.append(episode)
        if len(kept) >= k and len(unfiltered) >= k:
            break
    return unfiltered, kept, config


def policy_config():
    from cosmos_robotics.world_models.embedded.config import ModelConfig

    return ModelConfig(enc_channels=(16, 32, 32), hidden=64, head_channels=16, head_hidden=256, dec_channels=(16, 16))


def train_policy(parts: list, steps: int, batch: int, seed: int):
    """The policy loss of the embedded model's training (``EmbeddedNet.policy`` vs the recorded chunk) only."""
    from cosmos_robotics.training.data import Episodes
    from cosmos_robotics.training.embedded import Batches, fit_normalization
    from cosmos_robotics.world_models.embedded.model import EmbeddedNet, to_model_images

    episodes = Episodes.concat(parts)
    torch.manual_seed(seed)
    model = EmbeddedNet(policy_config())
    fit_normalization(model, episodes)
    data = Batches(episodes, torch.device("cpu"), seed)
    used = [model.encoder, model.state_mlp, model.policy_trunk, model.policy_head]
    params = [p for m in used for p in m.parameters()] + [model.view_embed]
    optim = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, 1e-3, total_steps=steps, pct_start=0.05)
    model.train()
    losses = []
    for _ in range(steps):
        sample = data.sample(batch, 1)
        loss = F.mse_loss(model.policy(to_model_images(sample["video"][:, 0]), sample["state"]), sample["chunk"])
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        losses.append(float(loss.detach()))
    return model.eval(), float(np.mean(losses[-20:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--eval-seeds", type=int, default=100)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--replan", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/augment_uplift.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    from cosmos_robotics.augmentation.card import checkpoint_identity
    from cosmos_robotics.envs import SimChunkEnv
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.rollout import run_episode

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    real = demos(args.n + args.k)
    timings["simulate_demos_s"] = time.perf_counter() - t0
    print(f"demos: {sum(bool(e.success[-1]) for e in real)}/{len(real)} succeed", flush=True)
    t0 = time.perf_counter()
    synth_log: list = []
    unfiltered, kept, config = synthetic(args.k, 4 * args.k, synth_log)
    torch.set_num_threads(2)  # the generator pins its worker threads (AugmentConfig.threads); training uses both
    timings["generate_synthetic_s"] = time.perf_counter() - t0
    base = real[:args.n]
    arms = {"a_demos_N": base, "b_N_plus_filtered_synthetic": base + kept,
            "b_prime_N_plus_unfiltered_synthetic": base + unfiltered, "c_N_plus_K_real": real}
    # Arms with the same training episodes train the same model (training is seeded): trained and evaluated once.
    same_as = {}
    for name, parts in arms.items():
        key = tuple(int(p.seeds) for p in parts)
        same_as[name] = next((other for other, o in same_as.items() if o == other and
                              tuple(int(p.seeds) for p in arms[other]) == key), name)
    models, train_loss = {}, {}
    t0 = time.perf_counter()
    for name, parts in arms.items():
        if same_as[name] != name:
            print(f"{name}: same episodes as {same_as[name]}", flush=True)
            continue
        models[name], train_loss[name] = train_policy(parts, args.train_steps, args.batch, seed=0)
        print(f"trained {name} on {len(parts)} episodes: loss {train_loss[name]:.4f}", flush=True)
    timings["train_s"] = time.perf_counter() - t0
    checkpoint, training = checkpoint_identity("embedded", None)
    env = SimChunkEnv(episode_length=EPISODE_LENGTH, terminate_on_success=True)
    policies = {name: ExecuteK(EmbeddedPolicy(model), args.replan) for name, model in models.items()}
    outcomes: dict[str, list[bool]] = {name: [] for name in models}
    t0 = time.perf_counter()
    for s in range(args.eval_seeds):
        for name, policy in policies.items():
            outcomes[name].append(run_episode(env, policy, EVAL_SEED + s, keep_observations=False).is_success)
        timings["evaluate_s"] = time.perf_counter() - t0
        results = {}
        for name in arms:
            done = outcomes[same_as[name]]
            low, high = wilson(sum(done), len(done))
            results[name] = {"episodes": len(arms[name]), "successes": int(sum(done)), "evaluated": len(done),
                             "success_rate": sum(done) / len(done), "wilson95": [round(low, 4), round(high, 4)],
                             "final_train_loss": round(train_loss[same_as[name]], 5),
                             "same_training_set_as": None if same_as[name] == name else same_as[name]}
        report = {
            "reduced": len(outcomes["a_demos_N"]) < 100,
            "command": "PYTHONPATH=. .venv/bin/python benchmarks/augment_uplift.py " + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
            "arms": results, "n": args.n, "k": args.k, "train_steps": args.train_steps, "batch": args.batch,
            "policy": f"EmbeddedNet.policy with {policy_config()}, ExecuteK replan={args.replan}",
            "seeds": {"demos": [DEMO_SEED, DEMO_SEED + args.n + args.k - 1], "synthetic_starts_from": SYNTH_SEED,
                      "evaluation": [EVAL_SEED, EVAL_SEED + args.eval_seeds - 1]},
            "world_model": {"backend": "embedded", "checkpoint_sha256": checkpoint, "trained_on": training,
                            "note": "512 SimDroid-v0 episodes, seeds 0-511, 60% expert demonstrations (ladder in "
                                    "training/data.py): more expert data than N; no arm trained on a world model "
                                    "of non-expert data only"},
            "augment_config": config.to_dict(), "synthetic_candidates": synth_log,
            "timings_s": {k: round(v, 1) for k, v in timings.items()},
            "machine": {"cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads()},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"seed {s}: " + ", ".join(f"{k} {v['successes']}/{v['evaluated']}" for k, v in results.items()),
              flush=True)


if __name__ == "__main__":
    main()
