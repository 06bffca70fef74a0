"""The SD against FD Xmax figure of hybrid Auger events, from small synthetic reconstruct tables."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest

from airshower.errors import InputFileError
from airshower.figures.reference import draw_sd_vs_fd


def _events(n: int = 200, seed: int = 5):
    """FD Xmax of n events (every third without FD: NaN) and an SD Xmax 8 g/cm2 deeper, 25 g/cm2 spread."""
    rng = np.random.default_rng(seed)
    fd = rng.normal(750.0, 60.0, n)
    sd = fd + 8.0 + rng.normal(0.0, 25.0, n)
    fd[::3] = np.nan
    return sd, fd


def _h5(path, sd, fd, fd_unit="g/cm2"):
    with h5py.File(path, "w") as f:
        f.create_dataset("events/event_id", data=np.arange(sd.size)).attrs["unit"] = ""
        f.create_dataset("events/xmax", data=sd).attrs["unit"] = "g/cm2"
        f.create_dataset("events/reference_fd_xmax", data=fd).attrs["unit"] = fd_unit
    return path


def test_figure_from_an_hdf5_table(tmp_path) -> None:
    sd, fd = _events()
    out = draw_sd_vs_fd(_h5(tmp_path / "auger_vit.h5", sd, fd), tmp_path / "figs" / "sd_vs_fd.png")
    hybrid = np.isfinite(fd)
    diff = sd[hybrid] - fd[hybrid]
    assert out.events == int(hybrid.sum()) == 133
    assert out.mean == pytest.approx(diff.mean()) and out.std == pytest.approx(diff.std(ddof=1))
    assert 0.0 < out.mean < 16.0 and 18.0 < out.std < 32.0
    assert out.path == tmp_path / "figs" / "sd_vs_fd.png" and out.path.stat().st_size > 10_000


def test_figure_from_a_csv_table_and_without_hybrid_events(tmp_path) -> None:
    sd, fd = _events(30)
    table = tmp_path / "auger.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "event_id", "xmax", "reference_fd_xmax"])
        for k, (a, b) in enumerate(zip(sd, fd)):
            writer.writerow(["a.h5", k, f"{a:.7g}", "nan" if np.isnan(b) else f"{b:.7g}"])
    out = draw_sd_vs_fd(table, tmp_path / "sd_vs_fd.pdf")
    assert out.events == 20 and out.path.suffix == ".pdf" and out.path.stat().st_size > 5_000
    empty = draw_sd_vs_fd(_h5(tmp_path / "sd_only.h5", sd, np.full(30, np.nan)), tmp_path / "none.png")
    assert empty.events == 0 and np.isnan(empty.mean) and empty.path.exists()


def test_tables_without_the_columns_or_in_other_units_are_refused(tmp_path) -> None:
    sd, fd = _events(10)
    with h5py.File(tmp_path / "no_ref.h5", "w") as f:
        f.create_dataset("events/xmax", data=sd).attrs["unit"] = "g/cm2"
    with pytest.raises(InputFileError, match=r"no_ref\.h5: no column 'reference_fd_xmax'.*summary CSV"):
        draw_sd_vs_fd(tmp_path / "no_ref.h5", tmp_path / "x.png")
    with pytest.raises(InputFileError, match=r"kg\.h5: column 'reference_fd_xmax' is in 'kg/m2'"):
        draw_sd_vs_fd(_h5(tmp_path / "kg.h5", sd, fd, fd_unit="kg/m2"), tmp_path / "x.png")
    with pytest.raises(InputFileError, match="table not found"):
        draw_sd_vs_fd(tmp_path / "missing.csv", tmp_path / "x.png")
    with pytest.raises(ValueError, match="suffix"):
        draw_sd_vs_fd(_h5(tmp_path / "ok.h5", sd, fd), tmp_path / "figure")
