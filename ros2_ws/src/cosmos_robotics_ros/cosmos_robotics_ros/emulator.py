"""``ros2 run cosmos_robotics_ros emulator``: ``cosmos-robotics ros emulate`` with the node's parameter file."""

import sys

from cosmos_robotics_ros import forward


def main() -> int:
    return forward(["emulate"])


if __name__ == "__main__":
    sys.exit(main())
