"""Uplift study: does world-model augmentation help a small policy? Five arms per N, trained with the same budget.

(a)   N simulator demonstrations (scripted expert at the DROID contract speed, ``expert:contract=1``);
(b)   the same N + the first K synthetic episodes that passed the quality filter: ``augment --strategies new-starts``
      (the shipped embedded policy, ``embedded:replan=16``, closed loop inside the shipped embedded world model
      from fresh start states);
(b')  the same N + the first K synthetic candidates, unfiltered (what the filter is worth);
(c)   the same N + K more simulator demonstrations (the ceiling);
(b-ne) the same N + the first K kept synthetic episodes of a world model trained here on non-expert data only,
      driven by arm (a)'s own policy: no demonstration beyond the N enters this arm (the shipped model saw ~300).

World models. *Shipped*: 512 SimDroid-v0 episodes, seeds 0-511, 60 % expert demonstrations (ladder in
``training/data.py``; ``weights/training.json``): far more expert data than N, and its policy head drives (b).
*Non-expert*: trained in this run with ``training.embedded.train`` (the shipped config and loop) on ``--play``
episodes of heavily noised experts (``PLAY``: ~24 % / 0 % success; the policy head imitates none of them).
Same filter thresholds (``FilterConfig()``) for both.

Policy: the embedded model's policy path (``EmbeddedNet.policy``) at reduced width, trained from scratch with
the same steps, batch, learning rate and seed in every arm on windows drawn by the embedded training sampler
(``training.embedded.Batches``); held-out loss on validation demonstrations is logged beside the shipped policy
head's loss on the same windows (that head succeeds ~75 % in the simulator). Evaluation: ``SimDroid-v0`` closed
loop, re-planning every 8 steps, at most 130 steps, >= 100 held-out seeds per arm, Wilson 95 % intervals.

Seeds, all disjoint and none seen by the shipped world model: demonstrations 200000+, validation demonstrations
250000+, evaluation 300000+, synthetic start states 400000+ (the same start states for every synthetic set),
non-expert play data 500000+.

It runs as a small task graph: simulator episodes and evaluation episodes in ``--cpu-workers`` spawned processes
(each renders its own episodes), trainings and generation in ``--gpu-workers`` processes on ``--device``.
Everything lands in ``--work`` (episodes, candidates, checkpoints, evaluation outcomes), so a rerun with the same
arguments resumes; ``--phase data|train`` stops after that stage. The report (``--out``) and plot (``--plot``)
are rewritten every ``--report-every`` seconds, so a run cut short still leaves its finished seeds.

    # GPU machine (benchmarks/README.md has the device command)
    python3 benchmarks/augment_uplift.py --device cuda --cpu-workers 14 --gpu-workers 5 --work /tmp/uplift \
        --out $OUT/augment_uplift.json --plot $OUT/augment_uplift.png
    # CPU dry run of the whole pipeline at a tiny size
    PYTHONPATH=. .venv/bin/python benchmarks/augment_uplift.py --device cpu --n 2 3 --k 1 1 --eval-seeds 2 \
        --train-steps 3 --batch 2 --val 1 --play 2 --wm-steps 2 --wm-batch 2 --cpu-workers 2 --gpu-workers 1 \
        --work /tmp/uplift_dry --out /tmp/uplift_dry/report.json --plot /tmp/uplift_dry/plot.png
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from machine import cpu_report  # benchmarks/machine.py

DEMO_SEED, VAL_SEED, EVAL_SEED, SYNTH_SEED, PLAY_SEED = 200_000, 250_000, 300_000, 400_000, 500_000
EXPERT = "expert:contract=1"
PLAY = ("expert:noise=0.02,contract=1", "expert:noise=0.05,contract=1")  # non-expert data, alternating
EPISODE_LENGTH = 130
DRIVER_REPLAN = 16  # augment's default new-starts policy executes 16 rows per chunk (embedded:replan=16)
VAL_WINDOWS = 128
STAGES = ("data", "train", "eval")
ARMS = ("a", "b", "b_prime", "c", "b_ne")
ARM_LABELS = {"a": "(a) N demos", "b": "(b) + K filtered synthetic", "b_prime": "(b') + K unfiltered synthetic",
              "c": "(c) + K more demos", "b_ne": "(b-ne) + K filtered, non-expert WM"}


def policy_config():
    from cosmos_robotics.world_models.embedded.config import ModelConfig

    return ModelConfig(enc_channels=(16, 32, 32), hidden=64, head_channels=16, head_hidden=256, dec_channels=(16, 16))


# ------------------------------------------------------------------------------------------- worker-side tasks
def init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def atomic_save(path: Path, episodes, meta: dict) -> None:
    """``path`` (.npz) and its ``.json`` sidecar; the sidecar is written last, so its presence means complete."""
    from dataclasses import fields

    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **{f.name: getattr(episodes, f.name) for f in fields(episodes)})
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(meta) + "\n")


def load_episodes(paths: list[str]):
    from cosmos_robotics.training.data import Episodes

    parts = []
    for path in paths:
        with np.load(path) as data:
            parts.append(Episodes(**{k: data[k] for k in data.files}))
    return Episodes.concat(parts)


def simulate(seed: int, spec: str, clone: bool, path: str) -> dict:
    from cosmos_robotics.training.data import simulate_episode

    start = time.perf_counter()
    episode = simulate_episode(seed, spec, clone, EPISODE_LENGTH)
    meta = {"seed": seed, "spec": spec, "success": bool(episode.success[-1]),
            "seconds": round(time.perf_counter() - start, 2)}
    atomic_save(Path(path), episode, meta)
    return meta


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


_CACHE: dict = {}


def generate(world_model_dir: str | None, driver_dir: str | None, jobs: list, device: str, out: str) -> list[dict]:
    """``augment --strategies new-starts`` candidates for ``jobs`` (``strategies.imagined`` + ``filter.judge``, as the
    generator runs them): the embedded policy of ``driver_dir`` closed loop in the world model of
    ``world_model_dir`` (None: the shipped weights); every candidate is stored with its verdict."""
    from cosmos_robotics.augmentation import FilterConfig, judge
    from cosmos_robotics.augmentation.strategies import imagined
    from cosmos_robotics.envs import CosmosWorldEnv
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
    from cosmos_robotics.world_models.factory import make_world_model

    key = ("generate", world_model_dir, driver_dir, device)
    if key not in _CACHE:
        world_model = make_world_model("embedded", world_model_dir, device=device)
        driver = ExecuteK(EmbeddedPolicy(load_checkpoint(Path(driver_dir or DEFAULT_WEIGHTS), device)), DRIVER_REPLAN)
        _CACHE[key] = world_model, driver, CosmosWorldEnv(world_model, episode_length=EPISODE_LENGTH)
    world_model, driver, env = _CACHE[key]
    rows = []
    for job in jobs:
        path = Path(out) / f"{job.seed}.npz"
        if path.with_suffix(".json").is_file():
            rows.append(json.loads(path.with_suffix(".json").read_text()))
            continue
        start = time.perf_counter()
        candidate = imagined(env, driver, job, None, {"start": "sim", "start_seed": job.seed})
        verdict = judge(candidate, world_model, FilterConfig())
        row = {"index": job.index, "seed": job.seed, "kept": verdict.kept, "reasons": list(verdict.reasons),
               "scores": verdict.scores, "seconds": round(time.perf_counter() - start, 2), "path": str(path)}
        atomic_save(path, as_training_episode(candidate), row)
        rows.append(row)
    return rows


def validation_windows(val_paths: list[str]):
    """A fixed sample of windows of the validation demonstrations: frame-0 views, state, recorded chunk."""
    episodes = load_episodes(val_paths)
    rng = np.random.default_rng(0)
    e = rng.integers(0, len(episodes.seeds), VAL_WINDOWS)
    t = rng.integers(0, episodes.windows, VAL_WINDOWS)
    return episodes.images[e, t], episodes.states[e, t], episodes.chunks[e, t]


def policy_loss(model, windows, device) -> float:
    import torch
    import torch.nn.functional as F

    from cosmos_robotics.world_models.embedded.model import to_model_images

    images, states, chunks = (torch.from_numpy(a).to(device) for a in windows)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        loss = sum(float(F.mse_loss(model.policy(to_model_images(images[i:i + 32]), states[i:i + 32]).float(),
                                    chunks[i:i + 32], reduction="sum")) for i in range(0, len(images), 32))
    model.train(was_training)
    return loss / chunks.numel()


def train_policy(paths: list[str], val_paths: list[str], steps: int, batch: int, seed: int, device: str,
                 out: str, log_every: int) -> dict:
    """The policy loss of the embedded model's training (``EmbeddedNet.policy`` vs the recorded chunk) only."""
    import torch
    import torch.nn.functional as F

    from cosmos_robotics.training.embedded import Batches, fit_normalization
    from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
    from cosmos_robotics.world_models.embedded.model import EmbeddedNet, to_model_images

    start = time.perf_counter()
    episodes = load_episodes(paths)
    windows = validation_windows(val_paths)
    dev = torch.device(device)
    torch.manual_seed(seed)
    model = EmbeddedNet(policy_config())
    fit_normalization(model, episodes)
    model.to(dev)
    data = Batches(episodes, dev, seed)
    used = [model.encoder, model.state_mlp, model.policy_trunk, model.policy_head]
    params = [p for m in used for p in m.parameters()] + [model.view_embed]
    optim = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, 1e-3, total_steps=steps, pct_start=max(0.05, 2.0 / steps))
    model.train()
    history, running = [], []
    for step in range(1, steps + 1):
        sample = data.sample(batch, 1)
        loss = F.mse_loss(model.policy(to_model_images(sample["video"][:, 0]), sample["state"]), sample["chunk"])
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        running.append(loss.detach())
        if step % log_every == 0 or step == steps:
            history.append({"step": step, "train_loss": round(float(torch.stack(running).mean()), 5),
                            "val_loss": round(policy_loss(model, windows, dev), 5),
                            "seconds": round(time.perf_counter() - start, 1)})
            running = []
    log = {"episodes": len(paths), "episode_seeds": [int(s) for s in episodes.seeds], "steps": steps, "batch": batch,
           "seed": seed, "device": device, "train_seconds": round(time.perf_counter() - start, 1),
           "history": history}
    save_checkpoint(model.eval(), Path(out), log)
    return log


