#!/usr/bin/env bash
# gpu-check: one command for a machine with an NVIDIA GPU. Runs the GPU tests, the S-Conv guard on
# every backend and dtype, the ops / hha / model benchmarks (S-Conv: Triton vs torch vs torchvision
# vs portable; SGNet-R101 at 480x640, fp32 and fp16: eager, channels-last, CUDA graphs, torch.compile,
# TensorRT), writes benchmarks/*-<gpu>.json and prints a table. Every step has a time limit and the
# whole run a budget (default 450 s, under 8 minutes); steps that no longer fit are listed as skipped.
#
# TORCH: this needs a CUDA build of PyTorch in the Python it runs (default .venv/bin/python), and it
# never installs one itself (the right wheel depends on the driver, and a multi-GB download does not
# belong in a timed check). scripts/setup.sh installs torch as pip resolves TORCH_SPEC on the machine:
# a CPU build where pip is set up for CPU wheels (as on the CI machines). On a GPU machine, either
#   - point pip at PyTorch's CUDA wheels for your driver (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, the
#     index PyTorch's install selector names) and run: bash scripts/setup.sh, then
#     .venv/bin/python -m pip install --force-reinstall --no-deps "$TORCH_SPEC" from that index; or
#   - use a Python that already has a CUDA torch (and triton): pip install -e '.[test,gpu]' into it
#     and run: bash scripts/gpu-check.sh --python /path/to/python
# Without CUDA the script stops with one line saying this. TensorRT is optional (pip install
# 'sgnet-live[tensorrt]'); without it, or without `sgnet bench model --engine`, its step is skipped.
#
# Usage: bash scripts/gpu-check.sh [--python PY] [--budget SECONDS] [--out DIR] [--no-tests] [--dry-run]
#   --dry-run: no GPU needed: checks every command's options against the CLI, collects the GPU tests,
#              and runs each benchmark step on the CPU at a tiny size into a temporary folder, so the
#              whole script, its JSON and its table are exercised.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PY=.venv/bin/python
BUDGET=450
OUT=""
TESTS=1
DRY=0
while (($#)); do
  case "$1" in
    --python) PY=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-tests) TESTS=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen
START=$(date +%s)
DEADLINE=$((START + BUDGET))
MIN_STEP=20  # a step with less time than this left is skipped

if ! command -v "$PY" >/dev/null 2>&1 && [ ! -x "$PY" ]; then
  echo "gpu-check: $PY not found: run bash scripts/setup.sh first, or pass --python PY" >&2
  exit 2
fi
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "gpu-check: $PY has no torch: run bash scripts/setup.sh first, or pass --python PY" >&2
  exit 2
fi
CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))")
if ((DRY)); then
  DEV=cpu
  [ -n "$OUT" ] || OUT=$(mktemp -d -t gpu-check-dry-XXXXXX)
else
  if [ "$CUDA" != 1 ]; then
    echo "gpu-check: torch $("$PY" -c 'import torch; print(torch.__version__)') in $PY sees no CUDA GPU: install a CUDA build of torch (see the top of scripts/gpu-check.sh) or pass --python with one; --dry-run checks the script without a GPU" >&2
    exit 2
  fi
  DEV=cuda
  [ -n "$OUT" ] || OUT=benchmarks
fi
mkdir -p "$OUT"
GPU=$("$PY" scripts/gpu_check.py slug "$DEV")
((DRY)) && GPU="$GPU-dry-run"
LOGS=$(mktemp -d -t "gpu-check-$GPU-XXXXXX")
STEPS="$LOGS/steps.tsv"
: >"$STEPS"
SG=("$PY" -c "from app.cli_tools import main; main()")  # the `sgnet` CLI of this checkout, in that Python

echo "gpu-check: $("$PY" -c 'import torch; d = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"; print(f"{d}, torch {torch.__version__}, CUDA {torch.version.cuda}")')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "gpu-check: JSON into $OUT, logs in $LOGS, budget ${BUDGET}s$( ((DRY)) && echo ', DRY RUN on the CPU')"

