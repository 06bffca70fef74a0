"""Per-station trace encoders with shared weights, run only on the stations that exist.

Every encoder maps one trace (T bins of log1p(VEM), see :mod:`airshower.models.features`)
to a vector of ``out_features``. :meth:`TraceEncoder.forward` packs the stations of a
(B, G, G, T) window: the network runs on the working stations whose trace has a non-zero
bin, plus once on an all-zero trace whose code is given to every working station with an
empty trace (silent stations record no trace; running them one by one would give the same
code at a far higher cost). Absent and dead cells get zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from airshower.models.features import signal_mask
from airshower.models.packing import Packing, StaticShapes


class TraceEncoder(StaticShapes, nn.Module):
    """Base class: subclasses implement :meth:`encode` on packed traces and set ``out_features``.

    With ``static_shapes`` (:func:`~airshower.models.packing.set_static_shapes`) every cell's
    trace is encoded and the codes of cells without a signal replaced afterwards: the same
    result with shapes that do not depend on the data.
    """

    out_features: int

    def encode(self, traces: torch.Tensor) -> torch.Tensor:
        """(N, T) -> (N, out_features)."""
        raise NotImplementedError

    def forward(self, traces: torch.Tensor, working: torch.Tensor) -> torch.Tensor:
        """(B, G, G, T) masked traces, (B, G, G) working mask -> (B, G, G, out_features)."""
        with_signal = working & signal_mask(traces)
        if self.static_shapes:
            rows = torch.cat([traces.new_zeros(1, traces.shape[-1]), traces.reshape(-1, traces.shape[-1])], dim=0)
            codes = self.encode(rows)
            fill = working.unsqueeze(-1).to(codes.dtype) * codes[:1].reshape(1, 1, 1, -1)
            return torch.where(with_signal.unsqueeze(-1), codes[1:].reshape(*traces.shape[:3], -1), fill)
        packing = Packing.from_mask(with_signal)
        rows = torch.cat([traces.new_zeros(1, traces.shape[-1]), packing.gather(traces)], dim=0)
        codes = self.encode(rows)
        empty_code = codes[:1].reshape(1, 1, 1, -1)
        fill = working.unsqueeze(-1).to(codes.dtype) * empty_code
        return packing.scatter(codes[1:], fill=fill)


class LSTMTraceEncoder(TraceEncoder):
    """An LSTM reads the trace bin by bin; its last hidden state (top layer) is the code.

    Args: ``hidden`` units per layer, ``layers`` stacked LSTM layers. out_features = hidden.

    Under bf16 autocast on a CPU the LSTM runs in float32: CPU autocast casts ``lstm`` to
    bfloat16, and oneDNN has no bf16 LSTM on CPUs without AVX512-BF16/AMX ("could not create
    a primitive descriptor", seen on this project's AVX2 machine). On a GPU it stays under
    autocast, as cuDNN's RNN; that path has not been run yet (no GPU measurement so far).
    """

    def __init__(self, hidden: int = 32, layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, num_layers=layers, batch_first=True)
        self.out_features = hidden

    def encode(self, traces: torch.Tensor) -> torch.Tensor:
        x = traces.unsqueeze(-1)
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                _, (h_n, _) = self.lstm(x.float())
        else:
            _, (h_n, _) = self.lstm(x)
        return h_n[-1]


class ConvTraceEncoder(TraceEncoder):
    """1D convolutions over the trace, each followed by GELU and a max-pool by 2; the mean
    and maximum over time of the last feature map go through a linear layer.

    Args: ``channels`` per conv layer, ``kernel_size`` (odd, bins), ``out_features``.
    """

    def __init__(self, channels: tuple[int, ...] = (8, 16), kernel_size: int = 7, out_features: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = 1
        for c in channels:
            layers += [
                nn.Conv1d(prev, c, kernel_size, padding=kernel_size // 2),
                nn.GELU(),
                nn.MaxPool1d(2, ceil_mode=True),
            ]
            prev = c
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Linear(2 * prev, out_features)
        self.out_features = out_features

    def encode(self, traces: torch.Tensor) -> torch.Tensor:
        h = self.conv(traces.unsqueeze(1))
        return self.proj(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=-1))
