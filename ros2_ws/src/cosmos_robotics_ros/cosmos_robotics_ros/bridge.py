"""``ros2 run cosmos_robotics_ros bridge``: ``cosmos-robotics ros run`` with the node's parameter file."""

import sys

from cosmos_robotics_ros import forward


def main() -> int:
    return forward(["run"])


if __name__ == "__main__":
    sys.exit(main())
