# Helpers shared by the rules: the part of the config each stage reads, file lists.
import json
import os
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

from airshower.config import dataset_simulation, validate_config

# Cross-key checks (datasets named by train/test exist, seeds differ, ...) beyond the schema.
config = validate_config(config, source="snakemake config")

PKG = Path(workflow.basedir).parent / "src" / "airshower"
# Set, not read: the post-deploy script of each rule environment (workflow/envs/) installs
# this checkout of the package from $AIRSHOWER_ROOT when Snakemake builds the environment.
os.environ.update(AIRSHOWER_ROOT=str(Path(str(workflow.current_basedir)).parents[1]))  # this file: workflow/rules/
# The rules call `airshower`. Without conda, the jobs find it beside the Python that runs
# Snakemake, so `.venv/bin/snakemake` works without activating the venv; with --sdm conda
# each job's own environment provides it.
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    shell.prefix(f'export PATH="{Path(sys.executable).parent}:$PATH"; ')
STUDY = config["study"]
RESULTS = f"results/{STUDY}"


def package_sources(*names):
    """Package source files a rule depends on (a change to them re-runs the rule)."""
    files = []
    for name in names:
        path = PKG / name
        files += sorted(str(p) for p in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return files


def shards(dataset):
    return range(config["datasets"][dataset]["shards"])


def shard_files(dataset):
    return [f"data/sim/{dataset}/{shard}.root" for shard in shards(dataset)]


def simulate_params(dataset):
    """What simulating one dataset reads: its entry and its merged simulation settings."""
    entry = {k: v for k, v in config["datasets"][dataset].items() if k != "simulation"}
    entry["simulation"] = dataset_simulation(config, dataset)
    return json.dumps({"datasets": {dataset: entry}}, sort_keys=True)


def all_targets():
    """The targets of the default rule: the figures and tables (they pull in every prediction and
    metrics file, hence every trained model and tensor file), the trained models themselves,
    and the simulation's validation figures."""
    from airshower.figures.paper import output_files

    figures = output_files(list(config["models"]), config["test_datasets"], config["figures"]["formats"])
    return [
        *(f"{RESULTS}/figures/{name}" for name in figures),
        *(f"{RESULTS}/models/{m}/model.pt" for m in sorted(config["models"])),
        f"{RESULTS}/validation",
    ]


def launcher(resources) -> str:
    """The command that starts the ``airshower`` CLI in a job with these resources.

    One GPU or none: ``airshower``. Several GPUs (``gpu: N``, ``gpus: N`` or ``gres: gpu[:type]:N``,
    e.g. from the SLURM profile's set-resources): ``torchrun`` with one process per GPU on
    this node (``--standalone`` picks a free rendezvous port, so jobs sharing a node do not
    collide). Several nodes are refused: see docs/cluster.md. Use it through a params function;
    Snakemake does not count params that read ``resources`` as a rerun trigger, so changing the
    GPU count does not retrain:

        params: launch=lambda wildcards, resources: launcher(resources)
        shell: "{params.launch} train ..."
    """
    get = resources.get if hasattr(resources, "get") else lambda key, default=None: getattr(resources, key, default)
    gpus = get("gpu", None) or get("gpus", None)
    gres = str(get("gres", None) or "").split(":")
    if not gpus and gres[0] == "gpu":  # gres: gpu, gpu:N, gpu:type or gpu:type:N
        gpus = int(gres[-1]) if len(gres) > 1 and gres[-1].isdigit() else 1
    try:
        gpus = int(gpus or 0)
    except (TypeError, ValueError):
        raise ValueError(f"resource gpu = {gpus!r}: expected a whole number of GPUs") from None
    if gpus < 0:
        raise ValueError(f"resource gpu = {gpus}: expected 0 or more GPUs")
    nodes = int(get("nodes", 1) or 1)
    if nodes > 1:
        raise ValueError(
            f"resource nodes = {nodes}: launcher() starts one node; multi-node training is described in docs/cluster.md"
        )
    if gpus <= 1:
        return "airshower"
    return f"torchrun --standalone --nnodes 1 --nproc_per_node {gpus} -m airshower.cli"
