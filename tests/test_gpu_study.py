"""scripts/gpu-study.sh: the GPU machine's one-script run, rehearsed on the CPU with a tiny study.

The rehearsal (tests/config/gpu_rehearsal.yaml: two tiny networks, a few hundred events, a
3-second training budget) runs the whole script, Snakemake included, in a temporary folder with
this interpreter's packages (no --wheels), in about a minute on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from airshower.gpu_report import MAX_FILES, REQUIRED

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts/gpu-study.sh"
WHEELS = REPO / "scripts/gpu-wheels.sh"


def run_script(*args: str, python: str = sys.executable, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": python, "AIRSHOWER_DEVICE": "cpu"}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)


def test_the_scripts_parse_and_explain_themselves() -> None:
    for script in (SCRIPT, WHEELS):
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0, script
    proc = run_script("--help")
    assert proc.returncode == 0 and "--wheels DIR" in proc.stdout and "--workdir DIR" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (("--cores", "0"), "--cores 0"),
    (("--config", "no/such.yaml"), "no/such.yaml: no such file"),
    (("--frobnicate",), "unknown option --frobnicate"),
])
def test_bad_arguments_stop_at_once(args: tuple[str, ...], message: str) -> None:
    proc = run_script(*args)
    assert proc.returncode == 2 and message in proc.stderr


def test_missing_packages_are_named_before_any_work(tmp_path: Path) -> None:
    proc = run_script("--out", str(tmp_path / "out"), "--workdir", str(tmp_path / "work"), python="/bin/false")
    assert proc.returncode == 2
    assert "not importable" in proc.stderr and "--wheels" in proc.stderr
    assert not (tmp_path / "work" / "data").exists()
    assert (tmp_path / "out" / "gpu-study.log").is_file()


def test_rehearsal_on_the_cpu(tmp_path: Path) -> None:
    config = REPO / "tests/config/gpu_rehearsal.yaml"
    out, work = tmp_path / "out", tmp_path / "work"
    proc = run_script("--config", str(config), "--out", str(out), "--workdir", str(work), "--cores", "2",
                      timeout=600)
    logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted(work.glob("logs/**/*.log")))
    assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}\n{logs}"
    held = sorted(p.name for p in out.iterdir())
    assert len(held) <= MAX_FILES, held
    assert set(REQUIRED) | {"utilisation.md", "gpu-study.log"} <= set(held), held
    # one row of the utilisation table per model, by its display label
    from airshower.figures.labels import model_labels

    cfg = yaml.safe_load(config.read_text())
    table = (out / "utilisation.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| model ")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == list(model_labels(cfg["models"]).values())
    assert all("%" in row for row in rows), rows  # a utilisation for each: FLOPs counted, speed recorded
    log = (out / "gpu-study.log").read_text()
    for phase in ("check", "workflow", "report", "total"):
        assert f"   {phase}" in log, log[-3000:]
    assert "gpu-study: warning" not in log
