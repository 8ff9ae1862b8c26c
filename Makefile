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
	  $(VENV)/bin/python -m pip install -q -e '.[dev]' && \
	  $(VENV)/bin/python -m pip install -q -e plugins/lerobot_env_cosmos_robotics && touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/cosmos-robotics demo --out $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check cosmos_robotics tests benchmarks

# System step (apt): headless Chromium for the evaluation report-page test.
browser:
	bash .ci/install-chromium

test: lint browser
	HF_HUB_OFFLINE=1 COSMOS_REQUIRE_BROWSER=1 $(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) .venv-openpi outputs .pytest_cache
