#!/usr/bin/env bash
# A study (default config/gpu.yaml) through the workflow on one GPU machine, in under 9 minutes,
# and the folder of results it hands back.
#
#   scripts/gpu-study.sh [--wheels DIR] [--config FILE] [--out DIR] [--cores N] [--workdir DIR]
#
#   --wheels DIR   install the wheels of scripts/gpu-wheels.sh (no index needed) into a
#                  folder of their own and use them (PYTHONPATH, PATH)
#   --config FILE  the study (default config/gpu.yaml)
#   --out DIR      the folder handed back (default results/gpu-study): at most 8 files, the
#                  tables summary.md, time_to_target.md, scaling.md, utilisation.md, the
#                  figures headline.png, resolution_vs_time.png, scaling.png and this script's
#                  log gpu-study.log
#   --cores N      CPU cores (default: all); training takes them all, one network at a time
#                  on the GPU, predictions two each
#   --workdir DIR  where the workflow runs and writes data/, results/, logs/ (default: the checkout)
#
# Phases: install the wheels, check the imports, run Snakemake (--scheduler greedy: the ILP
# scheduler's pulp is not needed), `airshower gpu-report` (the model FLOPs utilisation against
# the measured matmul rate, and the copies into --out); the wall time of each is printed, and a
# warning when the whole passes 9 minutes. PYTHON (default python3) is the interpreter used.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
WHEELS=""
CONFIG=$REPO/config/gpu.yaml
OUT=$REPO/results/gpu-study
CORES=$(nproc 2>/dev/null || echo 2)
WORKDIR=$REPO
LIMIT_S=540   # 9 minutes
LOG_NAME=gpu-study.log
# what --out holds after a run (cleared first, so that an earlier run's files do not count)
REPORT_FILES=(summary.md time_to_target.md scaling.md utilisation.md headline.png resolution_vs_time.png
              scaling.png "$LOG_NAME")

die() { echo "gpu-study: error: $*" >&2; exit 2; }
while (( $# )); do
    case $1 in
        --wheels) WHEELS=${2:?--wheels needs a folder}; shift 2 ;;
        --config) CONFIG=${2:?--config needs a file}; shift 2 ;;
        --out) OUT=${2:?--out needs a folder}; shift 2 ;;
        --cores) CORES=${2:?--cores needs a number}; shift 2 ;;
        --workdir) WORKDIR=${2:?--workdir needs a folder}; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ $CORES =~ ^[1-9][0-9]*$ ]] || die "--cores $CORES: expected a whole number >= 1"
