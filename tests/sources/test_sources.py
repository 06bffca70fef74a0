"""The data-source registry: what a dataset reads, how the config names a source, bad entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from airshower import layout
from airshower.config import validate_config
from airshower.errors import ConfigError, InputFileError
from airshower.sources.base import EventSource, TraceFormat
from airshower.sources.registry import expand_paths, input_files, open_source, register, source_class, unregister
from airshower.sources.root_files import RootEventsSource, SimulatedSource
from synthetic_events import synthetic_chunk, without_truth, write_events

T = 16


def test_a_simulated_dataset_reads_its_shards_in_the_study_layout() -> None:
    files = input_files("s", "train", {"events": 10, "shards": 3, "seed": 1})
    assert files == [layout.shard_file("s", "train", k) for k in range(3)]
    assert [str(f) for f in files] == ["data/s/sim/train/0.root", "data/s/sim/train/1.root", "data/s/sim/train/2.root"]
    assert source_class("simulate") is SimulatedSource and source_class("files") is RootEventsSource


def test_globs_expand_in_order_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a/10.root", "a/2.root", "a/1.root", "b/x.root"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(b"")
    got = expand_paths(["b/x.root", "a/*.root", "a/1.root"], "datasets.d.paths")
    assert [str(p) for p in got] == ["b/x.root", "a/1.root", "a/2.root", "a/10.root"]
    with pytest.raises(ConfigError, match=r"datasets.d.paths: 'c/\*.root' matches no file"):
        expand_paths(["c/*.root"], "datasets.d.paths")
    with pytest.raises(ConfigError, match=r"datasets.d.summary = 'nope.csv': no such file"):
        input_files("s", "d", {"source": "auger_opendata", "paths": ["a/*.root"], "summary": "nope.csv"})


def test_root_files_with_and_without_truth_are_one_source_each(tmp_path: Path) -> None:
    sim = write_events(tmp_path / "sim.root", [synthetic_chunk(3, seed=1, trace_bins=T)], T)
    data = write_events(tmp_path / "data.root", [without_truth(synthetic_chunk(3, seed=2, trace_bins=T,
                                                                               first_id=10))], T)
    src = open_source({"source": "files", "paths": ["unused"]}, [sim])
    assert src.has_truth() and src.trace_format().trace_bins == T and src.trace_format().bin_ns == 25.0
    chunks = list(src.chunks(2, ("event_id", "event_t5")))
    assert sum(c.chunk.n_events for c in chunks) == 3
    assert all((c.file_index == 0).all() for c in chunks)
    assert not RootEventsSource([data]).has_truth()
    with pytest.raises(InputFileError, match=r"data.root: holds no Monte-Carlo truth, but .*sim.root does"):
        RootEventsSource([sim, data])
    with pytest.raises(InputFileError, match="no events files to read"):
        RootEventsSource([])


def _cfg(datasets: dict, **extra) -> dict:
    return {"datasets": datasets, "train_dataset": "train", "test_datasets": ["test"], **extra}


BASE = {"train": {"events": 10, "seed": 1}, "test": {"events": 10, "seed": 2}}


def test_the_config_names_sources_and_their_keys() -> None:
    cfg = validate_config(_cfg({**BASE, "mine": {"source": "files", "paths": ["x/*.root"]},
                                "auger": {"source": "auger_opendata", "paths": ["a/*.json"], "summary": "s.csv"}},
                               reconstruct_datasets=["mine", "auger"]))
    assert cfg["reconstruct_datasets"] == ["mine", "auger"]
    with pytest.raises(ConfigError, match=r"'datasets.mine' has \['events', 'seed'\], which source 'files' does not read"):
        validate_config(_cfg({**BASE, "mine": {"source": "files", "paths": ["x"], "events": 5, "seed": 3}}))
    with pytest.raises(ConfigError, match=r"'datasets.train' has \['paths'\], which source 'simulate' does not read"):
        validate_config(_cfg({**BASE, "train": {"events": 10, "seed": 1, "paths": ["x"]}}))
    with pytest.raises(ConfigError, match="datasets.mine"):
        validate_config(_cfg({**BASE, "mine": {"source": "files"}}))  # no paths
    with pytest.raises(ConfigError, match="datasets.mine.source"):
        validate_config(_cfg({**BASE, "mine": {"source": "ftp", "paths": ["x"]}}))
    with pytest.raises(ConfigError, match=r"'test_datasets' names 'auger', whose source 'auger_opendata' has no "
                       r"Monte-Carlo truth"):
        validate_config({**_cfg({**BASE, "auger": {"source": "auger_opendata", "paths": ["a"]}}),
                         "test_datasets": ["auger"]})
    with pytest.raises(ConfigError, match=r"'reconstruct_datasets' names 'nope', which is not a key of 'datasets'"):
        validate_config(_cfg(BASE, reconstruct_datasets=["nope"]))


class _Toy(EventSource):
    kind = "toy"
    options = ("paths", "gain")

    def trace_format(self) -> TraceFormat:
        return TraceFormat(8, 25.0)

    def has_truth(self) -> bool:
        return False

    def chunks(self, chunk_events, event_fields):  # noqa: ANN001, ANN201
        return iter(())


def test_a_registered_source_is_accepted_by_the_config_and_built_from_its_entry() -> None:
    register(_Toy)
    try:
        cfg = validate_config(_cfg({**BASE, "toy": {"source": "toy", "paths": ["x"], "gain": 2}}))
        assert cfg["datasets"]["toy"]["gain"] == 2
        assert isinstance(open_source(cfg["datasets"]["toy"], ["x"]), _Toy)
    finally:
        unregister("toy")
    with pytest.raises(ConfigError, match="datasets.toy.source"):
        validate_config(_cfg({**BASE, "toy": {"source": "toy", "paths": ["x"]}}))
    with pytest.raises(TypeError):
        register(dict)  # type: ignore[arg-type]


def test_the_config_check_knows_each_source_by_the_keys_its_class_reads() -> None:
    """kinds.OPTIONS (the config check, importing no reader) and each class's options agree."""
    from airshower.sources.kinds import BUILT_IN, OPTIONS

    for kind in BUILT_IN:
        assert tuple(OPTIONS[kind]) == tuple(source_class(kind).options), kind
