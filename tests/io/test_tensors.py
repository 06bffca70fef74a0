"""The tensor file: writer (atomic, chunked, sparse trace rows) and the readers (dense, sliced, versioned)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from airshower.batch import Batch
from airshower.errors import InputFileError
from airshower.io.tensors import (
    META,
    SCHEMA_VERSION,
    TARGETS,
    TensorChunk,
    TensorWriter,
    open_tensor_file,
    read_arrays,
    read_tensors,
    tensor_info,
)

G, T = 5, 6


def _dense_chunk(n: int, seed: int, first_id: int = 0) -> tuple[TensorChunk, np.ndarray]:
    """A random chunk and the dense traces (n, G, G, T) it encodes."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n, G * G, T), dtype=np.float32)
    values, cells, counts = [], [], []
    for e in range(n):
        chosen = rng.choice(G * G, size=int(rng.integers(0, 6)), replace=False)
        rows = rng.normal(size=(chosen.size, T)).astype(np.float16).astype(np.float32)
        dense[e, chosen] = rows
        values.append(rows)
        cells.append(chosen)
        counts.append(chosen.size)
    chunk = TensorChunk(
        trace_values=np.concatenate(values).astype(np.float16),
        trace_cell=np.concatenate(cells).astype(np.int16),
        trace_count=np.array(counts),
        start_time=rng.normal(size=(n, G, G)).astype(np.float32),
        state=rng.integers(0, 5, size=(n, G, G)).astype(np.int8),
        position=rng.normal(size=(n, G, G, 3)).astype(np.float32),
        targets={k: rng.normal(size=(n, *s)).astype(d) for k, (s, d) in TARGETS.items()},
        meta={k: rng.integers(0, 100, size=(n, *s)).astype(d) for k, (s, d) in META.items()},
    )
    chunk.meta["event_id"] = first_id + np.arange(n)
    return chunk, dense.reshape(n, G, G, T)


def _write(path: Path, chunks: list[TensorChunk], **kw) -> Path:
    with TensorWriter(path, G, T, 25.0, sources=[{"path": "a.root", "size": 1, "sha256": "00"}],
                      config={"convert": {"grid_size": G}}, **kw) as writer:
        for c in chunks:
            writer.append(c)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[TensorChunk], np.ndarray]:
    a, da = _dense_chunk(7, seed=1)
    b, db = _dense_chunk(9, seed=2, first_id=7)
    path = _write(tmp_path_factory.mktemp("t") / "x.h5", [a, b])
    return path, [a, b], np.concatenate([da, db])


def test_roundtrip_whole_file(written) -> None:
    path, (a, b), dense = written
    arrays = read_arrays(path)
    np.testing.assert_array_equal(arrays["inputs/traces"], dense)
    assert arrays["inputs/traces"].dtype == np.float32
    np.testing.assert_array_equal(arrays["inputs/state"], np.concatenate([a.state, b.state]))
    np.testing.assert_array_equal(arrays["inputs/position"], np.concatenate([a.position, b.position]))
    np.testing.assert_array_equal(arrays["inputs/start_time"], np.concatenate([a.start_time, b.start_time]))
    for k in TARGETS:
        np.testing.assert_array_equal(arrays[f"targets/{k}"], np.concatenate([a.targets[k], b.targets[k]]))
    np.testing.assert_array_equal(arrays["meta/event_id"], np.arange(16))


def test_batch_types_and_slices(written) -> None:
    path, _, dense = written
    whole = read_tensors(path)
    assert isinstance(whole, Batch) and len(whole) == 16
    assert whole.traces.dtype == torch.float32 and whole.traces.shape == (16, G, G, T)
    assert whole.state.dtype == torch.int8 and whole.position.shape == (16, G, G, 3)
    assert set(whole.targets) == {"xmax", "lg_energy", "axis", "core", "ln_a", "mass"}
    assert whole.targets["axis"].shape == (16, 3) and whole.targets["core"].shape == (16, 2)
    assert all(v.dtype == torch.float32 for v in whole.targets.values())
    for start, stop in [(0, 7), (5, 12), (7, 16), (3, None), (None, 4), (-3, None), (10, 10), (12, 99)]:
        part = read_tensors(path, start, stop)
        sl = slice(start, stop)
        np.testing.assert_array_equal(part.traces.numpy(), dense[sl])
        np.testing.assert_array_equal(part.state.numpy(), whole.state.numpy()[sl])
        np.testing.assert_array_equal(part.targets["xmax"].numpy(), whole.targets["xmax"].numpy()[sl])
    half = read_tensors(path, 2, 5, trace_dtype="float16")
    assert half.traces.dtype == torch.float16
    np.testing.assert_array_equal(half.traces.float().numpy(), dense[2:5])


def test_reads_only_the_events_asked_for(written, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _, _ = written
    info = tensor_info(path)
    with h5py.File(path, "r") as f:
        offsets = f["inputs/traces/offsets"][()]
    asked: list[tuple[str, object]] = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):  # noqa: ANN001
        asked.append((self.name, key))
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    read_arrays(path, 8, 11)
    for name, key in asked:
        assert isinstance(key, slice), (name, key)
        if name == "/inputs/traces/offsets":
            assert (key.start, key.stop) == (8, 12)
        elif name in ("/inputs/traces/values", "/inputs/traces/cell"):
            assert (key.start, key.stop) == (offsets[8], offsets[11])
        else:
            assert (key.start, key.stop) == (8, 11), name
    assert info["N"] == 16


