"""The tiny study (tests/config/config.yaml) run end to end through Snakemake, on the CPU.

One run per test session (module fixture), in a copy of the checkout (workflow/, src/, config/)
as a user runs a study; the tests then look at what it produced, at what a dry run would re-run
after a change of one config value or of the package's data, and at a copy of the finished
folder elsewhere, which has nothing to do.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# what a study folder holds of the checkout: the workflow, the package it reads, the configs,
# and the root's Snakefile and profiles/default (a link to workflow/profiles/default)
CHECKOUT = ("workflow", "src", "config", "Snakefile", "profiles")
PARAMETERS = Path("src/airshower/resources/sd_parameters.json")


def copy_checkout(repo: Path, dest: Path) -> Path:
    """A copy of the parts of the checkout the workflow needs, in ``dest`` (links kept as links)."""
    for name in CHECKOUT:
        if (repo / name).is_file():
            shutil.copy2(repo / name, dest / name)
        else:
            shutil.copytree(repo / name, dest / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def snakemake(repo: Path, workdir: Path, *args: str, config: str = "config.yaml") -> subprocess.CompletedProcess:
    """Run Snakemake in ``workdir`` with a config file there: on the workflow of the checkout in
    ``workdir`` when it holds one, else on the repository's."""
    snakefile = workdir / "workflow/Snakefile"
    cmd = [
        SNAKEMAKE, "--snakefile", str(snakefile if snakefile.is_file() else repo / "workflow/Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(workdir / config), "--cores", "2", *args,
    ]
    # PATH as the caller has it (no activated venv): the workflow finds `airshower` itself
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tiny_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = copy_checkout(repo, tmp_path_factory.mktemp("tiny"))
    shutil.copy(repo / "tests/config/config.yaml", workdir / "config.yaml")
    proc = snakemake(repo, workdir)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted(workdir.glob("logs/**/*.log")))
        pytest.fail(f"tiny workflow failed:\n{proc.stderr[-6000:]}\n{logs}")
    return workdir


