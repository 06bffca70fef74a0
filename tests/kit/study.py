"""A synthetic study on disk (predictions, metrics, training records, a tensor file) for the figure tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from airshower.evaluation.metrics import compute_metrics, write_metrics
from airshower.hexgrid import axial_to_xy
from airshower.io.tensors import TensorChunk, TensorWriter
from airshower.station_state import StationState
from airshower.targets import TRUTH_COLUMNS

from tests.kit.predictions import write_synthetic

EVALUATION = {"lg_energy_bins": [18.5, 18.8, 19.1, 19.4, 19.7, 20.0],
              "zenith_bins": [0.0, 22.8, 33.2, 42.1, 50.8, 60.0], "bootstrap": 20, "seed": 7}
FIGURES = {
    "formats": ["pdf", "png"],
    "width": "single",
    "dpi": 80,
    "resolution": "std",
    "summary_lg_energies": [19.0, 19.6],
    "headline_lg_energy": None,
    "example_lg_energy": 19.5,
    "example_traces": 3,
    "distribution_lg_energy": None,
}
# name -> (Xmax smearing [g/cm2], bias on the nominal set, extra bias on the other set, parameters, hours, device)
MODELS = {
    "hexcnn": (45.0, 3.0, 8.0, 2.1e5, 0.05, "cpu (x86_64, 2 threads)"),
    "lstm_hexcnn": (35.0, -2.0, 12.0, 6.5e5, 0.4, "NVIDIA H200"),
    "vit": (28.0, 1.0, 5.0, 3.2e6, 1.5, "NVIDIA H200"),
}
# name -> (targets it reconstructs, sigma_scale of its uncertainties: None = no uncertainty head,
# 1 = calibrated, < 1 = over-confident: pulls wider than 1)
MODEL_TARGETS = {
    "hexcnn": (("xmax", "lg_energy", "axis", "core"), None),
    "lstm_hexcnn": (("xmax", "lg_energy"), 1.0),
    "vit": (("xmax", "lg_energy", "axis", "core", "ln_a"), 0.8),
}
DATASETS = ["test", "test_qgsjet"]
N_EVENTS = 400


def write_tensor_file(path: Path, truth: dict[str, np.ndarray], grid: int = 9, bins: int = 40) -> None:
    """A tensor file (written by airshower.io.tensors.TensorWriter) whose events match ``truth``.

    Not physics: a steep toy lateral profile and a plane front around the true core, the
    station nearest the core at the centre of the window.
    """
    n = truth["xmax"].shape[0]
    rng = np.random.default_rng(0)
    i, j = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    x, y = axial_to_xy(i - grid // 2, j - grid // 2)
    values, cells, counts = [], [], np.zeros(n, dtype=np.int64)
    start = np.zeros((n, grid, grid), dtype=np.float32)
    state = np.full((n, grid, grid), StationState.SILENT, dtype=np.int8)
    position = np.stack([x, y, np.zeros_like(x)], axis=-1).astype(np.float32)
    for k in range(n):
        cx, cy = truth["core"][k] * 0.3
        r = np.hypot(x - cx, y - cy) + 100.0
        signal = 10 ** (truth["lg_energy"][k] - 17.6) * (r / 1000.0) ** -3.5
        ax = truth["axis"][k]
        t = -(x * ax[0] + y * ax[1]) / 0.2998
        trig = signal > 3.0
        trig[grid // 2, grid // 2] = True
        state[k][trig] = StationState.TRIGGERED
        state[k][trig & (signal > 1500.0)] = StationState.SATURATED
        state[k][~trig & (rng.random((grid, grid)) < 0.03)] = StationState.DEAD
        state[k][0, :2] = StationState.ABSENT
        start[k] = np.where(trig, t - t[grid // 2, grid // 2], 0.0)
        shape = np.exp(-np.arange(bins)[None, :] / (3.0 + 0.004 * r[trig])[:, None])
        values.append(signal[trig][:, None] * shape / shape.sum(axis=1, keepdims=True))
        cells.append(np.flatnonzero(trig.ravel()))
        counts[k] = trig.sum()
    chunk = TensorChunk(
        trace_values=np.concatenate(values).astype(np.float32),
        trace_cell=np.concatenate(cells),
        trace_count=counts,
        start_time=start,
        state=state,
        position=np.broadcast_to(position, (n, grid, grid, 3)).copy(),
        targets={name: truth[name] for name in TRUTH_COLUMNS},
        meta={"event_id": np.arange(n), "source": np.zeros(n), "n_outside": np.zeros(n), "t5": np.ones(n, bool),
              "hottest_station": np.zeros(n)},
    )
    with TensorWriter(path, grid_size=grid, trace_bins=bins, bin_ns=25.0) as writer:
        writer.append(chunk)


def make_study(root: Path, models: dict = MODELS, datasets: list[str] = DATASETS,
               model_targets: dict = MODEL_TARGETS) -> Path:
    """Write a complete synthetic study under ``root`` (= results/{study}); returns the tensor file.

    ``model_targets``: name -> (targets, sigma_scale or None) as :data:`MODEL_TARGETS` (models
    not named there reconstruct Xmax only, without uncertainty).
    """
    truth = None
    for k, (name, (sigma, bias, shift, params, hours, device)) in enumerate(models.items()):
        targets, sigma_scale = model_targets.get(name, (("xmax",), None))
        for d, ds in enumerate(datasets):
            pred_path = root / "predictions" / ds / f"{name}.h5"
            pred = write_synthetic(pred_path, N_EVENTS, seed=100 + d, model=name, dataset=ds,
                                   xmax_sigma=sigma, xmax_bias=bias + (shift if d else 0.0), targets=targets,
                                   uncertainty=sigma_scale is not None, sigma_scale=sigma_scale or 1.0)
            write_metrics(root / "metrics" / ds / f"{name}.json", compute_metrics(pred, EVALUATION))
            if d == 0:
                truth = pred.truth
        mdir = root / "models" / name
        mdir.mkdir(parents=True, exist_ok=True)
        epochs = 6 + 2 * k
        loss_val = 0.5 * np.exp(-np.arange(epochs) / 3.0) + 0.2 + 0.05 * k
        loss_tr = loss_val * 1.1
        rows = ["epoch,train_loss,val_loss,lr,seconds,events_per_s"]
        rows += [f"{e + 1},{loss_tr[e]:.5f},{loss_val[e]:.5f},0.001,{3600 * hours / epochs:.3f},1000"
                 for e in range(epochs)]
        (mdir / "history.csv").write_text("\n".join(rows) + "\n")
        info = {"model": name, "type": name, "parameters": int(params), "flops_per_event": int(params * 40),
                "epochs_run": epochs, "best_epoch": epochs - 1, "training_time_s": 3600 * hours,
                "wall_time_s": 3600 * hours + 5, "device": device, "processes": 1}
        (mdir / "train_info.json").write_text(json.dumps(info))
    tensor_file = root.parent.parent / "data" / "tensors" / f"{datasets[0]}.h5"
    tensor_file.parent.mkdir(parents=True, exist_ok=True)
    write_tensor_file(tensor_file, truth)
    return tensor_file