record() {  # name status seconds json log note
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$STEPS"
}

N=0
step() {  # step NAME LIMIT JSON -- command...: run with min(LIMIT, time left); JSON may be ""
  local name=$1 limit=$2 json=$3
  shift 4
  N=$((N + 1))
  local left=$((DEADLINE - $(date +%s)))
  local log="$LOGS/$(printf %02d $N)-$name.log"
  if ((left < MIN_STEP)); then
    record "$name" SKIP 0 "" "" "no time left in the ${BUDGET}s budget"
    echo "-- $name: skipped (no time left)"
    return
  fi
  ((limit > left)) && limit=$left
  echo "-- $name (at most ${limit}s)"
  local t0=$(date +%s) rc
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0)) status=ok
  case $rc in
    0) ;;
    124|137) status=TIMEOUT ;;
    *) status="FAIL($rc)" ;;
  esac
  record "$name" "$status" "$took" "$json" "$log" "see $log"
  [ "$status" = ok ] || { echo "   $status after ${took}s; last lines of $log:"; tail -n 5 "$log" | sed 's/^/   | /'; }
}

skip() {  # skip NAME REASON
  record "$1" SKIP 0 "" "" "$2"
  echo "-- $1: skipped ($2)"
}

# what the GPU steps run: the real sizes on CUDA, tiny ones for the dry run
if ((DRY)); then
  MODEL=sgnet_lite SIZE=64x96 WARM=0 ITERS=1 SEG=1 OPS=(--shapes layer3.21 --repeats 1 --warmup 0 --no-memory)
  HHA=(--size 60x80 --repeats 1 --warmup 0)
else
  MODEL=sgnet_r101 SIZE=480x640 WARM=20 ITERS=100 SEG=30 OPS=(--repeats 50 --warmup 10)
  HHA=(--repeats 30 --warmup 5)
fi
BENCH=(-m "$MODEL" --no-paper-sizes --size "$SIZE" --device "$DEV" --warmup "$WARM" --iters "$ITERS" --seg-iters "$SEG")

# 0. the dry run checks that every option used below exists (a renamed option fails here, not on the GPU)
check_opts() {  # check_opts "SUBCOMMAND" options...: each option appears in `sgnet SUBCOMMAND --help`
  local sub=$1 help o
  shift
  # shellcheck disable=SC2086
  help=$("${SG[@]}" $sub --help 2>&1) || { echo "sgnet $sub --help failed: $help"; return 1; }
  for o in "$@"; do
    grep -q -- "$o" <<<"$help" || { echo "sgnet $sub has no option $o"; return 1; }
  done
}
if ((DRY)); then
  N=$((N + 1))
  log="$LOGS/$(printf %02d $N)-options.log"
  t0=$(date +%s)
  if check_opts "bench ops" --device --dtype --repeats --warmup --shapes --json --no-memory >"$log" 2>&1 &&
    check_opts "bench hha" --device --size --repeats --warmup --json >>"$log" 2>&1 &&
    check_opts "bench model" --no-paper-sizes --size --device --precision --warmup --iters --seg-iters \
      --compile --no-segmenter --engine --json >>"$log" 2>&1; then
    record options ok $(($(date +%s) - t0)) "" "$log" "every option the steps use exists"
  else
    record options FAIL $(($(date +%s) - t0)) "" "$log" "see $log"
    cat "$log"
  fi
fi

# 1. tests: the gpu-marked ones, and the Triton kernel file (it runs on CUDA when present)
GPU_TEST_FILES=$(grep -l "pytest.mark.gpu" tests/test_*.py | tr '\n' ' ')
if ((!TESTS)); then
  skip gpu-tests "--no-tests"
elif ((DRY)); then
  # shellcheck disable=SC2086
  step gpu-tests-collect 90 "" -- "$PY" -m pytest -q -p no:cacheprovider --collect-only -m gpu $GPU_TEST_FILES