def test_tiny_study_produces_every_target(tiny_run: Path) -> None:
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    results = tiny_run / "results" / cfg["study"]
    for model in cfg["models"]:
        for name in ("model.pt", "history.csv", "train_info.json", "provenance.json"):
            assert (results / "models" / model / name).stat().st_size > 0
        for dataset in cfg["test_datasets"]:
            assert (results / "predictions" / dataset / f"{model}.h5").stat().st_size > 0
            assert (results / "metrics" / dataset / f"{model}.json").stat().st_size > 0
    for name in ("summary.csv", "summary.md", "summary.tex", "headline.png", "xmax_resolution.png"):
        assert (results / "figures" / name).stat().st_size > 0, name
    summary = (results / "figures" / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + len(cfg["models"])
    assert any((results / "validation").glob("*.png"))
    # the study's own data: data/{study}/sim and data/{study}/tensors (airshower.layout)
    for name, ds in cfg["datasets"].items():
        assert (tiny_run / "data" / cfg["study"] / "tensors" / f"{name}.h5").stat().st_size > 0
        for shard in range(ds.get("shards", 1)):
            assert (tiny_run / "data" / cfg["study"] / "sim" / name / f"{shard}.root").stat().st_size > 0
    assert not (tiny_run / "data" / "sim").exists() and not (tiny_run / "data" / "tensors").exists()


def planned_jobs(repo: Path, workdir: Path, *targets: str, config: str = "config.yaml") -> dict[str, int]:
    """Rule -> number of jobs a dry run would execute."""
    proc = snakemake(repo, workdir, "--dry-run", *targets, config=config)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    text = proc.stdout + proc.stderr
    return planned_from(text) if "Job stats:" in text else {}


def changed(workdir: Path, edit) -> str:  # noqa: ANN001
    """Write a copy of the config with one edit applied; return its file name."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    edit(cfg)
    (workdir / "changed.yaml").write_text(yaml.safe_dump(cfg))
    return "changed.yaml"


def test_nothing_to_do_after_a_complete_run(repo: Path, tiny_run: Path) -> None:
    assert planned_jobs(repo, tiny_run) == {}


EVERYTHING = {
    "simulate": 4, "validate_simulation": 1, "convert": 3, "train": 2,
    "predict": 4, "evaluate": 4, "figures": 1, "all": 1,
}


def moved(tiny_run: Path, dest: Path) -> Path:
    """The finished study folder (checkout, data, results, logs, .snakemake) copied to ``dest``,
    times kept, as `cp -a` or rsync -a move it."""
    shutil.copytree(tiny_run, dest, symlinks=True)
    return dest


def test_a_moved_study_has_nothing_to_do(repo: Path, tiny_run: Path, tmp_path: Path) -> None:
    copy = moved(tiny_run, tmp_path / "elsewhere" / "deeper" / "study")
    assert planned_jobs(repo, copy) == {}
    for trigger in ("input", "code"):  # no output whose recorded inputs or code differ
        proc = snakemake(repo, copy, "--list-changes", trigger)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def test_a_physics_number_reruns_everything(repo: Path, tiny_run: Path, tmp_path: Path) -> None:
    """The parameter file is read through importlib.resources: an input of simulate (and convert)."""
    copy = moved(tiny_run, tmp_path / "study")
    parameters = copy / PARAMETERS
    numbers = json.loads(parameters.read_text())
    block = next(v for v in numbers.values() if isinstance(v, dict))  # the first block of numbers
    first_number(block, lambda x: x * 1.01)
    parameters.write_text(json.dumps(numbers, indent=1))
    assert planned_jobs(repo, copy) == EVERYTHING


def first_number(tree: dict | list, change) -> bool:  # noqa: ANN001
    """Apply ``change`` to the first number (not a bool) found depth-first in ``tree``."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            tree[key] = change(value)
            return True
        if isinstance(value, (dict, list)) and first_number(value, change):
            return True
    return False


def test_a_model_hyperparameter_reruns_only_that_model(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["models"]["cnn"].update(conv_channels=[8, 8, 8]))
    jobs = planned_jobs(repo, tiny_run, config=name)
    n_test = 2
    assert jobs == {"train": 1, "predict": n_test, "evaluate": n_test, "figures": 1, "all": 1}
    proc = snakemake(repo, tiny_run, "--dry-run", config=name)
    assert "models/tvit" not in proc.stdout.split("Job stats:")[0].replace("models/tvit/model.pt,", "")


def test_a_figure_setting_reruns_only_the_figures(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["figures"].update(dpi=70))
    assert planned_jobs(repo, tiny_run, config=name) == {"figures": 1, "all": 1}


def test_display_labels_rerun_only_the_figures(repo: Path, tiny_run: Path) -> None:
    def relabel(cfg: dict) -> None:
        cfg["models"]["cnn"]["label"] = "Hexagonal CNN"
        cfg["datasets"]["test_qgsjet"]["label"] = "QGSJet-II.04 showers"

    assert planned_jobs(repo, tiny_run, config=changed(tiny_run, relabel)) == {"figures": 1, "all": 1}


def test_an_evaluation_setting_reruns_metrics_and_figures(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["evaluation"].update(bootstrap=25))
    assert planned_jobs(repo, tiny_run, config=name) == {"evaluate": 4, "figures": 1, "all": 1}


def test_a_simulation_setting_reruns_everything_downstream(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["simulation"].update(dead_fraction=0.02))
    assert planned_jobs(repo, tiny_run, config=name) == EVERYTHING


def test_figures_keep_the_config_order_of_the_models(repo: Path, tiny_run: Path) -> None:
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["models"] = {"tvit": cfg["models"]["tvit"], "cnn": cfg["models"]["cnn"]}
    (tiny_run / "reordered.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert planned_jobs(repo, tiny_run, config="reordered.yaml") == {"figures": 1, "all": 1}
    proc = snakemake(repo, tiny_run, "--dry-run", "--printshellcmds", config="reordered.yaml")
    command = next(line for line in proc.stdout.splitlines() if "airshower figures" in line)
    assert command.index('"tvit"') < command.index('"cnn"')


def test_a_dataset_without_truth_is_converted_and_reconstructed_by_every_model(repo: Path, tiny_run: Path) -> None:
    """Events files of measured data (no Monte-Carlo truth), named by path: converted from their
    source and reconstructed by each trained model into a per-event table; nothing else re-runs."""
    import h5py

    from synthetic_events import synthetic_chunk, without_truth, write_events

    for k in range(2):
        chunk = without_truth(synthetic_chunk(15, seed=40 + k, trace_bins=48, first_id=100 * k))
        write_events(tiny_run / "measured" / f"run{k}.root", [chunk], 48)

    def add_measured(cfg: dict) -> None:
        cfg["datasets"]["measured"] = {"source": "files", "paths": ["measured/run*.root"]}
        cfg["reconstruct_datasets"] = ["measured"]

    name = changed(tiny_run, add_measured)
    assert planned_jobs(repo, tiny_run, config=name) == {"convert": 1, "reconstruct": 2, "all": 1}
    proc = snakemake(repo, tiny_run, config=name)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for model in ("cnn", "tvit"):
        with h5py.File(tiny_run / "results/tiny/reconstructed/measured" / f"{model}.h5") as f:
            ids = f["events/event_id"][()]
            assert sorted(ids.tolist()) == list(range(15)) + list(range(100, 115))
            assert "events/xmax" in f and not any(k.startswith("true_") for k in f["events"])
    assert planned_jobs(repo, tiny_run, config=name) == {}


def test_the_auger_open_data_are_reconstructed_and_compared_with_the_fd(repo: Path, tiny_run: Path) -> None:
    """JSON events and the summary CSV in the release's format: converted (traces windowed to the
    networks' 48 bins), reconstructed by every model, and drawn against the FD Xmax."""
    import h5py

    from tests.kit.auger_release import HYBRID, SD_ONLY, write_release

    write_release(tiny_run / "auger")

    def add_auger(cfg: dict) -> None:
        cfg["datasets"]["auger"] = {"source": "auger_opendata", "paths": ["auger/Auger_*.json"],
                                    "summary": "auger/dataSummarySD1500.csv"}
        cfg["reconstruct_datasets"] = ["auger"]

    name = changed(tiny_run, add_auger)
    formats = yaml.safe_load((tiny_run / name).read_text())["figures"]["formats"]
    assert planned_jobs(repo, tiny_run, config=name) == {"convert": 1, "reconstruct": 2, "sd_vs_fd": 2 * len(formats),
                                                         "all": 1}
    proc = snakemake(repo, tiny_run, config=name)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for model in ("cnn", "tvit"):
        with h5py.File(tiny_run / "results/tiny/reconstructed/auger" / f"{model}.h5") as f:
            ids = f["events/event_id"][()].tolist()
            fd = dict(zip(ids, f["events/reference_fd_xmax"][()].tolist()))
            assert f["events/reference_fd_xmax"].attrs["unit"] == "g/cm2"
            hottest = dict(zip(ids, f["events/hottest_station_id"][()].tolist()))  # the release's station ids
            assert hottest == {HYBRID: 502, SD_ONLY: 822}
            assert ("events/azimuth_site" in f) == (model == "tvit")  # the network with an axis
        assert sorted(ids) == sorted([HYBRID, SD_ONLY])  # the SD-750 event is skipped
        assert abs(fd[HYBRID] - 756.0) < 0.5 and fd[SD_ONLY] != fd[SD_ONLY]  # weighted over eyes; NaN without FD
        for ext in formats:
            assert (tiny_run / "results/tiny/figures" / f"sd_vs_fd_auger_{model}.{ext}").stat().st_size > 0
    assert planned_jobs(repo, tiny_run, config=name) == {}


def test_a_config_typo_is_one_short_message(repo: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load((repo / "tests/config/config.yaml").read_text())
    cfg["simulaton"] = cfg.pop("simulation")
    cfg["training"]["epochs"] = "7"
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(repo, tmp_path, "--dry-run", config="typo.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "'<top level>': Additional properties are not allowed ('simulaton' was unexpected)" in out
    assert "'training.epochs': '7' is not of type 'integer'" in out
    assert len(out.splitlines()) < 12, out  # no dump of the schema


def test_a_misspelt_hyperparameter_stops_the_dry_run(repo: Path, tmp_path: Path) -> None:
    """Checked when the workflow loads, against the model registry: not after simulating and converting."""
    cfg = yaml.safe_load((repo / "tests/config/config.yaml").read_text())
    cfg["models"]["tvit"]["dept"] = 3
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(repo, tmp_path, "--dry-run", config="typo.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    line = next(line for line in out.splitlines() if "models.tvit.dept" in line)
    assert "unknown hyperparameter" in line and "allowed: " in line and "depth" in line, line
    assert "Job stats" not in out and len(out.splitlines()) < 12, out


def test_a_misspelt_training_override_stops_the_dry_run(repo: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load((repo / "tests/config/config.yaml").read_text())
    cfg["models"]["cnn"]["training"] = {"epoch": 3}
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(repo, tmp_path, "--dry-run", config="typo.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "'models.cnn.training'" in out and "'epoch' was unexpected" in out and "epochs" in out, out


def rule_inputs(repo: Path, workdir: Path) -> dict[str, set[str]]:
    """Rule -> its input files, from ``snakemake --filegraph`` (a job's line shows its rule's
    ``message:``, not the inputs)."""
    proc = snakemake(repo, workdir, "--filegraph")
    assert proc.returncode == 0, proc.stderr
    inputs: dict[str, set[str]] = {}
    for node in proc.stdout.split("label=<<table")[1:]:
        rule = re.search(r'<font point-size="18">([^<]+)</font>', node).group(1)
        listed = node.split("output &rarr;")[0]
        inputs.setdefault(rule, set()).update(re.findall(r'<font face="monospace">([^<]+)</font>', listed))
    return inputs


def test_rules_list_their_code_relative_and_derived(repo: Path, tmp_path: Path) -> None:
    """A fresh study: each rule's code inputs are relative paths from the stage's imports
    (simulate reads the physics numbers, train no figure code)."""
    copy_checkout(repo, tmp_path)
    shutil.copy(repo / "tests/config/config.yaml", tmp_path / "config.yaml")
    inputs = rule_inputs(repo, tmp_path)
    code = {r: {f for f in files if "src/airshower" in f} for r, files in inputs.items()}
    assert all(not f.startswith("/") and f.startswith("src/airshower/") for files in code.values() for f in files)
    assert str(PARAMETERS) in code["simulate"] and str(PARAMETERS) in code["validate_simulation"]
    assert "src/airshower/figures/validation.py" in code["validate_simulation"]
    assert not [f for f in code["simulate"] | code["train"] if "/figures/" in f]
    assert not [f for f in code["simulate"] if "/models/" in f]  # the hyperparameter tables are the train stage's
    assert "src/airshower/models/registry.py" in code["predict"]
    assert "src/airshower/models/specs.py" in code["train"]
    assert all("src/airshower/cli.py" in code[r] for r in ("simulate", "convert", "train", "predict", "evaluate", "figures"))
    # each study's data in its own folder
    assert any(f.startswith("data/tiny/tensors/") for f in inputs["train"])


def test_jobs_print_one_line_each(repo: Path, tmp_path: Path) -> None:
    """The console of a run: per job its rule's `message:` (what, where to, its log), not ~40 source
    paths and the stage's config as JSON (the default profile prints no shell commands)."""
    copy_checkout(repo, tmp_path)
    shutil.copy(repo / "tests/config/config.yaml", tmp_path / "config.yaml")
    proc = snakemake(repo, tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(re.fullmatch(r"Job \d+: train cnn on data/tiny/tensors/train.h5 -> results/tiny/models/cnn "
                            r"\(epochs, loss, ETA: logs/tiny/train/cnn.log\)", line) for line in lines), proc.stdout
    assert any(line.endswith(": simulate train, shard 0 -> data/tiny/sim/train/0.root (log: logs/tiny/simulate/train/0.log)")
               for line in lines), proc.stdout
    assert "src/airshower" not in proc.stdout and "--config-json" not in proc.stdout
    assert len(proc.stdout) < 12_000, len(proc.stdout)  # 20 jobs


def snakemake_alone(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake in ``workdir`` in a Python that has Snakemake and its own dependencies only: numpy,
    torch, h5py, matplotlib, awkward and uproot cannot be imported, nor an installed airshower
    (only that of the checkout in ``workdir``, which the workflow puts on sys.path itself)."""
    code = textwrap.dedent(f"""
        import importlib.abc, importlib.machinery, pkgutil, sys
        from pathlib import Path

        BLOCKED = {NOT_SNAKEMAKE!r}
        CHECKOUT_SRC = Path({str(workdir / "src")!r}).resolve()

        class OnlySnakemake(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                top = name.partition(".")[0]
                if top in BLOCKED:
                    raise ImportError(f"no module named {{name!r}} (not installed here)")
                if name == "airshower":  # only the checkout's sources, not the venv's install
                    here = [p for p in sys.path if p and Path(p).resolve() == CHECKOUT_SRC]
                    spec = importlib.machinery.PathFinder.find_spec(name, here) if here else None
                    if spec is None:
                        raise ImportError("no module named 'airshower' (not installed here)")
                    return spec
                return None

        sys.meta_path.insert(0, OnlySnakemake())
        # Snakemake loads every executor plugin installed; the SLURM one (the .[workflow] extra,
        # not Snakemake's own) imports pandas and numpy
        _iter = pkgutil.iter_modules
        pkgutil.iter_modules = lambda *a, **k: (
            m for m in _iter(*a, **k) if not m.name.startswith("snakemake_executor_plugin_slurm")
        )
        from snakemake.cli import main
        main({list(args)!r})
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, check=False)


NOT_SNAKEMAKE = ("numpy", "torch", "h5py", "matplotlib", "awkward", "uproot")


def test_a_dry_run_needs_snakemake_alone(repo: Path, tmp_path: Path) -> None:
    """Planning imports no torch, numpy, h5py, matplotlib, awkward or uproot, and finds the package
    in its own checkout when it is not installed (snakemake from pipx or its own conda env)."""
    copy_checkout(repo, tmp_path)
    shutil.copy(repo / "tests/config/config.yaml", tmp_path / "config.yaml")
    proc = snakemake_alone(tmp_path, "--snakefile", "workflow/Snakefile", "--configfile", "config.yaml",
                           "--cores", "2", "--dry-run")
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    assert "Job stats:" in proc.stdout and "total                     20" in proc.stdout, proc.stdout[-2000:]
    # and a model's misspelt hyperparameter is still caught there (the torch-free tables)
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["models"]["tvit"]["dept"] = 3
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake_alone(tmp_path, "--snakefile", "workflow/Snakefile", "--configfile", "typo.yaml",
                           "--cores", "2", "--dry-run")
    assert proc.returncode != 0 and "models.tvit.dept: unknown hyperparameter" in proc.stdout + proc.stderr


def test_snakemake_from_the_repository_root_runs_the_study(repo: Path, tmp_path: Path) -> None:
    """The root's Snakefile includes workflow/Snakefile: `rule all` stays the default target, the
    default profile is read, and --configfile chooses the study (README)."""
    copy_checkout(repo, tmp_path)
    shutil.copy(repo / "tests/config/config.yaml", tmp_path / "config.yaml")
    run = lambda *args: subprocess.run(  # noqa: E731
        [SNAKEMAKE, "--cores", "2", "--dry-run", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    proc = run("--configfile", "config.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f"Snakefile: {tmp_path / 'Snakefile'}" in out
    assert "workflow specific profile profiles/default" in out
    assert planned_from(out) == EVERYTHING
    proc = run()  # the default study, config/config.yaml
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_from(proc.stdout + proc.stderr)
    assert jobs["all"] == 1 and jobs["figures"] == 1 and jobs["train"] == len(
        yaml.safe_load((repo / "config/config.yaml").read_text())["models"]
    )


def planned_from(text: str) -> dict[str, int]:
    """Rule -> jobs of the (first) "Job stats" table of a dry run's output."""
    jobs: dict[str, int] = {}
    for line in text.split("Job stats:", 1)[1].splitlines()[3:]:
        match = re.match(r"^([A-Za-z_]\w*)\s+(\d+)\s*$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def test_nested_config_values_on_the_command_line_keep_their_type(repo: Path, tmp_path: Path) -> None:
    """Snakemake reads the values inside `--config key='{...}'` as strings; the workflow takes them
    as the schema's types, so `epochs: 7` trains 7 epochs instead of failing."""
    copy_checkout(repo, tmp_path)
    shutil.copy(repo / "tests/config/config.yaml", tmp_path / "config.yaml")
    proc = snakemake(repo, tmp_path, "--dry-run", "--printshellcmds", "--config", "training={epochs: 7}",
                     "evaluation={bootstrap: 50, lg_energy_bins: [19, 19.5, 20]}",
                     "models={cnn: {conv_channels: [8, 4], training: {batch_size: 16}}}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    train = [line for line in proc.stdout.splitlines() if "airshower train" in line]
    assert len(train) == 2 and all('"epochs": 7' in line for line in train), train
    cnn = next(line for line in train if "--model cnn" in line)
    assert '"conv_channels": [8, 4]' in cnn and '"training": {"batch_size": 16}' in cnn
    evaluate = [line for line in proc.stdout.splitlines() if "airshower evaluate" in line]
    assert evaluate and all('"bootstrap": 50' in line and '"lg_energy_bins": [19, 19.5, 20]' in line
                            for line in evaluate)
    # a value of the wrong type stays an error
    proc = snakemake(repo, tmp_path, "--dry-run", "--config", "training={epochs: seven}")
    assert proc.returncode != 0 and "'training.epochs': 'seven' is not of type 'integer'" in proc.stdout + proc.stderr


SNAKEFMT = Path(sys.executable).with_name("snakefmt")


@pytest.mark.skipif(not SNAKEFMT.exists(), reason="snakefmt not installed (pip install -e '.[test]')")
def test_the_workflow_is_formatted_with_snakefmt(repo: Path) -> None:
    proc = subprocess.run([str(SNAKEFMT), "--check", "workflow/", "Snakefile"], cwd=repo, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_one_figure_as_a_target(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["figures"].update(dpi=70))
    jobs = planned_jobs(repo, tiny_run, "results/tiny/figures/headline.png", config=name)
    assert jobs == {"figures": 1}


def test_report_holds_every_figure(repo: Path, tiny_run: Path) -> None:
    report = tiny_run / "report.html"
    proc = snakemake(repo, tiny_run, "--report", str(report))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report.stat().st_size > 10_000
    html = report.read_text(errors="replace")
    # the description of the workflow (workflow/report/workflow.rst), the paper figures, the
    # simulation's validation figures (a directory output) and the summary tables
    assert "One Snakemake rule per stage" in html or "one Snakemake rule per stage" in html
    for name in ("headline.png", "example_event.png", "xmax_2d_tvit.png", "muon_fraction.png", "ldf.png",
                 "event_footprint.png", "summary.csv", "targets.csv"):
        assert name in html, name


def test_replicas_add_their_jobs_and_rerun_nothing_that_exists(repo: Path, tiny_run: Path) -> None:
    """training.replicas: 2 trains, predicts and evaluates one replica `<model>~1` of each model;
    of the finished run only the figures re-draw (they aggregate the replicas)."""
    name = changed(tiny_run, lambda c: c["training"].update(replicas=2))
    assert planned_jobs(repo, tiny_run, config=name) == {"train": 2, "predict": 4, "evaluate": 4, "figures": 1,
                                                         "all": 1}
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    dry = snakemake(repo, tiny_run, "--dry-run", config=name)
    assert dry.returncode == 0, dry.stderr
    text = dry.stdout + dry.stderr
    for model in cfg["models"]:  # jobs of the replicas (one message line each), none of the models themselves
        assert f"train {model}~1 on " in text and f"predict test with {model}~1 -> " in text
        assert f"train {model} on " not in text and not re.search(rf"(with|evaluate) {re.escape(model)} ", text)
    # a model's own override: three runs of the cnn alone
    name = changed(tiny_run, lambda c: c["models"]["cnn"].setdefault("training", {}).update(replicas=3))
    assert planned_jobs(repo, tiny_run, config=name) == {"train": 2, "predict": 4, "evaluate": 4, "figures": 1,
                                                         "all": 1}
