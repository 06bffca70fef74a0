"""The training loop: loss, optimiser, learning-rate schedule, early stopping, one epoch, validation.

Loss: for each trained target the mean squared error between the prediction mu and the
standardised target y (:mod:`airshower.inference.normalise`), averaged over the target's
components; the total is the sum of these weighted by ``training.loss_weights`` (1 where
not given).

With ``training.uncertainty`` the network also predicts a log-variance s = ln sigma^2 per
component (standardised units) and the per-target term is the beta-weighted Gaussian
negative log-likelihood without its constant,

    sg(sigma^(2 beta)) * 0.5 * (s + (y - mu)^2 exp(-s)),

averaged over the components, where sg() stops the gradient and beta =
``training.uncertainty_beta`` (heteroscedastic regression: Nix & Weigend, Proc. IEEE ICNN
1994, 55; Kendall & Gal, NeurIPS 2017; the beta weight: Seitzer et al., "On the pitfalls of
heteroscedastic uncertainty estimation with probabilistic neural networks", ICLR 2022).
For every beta its minimum over s is at sigma^2 = (y - mu)^2 on average, so sigma is the
network's estimate of its own per-event error; the loss can be negative. beta = 0 is the
plain NLL, whose gradient on mu is that of the squared error divided by sigma^2: a target
the network finds hard gets a large sigma and then almost no gradient, and can stay at its
prior (measured with ``config/joint.yaml``: docs/results.md). beta = 1 gives mu the squared
error's gradient; 0.5 is the compromise Seitzer et al. recommend.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from airshower.batch import Batch
from airshower.errors import TrainingError
from airshower.inference.device import autocast
from airshower.inference.normalise import TargetNormaliser
from airshower.targets import TARGETS, sigma_key
from airshower.training.augment import HexSymmetries
from airshower.training.distributed import DistContext, all_reduce_min, all_reduce_sum, any_true
from airshower.training.resolution import Resolution, ResolutionMeter
from airshower.training.settings import TrainingSettings

# steps between host synchronisations (loss check, progress bar) on a GPU; every step on the CPU
GPU_SYNC_EVERY = 25


def per_event_losses(
    pred: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], targets: list[str], beta: float = 0.0
) -> dict[str, torch.Tensor]:
    """Loss per event (B,) of each target, averaged over its components (float32).

    The squared error, or the (``beta``-weighted) Gaussian negative log-likelihood when
    ``pred`` holds the target's log-variance (:func:`airshower.targets.sigma_key`; see the
    module docstring).
    """
    out = {}
    for t in targets:
        if t not in pred:
            raise TrainingError(f"the model returned no prediction for target {t!r} (it returned {sorted(pred)})")
        p, y = pred[t].float(), target[t]
        if p.shape != y.shape:
            raise TrainingError(
                f"the model's prediction for {t!r} has shape {tuple(p.shape)}; expected {tuple(y.shape)} "
                f"(batch, {TARGETS[t].components} component(s))"
            )
        sq = (p - y).pow(2)
        logvar = pred.get(sigma_key(t))
        if logvar is not None:
            logvar = logvar.float()
            sq = 0.5 * (logvar + sq * torch.exp(-logvar))
            if beta:
                sq = sq * torch.exp(beta * logvar).detach()
        out[t] = sq.reshape(len(y), -1).mean(dim=1)
    return out


def combine(per_target: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """The weighted sum of per-target losses."""
    total = None
    for t, w in weights.items():
        term = per_target[t] * w
        total = term if total is None else total + term
    assert total is not None
    return total


def build_optimizer(model: torch.nn.Module, settings: TrainingSettings) -> torch.optim.Optimizer:
    """The optimiser of ``training.optimizer`` over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    lr, wd = settings.learning_rate, settings.weight_decay
    kind = settings.optimizer
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd, momentum=settings.momentum, nesterov=True)
    raise TrainingError(f"unknown optimizer {kind!r}")


# backward pass ~ 2 x forward (gradients with respect to activations and to weights), so one
# training step costs 3 forward passes; the convention of Kaplan et al., arXiv:2001.08361, Sec. 2.1
TRAINING_FLOPS_PER_FORWARD = 3.0


def training_flops(flops_per_event: float | None, events: int) -> float | None:
    """Training FLOPs [FLOP] of ``events`` events: 3 x the forward FLOPs per event (None when not counted)."""
    return None if flops_per_event is None else TRAINING_FLOPS_PER_FORWARD * float(flops_per_event) * int(events)


