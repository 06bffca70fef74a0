"""Loss, learning-rate schedule and early stopping."""

from __future__ import annotations

import math

import pytest
import torch

from airshower.errors import TrainingError
from airshower.training.loop import EarlyStopping, LRSchedule, combine, per_event_losses
from airshower.training.settings import TrainingSettings

from tests.kit.training import settings_of


def settings(**kw) -> TrainingSettings:
    base = {
        "learning_rate": 0.1, "scheduler": "constant", "warmup_epochs": 0, "epochs": 4, "min_lr_factor": 0.01,
        "plateau_factor": 0.5, "plateau_patience": 2,
    }
    base.update(kw)
    return settings_of(**base)


def opt() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def test_warmup_then_cosine_to_the_floor() -> None:
    o = opt()
    s = LRSchedule(o, settings(scheduler="cosine", warmup_epochs=1), steps_per_epoch=10)
    lrs = []
    for _ in range(40):
        lrs.append(o.param_groups[0]["lr"])
        s.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)  # linear warmup over 10 steps
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then decreasing
    assert lrs[-1] == pytest.approx(0.001)  # lr * min_lr_factor at the last step


def test_plateau_lowers_the_rate_after_patience() -> None:
    o = opt()
    s = LRSchedule(o, settings(scheduler="plateau"), steps_per_epoch=5)
    for loss in (1.0, 0.9, 0.95, 0.93):
        s.epoch_end(loss)
    assert o.param_groups[0]["lr"] == pytest.approx(0.05)
    state = s.state_dict()
    o2 = opt()
    s2 = LRSchedule(o2, settings(scheduler="plateau"), steps_per_epoch=5)
    s2.load_state_dict(state)
    assert o2.param_groups[0]["lr"] == pytest.approx(0.05)


def test_early_stopping_counts_epochs_without_improvement() -> None:
    e = EarlyStopping(patience=2, min_delta=0.05)
    assert e.update(1.0, 1)
    assert not e.update(0.97, 2)  # not better by more than min_delta
    assert not e.should_stop
    assert not e.update(0.99, 3)
    assert e.should_stop and e.best_epoch == 1
    e2 = EarlyStopping(patience=2)
    e2.load_state_dict(e.state_dict())
    assert e2.should_stop and e2.best == 1.0


def test_weighted_loss() -> None:
    pred = {"xmax": torch.tensor([1.0, 3.0]), "core": torch.zeros(2, 2)}
    target = {"xmax": torch.tensor([0.0, 0.0]), "core": torch.ones(2, 2)}
    w = dict(settings_of(targets=["xmax", "core"], loss_weights={"core": 2.0}).loss_weights)
    assert w == {"xmax": 1.0, "core": 2.0}
    per = per_event_losses(pred, target, list(w))
    assert per["xmax"].tolist() == [1.0, 9.0] and per["core"].tolist() == [1.0, 1.0]
    assert math.isclose(float(combine({t: v.mean() for t, v in per.items()}, w)), 5.0 + 2.0)


def test_prediction_of_the_wrong_shape_is_named() -> None:
    with pytest.raises(TrainingError, match=r"'axis' has shape \(2, 2\); expected \(2, 3\)"):
        per_event_losses({"axis": torch.zeros(2, 2)}, {"axis": torch.zeros(2, 3)}, ["axis"])
    with pytest.raises(TrainingError, match="no prediction for target 'core'"):
        per_event_losses({}, {"core": torch.zeros(2, 2)}, ["core"])
