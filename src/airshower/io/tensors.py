"""The tensor file contract (HDF5): hex-grid station tensors and targets, one file per dataset.

Datasets (N events, G x G window of axial cells, T trace bins):

* ``inputs/traces``      (N, G, G, T) float16  signal per bin [VEM]
* ``inputs/start_time``  (N, G, G)    float32  trace start relative to the hottest station [ns]
* ``inputs/state``       (N, G, G)    int8     :class:`StationState`
* ``inputs/position``    (N, G, G, 3) float32  station position relative to the hottest station [m]
* ``targets/xmax`` (N,) [g/cm2]; ``targets/lg_energy`` (N,) [lg(E/eV)];
  ``targets/axis`` (N, 3) unit vector pointing to where the shower comes from;
  ``targets/core`` (N, 2) [m] relative to the hottest station; ``targets/mass`` (N,) A
* ``meta/event_id`` (N,), ``meta/source`` (N,) index into the ``sources`` attribute,
  ``meta/n_outside`` (N,) triggered stations that fell outside the window

Window axes: axis 1 is the axial q coordinate, axis 2 the axial r coordinate (see
:mod:`airshower.hexgrid`), the hottest station at the centre (G // 2, G // 2).
Attributes: ``schema_version``, ``grid_size``, ``trace_bins``, ``bin_ns``, ``sources``
(files with sizes and checksums, JSON), ``config`` (JSON).
"""

from __future__ import annotations

from enum import IntEnum

SCHEMA_VERSION = 1


class StationState(IntEnum):
    """State of one cell of the window."""

    ABSENT = 0  # no station there (outside the array)
    DEAD = 1  # a station that is not working in this event
    SILENT = 2  # working, not triggered
    TRIGGERED = 3
    SATURATED = 4  # triggered and saturated
