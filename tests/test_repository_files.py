"""The files a repository host and the workflow catalog read: LICENSE, CITATION.cff, the catalog's usage file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def pyproject() -> dict[str, Any]:
    """The ``[project]`` table of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def project_license() -> str:
    """The licence of pyproject.toml: ``license = "MIT"`` or ``license = { text = "MIT" }``."""
    value = pyproject()["license"]
    return value["text"] if isinstance(value, dict) else value


def test_license_is_the_one_pyproject_names() -> None:
    text = (REPO / "LICENSE").read_text()
    assert project_license() == "MIT"
    assert text.startswith("MIT License") and "Copyright (c) 2026 The airshower authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_citation_matches_pyproject() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] == "airshower"
    assert str(cff["version"]) == pyproject()["version"], "CITATION.cff version differs from pyproject.toml"
    assert cff["license"] == project_license(), "CITATION.cff license differs from pyproject.toml"
    assert cff["authors"] == [{"name": "The airshower authors"}]
    assert isinstance(cff["abstract"], str) and "\n" not in cff["abstract"].strip()
    assert "Pierre Auger" in cff["abstract"] and "transformers" in cff["abstract"]


def test_workflow_catalog_usage() -> None:
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    flags = usage["mandatory-flags"]
    assert isinstance(flags["desc"], str) and flags["desc"].strip()
    assert "--cores" in flags["flags"]
    assert usage["software-stack-deployment"]["conda"] is True
    assert usage["report"] is True


def test_scikit_learn_is_an_extra_only_the_scripts_use() -> None:
    """scikit-learn (with scipy) is not a dependency of the pipeline: only scripts/ import it."""
    deps = " ".join(pyproject()["dependencies"]).lower()
    assert "scikit-learn" not in deps and "sklearn" not in deps
    assert any("scikit-learn" in d for d in pyproject()["optional-dependencies"]["scripts"])
    importing = [p for p in (REPO / "src").rglob("*.py") if "sklearn" in p.read_text()]
    assert importing == []
    assert "sklearn" in (REPO / "scripts" / "xmax_information.py").read_text()
