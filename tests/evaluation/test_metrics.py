"""Metrics of synthetic predictions with known smearing; the evaluate command."""

import json

import numpy as np
import pytest

from airshower.cli import main as cli_main
from airshower.errors import ConfigError, InputFileError
from airshower.evaluation.binned import Q68
from airshower.evaluation.metrics import compute_metrics, evaluate, read_metrics

from tests.kit.predictions import synthetic_predictions, write_synthetic

EVAL = {"lg_energy_bins": [18.5, 19.0, 19.5, 20.0], "zenith_bins": [0.0, 30.0, 60.0], "bootstrap": 50, "seed": 7}


@pytest.fixture(scope="module")
def metrics():
    pred = synthetic_predictions(6000, seed=2, xmax_bias=8.0, xmax_sigma=25.0, energy_bias=0.05,
                                 energy_sigma=0.12, axis_sigma_deg=0.6, core_sigma=40.0)
    return compute_metrics(pred, EVAL)


def _within(entry, stat, expected, k=3.5):
    assert abs(entry[stat] - expected) < k * entry[f"{stat}_err"], (stat, entry[stat], expected, entry[f"{stat}_err"])


def test_xmax_bias_and_resolution_recovered_in_every_bin_and_primary(metrics):
    per = metrics["quantities"]["xmax"]["per_primary"]
    assert list(per) == ["all", "p", "He", "N", "Fe"]
    for entries in per.values():
        for entry in [entries["total"], *entries["bins"]]:
            _within(entry, "bias", 8.0)
            _within(entry, "std", 25.0)
            _within(entry, "half68", 25.0)
    counts = [e["count"] for e in per["all"]["bins"]]
    assert sum(counts) == 6000 == per["all"]["total"]["count"]
    assert sum(per[p]["total"]["count"] for p in ("p", "He", "N", "Fe")) == 6000


def test_relative_energy_axis_and_core(metrics):
    q = metrics["quantities"]
    total = q["lg_energy"]["per_primary"]["all"]["total"]
    _within(total, "bias", 0.05)
    _within(total, "std", 0.12)
    rayleigh = np.sqrt(-2.0 * np.log(1.0 - Q68))
    _within(q["axis"]["per_primary"]["all"]["total"], "q68", 0.6 * rayleigh)
    _within(q["core"]["per_primary"]["all"]["total"], "q68", 40.0 * rayleigh)


def test_merit_factor_reco_below_true(metrics):
    for entry in metrics["quantities"]["xmax"]["merit_factor"]["bins"]:
        assert entry["count_p"] > 100 and entry["count_fe"] > 100
        # toy: spreads 60 (p) and 20 (Fe) g/cm2, Fe 25 ln 56 shallower; smearing 25 on both
        expected_true = 25 * np.log(56) / np.hypot(60, 20)
        expected_reco = 25 * np.log(56) / np.sqrt(60**2 + 20**2 + 2 * 25**2)
        _within(entry, "true", expected_true)
        _within(entry, "reco", expected_reco)


def test_only_predicted_targets_and_empty_bins():
    pred = synthetic_predictions(300, seed=1, targets=("xmax",), lg_energy_range=(18.5, 19.0))
    m = compute_metrics(pred, EVAL)
    assert list(m["quantities"]) == ["xmax"] and m["targets"] == ["xmax"]
    empty = m["quantities"]["xmax"]["per_primary"]["Fe"]["bins"][2]
    assert empty["count"] == 0 and empty["bias"] is None and empty["std_err"] is None
    assert m["quantities"]["xmax"]["merit_factor"]["bins"][1]["reco"] is None
    no_xmax = compute_metrics(synthetic_predictions(50, targets=("lg_energy",)), EVAL)
    assert "merit_factor" not in no_xmax["quantities"]["lg_energy"]


def test_bad_bins_are_a_config_error():
    with pytest.raises(ConfigError, match="lg_energy_bins"):
        compute_metrics(synthetic_predictions(10), EVAL | {"lg_energy_bins": [19.0, 18.5]})


