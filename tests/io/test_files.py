"""Opening input files: missing, malformed and unreadable files are named in an InputFileError."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from airshower.errors import InputFileError
from airshower.io.files import open_hdf5, read_json, require_file


def test_missing_file_names_the_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"m\.json: metrics file not found \(run `airshower evaluate` first\)"):
        require_file(tmp_path / "m.json", "metrics file", "evaluate")
    with pytest.raises(InputFileError, match=r"c\.pt: checkpoint not found$"):
        require_file(tmp_path / "c.pt", "checkpoint")
    with pytest.raises(InputFileError, match="folder not found"):
        require_file(tmp_path, "folder")  # a directory is no file
    (tmp_path / "ok").write_text("")
    assert require_file(str(tmp_path / "ok"), "x") == tmp_path / "ok"


def test_read_json(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"a": [1, 2]}', encoding="utf-8")
    bad.write_text("{not json", encoding="utf-8")
    assert read_json(good, "info") == {"a": [1, 2]}
    with pytest.raises(InputFileError, match=r"bad\.json: not valid JSON"):
        read_json(bad, "info")


def test_open_hdf5(tmp_path: Path) -> None:
    good, junk = tmp_path / "good.h5", tmp_path / "junk.h5"
    with h5py.File(good, "w") as f:
        f.attrs["x"] = 3
    junk.write_bytes(b"not hdf5")
    with open_hdf5(good, "tensor file") as f:
        assert f.attrs["x"] == 3
    with pytest.raises(InputFileError, match=r"junk\.h5: not a readable HDF5 file"):
        open_hdf5(junk, "tensor file")
    with pytest.raises(InputFileError, match=r"none\.h5: tensor file not found \(run `airshower convert` first\)"):
        open_hdf5(tmp_path / "none.h5", "tensor file", "convert")
