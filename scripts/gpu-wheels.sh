#!/usr/bin/env bash
# The wheels a bare GPU machine needs to run a study with scripts/gpu-study.sh, into DIR.
#
#   scripts/gpu-wheels.sh DIR
#
# The GPU machine has CPython 3.12 with torch (CUDA), numpy, h5py, matplotlib, pyyaml, tqdm,
# fsspec, xxhash, attrs, jinja2, requests, psutil, packaging, tabulate, wrapt and platformdirs,
# and no access to a package index. This downloads, for CPython 3.12 on manylinux x86_64, every
# other package the study imports, at the versions installed in this checkout's .venv: uproot,
# awkward, awkward-cpp, cramjam, jsonschema and its dependencies, and Snakemake with the closure
# of its Requires-Dist, except pulp (36 MB: only Snakemake's ILP scheduler imports it, and
# gpu-study.sh runs the greedy one). The airshower package itself is not among them: gpu-study.sh
# runs it from the checkout's src/, so the code that runs is always the code that travels.
# A dependency published only as a source archive (e.g. connection-pool) is built here into a
# pure-Python wheel. Prints the total size: the GPU machine accepts at most 64 MiB of files.
#
# Environment: VENV_PYTHON (default .venv/bin/python: reads the versions), PIP_PYTHON (default python3: runs `pip download`, any Python with pip and network).
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit $(( $# == 1 ? 0 : 2 ))
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$1
VENV_PYTHON=${VENV_PYTHON:-$REPO/.venv/bin/python}
PIP_PYTHON=${PIP_PYTHON:-python3}
LIMIT_MIB=64
[[ -x $VENV_PYTHON ]] || { echo "gpu-wheels: $VENV_PYTHON not found (make setup creates .venv)" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR"/*.whl  # one version of each package: two would stop the install there

# name==version of every package to carry: the roots and their Requires-Dist closure in .venv
# (markers read for CPython 3.12 on Linux x86_64, no extras), not descending into what the GPU
# machine has
PINS=$("$VENV_PYTHON" - <<'EOF'
import importlib.metadata as md

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOTS = ["uproot", "awkward", "awkward-cpp", "cramjam", "jsonschema", "jsonschema-specifications",
         "referencing", "rpds-py", "snakemake"]
# on the GPU machine already (torch's own dependencies among them); typing-extensions and
# docutils are carried all the same: pydantic needs a recent typing-extensions, and docutils
# may be missing
MACHINE = {"torch", "numpy", "h5py", "matplotlib", "pyyaml", "tqdm", "fsspec", "xxhash", "attrs", "jinja2",
           "markupsafe", "requests", "certifi", "charset-normalizer", "idna", "urllib3", "psutil", "packaging",
           "tabulate", "wrapt", "platformdirs", "filelock", "sympy", "mpmath", "networkx", "setuptools"}
SKIP = {"pulp"}  # Snakemake's ILP scheduler only (snakemake/scheduling/milp.py); gpu-study.sh runs --scheduler greedy
ENV = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
       "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}

pins, todo = {}, list(ROOTS)
while todo:
    name = canonicalize_name(todo.pop())
    if name in pins or name in MACHINE or name in SKIP:
        continue
    dist = md.distribution(name)
    pins[name] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(ENV):
            todo.append(req.name)
print("\n".join(f"{n}=={v}" for n, v in sorted(pins.items())))
EOF
)

PLATFORM=(--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
failed=()
for pin in $PINS; do
    if "$PIP_PYTHON" -m pip download -q --no-deps --only-binary=:all: "${PLATFORM[@]}" -d "$DIR" "$pin"; then
        echo "gpu-wheels: $pin"
        continue
    fi
    # no wheel published: build one from the source archive, which must give a pure-Python wheel
    build=$(mktemp -d)
    if "$PIP_PYTHON" -m pip wheel -q --no-deps --no-binary=:all: -w "$build" "$pin" \
        && compgen -G "$build/*-py3-none-any.whl" > /dev/null; then
        mv "$build"/*-py3-none-any.whl "$DIR"/
        echo "gpu-wheels: $pin (built from its source archive: pure Python)"
    else
        failed+=("$pin")
    fi
    rm -rf "$build"
done
if (( ${#failed[@]} )); then
    echo "gpu-wheels: no wheel for CPython 3.12 manylinux x86_64 (and no pure-Python build) of: ${failed[*]}" >&2
    exit 1
fi


bytes=$(cat "$DIR"/*.whl | wc -c)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "gpu-wheels: $(ls "$DIR"/*.whl | wc -l) wheels in $DIR, $mib MiB in total (limit $LIMIT_MIB MiB)"
if (( bytes > LIMIT_MIB * 1048576 )); then
    echo "gpu-wheels: warning: more than the $LIMIT_MIB MiB the GPU machine accepts" >&2
    exit 1
fi
