#!/usr/bin/env bash
# The SDK's GPU checks for a short lease on an offline NVIDIA machine, in two commands that each end
# well inside ten minutes: run from the repository root with prepare.sh's bundle (.device) beside it.
# Each check's output goes to OUT/checks.log, its exit status and time to OUT/summary.txt and, with the
# machine it ran on, to OUT/gpu_checks.json; a failing check does not stop the rest.
#
#   benchmarks/gpu_machine/run.sh checks                  # the gpu tests and benchmarks/gpu_latency.py
#   benchmarks/gpu_machine/run.sh train MINUTES STEPS     # CUDA training from the shipped weights + evaluation
#
# The training run uses the data and settings of the CPU stages (`--device cuda`, batches made ahead by
# 14 worker processes); a first run measures steps a second there, which sizes STEPS for a whole
# one-cycle schedule in a later lease.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/gpu_machine}
MODE=${1:-}
case "$MODE" in
  checks) ;;
  train) TRAIN_MINUTES=${2:?run.sh train MINUTES STEPS}; TRAIN_STEPS=${3:?run.sh train MINUTES STEPS} ;;
  *) echo "usage: run.sh checks | run.sh train MINUTES STEPS" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
# shellcheck source=env.sh
source benchmarks/gpu_machine/env.sh || exit 1
export PYTHONUNBUFFERED=1

check() {  # NAME SECONDS COMMAND...: runs COMMAND under a time limit, appends its output to the log
  local name=$1 limit=$2 start=$SECONDS rc
  shift 2
  echo "=== $name: $*" >> "$OUT/checks.log"
  timeout "$limit" "$@" >> "$OUT/checks.log" 2>&1
  rc=$?
  echo "$name rc=$rc $((SECONDS - start))s" | tee -a "$OUT/summary.txt"
}

check environment 120 python3 -c "import torch, cupy, open3d, sdk.cli.main; print(torch.__version__, \
torch.cuda.get_device_name(), 'cupy', cupy.__version__, 'open3d', open3d.__version__)"
if [ "$MODE" = checks ]; then
  check gpu_tests 300 python3 -m pytest -q -m gpu -p no:cacheprovider tests/export/test_rapid_cuda.py tests/runtimes/test_native_ops.py \
    tests/export/test_bebr_cuda.py tests/sdk/test_rapid_seg_model.py tests/sdk/test_bebr_binarizer.py
  check gpu_latency 300 python3 benchmarks/gpu_latency.py --data "$RAPID_EDGE_DATA" --out "$OUT/gpu_latency.json"
else
  check train $((TRAIN_MINUTES * 60 + 120)) python3 -m sdk.cli.main train --stage segmentation \
    --init sdk/weights/rapid_seg --out runs/gpu --device cuda --data-workers 14 --frames-per-step 8 \
    --crops-per-frame 4 --steps "$TRAIN_STEPS" --max-minutes "$TRAIN_MINUTES" --learning-rate 4e-4 \
    --sim-seeds 0:5000 --seed 30 --class-crops 0.5
  check evaluate 180 python3 -m sdk.cli.main evaluate --checkpoint runs/gpu --out "$OUT/eval_sim_heldout.json"
  cp runs/gpu/model.safetensors runs/gpu/config.json "$OUT/" 2>/dev/null
fi
python3 benchmarks/gpu_machine/gpu_checks_json.py "$OUT/summary.txt" "$OUT/gpu_checks.json" "$OUT/gpu_latency.json"
