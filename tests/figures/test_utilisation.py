"""The model FLOPs utilisation table (airshower.figures.utilisation) on hand-made training records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from airshower import layout
from airshower.errors import InputFileError
from airshower.figures.utilisation import COLUMNS, utilisation_row, utilisation_rows, write_utilisation

PEAK = 400e12  # [FLOP/s]


def info(**values: object) -> dict:
    """A train_info.json content with the keys the table reads."""
    return {"model": "m", "type": "vit", "parameters": 1_000_000, "flops_per_event": 2e9,
            "mean_events_per_s": 10_000.0, "device": "NVIDIA H200", "amp": "bfloat16", **values}


def write_info(root: Path, study: str, run: str, content: dict) -> None:
    path = root / layout.model_dir(study, run) / "train_info.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def test_row_numbers() -> None:
    row = utilisation_row("vit", info(), PEAK, "ViT 1M")
    assert list(row) == list(COLUMNS)
    assert row["label"] == "ViT 1M"
    assert row["parameters"] == 1_000_000
    assert row["train_gflop_per_event"] == pytest.approx(6.0)  # 3 x 2 GFLOP forward
    assert row["events_per_s"] == 10_000.0
    assert row["achieved_tflops"] == pytest.approx(60.0)  # 6e9 FLOP x 1e4 /s
    assert row["peak_tflops"] == pytest.approx(400.0)
    assert row["utilisation"] == pytest.approx(0.15)
    assert (row["device"], row["amp"]) == ("NVIDIA H200", "bfloat16")


def test_row_without_counted_flops_or_speed_leaves_cells_empty() -> None:
    row = utilisation_row("m", info(flops_per_event=None), PEAK)
    assert row["label"] == "m"
    assert row["train_gflop_per_event"] is None and row["achieved_tflops"] is None and row["utilisation"] is None
    row = utilisation_row("m", info(mean_events_per_s=None), PEAK)
    assert row["train_gflop_per_event"] == pytest.approx(6.0)
    assert row["events_per_s"] is None and row["utilisation"] is None


def test_rows_of_a_study_on_disk_and_their_tables(tmp_path: Path) -> None:
    write_info(tmp_path, "s", "cnn", info(type="hexcnn", parameters=50_000, flops_per_event=1e8,
                                          mean_events_per_s=80_000.0))
    write_info(tmp_path, "s", "vit", info())
    write_info(tmp_path, "s", "vit~1", info(mean_events_per_s=5_000.0))
    rows = utilisation_rows("s", ["cnn", "vit", "vit~1"], PEAK, {"cnn": "hex CNN", "vit": "ViT"}, root=tmp_path)
    assert [r["label"] for r in rows] == ["hex CNN", "ViT", "ViT ~1"]
    assert rows[0]["achieved_tflops"] == pytest.approx(3e8 * 8e4 / 1e12)  # 24 TFLOP/s
    assert rows[0]["utilisation"] == pytest.approx(0.06)
    assert rows[2]["utilisation"] == pytest.approx(0.075)

    written = write_utilisation(tmp_path / "out", rows, "s", "bfloat16 8192 x 8192 products")
    assert [p.name for p in written] == ["utilisation.csv", "utilisation.md"]
    table = list(csv.DictReader((tmp_path / "out/utilisation.csv").open()))
    assert [r["model"] for r in table] == ["cnn", "vit", "vit~1"]
    assert float(table[1]["utilisation"]) == pytest.approx(0.15)
    md = (tmp_path / "out/utilisation.md").read_text()
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + 3  # header and one row per run
    assert "| ViT | 1,000,000 | 6 | 10000 | 60 | 400 | 15.0 % | NVIDIA H200 | bfloat16 |" in md
    assert "6.0 %" in lines[1] and "7.5 %" in lines[3]
    assert "bfloat16 8192 x 8192 products" in md


def test_a_missing_record_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"models/absent/train_info\.json"):
        utilisation_rows("s", ["absent"], PEAK, root=tmp_path)