class LRSchedule:
    """Learning rate per step: linear warmup, then constant, cosine decay or plateau reduction.

    ``factor(step)`` multiplies ``training.learning_rate``. Warmup: ``(step + 1) / W`` for the
    first ``W = round(warmup_epochs * steps_per_epoch)`` steps. Cosine: from 1 after warmup to
    ``min_lr_factor`` at the last step of the last epoch, ``m + (1 - m) (1 + cos(pi p)) / 2``.
    Plateau: times ``plateau_factor`` each time the validation loss has not improved for
    ``plateau_patience`` epochs. State: plain numbers (checkpoint-safe).

    With a time budget (``training.budget_minutes``) the cosine's progress is the training
    time spent over the budget, ``p = t / budget`` (from the first step; warmup multiplies it
    as before), reaching the floor ``min_lr_factor`` at the budget. ``t`` is not read from a
    clock step by step (that would differ between the processes of a DDP run and between a run
    and its resumption) but estimated: the training time of the epochs done (:meth:`epoch_time`,
    exact at each epoch's end) plus this epoch's time, measured after steps 4, 8, 16, ... of the
    epoch (:meth:`running_estimate`, rank 0's clock shared by every process) and extrapolated
    from the last measurement at the rate between the last two; until there are two, at the
    last epoch's seconds per step (validation included; none in the first epoch). So a run whose
    budget holds only one or two epochs decays over it too (until step 4 of the first epoch
    ``p`` stays 0). ``p`` never decreases
    when a measurement corrects the extrapolation downwards. These numbers are part of the
    state, so a resumed run continues the same schedule.

    With a FLOP budget (``training.budget_flops``) the progress is the training FLOPs done
    over the budget, ``p = steps x flops_per_step / budget`` (exact: ``flops_per_step`` is
    :func:`training_flops` of one global batch); with both budgets the larger progress
    counts, and training ends at the step at which either is spent (the engine's
    ``_budget_stop``; :meth:`budget_spent` checks the epochs done).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        settings: TrainingSettings,
        steps_per_epoch: int,
        flops_per_step: float | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.base_lr = float(settings.learning_rate)
        self.kind = settings.scheduler
        self.warmup_steps = int(round(settings.warmup_epochs * steps_per_epoch))
        self.total_steps = int(settings.epochs * steps_per_epoch)
        self.min_factor = float(settings.min_lr_factor)
        self.plateau_factor = float(settings.plateau_factor)
        self.plateau_patience = int(settings.plateau_patience)
        self.step_count = 0
        self.plateau_scale = 1.0
        self.plateau_best = math.inf
        self.plateau_bad = 0
        self.budget_s = settings.budget_s  # None: the schedule spans the epochs
        self.elapsed_s = 0.0  # training time [s] of the epochs done
        self.step_seconds = 0.0  # seconds per step of the last epoch (0: not yet measured)
        self.epoch_steps = 0  # steps done in the current epoch
        self.anchor_s = 0.0  # this epoch's seconds at its last measurement [s] (0: none yet)
        self.anchor_steps = 0  # this epoch's steps at that measurement
        self.progress_seen = 0.0  # the largest time progress applied so far (the cosine never climbs back)
        self.budget_flops = settings.budget_flops  # None: no FLOP budget
        self.flops_per_step = flops_per_step  # training FLOPs of one optimiser step (None: not counted)
        self.epochs_step_count = 0  # steps of the epochs done (the FLOP budget is checked at epoch ends)
        if self.budget_flops is not None and not flops_per_step:
            raise TrainingError(
                f"'training.budget_flops' = {self.budget_flops:g} needs the model's FLOPs per event, which "
                "could not be counted (see the warning above); use training.budget_minutes or epochs instead"
            )
        self._apply()

    def progress(self, step: int) -> float:
        """Progress of the cosine in [0, 1]: over the steps after warmup, or over the time budget."""
        if self.budget_s is not None or self.budget_flops is not None:
            done = 0.0
            if self.budget_s is not None:
                spent = self.elapsed_s + self.anchor_s + (self.epoch_steps - self.anchor_steps) * self.step_seconds
                done = max(spent / self.budget_s, self.progress_seen)
            if self.budget_flops is not None:
                done = max(done, step * self.flops_per_step / self.budget_flops)
            return min(1.0, max(0.0, done))
        span = max(1, self.total_steps - self.warmup_steps - 1)
        return min(1.0, max(0.0, (step - self.warmup_steps) / span))

    def factor(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        if self.kind == "cosine":
            p = self.progress(step)
            shape = self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * p))
        elif self.kind == "plateau":
            shape = self.plateau_scale
        else:
            shape = 1.0
        return warm * shape

    @property
    def lr(self) -> float:
        return self.base_lr * self.factor(self.step_count)

    def _apply(self) -> None:
        if self.budget_s is not None:
            self.progress_seen = self.progress(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def step(self) -> None:
        """After each optimiser step."""
        self.step_count += 1
        self.epoch_steps += 1
        self._apply()

    def epoch_time(self, elapsed_s: float, steps: int, seconds: float) -> None:
        """After each epoch: the training time of all epochs so far [s] and this epoch's steps and seconds."""
        self.elapsed_s = float(elapsed_s)
        if steps > 0:
            self.step_seconds = float(seconds) / steps
        self.epoch_steps = 0
        self.anchor_s, self.anchor_steps = 0.0, 0
        self.epochs_step_count = self.step_count
        self._apply()

    def running_estimate(self, seconds: float, steps: int) -> None:
        """Within an epoch: its first ``steps`` steps took ``seconds`` [s]. The time spent is anchored
        there, and the steps after it count at the rate between this measurement and the one
        before; the first measurement of an epoch keeps the last epoch's rate (none in the first
        epoch: the time holds at the anchor until the second). So a start-up cost (compilation,
        loader workers) is counted once, never extrapolated step by step."""
        if steps <= 0:
            return
        seconds = float(seconds)
        if 0 < self.anchor_steps < steps:
            self.step_seconds = (seconds - self.anchor_s) / (steps - self.anchor_steps)
        self.anchor_s, self.anchor_steps = seconds, int(steps)
        self._apply()

    def budget_spent(self) -> bool:
        """Whether the epochs done have reached the time or the FLOP budget (False without one)."""
        if self.budget_s is not None and self.elapsed_s >= self.budget_s:
            return True
        return self.budget_flops is not None and self.epochs_step_count * self.flops_per_step >= self.budget_flops

    def epoch_end(self, val_loss: float) -> None:
        """After each validation (the plateau schedule reacts to it)."""
        if self.kind != "plateau":
            return
        if val_loss < self.plateau_best:
            self.plateau_best, self.plateau_bad = val_loss, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad >= self.plateau_patience:
                self.plateau_scale *= self.plateau_factor
                self.plateau_bad = 0
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {
            "step_count": self.step_count,
            "plateau_scale": self.plateau_scale,
            "plateau_best": self.plateau_best,
            "plateau_bad": self.plateau_bad,
            "elapsed_s": self.elapsed_s,
            "step_seconds": self.step_seconds,
            "epoch_steps": self.epoch_steps,
            "epochs_step_count": self.epochs_step_count,
            "anchor_s": self.anchor_s,
            "anchor_steps": self.anchor_steps,
            "progress_seen": self.progress_seen,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step_count = int(state["step_count"])
        self.plateau_scale = float(state["plateau_scale"])
        self.plateau_best = float(state["plateau_best"])
        self.plateau_bad = int(state["plateau_bad"])
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self.step_seconds = float(state.get("step_seconds", 0.0))
        self.epoch_steps = int(state.get("epoch_steps", 0))
        self.epochs_step_count = int(state.get("epochs_step_count", self.step_count))
        self.anchor_s = float(state.get("anchor_s", 0.0))
        self.anchor_steps = int(state.get("anchor_steps", 0))
        self.progress_seen = float(state.get("progress_seen", 0.0))
        self._apply()


@dataclass
class EarlyStopping:
    """Stop after ``patience`` epochs without the validation loss falling by more than ``min_delta``."""

    patience: int
    min_delta: float = 0.0
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, val_loss: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s validation loss; True when it is the best so far."""
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])


@dataclass
class StepContext:
    """What one training step needs besides the batch."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    normaliser: TargetNormaliser
    weights: dict[str, float]
    grad_clip: float
    device: torch.device
    amp_dtype: torch.dtype | None
    symmetries: HexSymmetries | None = None
    augment_generator: torch.Generator | None = None
    params: list[torch.nn.Parameter] = field(default_factory=list)
    uncertainty_beta: float = 0.0  # weight exponent of the Gaussian NLL (module docstring)

    def __post_init__(self) -> None:
        if not self.params:
            self.params = [p for p in self.model.parameters() if p.requires_grad]


@dataclass
class EpochResult:
    loss: float
    events: int
    steps: int
    seconds: float


def train_step(sc: StepContext, batch: Batch) -> torch.Tensor:
    """One optimiser step on ``batch``; returns the (detached) loss on the device."""
    if sc.symmetries is not None:
        assert sc.augment_generator is not None
        batch = sc.symmetries.apply(batch, sc.symmetries.draw(len(batch), sc.augment_generator))
    target = sc.normaliser.normalise(batch.targets)
    with autocast(sc.device, sc.amp_dtype):
        pred = sc.model(batch)
    per = per_event_losses(pred, target, list(sc.weights), sc.uncertainty_beta)
    loss = combine({t: v.mean() for t, v in per.items()}, sc.weights)
    sc.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if sc.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(sc.params, sc.grad_clip)
    sc.optimizer.step()
    sc.schedule.step()
    return loss.detach()


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True, file=sys.stderr)


