"""Fixtures shared by the test folders that run networks: import them into a folder's ``conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from airshower.batch import Batch
from tests.kit.training import make_batch


@pytest.fixture(autouse=True)
def _cpu_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CPU and one thread for every test (bit-reproducible runs)."""
    monkeypatch.setenv("AIRSHOWER_DEVICE", "cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def events() -> Batch:
    """48 synthetic events (G=5, T=16) with all targets."""
    return make_batch(48)
