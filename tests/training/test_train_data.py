"""Training data: the validation split, device-resident and streamed batches, per-process slices."""

from __future__ import annotations

import pytest
import torch

from airshower.batch import Batch
from airshower.errors import ConfigError
from airshower.inference.tensor_sources import MemorySource
from airshower.training.data import (
    DeviceData,
    StreamData,
    check_batch_size,
    choose_data,
    split_indices,
)
from airshower.training.distributed import DistContext

CPU = torch.device("cpu")


def ctx(rank: int = 0, world: int = 1) -> DistContext:
    return DistContext(rank=rank, world_size=world, local_rank=rank, device=CPU)


@pytest.fixture()
def numbered(events: Batch) -> MemorySource:
    """The events with target 'mass' = event index, to see which events a batch holds."""
    b = Batch(events.traces, events.start_time, events.state, events.position, dict(events.targets))
    b.targets["mass"] = torch.arange(len(b), dtype=torch.float32)
    return MemorySource(b)


def ids(batch: Batch) -> list[int]:
    return batch.targets["mass"].long().tolist()


def test_split_is_fixed_by_the_seed_and_disjoint() -> None:
    a, b = split_indices(100, 0.2, seed=5), split_indices(100, 0.2, seed=5)
    assert torch.equal(a.train, b.train) and torch.equal(a.val, b.val)
    assert len(a.val) == 20 and len(a.train) == 80
    assert sorted(a.train.tolist() + a.val.tolist()) == list(range(100))
    assert not torch.equal(split_indices(100, 0.2, seed=6).val, a.val)


def test_train_events_take_nested_subsets_and_keep_the_validation_events() -> None:
    whole = split_indices(100, 0.2, seed=5)
    small, large = (split_indices(100, 0.2, seed=5, train_events=n) for n in (10, 40))
    assert len(small.train) == 10 and len(large.train) == 40
    assert set(small.train.tolist()) < set(large.train.tolist()) < set(whole.train.tolist())
    assert torch.equal(small.val, whole.val) and torch.equal(large.val, whole.val)
    assert torch.equal(split_indices(100, 0.2, seed=5, train_events=80).train, whole.train)


def test_more_train_events_than_the_split_holds_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"'training.train_events' = 81 exceeds the 80 training events"):
        split_indices(100, 0.2, seed=5, train_events=81)


def test_split_needs_training_events() -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        split_indices(1, 0.5, seed=0)


def test_batch_larger_than_the_training_split_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'training.batch_size' = 50 is larger than the training split \(36 events\)"):
        check_batch_size(50, 36, ctx())
    assert check_batch_size(8, 36, ctx(0, 2)) == 4


@pytest.mark.parametrize("kind", ["device", "stream"])
def test_training_batches_are_full_shuffled_and_without_repeats(numbered: MemorySource, kind: str) -> None:
    data = DeviceData(numbered, CPU) if kind == "device" else StreamData(numbered, CPU, chunk_events=7)
    split = split_indices(numbered.n_events, 0.25, seed=1)
    gen = data.generator(0)
    epochs = [[ids(b) for b in data.batches(split.train, 8, ctx(), gen)] for _ in range(2)]
    for batches in epochs:
        assert len(batches) == len(split.train) // 8
        assert all(len(b) == 8 for b in batches)
        seen = [i for b in batches for i in b]
        assert len(set(seen)) == len(seen)
        assert set(seen) <= set(split.train.tolist())
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    again = data.generator(0)
    assert [ids(b) for b in data.batches(split.train, 8, ctx(), again)] == epochs[0]


@pytest.mark.parametrize("kind", ["device", "stream"])
def test_validation_covers_every_event_once(numbered: MemorySource, kind: str) -> None:
    data = DeviceData(numbered, CPU) if kind == "device" else StreamData(numbered, CPU, chunk_events=5)
    split = split_indices(numbered.n_events, 0.25, seed=1)
    seen = [i for b in data.batches(split.val, 5, ctx()) for i in b.targets["mass"].long().tolist()]
    assert sorted(seen) == split.val.tolist()
    per_rank = [[i for b in data.batches(split.val, 5, ctx(r, 2)) for i in ids(b)] for r in range(2)]
    assert sorted(per_rank[0] + per_rank[1]) == split.val.tolist()


@pytest.mark.parametrize("kind", ["device", "stream"])
def test_processes_share_each_global_batch(numbered: MemorySource, kind: str) -> None:
    def make():
        return DeviceData(numbered, CPU) if kind == "device" else StreamData(numbered, CPU, chunk_events=9)

    split = split_indices(numbered.n_events, 0.25, seed=1)
    whole = [ids(b) for b in make().batches(split.train, 8, ctx(), make().generator(3))]
    parts = [[ids(b) for b in make().batches(split.train, 8, ctx(r, 2), make().generator(3))] for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == len(whole)
    for step, batch in enumerate(whole):
        assert parts[0][step] + parts[1][step] == batch


def test_traces_arrive_as_float32(numbered: MemorySource) -> None:
    data = DeviceData(numbered, CPU)
    assert data.data.traces.dtype == torch.float16  # kept compact on the device
    batch = next(data.batches(torch.arange(10), 4, ctx(), data.generator(0)))
    assert batch.traces.dtype == torch.float32


def test_memory_limit_chooses_streaming(numbered: MemorySource) -> None:
    assert isinstance(choose_data(numbered, CPU, limit_gb=1.0, chunk_events=16), DeviceData)
    assert isinstance(choose_data(numbered, CPU, limit_gb=1e-6, chunk_events=16), StreamData)
    assert isinstance(choose_data(numbered, CPU, limit_gb=1.0, chunk_events=16, free_bytes=1000), StreamData)


def test_streamed_targets_equal_the_resident_ones(numbered: MemorySource) -> None:
    idx = split_indices(numbered.n_events, 0.25, seed=2).train
    resident = next(DeviceData(numbered, CPU).targets(idx))
    streamed = list(StreamData(numbered, CPU, chunk_events=10).targets(idx))
    for k in resident:
        assert torch.equal(torch.cat([s[k] for s in streamed]), resident[k])


def test_selection_keeps_the_6t5_events(tmp_path, events: Batch) -> None:
    """training.selection {t5: true}: the split is drawn among the events whose meta/t5 is set; the
    others are neither trained nor validated on; {t5: false} (or a source without flags) keeps all."""
    import h5py

    from airshower.inference.tensor_sources import H5Source
    from airshower.training.data import selection_mask
    from tests.kit.training import write_tensor_file

    path = write_tensor_file(tmp_path / "t.h5", events)
    n = len(events)
    t5 = torch.arange(n) % 3 != 0
    with h5py.File(path, "r+") as f:
        f["meta/t5"][...] = t5.numpy()
    source = H5Source(path)
    keep = selection_mask(source, {"t5": True})
    assert torch.equal(keep, t5)
    assert selection_mask(source, {"t5": False}) is None and selection_mask(source, None) is None
    assert selection_mask(MemorySource(events), {"t5": True}) is None
    split = split_indices(n, 0.25, seed=3, keep=keep)
    used = torch.cat([split.train, split.val])
    assert set(used.tolist()) == set(torch.nonzero(t5).squeeze(1).tolist())
    assert len(split.val) == max(1, round(0.25 * int(t5.sum())))
    # without a selection the split is the one of every event (unchanged)
    assert torch.equal(split_indices(n, 0.25, seed=3, keep=None).val, split_indices(n, 0.25, seed=3).val)
    with pytest.raises(ConfigError, match="selection"):
        split_indices(n, 0.25, seed=3, keep=torch.zeros(n, dtype=torch.bool))