def train_epoch(
    sc: StepContext,
    batches: Iterator[Batch],
    n_steps: int,
    epoch: int,
    ctx: DistContext,
    progress: bool = False,
    step_hook: Callable[[int, int], None] | None = None,
    stop: Callable[[int], bool] | None = None,
) -> EpochResult:
    """One pass over the training batches, or fewer: ``stop(step)`` (called after every step
    but the last) ends the pass early when it says True (a spent budget). Raises :class:`TrainingError` at a
    non-finite loss, naming the epoch and the step (counted from 1), before anything of this
    epoch is saved."""
    sc.model.train()
    sync_every = 1 if sc.device.type == "cpu" else GPU_SYNC_EVERY
    losses = torch.zeros(max(n_steps, 1), device=sc.device)
    bar = _progress(n_steps, f"epoch {epoch}", progress and ctx.is_main)
    start = time.perf_counter()
    events = 0
    step = 0
    checked = 0
    try:
        for step, batch in enumerate(batches, start=1):
            events += len(batch)
            losses[step - 1] = train_step(sc, batch)
            if step_hook is not None:
                step_hook(epoch, step)
            if step % sync_every == 0 or step == n_steps:
                _check_finite(losses, checked, step, epoch, ctx)
                checked = step
                if bar is not None:
                    bar.update(step - bar.n)
                    bar.set_postfix(loss=f"{losses[step - 1].item():.4g}", lr=f"{sc.schedule.lr:.3g}")
            if stop is not None and step < n_steps and stop(step):
                break
        if step > checked:
            _check_finite(losses, checked, step, epoch, ctx)
    finally:
        if bar is not None:
            bar.close()
    if step == 0:
        raise TrainingError(f"epoch {epoch}: no training batch (the training split is smaller than one batch)")
    total = all_reduce_sum(ctx, torch.stack([losses[:step].sum(), torch.tensor(float(events), device=sc.device)]))
    seconds = time.perf_counter() - start
    mean_loss = float(total[0].item()) / (step * ctx.world_size)
    return EpochResult(loss=mean_loss, events=int(total[1].item()), steps=step, seconds=seconds)