def reference_loss(val_paths: list[str], device: str) -> float:
    """The shipped policy head's loss on the validation windows (that policy succeeds ~75 % in the simulator)."""
    from cosmos_robotics.world_models.embedded.checkpoint import load_checkpoint

    return policy_loss(load_checkpoint(device=device), validation_windows(val_paths), device)


def train_world_model(paths: list[str], steps: int, batch: int, device: str, out: str) -> dict:
    """The shipped model's config and training loop on the non-expert episodes (none is imitated)."""
    from cosmos_robotics.training.embedded import train
    from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
    from cosmos_robotics.world_models.embedded.config import TrainConfig

    config = TrainConfig(steps=steps, batch_size=batch, log_every=max(1, steps // 10))
    model, log = train(load_episodes(paths), config, None, device)
    log["data"] = f"non-expert: {', '.join(PLAY)} (alternating), seeds {PLAY_SEED}+"
    save_checkpoint(model, Path(out), log)
    return {k: log[k] for k in ("train_seconds", "episodes", "episode_seeds", "parameters")} | {
        "steps": steps, "batch": batch, "final": log["history"][-1]}


def cycle_on_demos(world_model_dir: str | None, val_paths: list[str], device: str) -> float:
    """Mean cycle MSE of real validation demonstrations under a world model: the filter's score for real data."""
    from cosmos_robotics.augmentation.filter import cycle_errors
    from cosmos_robotics.world_models.embedded.backend import stack_views
    from cosmos_robotics.world_models.embedded.config import CHUNK
    from cosmos_robotics.world_models.factory import make_world_model

    world_model = make_world_model("embedded", world_model_dir, device=device)
    episodes = load_episodes(val_paths)
    steps = ((episodes.windows - 1) // CHUNK + 1) * CHUNK  # whole chunks starting at recorded windows
    errors = []
    for e in range(len(episodes.seeds)):
        video = stack_views(*(episodes.images[e, :steps + 1, v] for v in range(3)))
        commanded = np.concatenate([episodes.chunks[e, t] for t in range(0, steps, CHUNK)])
        errors.append(cycle_errors(world_model, video, commanded).mean())
    return float(np.mean(errors))


def evaluate(policy_dir: str, seed: int, replan: int) -> dict:
    """One held-out closed-loop episode in SimDroid-v0 (one env and one copy of each policy per process)."""
    from cosmos_robotics.envs import SimChunkEnv
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.rollout import run_episode
    from cosmos_robotics.world_models.embedded.checkpoint import load_checkpoint

    if "env" not in _CACHE:
        _CACHE["env"] = SimChunkEnv(episode_length=EPISODE_LENGTH, terminate_on_success=True)
    if (policy_dir, replan) not in _CACHE:
        _CACHE[policy_dir, replan] = ExecuteK(EmbeddedPolicy(load_checkpoint(Path(policy_dir))), replan)
    start = time.perf_counter()
    episode = run_episode(_CACHE["env"], _CACHE[policy_dir, replan], seed, keep_observations=False)
    return {"seed": seed, "success": episode.is_success, "steps": episode.steps,
            "seconds": round(time.perf_counter() - start, 2)}


# ------------------------------------------------------------------------------------------- the task graph
def done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class Study:
    """Lazily started, memoized nodes (futures); threads wait on their inputs, processes do the work."""

    def __init__(self, args):
        self.args, self.work = args, args.work
        self.stage = STAGES.index("eval" if args.phase == "all" else args.phase)
        self.k = dict(zip(args.n, args.k or args.n, strict=True))
        context = get_context("spawn")
        self.cpu = ProcessPoolExecutor(args.cpu_workers, context, initializer=init_worker, initargs=(1,))
        self.gpu = ProcessPoolExecutor(args.gpu_workers, context, initializer=init_worker, initargs=(2,))
        self.threads = ThreadPoolExecutor(256)  # one per waiting node: never exhausted
        self.lock = threading.Lock()
        self.nodes: dict = {}
        self.outcomes: dict[str, list[dict]] = {}
        self.arms: dict[tuple[int, str], dict] = {}
        self.facts: dict = {"timings_s": {}}
        self.machine = machine(args)
        self.t0 = self.written = time.perf_counter()
        for sub in ("episodes", "synthetic", "policies", "eval"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)

    def log(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.0f}s] {text}", flush=True)

    def once(self, key, start) -> Future:
        with self.lock:
            if key not in self.nodes:
                self.nodes[key] = start()
            return self.nodes[key]

    def note(self, key: str, value) -> None:
        with self.lock:
            self.facts[key] = value

    def mark(self, name: str) -> None:
        with self.lock:
            self.facts["timings_s"][name] = round(time.perf_counter() - self.t0, 1)

    # ------------------------------------------------------------------ simulator episodes
    def episode(self, seed: int, spec: str, clone: bool) -> Future:
        path = self.work / "episodes" / f"{seed}.npz"

        def start():
            if path.with_suffix(".json").is_file():
                return done(json.loads(path.with_suffix(".json").read_text()))
            return self.cpu.submit(simulate, seed, spec, clone, str(path))
        return self.once(("episode", seed), start)

    def demos(self, count: int) -> list[str]:
        metas = [self.episode(DEMO_SEED + i, EXPERT, True).result() for i in range(count)]
        return [str(self.work / "episodes" / f"{m['seed']}.npz") for m in metas]

    def validation(self) -> list[str]:
        metas = [self.episode(VAL_SEED + i, EXPERT, True).result() for i in range(self.args.val)]
        return [str(self.work / "episodes" / f"{m['seed']}.npz") for m in metas]

    def play(self) -> list[str]:
        metas = [self.episode(PLAY_SEED + i, PLAY[i % len(PLAY)], False).result() for i in range(self.args.play)]
        self.note("play_success", f"{sum(m['success'] for m in metas)}/{len(metas)}")
        return [str(self.work / "episodes" / f"{m['seed']}.npz") for m in metas]

    # ------------------------------------------------------------------ world models and synthetic episodes
    def world_model_ne(self) -> Future:
        out = self.work / f"wm_nonexpert_p{self.args.play}_s{self.args.wm_steps}_b{self.args.wm_batch}"

        def run():
            if not (out / "training.json").is_file():
                paths = self.play()
                self.log(f"play data ready ({self.facts['play_success']} succeed); training the non-expert world model")
                self.gpu.submit(train_world_model, paths, self.args.wm_steps, self.args.wm_batch, self.args.device,
                                str(out)).result()
            log = json.loads((out / "training.json").read_text())
            self.note("world_model_ne", {k: log.get(k) for k in ("train_seconds", "episodes", "episode_seeds",
                                                                 "data", "parameters", "device")} | {
                "steps": log["train_config"]["steps"], "batch": log["train_config"]["batch_size"],
                "final_losses": log["history"][-1]})
            self.mark("world_model_ne_trained")
            self.log(f"non-expert world model trained: {self.facts['world_model_ne']['final_losses']}")
            return str(out)
        return self.once("wm_ne", lambda: self.threads.submit(run))

    def synthetic(self, tag: str, count: int) -> Future:
        """Candidates of one synthetic set, in job order: ``shipped`` or ``ne_nN`` (non-expert WM, arm-a driver)."""
        def run():
            from cosmos_robotics.augmentation import plan_jobs

            if tag == "shipped":
                world_model, driver = None, None
            else:
                n = int(tag.removeprefix("ne_n"))
                world_model, driver = self.world_model_ne().result(), self.policy(n, "a").result()
            out = self.work / "synthetic" / tag
            out.mkdir(exist_ok=True)
            jobs = plan_jobs(("new-starts",), count, SYNTH_SEED, 0)
            per_task = math.ceil(len(jobs) / max(1, self.args.gpu_workers))
            parts = [self.gpu.submit(generate, world_model, driver, jobs[i:i + per_task], self.args.device, str(out))
                     for i in range(0, len(jobs), per_task)]
            rows = sorted((row for part in parts for row in part.result()), key=lambda r: r["index"])
            self.mark(f"synthetic_{tag}")
            self.log(f"synthetic {tag}: {sum(r['kept'] for r in rows)}/{len(rows)} kept")
            return rows
        return self.once(("synthetic", tag), lambda: self.threads.submit(run))

    def attempts(self, k: int) -> int:
        return max(1, math.ceil(self.args.attempts * k))

    # ------------------------------------------------------------------ arms: training sets, policies, outcomes
    def training_set(self, n: int, arm: str) -> tuple[list[str], dict]:
        k = self.k[n]
        if arm == "a":
            return self.demos(n), {}
        if arm == "c":
            return self.demos(n + k), {}
        if arm == "b_ne":
            rows = self.synthetic(f"ne_n{n}", self.attempts(k)).result()
        else:
            rows = self.synthetic("shipped", self.attempts(max(self.k.values()))).result()
        chosen = [r for r in rows if arm == "b_prime" or r["kept"]][:k]
        info = {"synthetic": len(chosen), "synthetic_seeds": [r["seed"] for r in chosen],
                "synthetic_kept_of_chosen": sum(r["kept"] for r in chosen)}
        return self.demos(n) + [r["path"] for r in chosen], info

    def policy(self, n: int, arm: str) -> Future:
        def run():
            paths, info = self.training_set(n, arm)
            digest = hashlib.sha256(json.dumps([Path(p).parent.name + "/" + Path(p).name for p in paths]
                                               + [self.args.train_steps, self.args.batch, self.args.seed]
                                               ).encode()).hexdigest()[:12]
            with self.lock:
                self.arms[n, arm] = {"episodes": len(paths), "checkpoint": digest, **info}
            return self.trained(digest, paths).result()
        return self.once(("policy", n, arm), lambda: self.threads.submit(run))

    def trained(self, digest: str, paths: list[str]) -> Future:
        out = self.work / "policies" / digest

        def run():
            if not (out / "training.json").is_file():
                self.gpu.submit(train_policy, paths, self.validation(), self.args.train_steps, self.args.batch,
                                self.args.seed, self.args.device, str(out), self.args.log_every).result()
            log = json.loads((out / "training.json").read_text())
            self.log(f"trained {digest} on {len(paths)} episodes: {log['history'][-1]}")
            return str(out)
        return self.once(("trained", digest), lambda: self.threads.submit(run))

    def evaluated(self, n: int, arm: str) -> Future:
        def run():
            directory = self.policy(n, arm).result()
            return self.outcomes_of(Path(directory).name, directory).result()
        return self.once(("evaluated", n, arm), lambda: self.threads.submit(run))

    def outcomes_of(self, digest: str, directory: str) -> Future:
        """Held-out episodes of one checkpoint, appended to ``eval/DIGEST.jsonl`` as they finish (resumable)."""
        path = self.work / "eval" / f"{digest}.jsonl"

        def run():
            rows = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
            seen = {r["seed"] for r in rows}
            with self.lock:
                self.outcomes[digest] = rows
            futures = [self.cpu.submit(evaluate, directory, EVAL_SEED + s, self.args.replan)
                       for s in range(self.args.eval_seeds) if EVAL_SEED + s not in seen]
            with path.open("a") as handle:
                for future in futures:
                    row = future.result()
                    handle.write(json.dumps(row) + "\n")
                    handle.flush()
                    with self.lock:
                        rows.append(row)
            self.log(f"evaluated {digest}: {sum(r['success'] for r in rows)}/{len(rows)}")
            return rows
        return self.once(("outcomes", digest), lambda: self.threads.submit(run))

    # ------------------------------------------------------------------ the run
    def run(self) -> None:
        ns, k_max = self.args.n, max(self.k.values())
        # Submission order is the CPU pool's order: demonstrations first (every arm waits on them), then play data.
        for i in range(max(n + self.k[n] for n in ns)):
            self.episode(DEMO_SEED + i, EXPERT, True)
        for i in range(self.args.val):
            self.episode(VAL_SEED + i, EXPERT, True)
        for i in range(self.args.play):
            self.episode(PLAY_SEED + i, PLAY[i % len(PLAY)], False)
        waits = [self.synthetic("shipped", self.attempts(k_max)),
                 self.threads.submit(self.reference, None), self.threads.submit(self.play)]
        if self.stage >= STAGES.index("train"):
            waits += [self.threads.submit(self.reference, "ne")]
            waits += [self.policy(n, arm) for n in ns for arm in ARMS]
        if self.stage >= STAGES.index("eval"):
            waits += [self.evaluated(n, arm) for n in ns for arm in ARMS]
        waits += [self.threads.submit(self.demos, max(n + self.k[n] for n in ns))]
        while not all(w.done() for w in waits):
            time.sleep(0.5)
            if time.perf_counter() - self.written > self.args.report_every:
                self.report(complete=False)
        errors = [repr(w.exception()) for w in waits if w.exception() is not None]
        self.mark("total")
        self.report(complete=self.stage == STAGES.index("eval") and not errors, errors=errors)
        self.cpu.shutdown()
        self.gpu.shutdown()
        if errors:
            raise SystemExit("failed: " + "; ".join(sorted(set(errors))))

    def reference(self, which: str | None) -> None:
        """Diagnostics: the shipped policy head's validation loss; each world model's cycle MSE on real demos."""
        val = self.validation()
        if which is None:
            self.note("shipped_policy_val_loss", round(self.gpu.submit(reference_loss, val, self.args.device).result(), 5))
            self.note("cycle_mse_real_demos_shipped_wm",
                      round(self.gpu.submit(cycle_on_demos, None, val, self.args.device).result(), 5))
        else:
            self.note("cycle_mse_real_demos_nonexpert_wm", round(self.gpu.submit(
                cycle_on_demos, self.world_model_ne().result(), val, self.args.device).result(), 5))

    # ------------------------------------------------------------------ report
    def report(self, complete: bool, errors: list[str] | None = None) -> None:
        from cosmos_robotics.augmentation import FilterConfig
        from cosmos_robotics.augmentation.card import checkpoint_identity
        from cosmos_robotics.evaluation.statistics import newcombe, wilson

        self.written = time.perf_counter()
        arms = {}
        with self.lock:
            facts = json.loads(json.dumps(self.facts))
            sets = {key[1]: node.result() for key, node in self.nodes.items()
                    if key[0] == "synthetic" and node.done() and node.exception() is None}
            for (n, arm), info in sorted(self.arms.items()):
                rows = list(self.outcomes.get(info["checkpoint"], []))
                wins = sum(r["success"] for r in rows)
                low, high = wilson(wins, len(rows))
                log_path = self.work / "policies" / info["checkpoint"] / "training.json"
                history = json.loads(log_path.read_text())["history"] if log_path.is_file() else []
                twins = [a for (m, a), i in self.arms.items() if m == n and a != arm
                         and i["checkpoint"] == info["checkpoint"] and ARMS.index(a) < ARMS.index(arm)]
                arms.setdefault(f"n{n}", {})[arm] = {
                    "label": ARM_LABELS[arm], "n": n, "k": self.k[n], **info, "successes": wins,
                    "evaluated": len(rows), "success_rate": round(wins / len(rows), 4) if rows else None,
                    "wilson95": [round(low, 4), round(high, 4)], "training_history": history,
                    "same_training_set_as": twins[0] if twins else None}
        for group in arms.values():  # uplift over arm (a): difference of rates, Newcombe 95 % (conservative)
            base = group.get("a")
            for arm, row in group.items():
                if arm != "a" and base and base["evaluated"] and row["evaluated"]:
                    low, high = newcombe(row["successes"], row["evaluated"], base["successes"], base["evaluated"])
                    row["uplift_over_a"] = {"difference": round(row["success_rate"] - base["success_rate"], 4),
                                            "newcombe95": [round(low, 4), round(high, 4)]}
        checkpoint, training = checkpoint_identity("embedded", None)
        args = self.args
        report = {
            "complete": complete,
            "errors": errors or [],
            "command": "python3 benchmarks/augment_uplift.py " + " ".join(
                f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in vars(args).items() if v is not None),
            "arms": arms,
            "budget": {"train_steps": args.train_steps, "batch": args.batch, "lr": 1e-3, "seed": args.seed,
                       "policy": f"EmbeddedNet.policy with {policy_config()}",
                       "evaluation": f"SimDroid-v0, ExecuteK replan={args.replan}, {EPISODE_LENGTH} steps max"},
            "seeds": {"demos": DEMO_SEED, "validation": VAL_SEED, "evaluation": [EVAL_SEED, EVAL_SEED + args.eval_seeds - 1],
                      "synthetic_starts": SYNTH_SEED, "non_expert_play": PLAY_SEED},
            "world_models": {
                "shipped": {"checkpoint_sha256": checkpoint, "trained_on": training,
                            "note": "512 SimDroid-v0 episodes, seeds 0-511, 60 % expert demonstrations: more expert "
                                    "data than N; its own policy head (trained on those) drives arms b / b'"},
                "non_expert": facts.get("world_model_ne", {}) | {
                    "play_success": facts.get("play_success"),
                    "note": "trained in this run on noised experts only; arm b-ne is driven by arm a's policy"}},
            "filter": FilterConfig().to_dict(),
            "diagnostics": {k: v for k, v in facts.items() if k.startswith(("shipped_policy", "cycle_mse"))},
            "synthetic": {tag: {"candidates": len(rows), "kept": sum(r["kept"] for r in rows),
                                "rows": [{k: v for k, v in r.items() if k != "path"} for r in rows]}
                          for tag, rows in sets.items()},
            "timings_s": facts["timings_s"] | {"elapsed": round(time.perf_counter() - self.t0, 1)},
            "machine": self.machine,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1) + "\n")
        tmp.replace(args.out)
        if args.plot and arms:
            plot(arms, args.plot, complete)


def machine(args) -> dict:
    import torch

    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") and torch.cuda.is_available() else None
    return {"cpu": cpu_report(), "cores": os.cpu_count(), "gpu": gpu,
            "cpu_workers": args.cpu_workers, "gpu_workers": args.gpu_workers, "torch": torch.__version__}


def plot(arms: dict, path: Path, complete: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(arms)
    width = 0.8 / len(ARMS)
    fig, ax = plt.subplots(figsize=(4.2 + 2.4 * len(groups), 3.6))
    for j, arm in enumerate(ARMS):
        xs, ys, errors = [], [], [[], []]
        for i, group in enumerate(groups):
            row = arms[group].get(arm)
            if row is None or not row["evaluated"]:
                continue
            rate = row["success_rate"]
            xs.append(i + (j - (len(ARMS) - 1) / 2) * width)
            ys.append(100 * rate)
            errors[0].append(100 * (rate - row["wilson95"][0]))
            errors[1].append(100 * (row["wilson95"][1] - rate))
        bars = ax.bar(xs, ys, width, yerr=errors, capsize=3, label=ARM_LABELS[arm])
        labels = [f"{arms[g][arm]['successes']}/{arms[g][arm]['evaluated']}" for g in groups
                  if arm in arms[g] and arms[g][arm]["evaluated"]]
        ax.bar_label(bars, labels, fontsize=6, padding=2)
    ax.set_xticks(range(len(groups)), [f"N = {g[1:]}, K = {next(iter(arms[g].values()))['k']}" for g in groups])
    ax.set_ylabel("success in SimDroid-v0 (%)")
    evaluated = sorted({r["evaluated"] for g in arms.values() for r in g.values()})
    seeds = str(evaluated[0]) if evaluated[0] == evaluated[-1] else f"{evaluated[0]}-{evaluated[-1]}"
    ax.set_title(f"Augmentation uplift: success, Wilson 95 % ({seeds} held-out seeds per arm)"
                 + ("" if complete else ", INCOMPLETE"), fontsize=9)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20, 50], help="demonstrations per study (default 20 50)")
    parser.add_argument("--k", type=int, nargs="+", default=None, help="synthetic / extra episodes per N (default N)")
    parser.add_argument("--eval-seeds", type=int, default=100)
    parser.add_argument("--train-steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="policy initialization and batch sampling, every arm")
    parser.add_argument("--log-every", type=int, default=250, help="training steps between validation losses")
    parser.add_argument("--replan", type=int, default=8)
    parser.add_argument("--val", type=int, default=8, help="validation demonstrations (held-out loss)")
    parser.add_argument("--play", type=int, default=256, help="non-expert episodes for the non-expert world model")
    parser.add_argument("--wm-steps", type=int, default=2000, help="non-expert world model training steps")
    parser.add_argument("--wm-batch", type=int, default=32)
    parser.add_argument("--attempts", type=float, default=2.0, help="synthetic candidates tried per K wanted")
    parser.add_argument("--device", default="cuda", help="training and generation device")
    parser.add_argument("--cpu-workers", type=int, default=14, help="processes simulating and evaluating")
    parser.add_argument("--gpu-workers", type=int, default=5, help="processes training and generating")
    parser.add_argument("--phase", choices=(*STAGES, "all"), default="all", help="stop after this stage")
    parser.add_argument("--work", type=Path, default=Path("/tmp/augment_uplift"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/augment_uplift.json"))
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/results/augment_uplift.png"))
    parser.add_argument("--report-every", type=float, default=30.0, help="seconds between report rewrites")
    args = parser.parse_args()
    if args.k is not None and len(args.k) != len(args.n):
        parser.error(f"--k: expected one value per --n ({len(args.n)}), got {len(args.k)}")
    from cosmos_robotics.training.embedded import training_device

    training_device(args.device)  # a typed error now, not after the simulation
    Study(args).run()


if __name__ == "__main__":
    main()
