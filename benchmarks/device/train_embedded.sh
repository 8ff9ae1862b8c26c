#!/bin/bash
# Train and evaluate the embedded world model on one GPU machine of the device tool (see README.md beside this).
#   bash benchmarks/device/train_embedded.sh                       # the shipped config (ModelConfig defaults)
#   bash benchmarks/device/train_embedded.sh 'a={"style": "separable", "dec_channels": [32, 16]}' 'b={...}'
#     (several ModelConfig candidates trained side by side from one simulated data set, then evaluated)
#   INIT=bundled LR=3e-4 EPISODES=768 bash benchmarks/device/train_embedded.sh 'tuned={}'
#     (fine-tune the shipped weights; they are evaluated beside the result, as `init`, in the same run)
#   TEACHER=bundled EPISODES=896 bash benchmarks/device/train_embedded.sh 'mid={"style": "separable", ...}'
#     (distil the shipped weights into cheaper FiLM blocks + decoder; the teacher is evaluated beside, as `init`;
#     with INIT=<a carried student dir, or a student file: NAME.student.safetensors> too and the configs {}:
#     distil that student further; benchmarks/results/students/ holds the best one so far)
# Writes $OUT/<name>.tgz (weights dir, training log, eval.json) and $OUT/run.log. Env: DEBS, WHEELS (folders of
# the carried .deb / .whl files), EPISODES (512), BUDGET (training seconds per config, 240), EVAL_S (240),
# INIT (weights to fine-tune: a directory or `bundled`), TEACHER (weights to distil), LR (peak learning rate,
# 1e-3), BASELINE (0: do not evaluate the INIT / TEACHER weights beside the result), POLICY_SEEDS (50; 0 for
# students, whose policy head is the teacher's), DECODED (future frames decoded per sample and step, 4), FIRST_SEED
# (of the simulated episodes, 0; a continued run can see new ones).
set -o pipefail
DEBS=${DEBS:-outputs/dev_gl} WHEELS=${WHEELS:-outputs/dev_whl} W=/tmp/w
for f in "$DEBS"/*.deb; do dpkg -x "$f" /; done; ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHEELS"/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD MUJOCO_GL=egl PYTHONUNBUFFERED=1 TQDM_MININTERVAL=15
exec > >(tee "$OUT/run.log") 2>&1
python3 -c "import torch, mujoco, safetensors; print(torch.__version__, torch.cuda.get_device_name())" || exit 1
[ $# -eq 0 ] && set -- 'default={}'
names=(); for c in "$@"; do names+=("${c%%=*}"); done
if [[ "$INIT" == *.safetensors ]]; then  # a student file (pack_student): rebuilt on its teacher first
  python3 -c "import sys, pathlib; from cosmos_robotics.training.student_file import unpack_student
unpack_student(sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]))" "$INIT" "${TEACHER:?a student file needs TEACHER}" $W/start \
    || exit 1
  INIT=$W/start
fi
SECONDS=0
python3 benchmarks/device/train_candidates.py --out $W --episodes "${EPISODES:-512}" --first-seed "${FIRST_SEED:-0}" \
  --workers 16 --device cuda \
  --time-budget-s "${BUDGET:-240}" --batch-size 32 --steps 100000 --log-every 200 --lr "${LR:-1e-3}" \
  --decoded-steps "${DECODED:-4}" ${INIT:+--init "$INIT"} ${TEACHER:+--teacher "$TEACHER"} "$@" 2>&1 \
  | tr '\r' '\n' | grep -v '^ *$' | grep -v 'simulating:.*it/s\|simulating:.*ep/s' | tail -5
echo "trained in ${SECONDS}s"
for n in "${names[@]}"; do grep -o '"train_seconds.*' $W/$n.log; done
if [ -n "$TEACHER" ]; then  # each student alone, ~0.5 MB, before the evaluation: kept even if the call ends in it
  for n in "${names[@]}"; do
    [ -f $W/$n/model.safetensors ] || continue  # its training failed: the log says why
    python3 -c "import sys, pathlib; from cosmos_robotics.training.student_file import pack_student
pack_student(sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]))" $W/$n "$TEACHER" "$OUT/$n.student.safetensors"
  done
fi
START=${TEACHER:-$INIT}  # a continued student is compared with its teacher
if [ -n "$START" ] && [ "${BASELINE:-1}" = 1 ]; then  # the starting weights, evaluated beside on the same seeds
  if [ "$START" = bundled ]; then cp -r cosmos_robotics/world_models/embedded/weights $W/init; else cp -r "$START" $W/init; fi
  names+=(init)
fi
workers=$(( 16 / ${#names[@]} )) pids=()
for n in "${names[@]}"; do
  [ -f $W/$n/model.safetensors ] || continue
  timeout "${EVAL_S:-240}" python3 benchmarks/embedded_eval.py --weights $W/$n --episodes 32 --policy-seeds "${POLICY_SEEDS:-50}" \
    --workers $workers --replan 8 16 --out $W/$n.eval.json > $W/$n.eval.log 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: that would also wait for the tee behind the log redirection
echo "evaluated at ${SECONDS}s"
for n in "${names[@]}"; do
  echo "== $n"; python3 -c "
import json, sys; d = json.load(open('$W/$n.eval.json')); m = d.get('world_model', {})
print({k: m.get(k) for k in ('psnr_mean', 'ssim_mean', 'shuffle_psnr_drop_db', 'id_mse_normalized', 'pos_err_mm_mean')},
      m.get('success_detector', {}).get('accuracy'), [(p['replan'], p['success_rate']) for p in d.get('policy', [])])
" || tail -5 $W/$n.eval.log
  (cd $W && tar czf "$OUT/$n.tgz" $(ls -d "$n" "$n.log" "$n.eval.json" "$n.eval.log" 2>/dev/null))  # init: no .log
done
