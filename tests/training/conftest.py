"""Fixtures of the training tests: CPU only, one thread (bit-reproducible), tiny in-memory data."""

from __future__ import annotations

from tests.kit.fixtures import _cpu_only, events  # noqa: F401 - fixtures of this folder
