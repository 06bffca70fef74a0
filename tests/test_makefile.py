"""The Makefile: an interpreter older than 3.11 stops in one line before the venv; CORES defaults to the CPUs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def fake_python(tmp_path: Path, version: str) -> Path:
    """An executable that answers every invocation with ``version`` (what the version query prints)."""
    path = tmp_path / f"python{version}"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def make(*args: str) -> subprocess.CompletedProcess[str]:
    """``make -C <repository> args`` with its output captured."""
    return subprocess.run([MAKE, "--no-print-directory", "-C", str(REPO), *args], capture_output=True, text=True,
                          timeout=60)


def test_old_python_stops_before_the_venv(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "3.10")
    venv = tmp_path / "venv"
    run = make("setup", f"PYTHON={python}", f"VENV={venv}")
    assert run.returncode != 0
    message = f"airshower needs Python >= 3.11; {python} is 3.10 (set PYTHON=python3.11 or newer)"
    assert run.stderr.splitlines()[0] == message
    assert "pip" not in run.stdout + run.stderr and "venv" not in run.stdout
    assert not venv.exists()


def test_missing_python_is_named(tmp_path: Path) -> None:
    run = make("setup", f"PYTHON={tmp_path / 'nopython'}", f"VENV={tmp_path / 'venv'}")
    assert run.returncode != 0
    assert f"{tmp_path / 'nopython'} is not a runnable Python" in run.stderr.splitlines()[0]


def test_new_python_passes_the_check(tmp_path: Path) -> None:
    for version in ("3.11", "3.13", "4.0"):
        run = make("check-python", f"PYTHON={fake_python(tmp_path, version)}", f"VENV={tmp_path / 'venv'}")
        assert run.returncode == 0, run.stderr


def test_cores_default_to_the_cpus(tmp_path: Path) -> None:
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() if shutil.which("nproc") else "2"
    dry = make("-n", "run", f"VENV={tmp_path / 'venv'}")
    assert f"snakemake --cores {cpus} " in dry.stdout
    assert "snakemake --cores 5 " in make("-n", "run", "CORES=5", f"VENV={tmp_path / 'venv'}").stdout
