"""How much Xmax information do simple station observables carry? A reference for the networks.

Fits a gradient-boosted regression (scikit-learn) of Xmax on hand-made observables of each
event: mean rise time (t10 -> t50), fall time (t50 -> t90) and lg S of the triggered stations
in four bins of distance to the shower axis, plus lg E and sec(theta). The geometry (axis,
core) and the energy are taken from the Monte-Carlo truth, so this is an optimistic
reference for what the observables hold, not a reconstruction. 5-fold cross-validated.

    .venv/bin/python -m pip install -e ".[scripts]"     # scikit-learn, not needed by the pipeline
    .venv/bin/python scripts/xmax_information.py data/default/tensors/train.h5 data/default/tensors/test.h5

Prints the standard deviation of (predicted - true) Xmax [g/cm2] with lg E and sec(theta)
alone and with all observables.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

try:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import cross_val_predict
except ModuleNotFoundError:
    sys.exit('xmax_information.py needs scikit-learn: .venv/bin/python -m pip install -e ".[scripts]"')

from airshower.io.tensors import read_arrays, tensor_info
from airshower.station_state import StationState

DISTANCE_BINS_M = ((400, 800), (800, 1200), (1200, 1600), (1600, 2200))


def observables(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(events x features, Xmax [g/cm2]) of one tensor file."""
    a = read_arrays(path)
    traces = a["inputs/traces"].astype(np.float32)
    n, g, _, t = traces.shape
    bin_ns = float(tensor_info(path)["bin_ns"])
    traces = traces.reshape(n, g * g, t)
    pos = a["inputs/position"].reshape(n, g * g, 3)
    triggered = a["inputs/state"].reshape(n, g * g) >= StationState.TRIGGERED
    axis, core = a["targets/axis"], a["targets/core"]
    d = pos[..., :2] - core[:, None, :]
    along = (d * axis[:, None, :2]).sum(-1)
    r = np.sqrt(np.maximum((d**2).sum(-1) - along**2, 0.0))  # distance to the axis [m]
    signal = traces.sum(-1)
    cum = np.cumsum(traces, -1) / np.maximum(signal[..., None], 1e-9)
    t10, t50, t90 = ((cum < q).sum(-1) for q in (0.1, 0.5, 0.9))
    per_station = ((t50 - t10) * bin_ns, (t90 - t50) * bin_ns, np.log10(np.maximum(signal, 1e-3)))
    cols = [a["targets/lg_energy"], 1.0 / axis[:, 2]]
    for lo, hi in DISTANCE_BINS_M:
        sel = triggered & (r >= lo) & (r < hi)
        count = sel.sum(1)
        for q in per_station:
            mean = np.where(sel, q, 0.0).sum(1) / np.maximum(count, 1)
            cols.append(np.where(count > 0, mean, np.nan))
    return np.column_stack(cols), a["targets/xmax"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tensors", nargs="+", help="tensor files (events pooled)")
    args = parser.parse_args()
    parts = [observables(p) for p in args.tensors]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    high = x[:, 0] > 19.4
    print(f"{len(y)} events, std(Xmax) = {y.std():.1f} g/cm2")
    for name, cols in (("lg E + sec(theta)", [0, 1]), ("all observables", list(range(x.shape[1])))):
        model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=0)
        res = cross_val_predict(model, x[:, cols], y, cv=5) - y
        print(f"{name:>18}: std(res) = {res.std():.1f} g/cm2 (lg E > 19.4: {res[high].std():.1f})")


if __name__ == "__main__":
    main()
