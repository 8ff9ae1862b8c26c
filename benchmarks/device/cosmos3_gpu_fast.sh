#!/usr/bin/env bash
# One device call for benchmarks/cosmos3_gpu_fast.py (issue 15). Expects, relative to the repository root the
# call runs in: .whl/ (diffusers 0.42.1, transformers 5.23.0, importlib_metadata 10.2.0 wheels; the machine has
# torch but not these) and $CODE (default .gpu15: a copy of cosmos_robotics/ and benchmarks/ of this branch).
# Writes $OUT/cosmos3_gpu_fast.json, its .profile.txt and log.txt.
set -o pipefail
CODE=${CODE:-.gpu15}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/$CODE PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 "$CODE/benchmarks/cosmos3_gpu_fast.py" --out "$OUT/cosmos3_gpu_fast.json" --profile "$@" 2>&1 | tee "$OUT/log.txt"
