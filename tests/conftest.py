"""Shared fixtures: keep every test on the CPU and deterministic, and locate the repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# the helpers of tests/kit are imported as tests.kit.<module>
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# CI and developer machines have no GPU; a lent GPU must not change what tests see.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
