"""Data augmentation with the twelve symmetries of the hexagon (the dihedral group D6).

The symmetries are those of :mod:`airshower.hexgrid` (numbering, axial and Cartesian
matrices, and the index map of the window cells, :func:`~airshower.hexgrid.window_sources`):
symmetry ``k`` rotates by ``60 deg * (k % 6)`` about the hottest station, after a reflection
``y -> -y`` for ``k >= 6``. A window tensor ``(B, G, G, ...)`` is moved cell by cell; cells
that arrive from outside the G x G rhombus are filled as absent stations (state ABSENT,
zero signal, time and position); cells within hexagonal distance G // 2 are never lost.
Cartesian vectors -- station positions (x, y, z) [m] and every target with horizontal
components (:attr:`airshower.targets.Target.horizontal`: the shower axis (x, y, z), the core
(x, y) [m]) -- have their x, y components transformed alike; z is unchanged.

:class:`HexSymmetries` does the same as :func:`airshower.hexgrid.transform_fields` (a test
checks that, for every k), for a whole batch with one symmetry per event, with its tables
kept on the training device and without any host synchronisation (no check of ``k`` on the
host), so that augmenting never stalls a GPU.
"""

from __future__ import annotations

import numpy as np
import torch

from airshower.batch import Batch
from airshower.hexgrid import N_SYMMETRIES, window_sources, xy_matrix
from airshower.station_state import StationState
from airshower.targets import TARGETS

__all__ = ["N_SYMMETRIES", "HexSymmetries"]


class HexSymmetries:
    """The 12 symmetries as gather tables on one device, applied to whole batches at once."""

    def __init__(self, grid_size: int, device: torch.device | str = "cpu") -> None:
        self.grid_size = grid_size
        self.device = torch.device(device)
        src = window_sources(grid_size)  # -1: from outside the window -> the padding cell G * G
        self.src = torch.as_tensor(np.where(src < 0, grid_size * grid_size, src), device=self.device)
        self.matrices = torch.as_tensor(
            np.stack([xy_matrix(k) for k in range(N_SYMMETRIES)]), dtype=torch.float32, device=self.device
        )

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` symmetry indices drawn uniformly with ``generator`` (on the generator's device)."""
        return torch.randint(0, N_SYMMETRIES, (n,), generator=generator, device=generator.device)

    def _move(self, x: torch.Tensor, index: torch.Tensor, fill: float | int = 0) -> torch.Tensor:
        """Gather cells of ``x`` (B, G, G, ...) with ``index`` (B, G*G); index G*G reads ``fill``."""
        b, g = x.shape[0], self.grid_size
        rest = x.shape[3:]
        flat = x.reshape(b, g * g, *rest)
        pad = torch.full((b, 1, *rest), fill, dtype=x.dtype, device=x.device)
        flat = torch.cat([flat, pad], dim=1)
        rows = torch.arange(b, device=x.device).unsqueeze(1)
        return flat[rows, index].reshape(b, g, g, *rest)

    def _rotate_xy(self, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """Rotate the first two components of the last axis of ``v`` (B, ..., >=2) by m (B, 2, 2)."""
        xy = v[..., :2].float()
        shape = xy.shape
        flat = xy.reshape(shape[0], -1, 2)
        out = torch.einsum("bij,bnj->bni", m, flat).reshape(shape).to(v.dtype)
        return torch.cat([out, v[..., 2:]], dim=-1)

    def apply(self, batch: Batch, k: torch.Tensor) -> Batch:
        """The batch with symmetry ``k[i]`` applied to event ``i`` (windows, positions, axis, core)."""
        k = k.to(self.device)
        index = self.src[k]
        m = self.matrices[k]
        targets = dict(batch.targets)
        for name, values in batch.targets.items():
            target = TARGETS.get(name)
            if target is not None and target.horizontal:
                targets[name] = self._rotate_xy(values, m)
        return Batch(
            traces=self._move(batch.traces, index),
            start_time=self._move(batch.start_time, index),
            state=self._move(batch.state, index, int(StationState.ABSENT)),
            position=self._rotate_xy(self._move(batch.position, index), m),
            targets=targets,
        )
