"""Conda environments (environment.yml, workflow/envs/*.yaml) agree with pyproject.toml.

Conda cannot run on the development machines, so the environment files are kept correct by
construction: every pinned package has the same version floor as pyproject.toml, and every
rule's environment exists and provides the package itself.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

# conda-forge names that differ from the PyPI names in pyproject.toml
CONDA_TO_PYPI = {"pytorch": "torch"}
SPEC = re.compile(r"^([A-Za-z0-9_.-]+)\s*(>=\s*[0-9][0-9.]*)?\s*$")


def _pyproject_floors(repo: Path) -> dict[str, str]:
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        specs += extra
    floors = {}
    for spec in specs:
        name, _, floor = spec.partition(">=")
        floors[name.strip().lower()] = floor.strip()
    return floors


def _env_files(repo: Path) -> list[Path]:
    return [repo / "environment.yml", *sorted((repo / "workflow/envs").glob("*.yaml"))]


def _conda_deps(path: Path) -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load(path.read_text())
    deps, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
            continue
        match = SPEC.match(dep)
        assert match, f"{path.name}: cannot parse dependency {dep!r}"
        deps[match.group(1).lower()] = (match.group(2) or "").replace(">=", "").strip()
    return deps, pip


@pytest.mark.parametrize("name", ["environment.yml", "simulate.yaml", "convert.yaml", "train.yaml", "evaluate.yaml"])
def test_environment_exists(repo: Path, name: str) -> None:
    path = repo / name if name == "environment.yml" else repo / "workflow/envs" / name
    assert path.exists(), f"{path} is missing"


def test_version_floors_agree_with_pyproject(repo: Path) -> None:
    floors = _pyproject_floors(repo)
    for path in _env_files(repo):
        deps, _ = _conda_deps(path)
        for conda_name, floor in deps.items():
            if conda_name in ("python", "pip"):
                continue
            pypi = CONDA_TO_PYPI.get(conda_name, conda_name)
            assert pypi in floors, f"{path.name}: {conda_name} is not a dependency in pyproject.toml"
            assert floor == floors[pypi], (
                f"{path.name}: {conda_name}>={floor} but pyproject.toml says {pypi}>={floors[pypi]}"
            )


def test_every_environment_installs_the_package_itself(repo: Path) -> None:
    for path in _env_files(repo):
        _, pip = _conda_deps(path)
        editable = [p for p in pip if p.startswith("-e ")]
        assert editable, f"{path.name}: the airshower package is not installed (pip: -e <repo>)"
        target = (path.parent / editable[0][3:].strip()).resolve()
        assert (target / "pyproject.toml").exists(), f"{path.name}: '-e' does not point at the repository"


def test_environment_yml_covers_every_runtime_dependency(repo: Path) -> None:
    deps, _ = _conda_deps(repo / "environment.yml")
    names = {CONDA_TO_PYPI.get(n, n) for n in deps}
    missing = set(_pyproject_floors(repo)) - names
    assert not missing, f"environment.yml lacks {sorted(missing)}"
