#!/usr/bin/env bash
# Device calls for benchmarks/cosmos3_multi_gpu.py (issue 17), run from the repository root. Installs every wheel
# found under outputs/whl*/ into outputs/site (ignored, so it stays between calls while the machine is warm), then
# runs the benchmark with the given arguments; INSTALL_ONLY=1 stops after the install. Wheels (see
# benchmarks/device/README.md): diffusers 0.42.1, transformers 5.23.0, importlib_metadata 10.2.0, and for the Ray
# part the slimmed ray 2.60.0 wheel and its small dependencies; without ray, pass --no-ray (one GPU, in-process).
# Writes $OUT/cosmos3_multi_gpu.json and $OUT/log.txt.
set -o pipefail
SITE=$PWD/outputs/site
shopt -s nullglob
wheels=(outputs/whl*/*.whl)
if ((${#wheels[@]})); then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}" || exit 1
fi
[ "${INSTALL_ONLY:-0}" = 1 ] && { ls "$SITE"; exit 0; }
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 benchmarks/cosmos3_multi_gpu.py --out "$OUT/cosmos3_multi_gpu.json" "$@" 2>&1 | tee "$OUT/log.txt"
