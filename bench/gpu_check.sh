#!/usr/bin/env bash
# The GPU checks of issue 13 in one run on a GPU machine (about 4-6 minutes on one H100/H200, machine start not counted):
#   1. the device and what fastbridge picks for it (device.json);
#   2. the README's main job, `fastbridge-sst2 train` with its defaults (2 epochs of MiniLM on all 67,349 sentences):
#      time per epoch (goal: under 60 s on one H100) and the validation accuracy (sst2-main-metrics.json, -history.csv);
#   3. fastbridge against the Hugging Face Trainer on the same GPU, bench/throughput.py (throughput.md, .json);
#   4. summary.md, a table of all of it.
# Before: on the CPU machine, `python bench/gpu_check.py pack` (writes .gpu_carry/, see that file); then on the GPU
# machine, from the repository's root, with .gpu_carry carried: `bash bench/gpu_check.sh` (results in $OUT, else
# bench/results/gpu). `bash bench/gpu_check.sh --dry-run` runs here what needs no GPU (the scripts parse, the options
# exist) and prints the commands it would run.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0; [[ "${1:-}" == "--dry-run" ]] && DRY=1
OUT=${OUT:-bench/results/gpu}
PY=${PY:-python3}
TRAIN_N=${TRAIN_N:-16000}   # throughput subset, as in the CPU tables of bench/results/throughput.md
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, go on if it fails
  local name=$1 limit=$2; shift 2
  echo "== $name: $*" | tee -a "$LOG"
  if [[ $DRY == 1 ]]; then return 0; fi
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$LOG"
}

if [[ $DRY == 1 ]]; then
  PY=${PY_DRY:-.venv/bin/python}
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  echo "dry run: checking what needs no GPU" | tee "$LOG"
  $PY -m py_compile bench/gpu_check.py bench/throughput.py || exit 1
  $PY -m fastbridge.sst2.cli train --help > /dev/null || exit 1
  $PY bench/throughput.py --help > /dev/null || exit 1
  $PY bench/gpu_check.py info > "$OUT/device.json" || exit 1
  echo "device here: $(grep -o '"device_name": "[^"]*"' "$OUT/device.json"), precision $(grep -A1 '"precision": {' "$OUT/device.json" | tail -1 | tr -s ' ')" | tee -a "$LOG"
else
  : > "$LOG"
  nvidia-smi >> "$LOG" 2>&1
  $PY bench/gpu_check.py unpack 2>&1 | tee -a "$LOG" || { echo "unpack failed: was .gpu_carry carried?"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
  $PY bench/gpu_check.py info > "$OUT/device.json" 2>> "$LOG" || { cat "$LOG" | tail -30; exit 1; }
  cat "$OUT/device.json" | tee -a "$LOG"
fi

RUN=$(mktemp -d)
step main-job 300 $PY -m fastbridge.sst2.cli train --out "$RUN/sst2-main"
[[ -f $RUN/sst2-main/metrics.json ]] && cp "$RUN/sst2-main/metrics.json" "$OUT/sst2-main-metrics.json" && cp "$RUN/sst2-main/history.csv" "$OUT/sst2-main-history.csv"
step throughput 300 $PY bench/throughput.py --engines fastbridge trainer-grouped trainer --train-n "$TRAIN_N" --seeds 42 --out "$RUN/throughput"
[[ -f $RUN/throughput/throughput.md ]] && cp "$RUN/throughput/throughput.md" "$RUN/throughput/throughput.json" "$OUT/"
if [[ $DRY == 0 ]]; then $PY bench/gpu_check.py summary "$OUT" | tee -a "$LOG"; fi
rm -rf "$RUN"
echo "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
