"""One policy, one env, some seeds: what ``cosmos-robotics rollout`` runs. Writes per episode an mp4 of the views
and a summary, a ``summary.json`` over all, and optionally records the episodes as a LeRobot v3 dataset.

Episodes imagined by a world model are recorded like simulated ones (``action`` = the SimDroid delta action that
moves from the imagined flange pose to the policy's target), marked synthetic in the dataset's provenance.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.rollout.runner import Episode, run_episodes, stacked_views

ENVS = ("sim", "world-model")


def make_env(env: str, steps: int, world_model: str = "embedded"):
    from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv

    if env == "sim":
        return SimChunkEnv(episode_length=steps)
    if env == "world-model":
        return CosmosWorldEnv(world_model, episode_length=steps)
    raise CosmosRoboticsError(f"--env: expected one of {', '.join(ENVS)}, got {env!r}")


def imagined_delta_actions(episode: Episode) -> np.ndarray:
    """``[L, 7]`` SimDroid delta actions from each imagined state toward the policy's target of that step."""
    from cosmos_robotics.sim.pose_control import action_toward

    states = episode.states()
    poses = np.concatenate([c.poses for c in episode.chunks])
    gripper = np.concatenate([c.gripper for c in episode.chunks])
    return np.stack([action_toward(states[t, :6].astype(np.float64), poses[t], float(gripper[t]))
                     for t in range(episode.steps)])


def run_rollouts(policy: str, env: str, seeds: list[int], steps: int, out: Path, record: Path | None = None,
                 world_model: str = "embedded") -> dict:
    """``policy`` (a spec) in ``env`` (``sim`` or ``world-model``) from each seed; see the module docstring."""
    from cosmos_robotics.export import LeRobotEpisodeWriter, Provenance
    from cosmos_robotics.media import write_video
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.rollout.record import episode_record, sim_spec

    if steps < 1 or not seeds:
        raise CosmosRoboticsError(f"expected --steps >= 1 and at least one seed, got {steps} and {seeds}")
    env_kind, policy = env, make_policy(policy)
    env = make_env(env_kind, steps, world_model)
    out.mkdir(parents=True, exist_ok=True)
    writer = None
    if record is not None:
        generator = "sim:cosmos_robotics/SimDroid-v0" if env_kind == "sim" else f"world_model:{world_model}"
        provenance = Provenance(generator=generator, synthetic=True, seed=seeds[0], backend=world_model
                                if env_kind != "sim" else None, params={"policy": policy.name, "steps": steps,
                                                                         "seeds": seeds})
        writer = LeRobotEpisodeWriter(record, sim_spec(env.observation_space["observation.images.wrist"].shape[0]),
                                      provenance)
    episodes = []
    for episode in run_episodes(env, policy, seeds, desc=f"{policy.name} in {env_kind}"):
        name = f"episode_{episode.seed}"
        write_video(stacked_views(episode), out / f"{name}.mp4", fps=episode.chunks[0].fps)
        summary = {"seed": episode.seed, "steps": episode.steps, "success": episode.is_success,
                   "first_success_step": int(np.argmax(episode.success)) + 1 if episode.success.any() else None,
                   "chunks": len(episode.chunks), "timings_s": {k: round(v, 4) for k, v in episode.timings.items()},
                   "video": f"{name}.mp4"}
        episodes.append(summary)
        if writer is not None:
            if env_kind != "sim":
                episode = dataclasses.replace(episode, actions=imagined_delta_actions(episode))
            writer.add(episode_record(episode))
    env.close()
    if writer is not None:
        writer.commit()
        writer.close()
    report = {"policy": policy.name, "env": env_kind, "world_model": world_model if env_kind != "sim" else None,
              "episodes": episodes, "success_rate": float(np.mean([e["success"] for e in episodes])),
              "recorded": None if record is None else str(record)}
    (out / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
