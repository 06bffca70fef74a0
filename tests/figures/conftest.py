"""Fixtures of the figure tests: one synthetic study on disk per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from studykit import make_study  # noqa: E402


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory):
    """(results folder, tensor file) of a synthetic study, written once per session."""
    base = tmp_path_factory.mktemp("project")
    results = base / "results" / "synthetic"
    tensors = make_study(results)
    return results, tensors
