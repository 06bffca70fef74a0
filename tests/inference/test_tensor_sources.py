"""Event sources of a network: a tensor file or a batch in memory, read in slices; float32 model inputs."""

from __future__ import annotations

from pathlib import Path

import torch

from airshower.batch import Batch
from airshower.inference.tensor_sources import H5Source, MemorySource, as_model_input, take

from tests.kit.training import write_tensor_file


def test_memory_source_reads_slices_with_their_targets(events: Batch) -> None:
    source = MemorySource(events, name="tiny")
    assert (source.n_events, source.grid_size, source.trace_bins) == (48, 5, 16)
    part = source.read(40, 100)  # stop beyond the end: the events there are
    assert len(part) == 8 and torch.equal(part.traces, events.traces[40:])
    assert torch.equal(part.targets["xmax"], events.targets["xmax"][40:])
    assert source.describe() == "<tiny: 48 events in memory>"


def test_take_selects_events_and_targets(events: Batch) -> None:
    index = torch.tensor([5, 0, 7])
    part = take(events, index)
    assert torch.equal(part.state, events.state[index])
    assert torch.equal(part.targets["axis"], events.targets["axis"][index])


def test_model_input_is_float32(events: Batch) -> None:
    assert events.traces.dtype == torch.float16
    converted = as_model_input(events)
    assert converted.traces.dtype == torch.float32 and torch.equal(converted.traces, events.traces.float())
    assert as_model_input(converted) is converted


def test_tensor_file_source_keeps_the_stored_trace_type(events: Batch, tmp_path: Path) -> None:
    path = write_tensor_file(tmp_path / "t.h5", events)
    source = H5Source(path)
    assert (source.n_events, source.grid_size, source.trace_bins) == (48, 5, 16)
    assert source.trace_dtype == "float16" and source.info["bin_ns"] == 25.0
    part = source.read(3, 9)
    assert part.traces.dtype == torch.float16 and len(part) == 6
    assert torch.equal(part.traces, events.traces[3:9])
    assert source.describe() == str(path)
