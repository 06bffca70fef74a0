# Helpers shared by the rules: the part of the config each stage reads, file lists.
import json
from pathlib import Path

from airshower.config import dataset_simulation, validate_config

# Cross-key checks (datasets named by train/test exist, seeds differ, ...) beyond the schema.
config = validate_config(config, source="snakemake config")

PKG = Path(workflow.basedir).parent / "src" / "airshower"
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
    datasets = [config["train_dataset"], *config["test_datasets"]]
    return [f for ds in datasets for f in shard_files(ds)]
