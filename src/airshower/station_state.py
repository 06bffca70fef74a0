"""The state of one cell of the hexagonal window: what a station there is doing in the event.

Stored as int8 in ``inputs/state`` of the tensor file (:mod:`airshower.io.tensors`) and held
by :class:`airshower.batch.Batch`; the order matters: ``state >= SILENT`` is a working
station, ``state >= TRIGGERED`` one with a trace.
"""

from __future__ import annotations

from enum import IntEnum


class StationState(IntEnum):
    """State of one cell of the window."""

    ABSENT = 0  # no station there (outside the array)
    DEAD = 1  # a station that is not working in this event
    SILENT = 2  # working, not triggered
    TRIGGERED = 3
    SATURATED = 4  # triggered and saturated
