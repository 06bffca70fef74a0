"""Small hand-written files in the format of the Auger open data (JSON events, summary CSV), for tests.

Three events on a lattice rotated by 0.15 deg and shifted, as the release's site frame is: a
hybrid event (seven stations around cell (0, 0), one rejected accidental), an SD-only event,
and an SD-750 event with an infill station (skipped by the source).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from airshower.hexgrid import axial_to_xy

ANGLE = np.radians(0.15)  # the lattice in the site frame: rotated by 0.15 deg, node (0, 0) at ORIGIN
ORIGIN = (-4131.8, 444.45)
HYBRID, SD_ONLY, INFILL = 81847956000, 81900000001, 81900000002
CENTRE_T = 39_209_205.0


def site(q: int, r: int, jitter: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Site-frame position [m] of lattice cell (q, r), off its node by ``jitter``."""
    x, y = axial_to_xy(np.array(q), np.array(r))
    x, y = float(x) + jitter[0], float(y) + jitter[1]
    c, s = np.cos(ANGLE), np.sin(ANGLE)
    return c * x - s * y + ORIGIN[0], s * x + c * y + ORIGIN[1]


def station(sid, cell, signal, t, sat=1, selected=1, start=5, pmts=None, jitter=(8.0, -5.0), z=2.5):
    x, y = site(*cell, jitter)
    flat = [0.0] * 5 + [1.0] * 20 + [0.0] * 5
    pmt = pmts if pmts is not None else {"pmt1": flat, "pmt2": flat, "pmt3": flat}
    return {"id": sid, "name": f"S{sid}", "x": round(x, 2), "y": round(y, 2), "z": z, "t": t, "dt": 12.0,
            "signal": signal, "dsignal": 1.0, "sat": sat, "isSelected": selected, "signalStartBin": start,
            "signalStopBin": start + 20, "spDistance": 1000.0, **pmt}


def event(eid, stations, sd1500=1):
    return {"meta": {"release": 3, "format": 2}, "info": {"id": eid, "date": "2008-07-03T10:05:59Z"},
            "flags": {"sd1500": sd1500, "sd750": 1 - sd1500}, "sdrec": {"theta": 54.1, "phi": 53.8, "energy": 56.8},
            "stations": stations}


RAMP = list(range(30))
CENTRE_PMTS = {"pmt1": [float(v) for v in RAMP], "pmt2": [3.0 * v for v in RAMP], "pmt3": []}  # mean 2 * bin


def hybrid_event():
    """A hexagon of seven stations around cell (0, 0), the centre hottest; one rejected accidental far away."""
    cells = [(0, 0), (1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)]
    ids = [502, 822, 821, 831, 509, 503, 504]
    out = [station(502, (0, 0), 900.0, CENTRE_T, start=10, pmts=CENTRE_PMTS)]
    for k, (sid, cell) in enumerate(zip(ids[1:], cells[1:])):
        out.append(station(sid, cell, 100.0 + k, CENTRE_T + 100.0 * (k + 1), sat=2 if sid == 822 else 1))
    out.append(station(999, (9, 9), 3.0, CENTRE_T - 5000.0, selected=0))  # accidental: earlier, off the shower
    return event(HYBRID, out)


def sd_only_event():
    """Hottest station in cell (1, 0): its neighbour (1, 1) is no station of the dataset -> not 6T5."""
    return event(SD_ONLY, [
        station(822, (1, 0), 300.0, 1000.0, jitter=(-20.0, 12.0)),
        station(601, (2, 0), 50.0, 1400.0),
        station(602, (2, -1), 40.0, 1300.0, sat=0),
        station(502, (0, 0), 80.0, 1200.0, z=3.5),
    ])


def infill_event():
    """An SD-750 event with a station on the infill grid (half-way between nodes): skipped, never read."""
    x, y = site(0, 0, (750.0, 0.0))
    return event(INFILL, [dict(station(1760, (0, 0), 10.0, 0.0), x=x, y=y)], sd1500=0)


SUMMARY = (
    "id,sdid,gpstime,sd_energy,fd_hdXmaxEye,fd_xmax,fd_dxmax,fd_totalEnergy,fd_dtotalEnergy\n"
    f"{HYBRID},5678,899000000,10.5,1,750,10,12.0,1.0\n"
    f"{HYBRID},5678,899000000,10.5,1,780,20,14.0,2.0\n"
    f"{HYBRID},5678,899000000,10.5,0,900,5,30.0,1.0\n"  # the eye's Xmax fails the quality selection
    f"{SD_ONLY},5679,899100000,3.2,,,,,\n"
)


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path




def write_release(folder: Path) -> tuple[list[Path], Path]:
    """(JSON event files, summary CSV) of the three events, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [write(folder, f"Auger_{e['info']['id']:012d}.json", e)
             for e in (hybrid_event(), infill_event(), sd_only_event())]
    return files, write(folder, "dataSummarySD1500.csv", SUMMARY)
