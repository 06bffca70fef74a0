#!/usr/bin/env bash
# Post-deploy script of every rule environment (<env>.post-deploy.sh links here). Snakemake
# runs it inside a new environment right after `conda env create` (--sdm conda, also with
# --conda-create-envs-only): it installs this checkout of airshower, editable and without
# dependencies (conda provides them), from local files only.
#
# Why not `pip: [-e ../..]` in the environment file: Snakemake hands conda a copy of the file
# in <conda-prefix>/<hash>.yaml and conda runs pip from that directory, so a relative path
# would point into the conda prefix; and pip would also install the package's PyPI
# dependencies (torch among them) into every environment.
set -euo pipefail
: "${AIRSHOWER_ROOT:?not set: workflow/rules/common.smk sets it to the checkout when Snakemake builds the environments}"
python -m pip install --no-deps --no-build-isolation --no-index -e "$AIRSHOWER_ROOT"
