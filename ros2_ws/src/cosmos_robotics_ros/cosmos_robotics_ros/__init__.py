"""ROS 2 nodes of cosmos-robotics; all logic lives in ``cosmos_robotics.ros2``."""

import sys


def params_file(argv: list[str]) -> list[str]:
    """``--ros-args --params-file FILE`` (what ``ros2 run`` / the launch file pass) -> ``["--config", FILE]``."""
    if "--params-file" in argv:
        return ["--config", argv[argv.index("--params-file") + 1]]
    return []


def forward(command: list[str]) -> int:
    from cosmos_robotics.cli import main

    user = sys.argv[1:sys.argv.index("--ros-args")] if "--ros-args" in sys.argv else sys.argv[1:]
    return main(["ros", *command, *params_file(sys.argv), *user])
