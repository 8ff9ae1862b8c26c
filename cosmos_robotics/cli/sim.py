"""``cosmos-robotics sim record``: roll a policy in ``SimDroid-v0`` and store the episodes as a LeRobot v3 dataset.

Worker processes simulate and render (MuJoCo on CPU scales with processes, not threads); the parent process owns
the crash-safe writer and commits every ``--commit-every`` episodes. Episode ``i`` always uses seed ``seed + i``,
so an interrupted recording rerun with the same arguments continues at the first missing episode and produces
the same data an uninterrupted run would have.

Each frame stores ``info["is_success"]`` after its action as LeRobot's ``next.success``, so consumers that need
per-frame success labels (``world_models.embedded.data``) read them instead of re-simulating; the episode's final
flag also goes to ``meta/cosmos_robotics.json``. Datasets recorded before this column existed lack it, and
resuming one is refused (the features differ).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.export import IMAGE_PREFIX, DatasetSpec, EpisodeRecord, LeRobotEpisodeWriter, Provenance
from cosmos_robotics.export.model_actions import DROID_MODEL_ACTION_NAMES, droid_model_actions


def register(sub) -> None:
    sim = sub.add_parser("sim", help="the DROID-like MuJoCo simulator").add_subparsers(dest="sim_command", required=True)
    rec = sim.add_parser("record", help="record policy rollouts as a LeRobot v3 dataset (resumable)")
    rec.add_argument("--episodes", type=int, required=True, help="total episodes the dataset should hold")
    rec.add_argument("--policy", required=True, help='policy spec, e.g. "expert" or "expert:noise=0.03"')
    rec.add_argument("--out", type=Path, required=True, help="dataset directory (created, or resumed)")
    rec.add_argument("--workers", type=int, default=2, help="simulation processes (default 2)")
    rec.add_argument("--seed", type=int, default=0, help="episode i uses seed + i (default 0)")
    rec.add_argument("--resolution", type=int, default=128, help="square camera images (default 128)")
    rec.add_argument("--steps", type=int, default=100, help="steps per episode (default 100)")
    rec.add_argument("--commit-every", type=int, default=10, help="episodes per atomic commit (default 10)")
    rec.set_defaults(func=record)


def record(args) -> int:
    for name in ("episodes", "workers", "resolution", "steps", "commit_every"):
        if getattr(args, name) < 1:
            raise CosmosRoboticsError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    from cosmos_robotics.policies import make_policy

    policy_name = make_policy(args.policy).name  # validates the spec before any process starts
    quiet_libraries()
    provenance = sim_provenance(policy_name, args.seed, args.resolution, args.steps)
    with LeRobotEpisodeWriter(args.out, sim_spec(args.resolution), provenance) as writer:
        start = writer.num_committed
        if start >= args.episodes:
            print(f"{args.out}: already holds {start} episodes (asked for {args.episodes}); nothing to do")
            return 0
        config = (policy_name, args.resolution, args.steps)
        todo = [(config, args.seed + i) for i in range(start, args.episodes)]
        # Spawned workers: no inherited EGL/OpenMP state; one llvmpipe thread each (processes scale, threads don't).
        os.environ.setdefault("LP_NUM_THREADS", "1")
        workers = min(args.workers, len(todo))
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            progress = tqdm(total=args.episodes, initial=start, unit="episode", desc=f"recording {args.out.name}")
            for record_ in ordered_results(pool, todo, window=2 * workers):
                writer.add(record_)
                if writer.num_pending >= args.commit_every:
                    writer.commit()
                progress.update(1)
                progress.set_postfix(committed=writer.num_committed)
            progress.close()
        writer.commit()
        successes = sum(e.success for e in writer.episodes)
        print(f"{args.out}: {writer.num_committed} episodes, success {successes}/{writer.num_committed}")
    return 0


def sim_spec(resolution: int) -> DatasetSpec:
    """The recorded features: three cameras, state, action, DROID model-space actions and ``next.success``."""
    from cosmos_robotics.sim import ACTION_NAMES, CAMERAS, STATE_NAMES

    return DatasetSpec(
        fps=15,
        cameras={cam: (resolution, resolution) for cam in CAMERAS},
        state_names=tuple(STATE_NAMES),
        action_names=tuple(ACTION_NAMES),
        model_action_names=DROID_MODEL_ACTION_NAMES,
        frame_success=True,
        robot_type="franka_panda_robotiq_2f85_sim",
    )


def ordered_results(pool: ProcessPoolExecutor, jobs: list, window: int):
    """Episodes in index order, at most ``window`` in flight: the writer (video encoding) can be the slower side,
    and unbounded prefetch would pile up ~15 MB per finished episode. A worker that dies raises
    ``BrokenProcessPool`` here instead of hanging."""
    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(simulate_episode, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def quiet_libraries() -> None:
    """Keep the progress bar readable: no per-file ``datasets`` bars, no libav muxer chatter."""
    import av

    import datasets

    datasets.disable_progress_bars()
    av.logging.set_libav_level(av.logging.ERROR)  # lerobot restores libav's own stderr logger after encoding


def sim_provenance(policy_name: str, seed: int, resolution: int, steps: int) -> Provenance:
    import mujoco

    from cosmos_robotics.sim import ENV_ID

    return Provenance(
        generator=f"sim:{ENV_ID}",
        synthetic=True,
        seed=seed,
        backend=f"mujoco {mujoco.__version__}",
        params={
            "policy": policy_name,
            "resolution": resolution,
            "steps": steps,
            "episode_seed": "seed + episode_index",
            "action.cosmos3": "DROID 10D (droid_lerobot), quantile-normalized, unclamped, row t = frame t -> t+1",
        },
    )


_ENV_CACHE: dict = {}


def simulate_episode(job: tuple[tuple[str, int, int], int]) -> EpisodeRecord:
    """One rollout in a worker process (the env is built once per process and configuration)."""
    (policy_name, resolution, steps), seed = job
    import gymnasium as gym

    # Imported here, not at module level, so the CLI starts without mujoco; the import registers the env.
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.sim import ENV_ID

    key = (resolution, steps)
    if key not in _ENV_CACHE:
        _ENV_CACHE[key] = gym.make(ENV_ID, image_size=(resolution, resolution), episode_length=steps)
    env = _ENV_CACHE[key]
    policy = make_policy(policy_name, seed=seed)
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    frames: dict[str, list] = {k.removeprefix(IMAGE_PREFIX): [] for k in obs if k.startswith(IMAGE_PREFIX)}
    states, actions, successes = [], [], []
    for _ in range(steps):
        for cam in frames:
            frames[cam].append(obs[IMAGE_PREFIX + cam])
        states.append(obs["observation.state"])
        action = np.asarray(policy.act(obs, info), dtype=np.float32)
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        successes.append(info["is_success"])  # next.success of this frame: the state its action led to
        if terminated:
            break
    states_arr, actions_arr = np.stack(states), np.stack(actions)
    cartesian = np.concatenate([states_arr[:, :6], obs["observation.state"][None, :6]])  # + state after last step
    return EpisodeRecord(
        frames={cam: np.stack(f) for cam, f in frames.items()},
        states=states_arr,
        actions=actions_arr,
        model_actions=droid_model_actions(cartesian, actions_arr[:, 6].astype(np.float64)),
        frame_success=np.asarray(successes, dtype=bool),
        task=env.unwrapped.task,
        success=bool(info["is_success"]),
        seed=seed,
    )
