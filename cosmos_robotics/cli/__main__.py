import sys

from cosmos_robotics.cli import main

sys.exit(main())
