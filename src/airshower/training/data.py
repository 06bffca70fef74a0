"""Training data: kept on the device with shuffled batches drawn there, or streamed from HDF5.

The whole tensor file is copied to the training device when it fits (at most
``training.device_data_limit_gb`` and, on a GPU, at most half its free memory): each batch is
then an index-select on the device, drawn from a shuffled permutation made on the device,
so the GPU never waits for a loader. Otherwise the file is streamed: contiguous chunks of
``training.stream_chunk_events`` events are read in shuffled order by a background thread,
shuffled within the chunk and carried over to the next so every batch is full.

Batches are global: ``batch_size`` events per optimiser step over all processes; process
``rank`` of ``world_size`` takes its slice of ``batch_size // world_size`` events, so every
process makes the same number of steps (which DistributedDataParallel needs).

The events come from a :class:`~airshower.inference.tensor_sources.TensorSource` (the tensor file
or a batch in memory), shared with prediction.

Selection (``training.selection``): :func:`selection_mask` says which events of the source
may be trained and validated on (``t5: true``, the default: the 6T5 events, the tensor
file's ``meta/t5``) and :func:`split_indices` draws the split among them only.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from airshower.batch import Batch
from airshower.errors import ConfigError
from airshower.inference.tensor_sources import TensorSource, as_model_input, take
from airshower.training.distributed import DistContext


def batch_nbytes(batch: Batch) -> int:
    """Bytes held by the tensors of a batch."""
    tensors = [getattr(batch, f.name) for f in fields(batch) if f.name != "targets"]
    tensors += list(batch.targets.values())
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass(frozen=True)
class Split:
    """Event indices (sorted, int64, CPU) of the training and validation parts of the dataset."""

    train: torch.Tensor
    val: torch.Tensor


def selection_mask(source: TensorSource, selection: Mapping[str, Any] | None) -> torch.Tensor | None:
    """(n_events,) bool: the events of ``source`` that ``selection`` (``training.selection``) keeps; None: all.

    ``{"t5": True}`` keeps the events with the 6T5 flag (``meta/t5`` of a tensor file, or a
    ``t5`` attribute of an in-memory source). A source without the flag (events in memory
    made without it) keeps every event.
    """
    if not selection or not selection.get("t5", False):
        return None
    flag = getattr(source, "t5", None)
    path = getattr(source, "path", None)
    if flag is None and path is not None:
        from airshower.io.tensors import open_tensor_file

        with open_tensor_file(Path(path)) as f:
            flag = f["meta/t5"][()] if "meta/t5" in f else None
    if flag is None:
        return None
    mask = torch.as_tensor(np.asarray(flag, dtype=bool))
    if mask.shape != (source.n_events,):
        raise ConfigError(f"{source.describe()}: the t5 flag has {mask.shape} entries for {source.n_events} events")
    return mask


def split_indices(
    n_events: int, val_fraction: float, seed: int, keep: torch.Tensor | None = None, train_events: int | None = None
) -> Split:
    """A random split of ``n_events`` fixed by ``seed``: ``round(val_fraction * n)`` events (at least 1) validate.

    ``keep`` (bool, (n_events,)): split only these events (:func:`selection_mask`); the others
    are neither trained nor validated on. Without it the split is that of every event.
    ``train_events`` (``training.train_events``): train on the first this many events of the
    rest, in the seed's random order, so that a smaller number is a subset of a larger one
    and the validation events do not depend on it. None: train on the whole rest.
    """
    gen = torch.Generator().manual_seed(seed)
    if keep is None:
        candidates = torch.arange(n_events)
    else:
        candidates = torch.nonzero(torch.as_tensor(keep, dtype=torch.bool)).squeeze(1)
    n = int(candidates.numel())
    if n == 0:
        raise ConfigError(f"'training.selection' keeps none of the {n_events} events in the file; "
                          "set training.selection.t5: false or use a larger dataset")
    perm = candidates[torch.randperm(n, generator=gen)]
    n_val = max(1, int(round(val_fraction * n)))
    if n_val >= n:
        raise ConfigError(
            f"'training.val_fraction' = {val_fraction} leaves no training events out of the {n} "
            f"{'selected ' if keep is not None else ''}events in the file"
        )
    train = perm[n_val:]
    if train_events is not None:
        if train_events > len(train):
            raise ConfigError(
                f"'training.train_events' = {train_events} exceeds the {len(train)} training events of the file "
                f"({n} {'selected ' if keep is not None else ''}events less {n_val} for validation); "
                "lower it or simulate more events"
            )
        train = train[:train_events]
    return Split(train=train.sort().values, val=perm[:n_val].sort().values)


def check_batch_size(batch_size: int, n_train: int, ctx: DistContext) -> int:
    """The per-process batch size; a clear error when the batch is larger than the training split."""
    if batch_size > n_train:
        raise ConfigError(
            f"'training.batch_size' = {batch_size} is larger than the training split ({n_train} events); "
            "lower batch_size or val_fraction, or use a larger dataset"
        )
    if batch_size < ctx.world_size:
        raise ConfigError(
            f"'training.batch_size' = {batch_size} is smaller than the number of processes ({ctx.world_size})"
        )
    return batch_size // ctx.world_size


def _rank_slice(sel: torch.Tensor, ctx: DistContext, per_rank: int) -> torch.Tensor:
    """Process ``rank``'s part of the global training batch ``sel``: ``per_rank`` events in a row."""
    return sel[ctx.rank * per_rank : (ctx.rank + 1) * per_rank]


