"""The typed container one network step consumes: the tensors of the tensor-file contract."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import torch

from airshower.station_state import StationState


@dataclass
class Batch:
    """One batch of events on one device.

    Shapes (B events, G x G axial window, T bins; see :mod:`airshower.io.tensors`):
    ``traces`` (B, G, G, T) [VEM/bin], ``start_time`` (B, G, G) [ns], ``state`` (B, G, G)
    int (:class:`~airshower.station_state.StationState`), ``position`` (B, G, G, 3) [m],
    ``targets``: name -> (B,) or (B, k) tensors (absent at inference).
    """

    traces: torch.Tensor
    start_time: torch.Tensor
    state: torch.Tensor
    position: torch.Tensor
    targets: dict[str, torch.Tensor] = field(default_factory=dict)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """The same batch on another device."""
        moved = {
            f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
            for f in fields(self)
            if f.name != "targets"
        }
        targets = {k: v.to(device, non_blocking=non_blocking) for k, v in self.targets.items()}
        return replace(self, **moved, targets=targets)

    def __len__(self) -> int:
        return int(self.traces.shape[0])

    @property
    def exists(self) -> torch.Tensor:
        """(B, G, G) bool: cells holding a working station (silent, triggered or saturated)."""
        return self.state >= StationState.SILENT
