"""``cosmos-robotics demo``: the embedded policy acting inside the embedded world model, checked against MuJoCo.

From a simulator start state, the policy plans a 16-step DROID chunk from what the *world model* shows it (its own
predicted frames and state), the world model imagines the next ``--replan`` steps, and so on: a closed loop with
no simulator in it. The same chunks are executed in the real simulator from the same start, so the video shows
imagination (left) against ground truth (right) for all three views. CPU only, no download.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.errors import CosmosRoboticsError


def register(sub) -> None:
    parser = sub.add_parser("demo", help="closed-loop rollout of the embedded policy inside the embedded world model")
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--seed", type=int, default=1_500_003, help="simulator start state (held out from training)")
    parser.add_argument("--steps", type=int, default=128, help="control steps at 15 Hz")
    parser.add_argument("--replan", type=int, default=16, help="steps executed of each 16-step chunk")
    parser.add_argument("--weights", type=Path, default=None, help="embedded model directory (default: shipped)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.embodiments import get_adapter
    from cosmos_robotics.evaluation import psnr as frame_psnr
    from cosmos_robotics.media import write_video
    from cosmos_robotics.sim.env import SimDroidEnv
    from cosmos_robotics.sim.pose_control import execute_chunk
    from cosmos_robotics.viz import plot_trajectories
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel, stack_views
    from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS
    from cosmos_robotics.world_models.embedded.config import CHUNK

    if not 1 <= args.replan <= CHUNK or args.steps < 1:
        raise CosmosRoboticsError(f"--replan must be in 1..{CHUNK} and --steps >= 1, got {args.replan}, {args.steps}")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    wm = EmbeddedWorldModel(args.weights or DEFAULT_WEIGHTS)
    env = SimDroidEnv(episode_length=args.steps)

    def views(obs: dict) -> np.ndarray:
        return stack_views(*(obs[f"observation.images.{v}"] for v in ("wrist", "exterior_1", "exterior_2")))

    obs, info = env.reset(seed=args.seed)
    frame, state = views(obs), obs["observation.state"].astype(np.float64)
    imagined, truth = [frame], [frame]
    imagined_states, true_states = [state], [state.copy()]
    success_probability = []
    wm_seconds = sim_seconds = 0.0
    for begin in tqdm(range(0, args.steps, args.replan), desc="imagining", unit="chunk"):
        n = min(args.replan, args.steps - begin)
        t0 = time.perf_counter()
        result = wm.policy(frame, embodiment="droid", instruction=env.task, state=state)
        wm_seconds += time.perf_counter() - t0
        imagined.extend(result.frames[1 : n + 1])
        imagined_states.extend(result.extras["state"][:n])
        success_probability.extend(result.extras["success_probability"][1 : n + 1].tolist())
        frame, state = result.frames[n], result.extras["state"][n - 1]
        t0 = time.perf_counter()
        obs, info, observations, _ = execute_chunk(env, obs, result.actions, n)
        sim_seconds += time.perf_counter() - t0
        truth.extend(views(o) for o in observations)
        true_states.extend(o["observation.state"].astype(np.float64) for o in observations)

    video = np.concatenate([np.stack(imagined), np.stack(truth)], axis=2)  # left: imagined, right: simulator
    fps = get_adapter("droid").preset.fps
    write_video(video, args.out / "rollout.mp4", fps=fps)
    droid = get_adapter("droid")
    plot_trajectories({"world model (imagined)": droid.poses_from_cartesian(np.stack(imagined_states)[:, :6]),
                       "simulator (same chunks)": droid.poses_from_cartesian(np.stack(true_states)[:, :6])},
                      args.out / "trajectory.png", "Flange path: embedded world model vs MuJoCo")
    psnr = frame_psnr(np.stack(imagined), np.stack(truth), axes=(1, 2, 3))
    simulated_s = args.steps / fps
    summary = {
        "seed": args.seed, "steps": args.steps, "replan": args.replan, "task": env.task,
        "success_predicted": bool(success_probability[-1] > 0.5),
        "success_probability_final": round(float(success_probability[-1]), 4),
        "success_simulator": bool(info["is_success"]),
        "final_flange_error_mm": round(float(1000 * np.linalg.norm(imagined_states[-1][:3] - true_states[-1][:3])), 2),
        "psnr_db_imagined_vs_simulator": {"mean": round(float(psnr[1:].mean()), 3),
                                          "first_chunk": round(float(psnr[1 : args.replan + 1].mean()), 3),
                                          "last_chunk": round(float(psnr[-args.replan:].mean()), 3)},
        "timings_s": {"world_model": round(wm_seconds, 3), "simulator": round(sim_seconds, 3),
                      "total": round(time.perf_counter() - start, 3)},
        "real_time_factor": round(simulated_s / wm_seconds, 3),  # > 1: imagines faster than real time
        "outputs": ["rollout.mp4 (left: world model, right: simulator; wrist / exterior 1 / exterior 2)",
                    "trajectory.png", "summary.json"],
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0
