"""Fixtures of the training tests: CPU only, one thread (bit-reproducible), tiny in-memory data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trainkit import make_batch  # noqa: E402

from airshower.batch import Batch  # noqa: E402


@pytest.fixture(autouse=True)
def _cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRSHOWER_DEVICE", "cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def events() -> Batch:
    """48 synthetic events (G=5, T=16) with all targets."""
    return make_batch(48)
