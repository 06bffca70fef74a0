"""Where a network's events come from: a tensor file, or a :class:`~airshower.batch.Batch` in memory.

A source hands out CPU batches of events [start, stop) (:meth:`TensorSource.read`); training
(:mod:`airshower.training.data`) and prediction (:func:`airshower.evaluation.predict.predict_source`)
both read through one. :func:`take` selects events of a batch, :func:`as_model_input` turns
the float16 traces of a tensor file into the float32 a network takes.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol

import torch

from airshower.batch import Batch
from airshower.io.tensors import read_tensors, tensor_info


class TensorSource(Protocol):
    """Where the events come from: the tensor file, or a Batch in memory (tests, benchmarks)."""

    n_events: int
    grid_size: int
    trace_bins: int

    def read(self, start: int, stop: int) -> Batch:
        """Events [start, stop) on the CPU."""
        ...

    def describe(self) -> str: ...


class H5Source:
    """The tensor file of :mod:`airshower.io.tensors`, read with its reader (schema version checked).

    Traces are read in the file's storage type (float16 by default: half the memory on the
    device) and turned into float32 per batch by :func:`as_model_input`. ``info``: the file's
    :func:`~airshower.io.tensors.tensor_info` (``bin_ns``: trace bin width [ns]).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        info: dict[str, Any] = tensor_info(self.path)
        self.info = info
        self.n_events = int(info["N"])
        self.grid_size = int(info["G"])
        self.trace_bins = int(info["T"])
        self.trace_dtype = str(info["attrs"].get("trace_dtype", "float32"))

    def read(self, start: int, stop: int) -> Batch:
        return read_tensors(self.path, start=start, stop=stop, trace_dtype=self.trace_dtype)

    def describe(self) -> str:
        return str(self.path)


class MemorySource:
    """Events held in a CPU :class:`Batch` (for tests, benchmarks and the export check)."""

    def __init__(self, batch: Batch, name: str = "memory") -> None:
        self.batch = batch
        self.n_events = len(batch)
        self.grid_size = int(batch.traces.shape[1])
        self.trace_bins = int(batch.traces.shape[3])
        self.name = name

    def read(self, start: int, stop: int) -> Batch:
        return take(self.batch, torch.arange(start, min(stop, self.n_events)))

    def describe(self) -> str:
        return f"<{self.name}: {self.n_events} events in memory>"


def take(batch: Batch, index: torch.Tensor) -> Batch:
    """The events ``index`` of ``batch`` (index_select on the batch's device)."""
    index = index.to(batch.traces.device)
    parts = {f.name: getattr(batch, f.name).index_select(0, index) for f in fields(batch) if f.name != "targets"}
    return Batch(**parts, targets={k: v.index_select(0, index) for k, v in batch.targets.items()})


def as_model_input(batch: Batch) -> Batch:
    """The batch with floating-point inputs in float32 (traces are stored in float16)."""
    if batch.traces.dtype == torch.float32:
        return batch
    return Batch(
        traces=batch.traces.float(),
        start_time=batch.start_time,
        state=batch.state,
        position=batch.position,
        targets=batch.targets,
    )
