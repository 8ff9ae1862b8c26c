"""Imagination against ground truth: a policy acts closed loop inside a world model, and the very chunks it chose
are executed in ``SimDroid-v0`` from the same start state (what ``cosmos-robotics demo`` shows).

Both runs go through the one rollout runner: the world-model run with the policy, the simulator run with
``ChunkReplay`` of the imagined chunks in model space (decoded from the *measured* flange pose at each chunk
start, as a robot would execute them). The comparison says how far imagination and physics part: PSNR of the
predicted frames against the rendered ones per chunk, flange drift, predicted vs real success, real-time factor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
from cosmos_robotics.evaluation.metrics import psnr
from cosmos_robotics.policies.base import Policy
from cosmos_robotics.policies.replay import ChunkReplay
from cosmos_robotics.rollout import Episode, run_episode, stacked_views
from cosmos_robotics.world_models.base import WorldModel


@dataclass
class Comparison:
    imagined: Episode
    simulated: Episode
    summary: dict


def compare_imagination(world_model: WorldModel, policy: Policy, seed: int, steps: int) -> Comparison:
    """Run ``policy`` in ``world_model`` for ``steps`` from the simulator's ``seed`` start; replay in MuJoCo."""
    world = CosmosWorldEnv(world_model, episode_length=steps, action_type="model")
    imagined = run_episode(world, policy, seed)
    world.close()
    sim = SimChunkEnv(episode_length=steps, action_type="model")
    simulated = run_episode(sim, ChunkReplay(imagined.chunks, name=f"replay of {policy.name}"), seed)
    sim.close()
    predicted, truth = stacked_views(imagined), stacked_views(simulated)
    per_frame = psnr(predicted, truth, axes=(1, 2, 3))
    first, last = len(imagined.chunks[0]), len(imagined.chunks[-1])
    probability = imagined.infos[-1].get("success_probability")
    model_seconds = imagined.timings["policy_s"] + imagined.timings["env_s"]
    fps = imagined.chunks[0].fps
    summary = {
        "seed": seed, "steps": steps, "policy": policy.name, "task": imagined.task,
        "world_model": {"name": world_model.name, **world_model.runtime_info()},
        "success_predicted": imagined.is_success,
        "success_probability_final": None if probability is None else round(float(probability[-1]), 4),
        "success_simulator": simulated.is_success,
        "final_flange_error_mm": round(float(1000 * np.linalg.norm(imagined.states()[-1, :3]
                                                                    - simulated.states()[-1, :3])), 2),
        "psnr_db_imagined_vs_simulator": {
            "mean": round(float(per_frame[1:].mean()), 3),
            "first_chunk": round(float(per_frame[1:first + 1].mean()), 3),
            "last_chunk": round(float(per_frame[-last:].mean()), 3),
            "per_chunk": [round(float(per_frame[1 + begin:1 + begin + len(c)].mean()), 3)
                          for begin, c in zip(np.cumsum([0] + [len(c) for c in imagined.chunks[:-1]]),
                                              imagined.chunks, strict=True)],
        },
        "timings_s": {"world_model": round(model_seconds, 3), "simulator": round(simulated.timings["env_s"], 3)},
        "real_time_factor": round(steps / fps / model_seconds, 3),
    }
    return Comparison(imagined, simulated, summary)


def write_comparison(comparison: Comparison, out: Path) -> list[str]:
    """``rollout.mp4`` (left imagined, right simulator), ``trajectory.png``, ``summary.json`` under ``out``."""
    from cosmos_robotics.embodiments import get_adapter
    from cosmos_robotics.embodiments.droid import DROID_CAMERAS
    from cosmos_robotics.media import captioned_grid, write_video
    from cosmos_robotics.viz import plot_trajectories

    out.mkdir(parents=True, exist_ok=True)
    droid = get_adapter("droid")
    video = captioned_grid({"imagined (world model)": stacked_views(comparison.imagined),
                            "simulator (same chunks)": stacked_views(comparison.simulated)},
                           tuple(v.replace("_", " ") for v in DROID_CAMERAS))
    write_video(video, out / "rollout.mp4", fps=droid.preset.fps)
    truth = comparison.simulated.infos[-1]["privileged"]
    plot_trajectories({"world model (imagined)": droid.poses_from_cartesian(comparison.imagined.states()[:, :6]),
                       "simulator (same chunks)": droid.poses_from_cartesian(comparison.simulated.states()[:, :6])},
                      out / "trajectory.png", "Flange path: world model vs MuJoCo (base frame)",
                      points={"cube (end, simulator)": truth["cube_pos"], "plate": truth["plate_pos"]})
    outputs = ["rollout.mp4 (left: world model, right: simulator; wrist / exterior 1 / exterior 2)",
               "trajectory.png", "summary.json"]
    (out / "summary.json").write_text(json.dumps({**comparison.summary, "outputs": outputs}, indent=1) + "\n")
    return outputs
