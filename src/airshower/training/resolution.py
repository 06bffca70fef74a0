"""The validation resolution of every trained target in physical units, once per epoch.

The loss is in the trainer's standardised units; what a physicist reads is the resolution:
for Xmax the standard deviation of Xmax_rec - Xmax_true [g/cm2]. After each epoch the
predictions on the validation split are turned into physical units (the normaliser's
:meth:`~airshower.inference.normalise.TargetNormaliser.denormalise`, then the target's
finalisation, as ``airshower predict`` does) and each target's residual
(:attr:`airshower.targets.Target.residual`) is summarised by one statistic:

* ``std`` (standard deviation) for targets whose metrics include it (``xmax`` [g/cm2],
  ``lg_energy`` (E_rec / E_true - 1), ``ln_a``);
* ``q68`` (the radius holding 68.27 % of the events) for the others (``axis`` [deg],
  ``core`` [m]), from a histogram of 0.5 % wide logarithmic bins.

Both are sums over the events, so several processes (DDP) add theirs before the result. The
training log shows them and ``history.csv`` records them, one column per target,
``val_<target>_<statistic>[_<unit>]`` (:func:`resolution_columns`; e.g. ``val_xmax_std_gcm2``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from airshower.evaluation.binned import Q68  # the fraction within one sigma of a Gaussian
from airshower.inference.normalise import TargetNormaliser
from airshower.targets import TARGETS, Target
from airshower.training.distributed import DistContext, all_reduce_sum

# q68 histogram: log10 of the residual [its unit] from 1e-4 to 1e6 in 2000 bins (0.5 % wide),
# one bin below and one above
_LOG_LO, _LOG_HI, _BINS = -4.0, 6.0, 2000


def statistic(target: Target) -> str:
    """The statistic that summarises ``target``'s residual: ``std`` where its metrics have one, else ``q68``."""
    return "std" if "std" in target.statistics or "q68" not in target.statistics else "q68"


def column(name: str) -> str:
    """The ``history.csv`` column of target ``name``'s resolution: ``val_<name>_<statistic>[_<unit>]``."""
    target = TARGETS[name]
    unit = re.sub(r"[^a-z0-9]", "", target.residual_unit.lower())
    return f"val_{name}_{statistic(target)}" + (f"_{unit}" if unit and unit != "1" else "")


def resolution_columns(targets: Iterable[str]) -> list[str]:
    """The ``history.csv`` columns of the resolutions of ``targets``, in their order."""
    return [column(t) for t in targets]


@dataclass(frozen=True)
class Resolution:
    """One target's resolution on the validation split: ``value`` in its residual unit."""

    target: str
    statistic: str
    value: float

    @property
    def column(self) -> str:
        return column(self.target)

    def text(self) -> str:
        """For the log, as figures show it: ``xmax std 31.2 g/cm2``, ``lg_energy std 12.3 %``."""
        t = TARGETS[self.target]
        unit = t.display_unit if t.display_unit is not None else t.residual_unit
        shown = self.value * t.display_scale
        number = f"{shown:.{t.decimals}f}" if math.isfinite(shown) else "nan"
        return f"{self.target} {self.statistic} {number}" + (f" {unit}" if unit and unit != "1" else "")


class ResolutionMeter:
    """Sums of the residuals of ``targets`` over validation batches (:meth:`add`), then :meth:`result`."""

    def __init__(self, targets: Sequence[str], normaliser: TargetNormaliser) -> None:
        self.targets = list(targets)
        self.normaliser = normaliser
        self.kind = {t: statistic(TARGETS[t]) for t in self.targets}
        # per target: [n, sum r, sum r^2] (std) or the histogram of log10 |r| (q68)
        self.sums = {
            t: np.zeros(3 if k == "std" else _BINS + 2, dtype=np.float64) for t, k in self.kind.items()
        }

    def add(self, pred: Mapping[str, torch.Tensor], truth: Mapping[str, torch.Tensor]) -> None:
        """Add one batch: the network's output (standardised) and the true values (physical units)."""
        physical = self.normaliser.denormalise({t: pred[t].detach().float() for t in self.targets})
        for t in self.targets:
            target = TARGETS[t]
            reco = target.finalise(physical[t].cpu().numpy())
            residual = np.asarray(target.residual(reco, truth[t].detach().float().cpu().numpy()), np.float64)
            residual = residual[np.isfinite(residual)]
            if self.kind[t] == "std":
                self.sums[t] += (residual.size, residual.sum(), (residual * residual).sum())
            else:
                with np.errstate(divide="ignore"):
                    pos = (np.log10(np.abs(residual)) - _LOG_LO) / (_LOG_HI - _LOG_LO) * _BINS
                index = np.clip(np.floor(pos), -1, _BINS).astype(np.int64) + 1
                self.sums[t] += np.bincount(index, minlength=_BINS + 2)

    def result(self, ctx: DistContext, device: torch.device) -> dict[str, Resolution]:
        """The resolution of every target, the events of all processes together (NaN without events)."""
        if not self.targets:
            return {}
        flat = torch.from_numpy(np.concatenate([self.sums[t] for t in self.targets])).to(device)
        flat = all_reduce_sum(ctx, flat).cpu().numpy()
        out: dict[str, Resolution] = {}
        offset = 0
        for t in self.targets:
            sums = flat[offset : offset + self.sums[t].size]
            offset += sums.size
            out[t] = Resolution(t, self.kind[t], _std(sums) if self.kind[t] == "std" else _q68(sums))
        return out


def _std(sums: np.ndarray) -> float:
    n, s1, s2 = (float(x) for x in sums)
    if n < 2:
        return float("nan")
    return math.sqrt(max(s2 - s1 * s1 / n, 0.0) / (n - 1))  # ddof=1, as the metrics


def _q68(histogram: np.ndarray) -> float:
    total = float(histogram.sum())
    if total == 0:
        return float("nan")
    cumulative = np.cumsum(histogram) / total
    k = int(np.searchsorted(cumulative, Q68))  # the bin where the cumulative fraction reaches Q68
    if k == 0:
        return 10.0**_LOG_LO
    if k > _BINS:
        return 10.0**_LOG_HI
    below = cumulative[k - 1]
    inside = (Q68 - below) / max(cumulative[k] - below, 1e-300)  # linear within the bin (in log10)
    return float(10.0 ** (_LOG_LO + (k - 1 + inside) * (_LOG_HI - _LOG_LO) / _BINS))