class DeviceData:
    """All events on the training device; batches are index-selects of a permutation drawn there."""

    mode = "device"

    def __init__(self, source: TensorSource, device: torch.device, chunk_events: int = 4096) -> None:
        self.source = source
        self.device = device
        self.n_events = source.n_events
        self.data = _load(source, device, chunk_events)

    def generator(self, seed: int) -> torch.Generator:
        """The shuffling generator (on the device of the data)."""
        return torch.Generator(device=self.device).manual_seed(seed)

    def batches(
        self,
        indices: torch.Tensor,
        batch_size: int,
        ctx: DistContext,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        """Training batches: a shuffled pass over ``indices``, ``len // batch_size`` full global batches.

        Without a generator: the events in order, the last batch possibly smaller, and
        process ``rank`` takes every ``world_size``-th event (validation).
        """
        idx = indices.to(self.device)
        if generator is None:
            mine = idx[ctx.rank :: ctx.world_size]
            for s in range(0, len(mine), batch_size):
                yield as_model_input(take(self.data, mine[s : s + batch_size]))
            return
        per_rank = batch_size // ctx.world_size
        order = idx[torch.randperm(len(idx), generator=generator, device=self.device)]
        for s in range(len(idx) // batch_size):
            sel = _rank_slice(order[s * batch_size : (s + 1) * batch_size], ctx, per_rank)
            yield as_model_input(take(self.data, sel))

    def targets(self, indices: torch.Tensor) -> Iterator[dict[str, torch.Tensor]]:
        """The targets of ``indices`` (for the normalisation fit)."""
        idx = indices.to(self.device)
        yield {k: v.index_select(0, idx) for k, v in self.data.targets.items()}


class _Prefetcher:
    """Runs an iterator in a background thread, ``depth`` items ahead."""

    _END = object()

    def __init__(self, iterator: Iterator[object], depth: int = 2) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator[object]) -> None:
        try:
            for item in iterator:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._queue.put(exc)

    def __iter__(self) -> Iterator[object]:
        try:
            while True:
                item = self._queue.get()
                if item is self._END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader thread and wait for it (it finishes the chunk it is reading)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)


