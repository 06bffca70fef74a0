"""Hexagonal convolution on the axial (q, r) window of :mod:`airshower.hexgrid`.

A window tensor stores cell (q, r) at index [..., q, r] (first window axis q, second r).
In that square layout the hexagonal ring of radius k around a cell is the set of offsets
(dq, dr) with ``max(|dq|, |dr|, |dq + dr|) <= k`` (the hexagonal distance, see
:func:`airshower.hexgrid.hex_distance`): for k = 1 the 3 x 3 block minus the corners
(+1, +1) and (-1, -1), i.e. the cell and its six neighbours; in general 3k(k+1)+1 taps.

:class:`HexConv2d` is a :class:`torch.nn.Conv2d`-like layer on (B, C, G, G) inputs whose
(2k+1) x (2k+1) weight is multiplied by that fixed hexagonal mask, so it only ever sees
the cell and its rings. Zero padding of k cells keeps the window size at stride 1; cells
outside the array contribute nothing when a ``mask`` (B, G, G) of cells holding a station
is passed (the input is multiplied by it). Conv2d computes a cross-correlation:
``out[q, r] = sum_{dq, dr} w[dq + k, dr + k] * x[q + dq, r + dr]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def hex_kernel_mask(radius: int) -> torch.Tensor:
    """(2k+1, 2k+1) bool: True at kernel index [dq + k, dr + k] where max(|dq|,|dr|,|dq+dr|) <= k."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    offsets = torch.arange(-radius, radius + 1)
    dq = offsets[:, None]
    dr = offsets[None, :]
    return (dq.abs() <= radius) & (dr.abs() <= radius) & ((dq + dr).abs() <= radius)


def hex_taps(radius: int) -> int:
    """Number of cells a hexagonal kernel of ``radius`` covers: 3 k (k + 1) + 1."""
    return 3 * radius * (radius + 1) + 1


class HexConv2d(nn.Module):
    """Convolution over a cell and its hexagonal rings up to ``radius`` on the axial window.

    Args:
        in_channels, out_channels: channel counts.
        radius: rings covered by the kernel (1: the cell and its 6 neighbours).
        stride: step in both axial directions; the output of a strided layer lives on the
            sub-lattice spanned by (stride, 0) and (0, stride), which is again triangular.
        bias: add a learned bias per output channel.

    Input (B, C_in, G, G); optional ``mask`` (B, G, G) bool/float of cells holding a
    station: the input is multiplied by it, so cells outside the array contribute nothing.
    Output (B, C_out, G', G') with G' = floor((G - 1) / stride) + 1 (G' = G at stride 1).
    """

    kernel_mask: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        radius: int = 1,
        stride: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"channel counts must be >= 1, got {in_channels}, {out_channels}")
        if radius < 0 or stride < 1:
            raise ValueError(f"need radius >= 0 and stride >= 1, got {radius}, {stride}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.radius = radius
        self.stride = stride
        size = 2 * radius + 1
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, size, size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.register_buffer("kernel_mask", hex_kernel_mask(radius).to(torch.float32), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform init with the fan-in of the hexagonal taps; masked taps set to zero."""
        fan_in = self.in_channels * hex_taps(self.radius)
        bound = 1.0 / math.sqrt(fan_in)
        gain_bound = math.sqrt(3.0) * math.sqrt(2.0) * bound  # kaiming-uniform, ReLU-family gain
        with torch.no_grad():
            self.weight.uniform_(-gain_bound, gain_bound)
            self.weight.mul_(self.kernel_mask)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def hex_weight(self) -> torch.Tensor:
        """The effective weight: zero outside the hexagon."""
        return self.weight * self.kernel_mask.to(self.weight.dtype)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            x = x * mask.unsqueeze(1).to(x.dtype)
        return F.conv2d(x, self.hex_weight(), self.bias, stride=self.stride, padding=self.radius)

    def output_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """(B, G', G') bool: output cells whose hexagonal receptive field holds a station."""
        ones = self.kernel_mask[None, None].to(torch.float32)
        covered = F.conv2d(mask.unsqueeze(1).to(torch.float32), ones, stride=self.stride, padding=self.radius)
        return covered.squeeze(1) > 0

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, radius={self.radius}, stride={self.stride}, "
            f"bias={self.bias is not None}"
        )
