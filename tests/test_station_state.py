"""The cell states of the window: their codes are part of the tensor-file contract."""

from __future__ import annotations

import airshower.io.tensors as tensors
from airshower.station_state import StationState


def test_station_state_codes_are_stable() -> None:
    assert [int(s) for s in StationState] == [0, 1, 2, 3, 4]
    assert [s.name for s in StationState] == ["ABSENT", "DEAD", "SILENT", "TRIGGERED", "SATURATED"]


def test_the_tensor_contract_names_the_same_states() -> None:
    assert tensors.StationState is StationState
