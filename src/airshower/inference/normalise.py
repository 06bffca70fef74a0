"""Standardisation of the targets, fitted on the training split and stored in the checkpoint.

The networks predict every target in standardised units ``z = (y - shift) / scale``
(per component). Shift and scale come from the training split:

* every component by its mean and standard deviation, except
* the horizontal components of a target (its leading ``horizontal`` components, the (x, y)
  of ``axis`` and ``core`` in the window frame; :mod:`airshower.targets`): shift 0 and one
  common scale, the RMS over these components.

Horizontal components share one scale and no shift so that the standardisation commutes
with the rotations and reflections of the hexagon (:mod:`airshower.training.augment`): a
rotated target standardises to the rotated standardised target.

A per-event uncertainty predicted as a log-variance s in standardised units becomes the
standard deviation sigma = exp(s / 2) * scale in the target's physical unit
(:meth:`TargetNormaliser.sigma`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from airshower.errors import TrainingError
from airshower.targets import TARGETS, sigma_key

_MIN_SCALE = 1e-6


class _Moments:
    """Running sums (float64) of one target, per component, for a one-pass fit over chunks."""

    def __init__(self, k: int) -> None:
        self.n = 0
        self.s1 = torch.zeros(k, dtype=torch.float64)
        self.s2 = torch.zeros(k, dtype=torch.float64)

    def add(self, values: torch.Tensor) -> None:
        v = values.detach().to("cpu", torch.float64).reshape(values.shape[0], -1)
        self.n += v.shape[0]
        self.s1 += v.sum(0)
        self.s2 += (v * v).sum(0)


class TargetNormaliser:
    """Per-target shift and scale; :meth:`normalise` and :meth:`denormalise` map dicts of tensors."""

    def __init__(self, shift: Mapping[str, torch.Tensor], scale: Mapping[str, torch.Tensor]) -> None:
        self.shift = {k: v.detach().to(torch.float32).cpu() for k, v in shift.items()}
        self.scale = {k: v.detach().to(torch.float32).cpu() for k, v in scale.items()}
        self._cache: dict[tuple[str, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def targets(self) -> list[str]:
        return list(self.shift)

    @classmethod
    def fit(cls, chunks: object, targets: list[str]) -> TargetNormaliser:
        """Fit on an iterable of target dicts (one pass; each a name -> (n,) or (n, k) tensor)."""
        moments = {t: _Moments(TARGETS[t].components) for t in targets}
        for chunk in chunks:  # type: ignore[attr-defined]
            for t in targets:
                moments[t].add(chunk[t])
        shift: dict[str, torch.Tensor] = {}
        scale: dict[str, torch.Tensor] = {}
        for t, m in moments.items():
            if m.n == 0:
                raise TrainingError(f"cannot standardise target {t!r}: the training split holds no events")
            mean = m.s1 / m.n
            var = (m.s2 / m.n - mean * mean).clamp_min(0.0)
            sh, sc = mean.clone(), var.sqrt()
            h = TARGETS[t].horizontal
            if h:
                sh[:h] = 0.0
                sc[:h] = (m.s2[:h].sum() / (m.n * h)).sqrt()
            sc = torch.where(sc > _MIN_SCALE, sc, torch.ones_like(sc))
            shift[t], scale[t] = sh.float(), sc.float()
        return cls(shift, scale)

    def _get(self, name: str, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (name, ref.device)
        if key not in self._cache:
            self._cache[key] = (self.shift[name].to(ref.device), self.scale[name].to(ref.device))
        return self._cache[key]

    def _shape(self, v: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return p.reshape(()) if v.dim() == 1 else p

    def normalise(self, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Standardised copies of the targets this normaliser knows (others are left out)."""
        out = {}
        for name in self.shift:
            v = values[name].float()
            sh, sc = self._get(name, v)
            out[name] = (v - self._shape(v, sh)) / self._shape(v, sc)
        return out

    def denormalise(self, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Physical units from standardised predictions (the inverse of :meth:`normalise`)."""
        out = {}
        for name in self.shift:
            if name not in values:
                continue
            v = values[name].float()
            sh, sc = self._get(name, v)
            out[name] = v * self._shape(v, sc) + self._shape(v, sh)
        return out

    def sigma(self, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Standard deviations in physical units from predicted log-variances (standardised units).

        ``values`` is a network's output; for each target of this normaliser whose
        log-variance (``<target>_logvar``) it holds, ``exp(logvar / 2) * scale`` is returned
        under the target's name. Targets without a log-variance are left out.
        """
        out = {}
        for name in self.shift:
            key = sigma_key(name)
            if key not in values:
                continue
            v = values[key].float()
            _, sc = self._get(name, v)
            out[name] = torch.exp(0.5 * v) * self._shape(v, sc)
        return out

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """Tensors only, for a ``weights_only`` checkpoint."""
        return {"shift": dict(self.shift), "scale": dict(self.scale)}

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Mapping[str, torch.Tensor]]) -> TargetNormaliser:
        return cls(state["shift"], state["scale"])