[[ -f $CONFIG ]] || die "--config $CONFIG: no such file"
[[ -z $WHEELS ]] || compgen -G "$WHEELS/*.whl" > /dev/null || die "--wheels $WHEELS: no wheels there (scripts/gpu-wheels.sh $WHEELS)"
command -v "$PYTHON" > /dev/null || die "$PYTHON not found (set PYTHON=)"
CONFIG=$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")
mkdir -p "$OUT" "$WORKDIR"
OUT=$(cd "$OUT" && pwd)
WORKDIR=$(cd "$WORKDIR" && pwd)
for name in "${REPORT_FILES[@]}"; do rm -f "$OUT/$name"; done
# anything else there would count against the 8 files only at the very end: refuse it now
others=$(find "$OUT" -mindepth 1 -maxdepth 1 | head -3)
[[ -z $others ]] || die "--out $OUT holds files this script does not write ($(echo $others)); empty it or give another folder"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/airshower-gpu.XXXXXX")  # the installed wheels, a launcher
# stdout and stderr to the console as they are, both also to the log
: > "$OUT/$LOG_NAME"
exec > >(tee -a "$OUT/$LOG_NAME")
TEE_OUT=$!
exec 2> >(tee -a "$OUT/$LOG_NAME" >&2)
TEE_ERR=$!
START=$(date +%s.%N)
PHASES=()
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phase() {  # phase NAME COMMAND...: run it, record its wall time
    local name=$1 t0 rc=0
    shift
    t0=$(date +%s.%N)
    echo "== $name ($(elapsed "$START") s)"
    "$@" || rc=$?
    PHASES+=("$(printf '%-9s %7s s' "$name" "$(elapsed "$t0")")")
    (( rc == 0 )) || { summary; die "phase '$name' failed (exit status $rc)"; }
}
summary() {
    local total
    total=$(elapsed "$START")
    echo "== wall time per phase"
    printf '   %s\n' "${PHASES[@]}"
    echo "   total     $(printf '%7s' "$total") s (limit $LIMIT_S s)"
    if awk -v t="$total" -v l="$LIMIT_S" 'BEGIN { exit !(t > l) }'; then
        echo "gpu-study: warning: the run took $total s, more than 9 minutes ($LIMIT_S s)"
    fi
}
# a warning at the moment 9 minutes pass, in case the run is stopped from outside after that;
# stopped at the end, the watchdog stops its sleep (which writes nothing, so holds no pipe open)
(
    trap 'kill "$nap" 2> /dev/null; exit 0' TERM
    sleep "$LIMIT_S" > /dev/null 2>&1 &
    nap=$!
    wait "$nap" && echo "gpu-study: warning: 9 minutes ($LIMIT_S s) have passed and the run goes on"
) &
WATCHDOG=$!
finish() {
    kill "$WATCHDOG" 2> /dev/null || true
    rm -rf "$SCRATCH"
    exec 1>&- 2>&-
    wait "$TEE_OUT" "$TEE_ERR" 2> /dev/null || true  # the log complete before the script returns
}
trap finish EXIT

echo "gpu-study: config $CONFIG, workdir $WORKDIR, out $OUT, $CORES cores, $($PYTHON --version 2>&1)"

install_wheels() {
    SITE=$SCRATCH/site
    # (phase runs this in an `||` context, where set -e does not stop it: each failure returns)
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl || return $?
    # the airshower package from this checkout, first (no wheel of it: what runs is what travelled)
    export PYTHONPATH="$REPO/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
    export PATH="$SITE/bin:$PATH"
}
[[ -z $WHEELS ]] || phase install install_wheels

check_imports() {
    if ! "$PYTHON" - <<'EOF'
import importlib, sys
missing = []
for name in ("airshower", "snakemake", "uproot", "awkward", "jsonschema", "torch"):
    try:
        importlib.import_module(name)
    except ImportError as exc:
        missing.append(f"{name} ({exc})")
if missing:
    sys.exit("cannot import: " + "; ".join(missing))
import torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (training runs on the CPU)"
print(f"torch {torch.__version__}, GPU: {gpu}")
EOF
    then
        echo "gpu-study: error: the study's packages are not importable by $PYTHON;" \
             "install them (pip install -e '.[workflow]') or give --wheels DIR (scripts/gpu-wheels.sh DIR)" >&2
        return 2
    fi
    # the rules call `airshower`: the wheels' console script, else one that runs this interpreter's package
    if ! command -v airshower > /dev/null; then
        local bin=$SCRATCH/bin
        mkdir -p "$bin"
        printf '#!/bin/sh\nexec "%s" -m airshower.cli "$@"\n' "$(command -v "$PYTHON")" > "$bin/airshower"
        chmod +x "$bin/airshower"
        export PATH="$bin:$PATH"
    fi
}
phase check check_imports

PREDICT_THREADS=$(( CORES < 2 ? CORES : 2 ))
phase workflow "$PYTHON" -m snakemake --snakefile "$REPO/workflow/Snakefile" --directory "$WORKDIR" \
    --configfile "$CONFIG" --cores "$CORES" --scheduler greedy \
    --set-threads train="$CORES" predict="$PREDICT_THREADS"
phase report airshower gpu-report --config "$CONFIG" --out "$OUT" --workdir "$WORKDIR"
summary
echo "gpu-study: $OUT holds $(ls "$OUT" | wc -l) files: $(ls "$OUT" | tr '\n' ' ')"