def test_evaluate_writes_json_with_nulls_and_reads_back(tmp_path):
    pred_path = tmp_path / "p.h5"
    write_synthetic(pred_path, 200, seed=4, lg_energy_range=(18.5, 19.4))
    out = tmp_path / "metrics" / "test" / "toy.json"
    evaluate(pred_path, out, EVAL)
    text = out.read_text()
    assert "NaN" not in text
    back = read_metrics(out)
    assert back["quantities"]["xmax"]["per_primary"]["all"]["bins"][2]["count"] == 0
    assert back == json.loads(text)
    with pytest.raises(InputFileError, match="metrics file not found"):
        read_metrics(tmp_path / "none.json")


def test_cli_evaluate_and_its_clear_error(tmp_path, capsys):
    pred_path = tmp_path / "p.h5"
    write_synthetic(pred_path, 100, seed=5)
    cfg = json.dumps({"evaluation": EVAL})
    out = tmp_path / "m.json"
    assert cli_main(["evaluate", "--config-json", cfg, "--predictions", str(pred_path), "--output", str(out)]) == 0
    assert read_metrics(out)["n_events"] == 100
    assert cli_main(["evaluate", "--config-json", cfg, "--predictions", str(tmp_path / "x.h5"),
                     "--output", str(out)]) == 2
    assert "predictions file not found" in capsys.readouterr().err


def test_non_finite_values_are_refused():
    pred = synthetic_predictions(50, targets=("xmax",))
    pred.reco["xmax"][3] = np.nan
    with pytest.raises(InputFileError, match="1 of 50 events have a non-finite xmax"):
        compute_metrics(pred, EVAL)


def _with_sigma(scale: float, n: int = 4000):
    """Predictions whose Xmax and core errors have per-event widths ``sigma``; the file claims ``scale * sigma``."""
    from airshower.evaluation.prediction_file import Predictions

    rng = np.random.default_rng(3)
    lg_e = rng.uniform(18.5, 20.0, n)
    width = rng.uniform(10.0, 60.0, n)
    xmax = rng.normal(750.0, 60.0, n)
    core = rng.normal(0.0, 300.0, (n, 2))
    axis = np.tile([0.0, 0.0, 1.0], (n, 1))
    truth = {"xmax": xmax, "core": core, "lg_energy": lg_e, "mass": rng.choice([1, 56], n),
             "zenith": rng.uniform(0, 60, n), "axis": axis}
    reco = {"xmax": xmax + width * rng.normal(size=n), "core": core + width[:, None] * rng.normal(size=(n, 2))}
    sigma = {"xmax": scale * width, "core": scale * np.stack([width, width], axis=1)}
    return Predictions("m", "test", ("xmax", "core"), truth, reco, np.arange(n), np.arange(n), sigma=sigma)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_calibration_is_the_width_of_the_pulls(scale):
    m = compute_metrics(_with_sigma(scale), EVAL)
    assert m["uncertainty"] is True
    for target in ("xmax", "core"):
        cal = m["quantities"][target]["calibration"]
        assert cal["components"] == (1 if target == "xmax" else 2)
        for entry in (cal["total"], *cal["bins"]):
            _within(entry, "std", 1.0 / scale)
            _within(entry, "bias", 0.0)


def test_xmax_versus_zenith_uses_the_zenith_bins():
    m = compute_metrics(_with_sigma(1.0), EVAL | {"zenith_bins": [0.0, 30.0, 60.0]})
    vz = m["quantities"]["xmax"]["vs_zenith"]
    assert [b["lo"] for b in vz["bins"]] == [0.0, 30.0] and m["zenith_bins"] == [0.0, 30.0, 60.0]
    assert sum(b["count"] for b in vz["bins"]) == vz["total"]["count"] == 4000
    for entry in vz["bins"]:
        _within(entry, "std", float(np.sqrt(np.mean(np.linspace(10, 60, 1000) ** 2))), k=5)
    with pytest.raises(ConfigError, match="zenith_bins"):
        compute_metrics(_with_sigma(1.0), EVAL | {"zenith_bins": [30.0, 10.0]})
