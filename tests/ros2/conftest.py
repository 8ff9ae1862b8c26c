"""The bridge needs the ros2 extra (rosbags at least): without it, as in ``make test``, these tests are not
collected; ``make test-ros2`` installs the extra and runs them all (the DDS ones inside ``unshare -n``)."""

import importlib.util

if importlib.util.find_spec("rosbags") is None:
    collect_ignore_glob = ["test_*.py"]
