# Helpers shared by the rules: the part of the config each stage reads, file lists.
# Planning imports only modules of the package that need no more than Snakemake itself
# (the standard library, PyYAML, jsonschema): no torch, numpy, h5py or matplotlib, so a dry
# run is quick and works in an environment with Snakemake alone (tests/test_workflow.py).
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml
from snakemake.settings.types import DeploymentMethod

CHECKOUT = Path(str(workflow.current_basedir)).parents[1]  # this file: workflow/rules/
# the package sources of this checkout (src/airshower): the code the rules depend on
SRC = CHECKOUT / "src"
try:
    import airshower
except ImportError:
    # not installed (Snakemake from pipx or its own conda env): planning reads this checkout's
    # sources; the jobs need the package itself (--sdm conda installs it into each environment)
    sys.path.insert(0, str(SRC))

from airshower import layout
from airshower.cli import COMMANDS
from airshower.codedeps import source_files
from airshower.config import dataset_simulation, load_schema, validate_config
from airshower.models.specs import ARCHITECTURES, check_model_entries
from airshower.sources.kinds import has_reference
from airshower.sources.registry import input_files
from airshower.training.replicas import all_runs, replica_count, split_replica


def read_yaml_strings(value):
    """``value`` with every string in it read as YAML (lists and mappings entry by entry)."""
    if isinstance(value, str):
        return yaml.safe_load(value)
    if isinstance(value, list):
        return [read_yaml_strings(v) for v in value]
    if isinstance(value, Mapping):
        return {k: read_yaml_strings(v) for k, v in value.items()}
    return value


def coerce_model_values(cfg, given):
    """The hyperparameters of models given by --config (strings, see validate.smk) read as YAML
    where the value given is no value of the hyperparameter and the YAML value is."""
    for name, entry in (given.get("models") or {}).items():
        model = cfg.get("models", {}).get(name)
        if not isinstance(entry, Mapping) or not isinstance(model, Mapping):
            continue
        params = getattr(ARCHITECTURES.get(model.get("type")), "hyperparameters", {})
        for key, value in entry.items():
            if key not in params or model.get(key) != value:
                continue
            try:
                params[key].check(value)
            except ValueError:
                try:
                    model[key] = params[key].check(read_yaml_strings(value))
                except (ValueError, yaml.YAMLError):
                    pass  # left for check_model_entries to report


# --config values as their types where validate.smk (included before this file, whose helper
# this is) could not see them: the models' `training` overrides, and their hyperparameters
coerce_command_line_values(config, load_schema(), COMMAND_LINE_CONFIG)
coerce_model_values(config, COMMAND_LINE_CONFIG)
# Cross-key checks (datasets named by train/test exist, seeds differ, ...) beyond the schema.
config = validate_config(config, source="snakemake config")
# Every model's hyperparameters against its architecture, now rather than after simulating.
check_model_entries(config, source="snakemake config")

# Set, not read: the post-deploy script of each rule environment (workflow/envs/) installs
# this checkout of the package from $AIRSHOWER_ROOT when Snakemake builds the environment.
os.environ.update(AIRSHOWER_ROOT=str(CHECKOUT))
# The rules call `airshower`. Without conda, the jobs find it beside the Python that runs
# Snakemake, so `.venv/bin/snakemake` works without activating the venv; with --sdm conda
# each job's own environment provides it.
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    shell.prefix(f'export PATH="{Path(sys.executable).parent}:$PATH"; ')
STUDY = config["study"]
# every trained network: each model of `models` and its replicas `<model>~k` (training.replicas,
# airshower.training.replicas), model by model in the config's order; replica 0 is the model itself
RUNS = all_runs(config)


def run_model(run):
    """The model of `models` a run (a model or one of its replicas) trains."""
    return run if run in config["models"] else split_replica(run)[0]


def without_replicas(training):
    """A training section (or override) without `replicas`: the number of runs is no setting of
    one run, so raising it adds jobs and re-runs none of the existing ones."""
    return {k: v for k, v in training.items() if k != "replicas"}


def run_entry(model):
    """What training reads of a model's entry: all but its display label and `replicas` (an
    override holding nothing else is left out, as if it were not there)."""
    entry = {k: v for k, v in config["models"][model].items() if k != "label"}
    if "training" in entry:
        entry["training"] = without_replicas(entry["training"])
        if not entry["training"]:
            del entry["training"]
    return entry


def stage_code(command: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """The package files `airshower <command>` runs: the CLI, the stage's module (from the CLI's
    dispatch table) and everything they import or read, relative to the working folder (a change
    to any of them re-runs the rule; a moved checkout keeps them). ``exclude``: modules the rule's
    call never reaches (see airshower.codedeps.source_files)."""
    return source_files(["airshower.cli", COMMANDS[command][0]], src=SRC, exclude=exclude)


def sorted_keys(value):
    """``value`` with the keys of its mappings sorted (a params string that does not change when
    a config file lists the same keys in another order)."""
    return json.loads(json.dumps(value, sort_keys=True))


def simulate_params(dataset):
    """What simulating one dataset reads: its entry and its merged simulation settings."""
    entry = {k: v for k, v in config["datasets"][dataset].items() if k not in ("simulation", "label")}
    entry["simulation"] = dataset_simulation(config, dataset)
    return json.dumps({"datasets": {dataset: entry}}, sort_keys=True)


def convert_params(dataset):
    """What converting one dataset reads: the convert section, the dataset's entry and the trace
    format of the networks (the training dataset's), which sources of other formats resample to."""
    entry = {k: v for k, v in config["datasets"][dataset].items() if k not in ("simulation", "label")}
    sim = dataset_simulation(config, config["train_dataset"])
    return json.dumps(
        {
            "study": STUDY,
            "convert": config["convert"],
            "datasets": {dataset: entry},
            "simulation": {k: sim[k] for k in ("trace_bins", "electronics")},
        },
        sort_keys=True,
    )


def has_fd_reference(dataset):
    """Whether a dataset's events carry the fluorescence detector's Xmax (Auger open data with its summary)."""
    return has_reference(config["datasets"][dataset])


def all_targets():
    """The targets of the default rule: the figures and tables (they pull in every prediction and
    metrics file, hence every trained model and tensor file), the trained models themselves,
    the simulation's validation figures, the per-event tables of `reconstruct_datasets` and, for
    datasets with an FD reference, the SD-against-FD Xmax figures."""
    from airshower.figures.paper import output_files

    figures = output_files(list(config["models"]), config["test_datasets"], config["figures"]["formats"])
    return [
        *(str(layout.figures_dir(STUDY) / name) for name in figures),
        *(str(layout.model_dir(STUDY, m) / "model.pt") for m in sorted(RUNS)),
        str(layout.validation_dir(STUDY)),
        *(
            str(layout.reconstructed_file(STUDY, d, m))
            for d in config["reconstruct_datasets"]
            for m in sorted(config["models"])
        ),
        *(
            str(layout.figures_dir(STUDY) / f"sd_vs_fd_{d}_{m}.{ext}")
            for d in config["reconstruct_datasets"]
            if has_fd_reference(d)
            for m in sorted(config["models"])
            for ext in config["figures"]["formats"]
        ),
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
