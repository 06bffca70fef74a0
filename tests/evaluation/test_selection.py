"""The 6T5 selection of the evaluation: the predictions file keeps every event with its flag, the
metrics use the events ``evaluation.selection`` keeps (default: 6T5, as Auger's figures)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from airshower.errors import InputFileError
from airshower.evaluation.metrics import compute_metrics, select_events
from airshower.evaluation.prediction_file import read_predictions, write_predictions
from tests.kit.predictions import synthetic_predictions

EVAL = {"lg_energy_bins": [18.5, 19.0, 19.5, 20.0], "zenith_bins": [0.0, 30.0, 60.0], "bootstrap": 20, "seed": 7}


def _with_t5(n: int = 600):
    pred = synthetic_predictions(n, seed=4)
    t5 = np.arange(n) % 4 != 0
    return replace(pred, flags={"t5": t5}), t5


def test_flags_round_trip(tmp_path: Path) -> None:
    pred, t5 = _with_t5()
    path = write_predictions(tmp_path / "p.h5", model=pred.model, dataset=pred.dataset, truth=pred.truth,
                             reco=pred.reco, event_id=pred.event_id, index=pred.index, flags=pred.flags)
    back = read_predictions(path)
    np.testing.assert_array_equal(back.flags["t5"], t5)
    with pytest.raises(ValueError, match="meta/t5"):
        write_predictions(tmp_path / "q.h5", model="m", dataset="d", truth=pred.truth, reco=pred.reco,
                          event_id=pred.event_id, index=pred.index, flags={"t5": t5[:-1]})


def test_metrics_use_the_selected_events() -> None:
    pred, t5 = _with_t5()
    chosen = select_events(pred, {"t5": True})
    assert len(chosen) == int(t5.sum())
    np.testing.assert_array_equal(chosen.event_id, pred.event_id[t5])
    np.testing.assert_array_equal(chosen.truth["xmax"], pred.truth["xmax"][t5])
    m = compute_metrics(pred, EVAL | {"selection": {"t5": True}})
    assert m["n_events"] == int(t5.sum()) and m["selection"] == {"t5": True, "n_before": len(pred)}
    everything = compute_metrics(pred, EVAL | {"selection": {"t5": False}})
    assert everything["n_events"] == len(pred)
    assert compute_metrics(pred, EVAL)["n_events"] == len(pred)  # no selection key: every event
    # the selected metrics are those of the selected events
    assert m["quantities"]["xmax"] == compute_metrics(chosen, EVAL)["quantities"]["xmax"]


def test_selection_needs_the_flag() -> None:
    pred = replace(synthetic_predictions(50, seed=1), flags={})  # like a file from before the flags were stored
    with pytest.raises(InputFileError, match="meta/t5"):
        compute_metrics(pred, EVAL | {"selection": {"t5": True}})
    assert select_events(pred, {"t5": False}) is pred
