"""``lstm_hexcnn``: the Auger baseline (Pierre Auger Collaboration, JINST 16 (2021) P07019).

An LSTM (shared weights) reads the trace of each existing station; its final hidden
state, the start time, position, total signal and state form the per-station features;
hexagonal convolutions over the window (:class:`~airshower.models.hexcnn.HexConvBody`)
and a dense head follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airshower.models.hexcnn import StationGridNetwork
from airshower.models.specs import ARCHITECTURES, LSTM_PARAMS  # noqa: F401  (re-exported)
from airshower.models.trace_encoders import LSTMTraceEncoder


class LSTMHexCNN(StationGridNetwork):
    """LSTM trace encoder, hexagonal convolutions, dense head.

    Hyperparameters (config ``models.<name>``):

    * ``lstm_hidden`` 16, ``lstm_layers`` 1: the trace LSTM;
    * ``conv_channels`` [32, 32, 32]; ``kernel_radius`` 1; ``readout`` flatten | pool;
    * ``head_hidden`` [64]; ``dropout`` 0.0 (head).
    """

    TYPE = "lstm_hexcnn"
    # declared in airshower.models.specs (the config check needs no torch)
    HYPERPARAMETERS = ARCHITECTURES[TYPE].hyperparameters
    SUPPORTS_UNCERTAINTY = ARCHITECTURES[TYPE].supports_uncertainty

    def __init__(self, grid_size: int, trace_bins: int, targets: Sequence[str], **hp: Any) -> None:
        super().__init__(grid_size, trace_bins, targets, **hp)
        self.encoder = LSTMTraceEncoder(hp["lstm_hidden"], hp["lstm_layers"])
        self._build_body(hp)
