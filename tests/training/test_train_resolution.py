"""The validation resolution in physical units (airshower.training.resolution): statistics, columns, text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from airshower.inference.normalise import TargetNormaliser
from airshower.targets import opening_angle_deg
from airshower.training.distributed import DistContext
from airshower.training.resolution import Resolution, ResolutionMeter, resolution_columns

CPU = torch.device("cpu")


def normaliser() -> TargetNormaliser:
    """Xmax standardised with shift 750 g/cm2 and scale 60 g/cm2; the axis and core unscaled."""
    one = torch.ones
    return TargetNormaliser(
        {"xmax": torch.tensor([750.0]), "axis": torch.zeros(3), "core": torch.zeros(2)},
        {"xmax": torch.tensor([60.0]), "axis": one(3), "core": one(2)},
    )


def test_the_columns_name_statistic_and_unit() -> None:
    assert resolution_columns(["xmax", "lg_energy", "axis", "core", "ln_a"]) == [
        "val_xmax_std_gcm2", "val_lg_energy_std", "val_axis_q68_deg", "val_core_q68_m", "val_ln_a_std",
    ]


def test_std_of_xmax_in_g_cm2_and_q68_of_axis_and_core_over_batches() -> None:
    gen = np.random.default_rng(1)
    n = 4000
    xmax_true = 750 + 60 * gen.standard_normal(n)
    xmax_rec = xmax_true + 25 + 30 * gen.standard_normal(n)  # bias 25, resolution 30 g/cm2
    axis_true = np.tile([0.0, 0.0, 1.0], (n, 1))
    axis_rec = axis_true + np.c_[0.02 * gen.standard_normal((n, 2)), np.zeros(n)]
    core_true = 100 * gen.standard_normal((n, 2))
    core_rec = core_true + 40 * gen.standard_normal((n, 2))
    meter = ResolutionMeter(["xmax", "axis", "core"], normaliser())
    for part in np.array_split(np.arange(n), 7):  # batches
        pred = {
            "xmax": torch.tensor((xmax_rec[part] - 750) / 60),
            "axis": torch.tensor(axis_rec[part]),
            "core": torch.tensor(core_rec[part]),
        }
        truth = {"xmax": torch.tensor(xmax_true[part]), "axis": torch.tensor(axis_true[part]),
                 "core": torch.tensor(core_true[part])}
        meter.add(pred, truth)
    res = meter.result(DistContext(0, 1, 0, CPU), CPU)
    assert res["xmax"].statistic == "std"
    assert res["xmax"].value == pytest.approx(np.std(xmax_rec - xmax_true, ddof=1), rel=1e-4)
    unit = axis_rec / np.linalg.norm(axis_rec, axis=1, keepdims=True)
    angles = opening_angle_deg(unit, axis_true)
    assert res["axis"].statistic == "q68"
    assert res["axis"].value == pytest.approx(np.quantile(angles, 0.682689492), rel=0.01)
    distances = np.linalg.norm(core_rec - core_true, axis=1)
    assert res["core"].value == pytest.approx(np.quantile(distances, 0.682689492), rel=0.01)
    assert res["xmax"].text() == f"xmax std {res['xmax'].value:.1f} g/cm2"
    assert res["core"].text() == f"core q68 {res['core'].value:.0f} m"


def test_the_energy_resolution_reads_in_percent() -> None:
    assert Resolution("lg_energy", "std", 0.123).text() == "lg_energy std 12.3 %"
    assert Resolution("ln_a", "std", 1.234).text() == "ln_a std 1.23"


def test_no_events_give_nan_not_an_error() -> None:
    res = ResolutionMeter(["xmax", "axis"], normaliser()).result(DistContext(0, 1, 0, CPU), CPU)
    assert np.isnan(res["xmax"].value) and np.isnan(res["axis"].value)