def _check_finite(losses: torch.Tensor, lo: int, hi: int, epoch: int, ctx: DistContext) -> None:
    window = losses[lo:hi]
    bad = ~torch.isfinite(window)
    local = bool(bad.any().item())
    if not any_true(ctx, local):
        return
    first = lo + int(torch.nonzero(bad)[0].item()) + 1 if local else 1 << 62
    first = all_reduce_min(ctx, first)
    value = losses[first - 1].item() if local else float("nan")
    raise TrainingError(
        f"the training loss is not finite ({value}) at epoch {epoch}, step {first}; training stopped. "
        "The last checkpoint (end of the previous epoch) is kept; lower the learning rate, turn on "
        "grad_clip, or look for bad values in the tensors"
    )


@dataclass(frozen=True)
class Validation:
    """One pass over the validation split: the weighted loss, the loss per target (standardised
    units) and each target's resolution in physical units (:mod:`airshower.training.resolution`)."""

    loss: float
    per_target: dict[str, float]
    resolution: dict[str, Resolution]


@torch.no_grad()
def validate(
    model: torch.nn.Module,
    batches: Iterator[Batch],
    normaliser: TargetNormaliser,
    weights: Mapping[str, float],
    device: torch.device,
    amp_dtype: torch.dtype | None,
    ctx: DistContext,
    uncertainty_beta: float = 0.0,
) -> Validation:
    """The loss and resolutions over the validation events (all processes together)."""
    was_training = model.training
    model.eval()
    names = list(weights)
    sums = torch.zeros(len(names) + 1, dtype=torch.float64, device=device)
    meter = ResolutionMeter(names, normaliser)
    for batch in batches:
        target = normaliser.normalise(batch.targets)
        with autocast(device, amp_dtype):
            pred = model(batch)
        per = per_event_losses(pred, target, names, uncertainty_beta)
        sums[: len(names)] += torch.stack([per[t].double().sum() for t in names])
        sums[-1] += len(batch)
        meter.add(pred, batch.targets)
    all_reduce_sum(ctx, sums)
    model.train(was_training)
    n = float(sums[-1].item())
    if n == 0:
        raise TrainingError("the validation split holds no events")
    per_target = {t: float(sums[i].item()) / n for i, t in enumerate(names)}
    total = sum(weights[t] * per_target[t] for t in names)
    return Validation(total, per_target, meter.result(ctx, device))
