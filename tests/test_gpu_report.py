"""`airshower gpu-report` (airshower.gpu_report): the utilisation table and the folder of at most 8 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airshower import cli, gpu_report, layout
from airshower.errors import InputFileError, OutputFileError
from airshower.inference import peak as peak_module

CONFIG = {
    "study": "g",
    "models": {"cnn": {"type": "hexcnn", "label": "hex CNN"}, "vit": {"type": "vit", "training": {"replicas": 2}}},
    "training": {"amp": "bf16"},
}


def make_study(root: Path, figures: tuple[str, ...] = gpu_report.REQUIRED + gpu_report.OPTIONAL) -> Path:
    """A finished study ``g`` under ``root``: the figures and tables, and a train_info.json per run."""
    fig_dir = root / layout.figures_dir("g")
    fig_dir.mkdir(parents=True)
    for name in figures:
        (fig_dir / name).write_text(name)
    for run, speed in (("cnn", 20_000.0), ("vit", 2_000.0), ("vit~1", 1_000.0)):
        path = root / layout.model_dir("g", run) / "train_info.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"type": "x", "parameters": 10, "flops_per_event": 1e9,
                                    "mean_events_per_s": speed, "device": "cpu", "amp": "off"}))
    return fig_dir


@pytest.fixture
def fixed_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    """A peak of 100 TFLOP/s without measuring it."""
    import torch

    monkeypatch.setattr(peak_module, "device_peak",
                        lambda dev, amp="auto", **_: peak_module.Peak(100e12, 64, torch.float32))


def test_the_report_folder(tmp_path: Path, fixed_peak: None, capsys: pytest.CaptureFixture[str]) -> None:
    fig_dir = make_study(tmp_path / "work")
    out = tmp_path / "out"
    out.mkdir()
    (out / "gpu-study.log").write_text("log")
    config_file = tmp_path / "g.yaml"
    datasets = {"train": {"events": 10, "seed": 1}, "test": {"events": 10, "seed": 2}}
    config_file.write_text(json.dumps({**CONFIG, "datasets": datasets, "train_dataset": "train",
                                       "test_datasets": ["test"]}))
    rc = cli.main(["gpu-report", "--config", str(config_file), "--out", str(out), "--workdir", str(tmp_path / "work"),
                   "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    held = sorted(p.name for p in out.iterdir())
    assert held == sorted(["gpu-study.log", "utilisation.md", *gpu_report.REQUIRED, *gpu_report.OPTIONAL])
    assert len(held) <= gpu_report.MAX_FILES
    md = (out / "utilisation.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert [r.split(" | ")[0] for r in rows] == ["| hex CNN", "| Vision transformer", "| Vision transformer ~1"]
    assert "| 3 | 20000 | 60 | 100 | 60.0 % |" in rows[0]  # 3 GFLOP/event x 20 000 /s = 60 TFLOP/s of 100 TFLOP/s
    assert "6 | 100 | 6.0 %" in rows[1]
    assert (fig_dir / "utilisation.csv").is_file()  # the csv stays with the study's tables


def test_optional_figures_may_be_absent(tmp_path: Path) -> None:
    fig_dir = make_study(tmp_path, figures=gpu_report.REQUIRED)
    assert [p.name for p in gpu_report.report_files(fig_dir)] == list(gpu_report.REQUIRED)


@pytest.mark.parametrize("missing", ["summary.md", "headline.png"])
def test_a_missing_figure_is_named(tmp_path: Path, missing: str) -> None:
    fig_dir = make_study(tmp_path, figures=tuple(n for n in gpu_report.REQUIRED if n != missing))
    with pytest.raises(InputFileError, match=missing.replace(".", r"\.")):
        gpu_report.report_files(fig_dir)


def test_more_than_the_limit_is_an_error(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        files.append(tmp_path / f"f{i}.md")
        files[-1].write_text("x")
    out = tmp_path / "out"
    assert len(gpu_report.collect(files, out, limit=3)) == 3
    (out / "stale.log").write_text("x")
    with pytest.raises(OutputFileError, match="4 files, more than 3"):
        gpu_report.collect(files, out, limit=3)
