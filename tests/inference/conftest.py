"""Fixtures of the inference tests: CPU only, one thread, tiny in-memory data."""

from __future__ import annotations

from tests.kit.fixtures import _cpu_only, events  # noqa: F401 - fixtures of this folder
