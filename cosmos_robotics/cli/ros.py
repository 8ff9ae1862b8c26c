"""``cosmos-robotics ros``: the ROS 2 bridge (``ros run``), the robot emulator (``ros emulate``) and bag
conversion (``ros bag-to-lerobot``), over ``cosmos_robotics.ros2``."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    ros = sub.add_parser("ros", help="ROS 2 bridge, robot emulator and bag conversion",
                         description="Closed-loop control through ROS 2 (rclpy: the system ROS 2 or the ros2 extra).")
    cmds = ros.add_subparsers(dest="ros_command", required=True, metavar="ROS_COMMAND")

    from cosmos_robotics.cli import add_command

    run_p = add_command(
        cmds, "run", "the bridge: policy closed loop through ROS 2 (what the launch file starts)",
        "Subscribes to the cameras, joint states, instruction and e-stop, runs a policy on synchronised\n"
        "observations and publishes its chunks as JointTrajectory / MultiDOFJointTrajectory (plus predicted video\n"
        "when the policy imagines it). Topics, frames, joint names and QoS come from the YAML.",
        "cosmos-robotics ros run --config ros2_ws/src/cosmos_robotics_ros/config/bridge.yaml --seeds 0 1 2")
    run_p.add_argument("--config", type=Path, default=None, help="ROS parameter YAML (default: built-in defaults)")
    run_p.add_argument("--policy", default=None, help="override the config's policy spec, e.g. embedded:replan=8")
    run_p.add_argument("--seeds", type=int, nargs="+", default=[0], help="episodes (emulator start states)")
    run_p.add_argument("--record", type=Path, default=None, help="write everything sent and received to this bag")
    run_p.add_argument("--out", type=Path, default=None, help="write the run's summary JSON here")
    run_p.set_defaults(func=run)

    emu = add_command(
        cmds, "emulate", "the robot emulator: SimDroid-v0 behind ROS 2 topics",
        "Runs the MuJoCo simulator as a robot on the ROS 2 graph: three cameras at 15 Hz, joint states at 100 Hz,\n"
        "trajectory chunks executed with their timing, success reported; what the bridge is tested against.",
        "cosmos-robotics ros emulate --control joints --synchronous")
    emu.add_argument("--config", type=Path, default=None, help="the same YAML as the bridge (topics, joints)")
    emu.add_argument("--control", choices=("poses", "joints"), default="poses",
                     help="execute MultiDOFJointTrajectory (poses) or JointTrajectory (joints) chunks")
    emu.add_argument("--synchronous", action="store_true",
                     help="physics advances only while a trajectory runs (lockstep with the controller)")
    emu.add_argument("--image-size", type=int, default=128, help="camera resolution (square pixels)")
    emu.set_defaults(func=emulate)

    conv = add_command(
        cmds, "bag-to-lerobot", "convert a recorded bag to a LeRobot v3 dataset",
        "Reads a rosbag2 MCAP recorded by `ros run --record` and writes its episodes (camera frames, joint\n"
        "states, commanded chunks) as a LeRobot v3 dataset through the crash-safe writer.",
        "cosmos-robotics ros bag-to-lerobot run.mcap --out data/from_bag")
    conv.add_argument("bag", type=Path, help="rosbag2 MCAP file (or its directory)")
    conv.add_argument("--out", type=Path, required=True, help="dataset directory to create")
    conv.add_argument("--config", type=Path, default=None, help="the topics the bag was recorded with")
    conv.set_defaults(func=bag_to_lerobot)


def _config(path: Path | None, **overrides):
    from dataclasses import replace

    from cosmos_robotics.ros2.config import BridgeConfig, load_config

    config = load_config(path) if path else BridgeConfig()
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def run(args) -> int:
    from cosmos_robotics.ros2.nodes import run_bridge, write_json

    config = _config(args.config, policy=args.policy, record=str(args.record) if args.record else None)
    result = run_bridge(config, args.seeds).to_dict()
    print(json.dumps({k: result[k] for k in ("policy", "seeds", "success", "success_rate")}))
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


def emulate(args) -> int:
    from cosmos_robotics.ros2.nodes import run_emulator

    print(f"emulating SimDroid-v0 ({args.control} control{', synchronous' if args.synchronous else ''}); Ctrl-C stops",
          flush=True)
    try:
        run_emulator(_config(args.config), args.control, args.synchronous, args.image_size)
    except KeyboardInterrupt:
        pass
    return 0


def bag_to_lerobot(args) -> int:
    from cosmos_robotics.ros2.recording import bag_to_lerobot as convert

    episodes = convert(args.bag, args.out, _config(args.config))
    print(f"wrote {episodes} episode(s) to {args.out}")
    return 0