class StreamData:
    """Events streamed from the source in chunks, read ahead by a background thread."""

    mode = "stream"

    def __init__(self, source: TensorSource, device: torch.device, chunk_events: int) -> None:
        self.source = source
        self.device = device
        self.chunk_events = chunk_events
        self.n_events = source.n_events
        self._pin = device.type == "cuda"

    def generator(self, seed: int) -> torch.Generator:
        """The shuffling generator (on the CPU, where the chunks arrive)."""
        return torch.Generator().manual_seed(seed)

    def _mask(self, indices: torch.Tensor) -> torch.Tensor:
        """(n_events,) bool: True at ``indices``."""
        mask = torch.zeros(self.n_events, dtype=torch.bool)
        mask[indices] = True
        return mask

    def _chunks(self, mask: torch.Tensor, order: list[int], generator: torch.Generator | None) -> Iterator[Batch]:
        c = self.chunk_events
        for i in order:
            start, stop = i * c, min((i + 1) * c, self.n_events)
            local = torch.nonzero(mask[start:stop]).squeeze(1)
            if len(local) == 0:
                continue
            if generator is not None:
                local = local[torch.randperm(len(local), generator=generator)]
            part = take(self.source.read(start, stop), local)
            yield part

    def _with_carry(self, chunks: Iterator[Batch], batch_size: int, drop_last: bool) -> Iterator[Batch]:
        """Global batches of ``batch_size`` events, the remainder of a chunk carried to the next."""
        carry: list[Batch] = []
        held = 0
        for part in chunks:
            carry.append(part)
            held += len(part)
            if held < batch_size:
                continue
            joined = _concat(carry)
            n_full = len(joined) // batch_size
            for s in range(n_full):
                yield take(joined, torch.arange(s * batch_size, (s + 1) * batch_size))
            rest = torch.arange(n_full * batch_size, len(joined))
            carry, held = ([take(joined, rest)], len(rest)) if len(rest) else ([], 0)
        if held and not drop_last:
            yield _concat(carry)

    def _rank_batches(self, stream: Iterator[Batch], per_rank: int, ctx: DistContext, training: bool) -> Iterator[Batch]:
        """This process's slice of each global batch, in pinned memory on a GPU host."""
        for big in stream:
            if training:
                sel = _rank_slice(torch.arange(len(big)), ctx, per_rank)
            else:
                sel = torch.arange(ctx.rank, len(big), ctx.world_size)
            mine = take(big, sel)
            yield _pin(mine) if self._pin else mine

    def batches(
        self,
        indices: torch.Tensor,
        batch_size: int,
        ctx: DistContext,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        """As :meth:`DeviceData.batches`; chunks in shuffled order, shuffled within, when a generator is given."""
        mask = self._mask(indices)
        n_chunks = math.ceil(self.n_events / self.chunk_events)
        if generator is not None:
            order = torch.randperm(n_chunks, generator=generator).tolist()
        else:
            order = list(range(n_chunks))
        training = generator is not None
        stream = self._with_carry(self._chunks(mask, order, generator), batch_size, drop_last=training)
        mine = self._rank_batches(stream, batch_size // ctx.world_size, ctx, training)
        for batch in _Prefetcher(mine):
            assert isinstance(batch, Batch)
            yield as_model_input(batch.to(self.device, non_blocking=self._pin))

    def targets(self, indices: torch.Tensor) -> Iterator[dict[str, torch.Tensor]]:
        """The targets of ``indices``, chunk by chunk (one pass over the file)."""
        order = list(range(math.ceil(self.n_events / self.chunk_events)))
        for part in self._chunks(self._mask(indices), order, None):
            yield part.targets


def _load(source: TensorSource, device: torch.device, chunk_events: int) -> Batch:
    """All events of ``source`` on ``device``, read in chunks into tensors allocated there once
    (host memory holds one chunk at a time)."""
    n = source.n_events
    first = source.read(0, min(n, chunk_events))
    names = [f.name for f in fields(Batch) if f.name != "targets"]

    def alloc(t: torch.Tensor) -> torch.Tensor:
        return torch.empty((n, *t.shape[1:]), dtype=t.dtype, device=device)

    out = Batch(**{k: alloc(getattr(first, k)) for k in names}, targets={k: alloc(v) for k, v in first.targets.items()})
    start, part = 0, first
    while True:
        stop = start + len(part)
        for k in names:
            getattr(out, k)[start:stop].copy_(getattr(part, k))
        for k, v in part.targets.items():
            out.targets[k][start:stop].copy_(v)
        if stop >= n:
            return out
        start, part = stop, source.read(stop, min(n, stop + chunk_events))


def _concat(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    names = [f.name for f in fields(Batch) if f.name != "targets"]
    joined = {n: torch.cat([getattr(p, n) for p in parts]) for n in names}
    targets = {k: torch.cat([p.targets[k] for p in parts]) for k in parts[0].targets}
    return Batch(**joined, targets=targets)


def _pin(batch: Batch) -> Batch:
    names = [f.name for f in fields(Batch) if f.name != "targets"]
    return Batch(
        **{n: getattr(batch, n).pin_memory() for n in names},
        targets={k: v.pin_memory() for k, v in batch.targets.items()},
    )


def estimate_device_bytes(source: TensorSource) -> int:
    """Bytes the whole source takes on the device (from the size of its first event)."""
    return batch_nbytes(source.read(0, 1)) * source.n_events


def choose_data(
    source: TensorSource,
    device: torch.device,
    limit_gb: float,
    chunk_events: int,
    free_bytes: int | None = None,
) -> DeviceData | StreamData:
    """Device-resident data when it fits the limit (and half the free GPU memory), else streaming."""
    need = estimate_device_bytes(source)
    fits = need <= limit_gb * 1e9
    if free_bytes is not None:
        fits = fits and need <= 0.5 * free_bytes
    if fits:
        return DeviceData(source, device, chunk_events)
    return StreamData(source, device, chunk_events)
