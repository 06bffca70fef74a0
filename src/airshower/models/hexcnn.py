"""``hexcnn``: an AixNet-like network (Erdmann, Glombitza, Walz, Astropart. Phys. 97 (2018) 46).

Per station (shared weights, only existing stations): a small 1D convolution over the
trace (:class:`~airshower.models.trace_encoders.ConvTraceEncoder`); its code joins the
station features (start time, position, total signal, state; see
:mod:`airshower.models.features`); hexagonal convolutions over the window
(:class:`HexConvBody`); a dense head per target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from airshower.batch import Batch
from airshower.models.base import AirshowerModel
from airshower.models.features import N_STATION_FEATURES, present_mask, station_features, trace_input, working_mask
from airshower.models.hexconv import HexConv2d
from airshower.models.specs import ARCHITECTURES, CONV_BODY_PARAMS, READOUTS  # noqa: F401  (re-exported)
from airshower.models.trace_encoders import ConvTraceEncoder, TraceEncoder


class HexConvBody(nn.Module):
    """Hexagonal convolutions (GELU; residual where channel counts match) and a readout.

    Input (B, C, G, G) and the (B, G, G) mask of cells holding a station: every layer
    multiplies its input by the mask, so cells outside the array contribute nothing.
    Output (B, out_features): the flattened last feature map (C_last * G * G, absent cells
    zero) or its mean and maximum over the present cells (2 * C_last).
    """

    def __init__(self, in_channels: int, channels: Sequence[int], radius: int, grid_size: int, readout: str) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.convs = nn.ModuleList()
        prev = in_channels
        for c in channels:
            self.convs.append(HexConv2d(prev, c, radius=radius))
            prev = c
        self.readout = readout
        self.out_features = prev * grid_size * grid_size if readout == "flatten" else 2 * prev

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            y = F.gelu(conv(h, mask))
            h = h + y if y.shape == h.shape else y
        m = mask.unsqueeze(1)
        h = h * m.to(h.dtype)
        if self.readout == "flatten":
            return h.flatten(1)
        count = m.sum(dim=(2, 3)).clamp_min(1).to(h.dtype)
        mean = h.sum(dim=(2, 3)) / count
        top = h.masked_fill(~m, float("-inf")).amax(dim=(2, 3))
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        return torch.cat([mean, top], dim=1)


class StationGridNetwork(AirshowerModel):
    """Shared forward of the trace-encoder + hexagonal-convolution networks."""

    encoder: TraceEncoder

    def _build_body(self, hp: dict[str, Any]) -> None:
        in_channels = self.encoder.out_features + N_STATION_FEATURES
        self.body = HexConvBody(in_channels, hp["conv_channels"], hp["kernel_radius"], self.grid_size, hp["readout"])
        self.head = self.make_head(self.body.out_features, hp["head_hidden"], hp["dropout"])

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        traces = trace_input(batch)
        codes = self.encoder(traces, working_mask(batch.state))
        x = torch.cat([codes, station_features(batch)], dim=-1).permute(0, 3, 1, 2)
        return self.head(self.body(x, present_mask(batch.state)))


class HexCNN(StationGridNetwork):
    """AixNet-like: 1D conv trace encoder, hexagonal convolutions, dense head.

    Hyperparameters (config ``models.<name>``):

    * ``trace_channels`` [8, 16]: channels of the 1D convolutions over each trace
      (each followed by a max-pool by 2);
    * ``trace_kernel`` 7: their kernel size in bins (odd);
    * ``trace_features`` 16: length of each station's trace code;
    * ``conv_channels`` [32, 32, 32]: channels of the hexagonal convolutions;
    * ``kernel_radius`` 1: hexagonal rings per convolution;
    * ``readout`` flatten | pool; ``head_hidden`` [64]; ``dropout`` 0.0 (head).
    """

    TYPE = "hexcnn"
    # declared in airshower.models.specs (the config check needs no torch), as the rule: odd trace_kernel
    HYPERPARAMETERS = ARCHITECTURES[TYPE].hyperparameters
    SUPPORTS_UNCERTAINTY = ARCHITECTURES[TYPE].supports_uncertainty

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hp: Any) -> None:
        super().__init__(grid_size, trace_bins, targets, **hp)
        self.encoder = ConvTraceEncoder(tuple(hp["trace_channels"]), hp["trace_kernel"], hp["trace_features"])
        self._build_body(hp)
