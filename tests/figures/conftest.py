"""Fixtures of the figure tests: one synthetic study on disk per session."""

from __future__ import annotations

import pytest

from tests.kit.study import DATASETS, FIGURES, MODELS, make_study


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory):
    """(results folder, tensor file) of a synthetic study, written once per session."""
    base = tmp_path_factory.mktemp("project")
    results = base / "results" / "synthetic"
    tensors = make_study(results)
    return results, tensors


@pytest.fixture(scope="session")
def drawn(study_dir, tmp_path_factory):
    """(output folder, written paths) of every figure (PNG) and table of the synthetic study."""
    from airshower.figures.paper import run_figures

    results, tensors = study_dir
    out = tmp_path_factory.mktemp("figures")
    written = run_figures(results, list(MODELS), DATASETS, FIGURES | {"formats": ["png"]}, tensors, out)
    return out, written
