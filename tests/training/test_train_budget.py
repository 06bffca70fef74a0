"""Equal time budgets (training.budget_minutes) and replicas (training.replicas) in the training engine."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from airshower.batch import Batch
from airshower.config import validate_config
from airshower.errors import ConfigError, TrainingError
from airshower.inference.checkpoint import load_checkpoint
from airshower.inference.tensor_sources import MemorySource
from airshower.training.engine import train_model
from airshower.training.loop import LRSchedule
from airshower.training.replicas import all_runs, replica_name, replica_seed, split_replica
from airshower.training.settings import training_settings

from tests.kit.training import settings_of, tiny_builder, tiny_config


class FakeClock:
    """Seconds that advance only when told: one second per training step (see :func:`ticking`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ticking(clock: FakeClock, seconds: float = 1.0, crash: tuple[int, int] | None = None):
    def hook(epoch: int, step: int) -> None:
        clock.now += seconds
        if crash == (epoch, step):
            raise RuntimeError(f"crash at epoch {epoch} step {step}")

    return hook


def schedule(**training) -> tuple[LRSchedule, torch.optim.Optimizer]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return LRSchedule(optimizer, settings_of(**training), steps_per_epoch=10), optimizer


def test_the_cosine_spans_the_budget_and_reaches_its_floor_there() -> None:
    sched, optimizer = schedule(scheduler="cosine", budget_minutes=1.0, min_lr_factor=0.05, epochs=1000,
                                learning_rate=0.1)
    for _ in range(10):  # the first epoch: no time per step measured yet, the peak rate
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
        sched.step()
    sched.epoch_time(30.0, 10, 30.0)  # 30 s of 60: halfway, 3 s per step
    assert sched.lr == pytest.approx(0.1 * (0.05 + 0.95 * 0.5))
    assert not sched.budget_spent()
    for _ in range(10):
        sched.step()
    assert sched.lr == pytest.approx(0.1 * 0.05)  # estimated 60 s: the floor at the budget
    sched.step()
    assert sched.lr == pytest.approx(0.1 * 0.05)  # and not below it
    sched.epoch_time(60.5, 10, 30.5)
    assert sched.budget_spent()
    # the state carries the time: a resumed schedule continues where it was
    again, _ = schedule(scheduler="cosine", budget_minutes=1.0, min_lr_factor=0.05, epochs=1000, learning_rate=0.1)
    again.load_state_dict(sched.state_dict())
    assert again.lr == sched.lr and again.budget_spent()


def test_without_a_budget_the_schedule_spans_the_epochs() -> None:
    sched, _ = schedule(scheduler="cosine", epochs=2, min_lr_factor=0.0)
    sched.epoch_time(1e9, 10, 1e9)  # time does not matter
    assert sched.lr == pytest.approx(1e-3) and not sched.budget_spent()


def test_a_flop_budget_spans_the_cosine_over_the_steps() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LRSchedule(optimizer, settings_of(scheduler="cosine", budget_flops=2e6, min_lr_factor=0.0, epochs=1000,
                                              learning_rate=0.1), steps_per_epoch=10, flops_per_step=1e5)
    for _ in range(10):
        sched.step()
    assert sched.lr == pytest.approx(0.1 * 0.5)  # 1e6 of 2e6 FLOPs: halfway, whatever the clock says
    sched.epoch_time(1e-3, 10, 1e-3)
    assert not sched.budget_spent()
    for _ in range(10):
        sched.step()
    sched.epoch_time(2e-3, 10, 1e-3)
    assert sched.budget_spent() and sched.lr == pytest.approx(0.0)


def test_a_flop_budget_needs_counted_flops() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(TrainingError, match="budget_flops"):
        LRSchedule(optimizer, settings_of(budget_flops=1e9), steps_per_epoch=10, flops_per_step=None)


def test_the_flop_budget_stops_training_and_is_recorded(events: Batch, tmp_path: Path) -> None:
    probe = _train(events, tmp_path / "probe", tiny_config(epochs=1), FakeClock())
    per_epoch = probe["training_flops"]
    # 3 x forward FLOPs per event x the events of one epoch's full batches of 8
    assert per_epoch == pytest.approx(3 * probe["flops_per_event"] * (probe["train_events"] // 8) * 8)
    cfg = tiny_config(epochs=50, patience=50, budget_flops=2.5 * per_epoch)
    info = _train(events, tmp_path / "run", cfg, FakeClock())
    rows = list(csv.DictReader((tmp_path / "run" / "out" / "history.csv").open()))
    flops = [float(r["train_flops"]) for r in rows]
    per_step = 3 * probe["flops_per_event"] * 8
    assert flops[:2] == pytest.approx([per_epoch, 2 * per_epoch]) and len(flops) == 3
    # the third epoch ends at the step that spends the budget
    assert 2.5 * per_epoch <= flops[-1] < 2.5 * per_epoch + per_step * (1 + 1e-9)
    assert info["stopped_by_budget"] and info["training_flops"] == pytest.approx(flops[-1])
    assert info["budget_flops"] == pytest.approx(2.5 * per_epoch)


def _train(events: Batch, root: Path, cfg: dict, clock: FakeClock, crash=None) -> dict:
    return train_model(cfg, "tiny", MemorySource(events), root / "out", root / "state", device="cpu",
                       model_builder=tiny_builder(), step_hook=ticking(clock, crash=crash), clock=clock)


def _history(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((root / "out" / "history.csv").open()))


def test_the_budget_stops_training_and_the_rate_ends_at_its_floor(events: Batch, tmp_path: Path) -> None:
    cfg = tiny_config(epochs=50, patience=50, budget_minutes=0.4, min_lr_factor=0.1)  # 24 s, 1 s per step
    info = _train(events, tmp_path, cfg, FakeClock())
    rows = _history(tmp_path)
    elapsed = [float(r["elapsed_s"]) for r in rows]
    per_epoch = [float(r["seconds"]) for r in rows]
    assert elapsed == pytest.approx(list(torch.tensor(per_epoch).cumsum(0).tolist()))
    assert elapsed[-1] >= 24.0 > elapsed[-2]  # stopped after the epoch that reached the budget
    assert info["stopped_by_budget"] and info["epochs_run"] == len(rows) < 50
    assert info["training_time_s"] == pytest.approx(elapsed[-1])
    assert "val_xmax_std_gcm2" in rows[0]
    final = load_checkpoint(tmp_path / "out" / "model.pt")
    assert final["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.01 * 0.1)  # the floor
    assert final["scheduler"]["elapsed_s"] == pytest.approx(elapsed[-1])


def test_the_time_budget_ends_an_epoch_at_the_step_that_spends_it(events: Batch, tmp_path: Path) -> None:
    probe = _train(events, tmp_path / "probe", tiny_config(epochs=1), FakeClock())
    steps = probe["train_events"] // 8  # 1 s per step
    budget_s = 1.5 * steps + 0.5  # reached in the middle of the second epoch
    info = _train(events, tmp_path / "run", tiny_config(epochs=50, patience=50, budget_minutes=budget_s / 60),
                  FakeClock())
    elapsed = [float(r["elapsed_s"]) for r in _history(tmp_path / "run")]
    assert len(elapsed) == 2 and elapsed[0] == pytest.approx(steps)
    assert elapsed[1] == pytest.approx(math.ceil(budget_s)) and elapsed[1] < 2 * steps  # not the whole epoch
    assert info["stopped_by_budget"]


def test_within_an_epoch_the_rate_is_measured_and_the_cosine_follows_it() -> None:
    sched, optimizer = schedule(scheduler="cosine", budget_minutes=1.0, min_lr_factor=0.0, epochs=1000,
                                learning_rate=1.0)

    def cosine(p: float) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * p))

    def steps(n: int) -> None:
        for _ in range(n):
            sched.step()

    steps(4)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0)  # nothing measured yet: the peak
    sched.running_estimate(12.0, 4)  # 12 s of 60 spent
    assert optimizer.param_groups[0]["lr"] == pytest.approx(cosine(0.2))  # applied at once
    steps(4)
    assert sched.lr == pytest.approx(cosine(0.2))  # no rate yet in the first epoch: held at the anchor
    sched.running_estimate(24.0, 8)  # 3 s per step between the two measurements
    assert sched.lr == pytest.approx(cosine(0.4))
    steps(8)
    assert sched.lr == pytest.approx(cosine(0.8))  # 24 s + 8 steps x 3 s
    sched.running_estimate(36.0, 16)  # faster than extrapolated (36 s, not 48 s): no climb back
    assert sched.lr == pytest.approx(cosine(0.8))
    steps(12)
    assert sched.lr == pytest.approx(cosine(0.9))  # 36 s + 12 steps x 1.5 s
    sched.epoch_time(57.0, 28, 57.0)  # the epoch's end: the clock's time, validation included
    assert sched.lr == pytest.approx(cosine(0.95))
    again, _ = schedule(scheduler="cosine", budget_minutes=1.0, min_lr_factor=0.0, epochs=1000, learning_rate=1.0)
    again.load_state_dict(sched.state_dict())
    assert again.lr == pytest.approx(sched.lr)


def test_a_start_up_cost_is_counted_once() -> None:
    """30 s of compilation before the first step, then 1 s per step: the 30 s count once, not per step."""
    sched, _ = schedule(scheduler="cosine", budget_minutes=2.0, min_lr_factor=0.0, epochs=1000, learning_rate=1.0)
    for n in (4, 8, 16):
        for _ in range(n - sched.epoch_steps):
            sched.step()
        sched.running_estimate(30.0 + n, n)
    for _ in range(4):
        sched.step()
    assert sched.progress(sched.step_count) == pytest.approx((30.0 + 20) / 120)  # 30 s + 20 steps x 1 s


def test_a_budget_within_the_first_epoch_stops_it_at_the_floor(events: Batch, tmp_path: Path) -> None:
    probe = _train(events, tmp_path / "probe", tiny_config(epochs=1, batch_size=2), FakeClock())
    steps = probe["train_events"] // 2  # 1 s per step
    assert steps >= 8
    budget_s = steps - 1  # spent at the second-to-last step of the first epoch
    cfg = tiny_config(epochs=50, patience=50, budget_minutes=budget_s / 60, min_lr_factor=0.1, batch_size=2)
    info = _train(events, tmp_path / "run", cfg, FakeClock())
    assert info["epochs_run"] == 1 and info["stopped_by_budget"]
    final = load_checkpoint(tmp_path / "run" / "out" / "model.pt")
    # the rate measured from step 4 on: the cosine reached its floor at the budget, not the peak
    assert final["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.01 * 0.1, rel=0.05)


def test_resume_keeps_the_elapsed_time(events: Batch, tmp_path: Path) -> None:
    cfg = tiny_config(epochs=50, patience=50, budget_minutes=0.4)
    _train(events, tmp_path / "whole", cfg, FakeClock())
    with pytest.raises(RuntimeError, match="crash"):
        _train(events, tmp_path / "resumed", cfg, FakeClock(), crash=(3, 2))
    assert load_checkpoint(tmp_path / "resumed" / "state" / "last.pt")["epoch"] == 2
    info = _train(events, tmp_path / "resumed", cfg, FakeClock())
    assert info["resumed_after_epoch"] == 2
    whole, resumed = _history(tmp_path / "whole"), _history(tmp_path / "resumed")
    assert [(r["elapsed_s"], r["lr"], r["train_loss"]) for r in resumed] == [
        (r["elapsed_s"], r["lr"], r["train_loss"]) for r in whole]


def test_replicas_have_their_own_seeds_and_share_the_split() -> None:
    cfg = validate_config({"models": {"a": {"type": "hexcnn"}, "b": {"type": "hexcnn", "training": {"replicas": 3}}},
                           "training": {"seed": 5, "replicas": 2}})
    assert all_runs(cfg) == ["a", "a~1", "b", "b~1", "b~2"]
    runs = [training_settings(cfg, run) for run in all_runs(cfg)]
    assert runs[0].seed == runs[2].seed == 5 and runs[0].replica == 0
    seeds = [s.seed for s in runs if s.model_name.startswith("b")]
    # replica k of every model draws from (seed, k), as replica 0 of every model from the seed itself
    assert len(set(seeds)) == 3 and {s.seed for s in runs} == set(seeds)
    # nor do the shuffling and augmentation seeds (+1, +2) of one replica meet another's
    derived = [s + offset for s in set(seeds) for offset in (0, 1, 2)]
    assert len(set(derived)) == len(derived)
    assert {s.validation_seed for s in runs} == {5}
    b2 = training_settings(cfg, "b~2")
    assert b2.model_name == "b~2" and b2.replica == 2 and b2.seed == replica_seed(5, 2) != 5
    assert b2.spec_dict() == {"type": "hexcnn"} and b2.replicas == 3
    # replicas is no setting of one run: raising it leaves each run's settings (and resumable state) alone
    more = validate_config({**cfg, "training": {**cfg["training"], "replicas": 4}})
    assert training_settings(more, "a~1").section == training_settings(cfg, "a~1").section
    assert split_replica(replica_name("m", 3)) == ("m", 3) and split_replica("m") == ("m", 0)
    assert split_replica("m~0") == ("m~0", 0) and split_replica("m~01") == ("m~01", 0)


def test_a_model_name_with_the_replica_separator_is_refused() -> None:
    with pytest.raises(ConfigError, match="~"):
        validate_config({"models": {"a~1": {"type": "hexcnn"}}})


def test_a_replica_trains_other_weights_on_the_same_split(events: Batch, tmp_path: Path) -> None:
    cfg = tiny_config(epochs=1)
    infos = {}
    for run in ("tiny", "tiny~1"):
        infos[run] = train_model(cfg, run, MemorySource(events), tmp_path / run / "out", tmp_path / run / "state",
                                 device="cpu", model_builder=tiny_builder())
    assert infos["tiny"]["seed"] != infos["tiny~1"]["seed"]
    assert infos["tiny"]["val_events"] == infos["tiny~1"]["val_events"]
    a = load_checkpoint(tmp_path / "tiny" / "out" / "model.pt")["model_state"]
    b = load_checkpoint(tmp_path / "tiny~1" / "out" / "model.pt")["model_state"]
    assert any(not torch.equal(a[k], b[k]) for k in a)