else
  # shellcheck disable=SC2086
  step gpu-tests 150 "" -- "$PY" -m pytest -q -p no:cacheprovider -o timeout=120 -m gpu $GPU_TEST_FILES
  step triton-kernels 90 "" -- "$PY" -m pytest -q -p no:cacheprovider -o timeout=60 tests/test_ops_triton_kernels.py
fi

# 2. the S-Conv guard: every backend x dtype x pass, with its real errors
step sconv-guard 90 "$OUT/guard-$GPU.json" -- "$PY" scripts/gpu_check.py guard "$OUT/guard-$GPU.json" "$DEV"

# 3. S-Conv backends vs conv2d on SGNet's shapes
step ops-fp32 75 "$OUT/ops-fp32-$GPU.json" -- "${SG[@]}" bench ops --device "$DEV" --dtype float32 "${OPS[@]}" \
  --json "$OUT/ops-fp32-$GPU.json"
step ops-fp16 75 "$OUT/ops-fp16-$GPU.json" -- "${SG[@]}" bench ops --device "$DEV" --dtype float16 "${OPS[@]}" \
  --json "$OUT/ops-fp16-$GPU.json"

# 4. depth -> HHA / xyz
step hha 45 "$OUT/hha-$GPU.json" -- "${SG[@]}" bench hha --device "$DEV" "${HHA[@]}" --json "$OUT/hha-$GPU.json"

# 5. the model: eager fp32, eager fp16 (+ channels-last), CUDA graphs, compile, TensorRT
step model-fp32-eager 60 "$OUT/model-fp32-eager-$GPU.json" -- "${SG[@]}" bench model "${BENCH[@]}" --precision fp32 \
  --json "$OUT/model-fp32-eager-$GPU.json"
step model-fp16-eager 60 "$OUT/model-fp16-eager-$GPU.json" -- "${SG[@]}" bench model "${BENCH[@]}" --precision fp16 \
  --json "$OUT/model-fp16-eager-$GPU.json"
step model-fp16-graphs 75 "$OUT/model-fp16-graphs-$GPU.json" -- "$PY" scripts/gpu_check.py graphs \
  "$OUT/model-fp16-graphs-$GPU.json" "$DEV" fp16 "$MODEL" "$SIZE" "$((SEG > 1 ? 50 : 1))"
if ((DRY)); then
  skip model-fp16-compile "dry run: torch.compile of a model takes minutes on a CPU"
else
  step model-fp16-compile 180 "$OUT/model-fp16-compile-$GPU.json" -- "${SG[@]}" bench model "${BENCH[@]}" --precision fp16 \
    --compile --no-segmenter --json "$OUT/model-fp16-compile-$GPU.json"
fi
if ! "$PY" -c "import tensorrt" 2>/dev/null; then
  skip model-tensorrt "tensorrt is not installed (pip install 'sgnet-live[tensorrt]')"
elif ! check_opts "bench model" --engine >/dev/null 2>&1; then
  skip model-tensorrt "sgnet bench model has no --engine option in this version"
else
  # torch and TensorRT side by side, alternated round by round (ratios to torch); fp16: an fp16 export
  step model-fp16-tensorrt 240 "$OUT/model-fp16-tensorrt-$GPU.json" -- "${SG[@]}" bench model "${BENCH[@]}" \
    --precision fp16 --engine torch --engine tensorrt:fp16 --json "$OUT/model-fp16-tensorrt-$GPU.json"
  step model-fp32-tensorrt 240 "$OUT/model-fp32-tensorrt-$GPU.json" -- "${SG[@]}" bench model "${BENCH[@]}" \
    --precision fp32 --engine torch --engine tensorrt --json "$OUT/model-fp32-tensorrt-$GPU.json"
fi

"$PY" scripts/gpu_check.py summary "$STEPS"
rc=$?
echo "gpu-check: $(($(date +%s) - START)) s in all (budget ${BUDGET}s); logs in $LOGS"
exit $rc
