"""The tiny study (tests/config/config.yaml) run end to end through Snakemake, on the CPU.

One run per test session (module fixture); the tests then look at what it produced and at
what a dry run would re-run after a change of one config value.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(repo: Path, workdir: Path, *args: str, config: str = "config.yaml") -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's workflow in ``workdir`` with a config file there."""
    cmd = [
        SNAKEMAKE, "--snakefile", str(repo / "workflow/Snakefile"), "--directory", str(workdir),
        "--configfile", str(workdir / config), "--cores", "2", *args,
    ]
    # PATH as the caller has it (no activated venv): the workflow finds `airshower` itself
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tiny_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("tiny")
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


def planned_jobs(repo: Path, workdir: Path, *targets: str, config: str = "config.yaml") -> dict[str, int]:
    """Rule -> number of jobs a dry run would execute."""
    proc = snakemake(repo, workdir, "--dry-run", *targets, config=config)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    jobs: dict[str, int] = {}
    text = proc.stdout + proc.stderr
    if "Job stats:" not in text:
        return jobs
    table = text.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        match = re.match(r"^([A-Za-z_]\w*)\s+(\d+)\s*$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def changed(workdir: Path, edit) -> str:  # noqa: ANN001
    """Write a copy of the config with one edit applied; return its file name."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    edit(cfg)
    (workdir / "changed.yaml").write_text(yaml.safe_dump(cfg))
    return "changed.yaml"


def test_nothing_to_do_after_a_complete_run(repo: Path, tiny_run: Path) -> None:
    assert planned_jobs(repo, tiny_run) == {}


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


def test_an_evaluation_setting_reruns_metrics_and_figures(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["evaluation"].update(bootstrap=25))
    assert planned_jobs(repo, tiny_run, config=name) == {"evaluate": 4, "figures": 1, "all": 1}


def test_a_simulation_setting_reruns_everything_downstream(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["simulation"].update(dead_fraction=0.02))
    jobs = planned_jobs(repo, tiny_run, config=name)
    assert jobs == {
        "simulate": 4, "validate_simulation": 1, "convert": 3, "train": 2,
        "predict": 4, "evaluate": 4, "figures": 1, "all": 1,
    }


def test_figures_keep_the_config_order_of_the_models(repo: Path, tiny_run: Path) -> None:
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["models"] = {"tvit": cfg["models"]["tvit"], "cnn": cfg["models"]["cnn"]}
    (tiny_run / "reordered.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert planned_jobs(repo, tiny_run, config="reordered.yaml") == {"figures": 1, "all": 1}
    proc = snakemake(repo, tiny_run, "--dry-run", "--printshellcmds", config="reordered.yaml")
    command = next(line for line in proc.stdout.splitlines() if "airshower figures" in line)
    assert command.index('"tvit"') < command.index('"cnn"')


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


def test_one_figure_as_a_target(repo: Path, tiny_run: Path) -> None:
    name = changed(tiny_run, lambda c: c["figures"].update(dpi=70))
    jobs = planned_jobs(repo, tiny_run, "results/tiny/figures/headline.png", config=name)
    assert jobs == {"figures": 1}


def test_report_holds_every_figure(repo: Path, tiny_run: Path) -> None:
    report = tiny_run / "report.html"
    proc = snakemake(repo, tiny_run, "--report", str(report))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report.stat().st_size > 10_000