def test_tensor_info_is_cheap_and_complete(written) -> None:
    path, chunks, _ = written
    info = tensor_info(path)
    assert (info["N"], info["G"], info["T"], info["bin_ns"]) == (16, G, T, 25.0)
    assert info["rows"] == sum(int(c.trace_count.sum()) for c in chunks)
    attrs = info["attrs"]
    assert attrs["schema_version"] == SCHEMA_VERSION and attrs["trace_dtype"] == "float16"
    assert attrs["sources"] == [{"path": "a.root", "size": 1, "sha256": "00"}]
    assert attrs["config"] == {"convert": {"grid_size": G}}


def test_other_schema_version_is_refused(written, tmp_path: Path) -> None:
    path, _, _ = written
    other = tmp_path / "v2.h5"
    other.write_bytes(path.read_bytes())
    with h5py.File(other, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    for reader in (tensor_info, read_arrays, read_tensors):
        message = rf"v2\.h5: tensor schema version {SCHEMA_VERSION + 1}, this reader knows"
        with pytest.raises(InputFileError, match=message):
            reader(other)


def test_not_hdf5_missing_file_or_dataset(tmp_path: Path, written) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(InputFileError, match=r"junk\.h5: not a readable HDF5 file"):
        tensor_info(junk)
    with pytest.raises(InputFileError, match=r"nothere\.h5: tensor file not found"):
        read_tensors(tmp_path / "nothere.h5")
    path, _, _ = written
    partial = tmp_path / "partial.h5"
    partial.write_bytes(path.read_bytes())
    with h5py.File(partial, "a") as f:
        del f["inputs/position"]
    with pytest.raises(InputFileError, match=r"partial\.h5: not a complete tensor file, missing \['inputs/position'\]"):
        read_arrays(partial)


def test_writer_is_atomic(tmp_path: Path) -> None:
    a, _ = _dense_chunk(3, seed=3)
    out = tmp_path / "sub" / "atomic.h5"
    with pytest.raises(RuntimeError, match="boom"):
        with TensorWriter(out, G, T, 25.0) as writer:
            writer.append(a)
            assert writer.tmp.exists() and not out.exists()
            raise RuntimeError("boom")
    assert list(out.parent.iterdir()) == []


def test_writer_checks_shapes_and_float16_range(tmp_path: Path) -> None:
    a, _ = _dense_chunk(3, seed=4)
    a.state = a.state[:, :, :2]
    with pytest.raises(ValueError, match=r"'state' of shape \(3, 5, 2\), expected \(3, 5, 5\)"):
        _write(tmp_path / "shape.h5", [a])
    b, _ = _dense_chunk(3, seed=5)
    b.trace_values = b.trace_values.astype(np.float32)
    b.trace_values[0, 0] = 1e6
    with pytest.raises(ValueError, match="beyond the range of float16"):
        _write(tmp_path / "range.h5", [b])
    assert not (tmp_path / "range.h5").exists()
    _write(tmp_path / "f32.h5", [b], trace_dtype="float32")
    assert read_arrays(tmp_path / "f32.h5")["inputs/traces"].max() == pytest.approx(1e6)


@pytest.mark.parametrize("compression", ["gzip", "lzf", "none"])
def test_compression_choices_roundtrip(tmp_path: Path, compression: str) -> None:
    a, dense = _dense_chunk(4, seed=6)
    path = _write(tmp_path / f"{compression}.h5", [a], compression=compression, trace_compression=compression)
    np.testing.assert_array_equal(read_arrays(path)["inputs/traces"], dense)
    assert json.loads(tensor_info(path)["attrs"]["compression"])["traces"] == compression
    with open_tensor_file(path) as f:
        assert f["inputs/traces/values"].chunks[0] >= 64
        assert f["inputs/state"].maxshape[0] is None


def test_default_filters_and_many_appends(tmp_path: Path) -> None:
    parts = [_dense_chunk(int(n), seed=20 + i, first_id=0) for i, n in enumerate([3, 2, 7, 1, 5] * 8)]
    path = _write(tmp_path / "many.h5", [c for c, _ in parts])
    dense = np.concatenate([d for _, d in parts])
    out = read_arrays(path)
    np.testing.assert_array_equal(out["inputs/traces"], dense)
    for name in ("inputs/start_time", "inputs/state", "inputs/position"):
        np.testing.assert_array_equal(out[name], np.concatenate([c.__dict__[name.split("/")[1]] for c, _ in parts]))
    np.testing.assert_array_equal(out["targets/axis"], np.concatenate([c.targets["axis"] for c, _ in parts]))
    assert json.loads(tensor_info(path)["attrs"]["compression"]) == {"traces": "none", "other": "gzip"}
    with open_tensor_file(path) as f:
        assert f["inputs/traces/values"].compression is None  # trace rows: stored as they are
        for name in ("inputs/position", "inputs/state", "targets/axis", "meta/event_id"):
            assert (f[name].compression, f[name].compression_opts, f[name].shuffle) == ("gzip", 1, False), name
