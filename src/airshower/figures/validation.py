"""Validation figures of the simulation (``airshower simulate --validate DIR``).

Each figure is drawn from simulated events, which the caller passes in (a shard file read
with :func:`airshower.io.events.read_events`, or the sample
:func:`airshower.simulate.simulated_sample` simulates in memory), or, where it shows a
parametrisation itself, from the physics modules directly:

* ``xmax_distributions``: Xmax of each primary at 10 EeV from the generalised Gumbel of
  the dataset's hadronic model, with the Auger moment parametrisation (xmax_moments_check);
* ``ldf``: station signals against the distance to the shower axis for 10^19-10^19.5 eV
  and zenith < 40 deg, with the mean expected muon and EM signals;
* ``muon_fraction``: muon fraction of S(1000) against zenith at 10 EeV (p and Fe, averaged
  over their Xmax and Rmu distributions) with the docs/physics.md reference points, and the
  simulated stations at 800-1200 m;
* ``trace_shapes``: mean traces (normalised to unit sum, aligned at the signal start) in
  bins of axis distance;
* ``event_footprint``: the triggered, silent and dead stations of one high-energy event on
  the hexagonal grid, and the traces of its hottest stations;
* ``trigger_efficiency``: the fraction of thrown events passing each T3 configuration
  (ToT-2C1&3C2, 2C1&3C2&4C4), the T3 (either) and T3 and 6T5, against lg E (from lg E = 17.5
  up, to show the turn-on; the caller passes :func:`airshower.simulate.trigger_flags`);
* ``hadronic_models``: EPOS-LHC against QGSJetII-04 at 10 EeV for p and Fe (model
  predictions, muon_scale 1): S(1000), its muon fraction and the rise time t1/2 at 1000 m
  against zenith, with the measured rise time of de Mauro 2020 (data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import LogNorm
from matplotlib.patches import RegularPolygon

from airshower.detector.array import sd1500
from airshower.figures.paper_style import (
    GCM2,
    PRIMARY_COLOURS,
    TRUE_CORE,
    XMAX_LABEL,
    new_figure,
    note,
    paper_style,
    save_figure,
)
from airshower.hexgrid import SPACING_M
from airshower.physics.parameters import sd_parameters
from airshower.physics.primaries import MASS_NUMBERS, axis_vector
from airshower.physics.showers import shower_averaged_s1000
from airshower.physics.xmax import sample_xmax

EFFICIENCY_EVENTS = 2000  # thrown events of the trigger-efficiency figure
EFFICIENCY_LG_MIN = 17.5  # lg(E/eV) where it starts (below any dataset, to show the turn-on)
MODEL_SHOWERS = 400  # showers per (model, primary, zenith) point of the hadronic-model figure

def axis_distance(events: ak.Array) -> ak.Array:
    """Distance [m] of every stored station to the true shower axis (jagged like ``station``)."""
    axis = axis_vector(np.asarray(events.mc_zenith), np.asarray(events.mc_azimuth))
    dx = events.station.x - events.mc_core_x
    dy = events.station.y - events.mc_core_y
    along = dx * axis[:, 0] + dy * axis[:, 1]
    return np.sqrt(np.maximum(dx**2 + dy**2 - along**2, 0.0))


def _xmax_figure(sim_cfg: Mapping[str, Any], width: str, out: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    model = sim_cfg["hadronic_model"]
    check = sd_parameters()["xmax_moments_check"]
    rng = np.random.default_rng(0)
    fig, axes = new_figure(width, aspect=0.7)
    ax = axes[0, 0]
    bins = np.arange(500, 1101, 10)
    i19 = check["lgE"].index(19.0)
    for name, a in MASS_NUMBERS.items():
        x = sample_xmax(rng, np.full(50_000, 19.0), np.full(50_000, a), model)
        ax.hist(x, bins=bins, density=True, histtype="step", color=PRIMARY_COLOURS[name],
                label=f"{name}: {x.mean():.0f} / {x.std():.0f}")
        mean, _ = check[name][i19]
        ax.axvline(mean, color=PRIMARY_COLOURS[name], ls=":", lw=0.8)
    ax.plot([], [], color="0.3", ls=":", lw=0.8, label="moment param.")
    ax.set_xlabel(f"{XMAX_LABEL} [{GCM2}]")
    ax.set_ylabel(f"density [1/({GCM2})]")
    ax.set_title(f"{model}, E = 10 EeV")
    ax.legend(title="mean / sigma")
    return save_figure(fig, out, "xmax_distributions", formats, dpi)


def _binned_mean(x: np.ndarray, values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` in the bins ``edges`` of ``x`` and the count per bin (0 where empty:
    the mean is 0 there); entries outside the edges are left out."""
    idx = np.digitize(x, edges) - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    counts = np.bincount(idx[ok], minlength=edges.size - 1)
    mean = np.bincount(idx[ok], weights=values[ok], minlength=edges.size - 1) / np.maximum(counts, 1)
    return mean, counts


def _ldf_figure(events: ak.Array, width: str, out: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    lg_e = np.log10(np.asarray(events.mc_energy))
    sel = (lg_e >= 19.0) & (lg_e < 19.5) & (np.asarray(events.mc_zenith) < np.radians(40.0))
    fig, axes = new_figure(width, aspect=0.75)
    ax = axes[0, 0]
    ev = events[sel]
    if len(ev) == 0:
        note(ax, "no events at 10^19-10^19.5 eV, zenith < 40 deg")
        return save_figure(fig, out, "ldf", formats, dpi)
    r = ak.flatten(axis_distance(ev)).to_numpy()
    st = ev.station
    trig = ak.flatten(st.triggered).to_numpy()
    sig = ak.flatten(st.signal).to_numpy()
    mu = ak.flatten(ev.mc_station.signal_muon + ev.mc_station.signal_em_mu).to_numpy()
    em = ak.flatten(ev.mc_station.signal_em + ev.mc_station.signal_em_had).to_numpy()
    ax.scatter(r[trig], sig[trig], s=2, color="0.6", alpha=0.5, lw=0, label="station signal", rasterized=True)
    edges = np.geomspace(200, 4000, 16)
    mid = np.sqrt(edges[1:] * edges[:-1])
    for values, label, colour in ((mu[trig], "muonic (expected)", "C0"), (em[trig], "electromagnetic (expected)", "C1")):
        mean, counts = _binned_mean(r[trig], values, edges)
        ax.plot(mid[counts > 0], mean[counts > 0], color=colour, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distance to the shower axis [m]")
    ax.set_ylabel("signal [VEM]")
    ax.set_title(r"$10^{19}$-$10^{19.5}$ eV, $\theta < 40^\circ$")
    ax.legend()
    return save_figure(fig, out, "ldf", formats, dpi)


def _muon_fraction_figure(events: ak.Array, sim_cfg: Mapping[str, Any], width: str, out: Path,
                          formats: Sequence[str], dpi: int) -> list[Path]:
    fig, axes = new_figure(width, aspect=0.75)
    ax = axes[0, 0]
    zen = np.linspace(0, 60, 13)
    for name in ("p", "Fe"):
        f_mu = [shower_averaged_s1000(MASS_NUMBERS[name], np.radians(z), 19.0, sim_cfg["hadronic_model"], 4000)[1]
                for z in zen]
        ax.plot(zen, f_mu, color=PRIMARY_COLOURS[name], label=f"{name}, 10 EeV, r = 1000 m")
    ax.plot([38, 60], [0.56, 0.84], "k*", ms=7, label="reference (docs/physics.md, step 5)")
    if len(events):
        r = ak.flatten(axis_distance(events)).to_numpy()
        mc = events.mc_station
        mu = ak.flatten(mc.signal_muon).to_numpy()
        tot = ak.flatten(mc.signal_muon + mc.signal_em + mc.signal_em_mu + mc.signal_em_had).to_numpy()
        zen_st = np.degrees(ak.flatten(ak.broadcast_arrays(events.mc_zenith, mc.signal_muon)[0]).to_numpy())
        near = (r > 800) & (r < 1200) & (tot > 0)
        edges = np.linspace(0, 60, 7)
        mean, counts = _binned_mean(zen_st[near], mu[near] / tot[near], edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        ax.plot(mid[counts > 0], mean[counts > 0], "o", color="0.3", label="simulated stations, 0.8-1.2 km")
    ax.set_xlabel("zenith [deg]")
    ax.set_ylabel("muon fraction of the signal")
    ax.set_ylim(0, 1)
    ax.legend()
    return save_figure(fig, out, "muon_fraction", formats, dpi)


def _trace_figure(events: ak.Array, meta: Mapping[str, Any], width: str, out: Path,
                  formats: Sequence[str], dpi: int) -> list[Path]:
    fig, axes = new_figure(width, aspect=0.75)
    ax = axes[0, 0]
    bin_ns = float(meta["bin_ns"])
    if len(events) == 0:
        note(ax, "no events")
        return save_figure(fig, out, "trace_shapes", formats, dpi)
    r = ak.flatten(axis_distance(events)).to_numpy()
    trig = ak.flatten(events.station.triggered).to_numpy()
    traces = ak.to_numpy(ak.flatten(events.station_trace, axis=1)).astype(np.float64)
    sums = traces.sum(axis=1)
    t_us = np.arange(traces.shape[1]) * bin_ns / 1000.0
    edges = [(500, 800), (800, 1200), (1200, 1600), (1600, 2200)]
    for i, (lo, hi) in enumerate(edges):
        sel = trig & (r >= lo) & (r < hi) & (sums > 0)
        if sel.sum() < 5:
            continue
        mean = (traces[sel] / sums[sel, None]).mean(axis=0)
        ax.step(t_us, mean / (bin_ns / 1000.0), where="post", color=f"C{i}", label=f"{lo}-{hi} m ({sel.sum()})")
    ax.set_xlim(0, min(t_us[-1], 3.0))
    ax.set_xlabel(r"time after the signal start [$\mu$s]")
    ax.set_ylabel(r"mean normalised trace [1/$\mu$s]")
    ax.legend(title="axis distance")
    return save_figure(fig, out, "trace_shapes", formats, dpi)


def _footprint_figure(events: ak.Array, meta: Mapping[str, Any], width: str, out: Path,
                      formats: Sequence[str], dpi: int) -> list[Path]:
    fig, axes = new_figure("double" if width == "single" else width, aspect=0.42, ncols=2)
    if len(events) == 0:
        note(axes[0, 0], "no events")
        return save_figure(fig, out, "event_footprint", formats, dpi)
    n_st = ak.num(events.station.id).to_numpy()
    lg_e = np.log10(np.asarray(events.mc_energy))
    pick = int(np.argmax(np.where(n_st >= 5, lg_e, -np.inf))) if np.any(n_st >= 5) else int(np.argmax(n_st))
    ev = events[pick]
    arr = sd1500()
    st = ev.station
    ids = np.asarray(st.id)
    sig = np.asarray(st.signal)
    trig = np.asarray(st.triggered)
    hot = ids[trig][np.argmax(sig[trig])] if trig.any() else ids[0]
    x0, y0 = arr.x[hot], arr.y[hot]
    near = np.hypot(arr.x - x0, arr.y - y0) < 6 * SPACING_M
    ax = axes[0, 0]
    radius = SPACING_M / np.sqrt(3.0) * 0.95
    stored = set(ids.tolist())
    silent = [RegularPolygon((arr.x[i] - x0, arr.y[i] - y0), 6, radius=radius) for i in np.nonzero(near)[0]
              if i not in stored]
    ax.add_collection(PatchCollection(silent, facecolor="none", edgecolor="0.7", lw=0.5))
    dead = ~np.asarray(st.working)
    if dead.any():
        ax.add_collection(PatchCollection(
            [RegularPolygon((arr.x[i] - x0, arr.y[i] - y0), 6, radius=radius) for i in ids[dead]],
            facecolor="0.8", edgecolor="0.5", hatch="///", lw=0.5))
    hexes = [RegularPolygon((arr.x[i] - x0, arr.y[i] - y0), 6, radius=radius) for i in ids[trig]]
    coll = PatchCollection(hexes, cmap="viridis", norm=LogNorm(vmin=max(sig[trig].min(), 1), vmax=sig[trig].max()),
                           edgecolor="k", lw=0.5)
    coll.set_array(sig[trig])
    ax.add_collection(coll)
    fig.colorbar(coll, ax=ax, label="signal [VEM]")
    ax.plot(ev.mc_core_x - x0, ev.mc_core_y - y0, ls="none", label="true core", **TRUE_CORE)
    ax.set_xlim(-6 * SPACING_M, 6 * SPACING_M)
    ax.set_ylim(-5 * SPACING_M, 5 * SPACING_M)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(f"lg(E/eV) = {np.log10(ev.mc_energy):.2f}, zenith {np.degrees(ev.mc_zenith):.0f} deg, "
                 f"A = {ev.mc_mass}")
    ax.legend(loc="upper right")
    ax2 = axes[0, 1]
    traces = np.asarray(ak.to_numpy(ev.station_trace))
    start = np.asarray(st.start_time)
    bin_ns = float(meta["bin_ns"])
    order = np.argsort(-np.where(trig, sig, -1.0))[:4]
    for k, j in enumerate(order):
        if not trig[j]:
            continue
        t = (start[j] + np.arange(traces.shape[1]) * bin_ns) / 1000.0
        ax2.step(t, traces[j], where="post", color=f"C{k}", label=f"station {ids[j]}: {sig[j]:.0f} VEM")
    ax2.set_xlabel(r"time [$\mu$s] (after the first triggered station)")
    ax2.set_ylabel("signal [VEM / bin]")
    ax2.legend()
    return save_figure(fig, out, "event_footprint", formats, dpi)


def efficiency_range(sim_cfg: Mapping[str, Any]) -> tuple[float, float]:
    """The lg(E/eV) range of the trigger-efficiency figure: from 17.5 (the turn-on) to the dataset's maximum."""
    hi = float(sim_cfg["lg_energy"][1])
    return min(EFFICIENCY_LG_MIN, hi - 0.5), hi


def _efficiency_figure(sim_cfg: Mapping[str, Any], flags: Mapping[str, np.ndarray] | None, width: str, out: Path,
                       formats: Sequence[str], dpi: int) -> list[Path]:
    fig, axes = new_figure(width, aspect=0.75)
    ax = axes[0, 0]
    if flags is None or len(flags["lg_energy"]) == 0:
        note(ax, "no trigger flags given")
        return save_figure(fig, out, "trigger_efficiency", formats, dpi)
    edges = np.linspace(*efficiency_range(sim_cfg), 11)
    mid = 0.5 * (edges[1:] + edges[:-1])
    cuts = (("t3", "T3 (either)", "0.6", "-", 3.0), ("t3_tot", "T3 ToT-2C1&3C2", "C0", "--", 1.0),
            ("t3_4c4", "T3 2C1&3C2&4C4", "C2", ":", 1.0), ("t5", "T3 and 6T5", "C3", "-", 1.0))
    for key, label, colour, ls, lw in cuts:
        eff, counts = _binned_mean(flags["lg_energy"], flags[key].astype(np.float64), edges)
        ok = counts > 0
        err = np.sqrt(np.clip(eff * (1.0 - eff), 0.0, None) / np.maximum(counts, 1))
        ax.errorbar(mid[ok], eff[ok], yerr=err[ok], color=colour, ls=ls, lw=lw, marker="o", ms=2.5, label=label)
    ax.set_xlabel(r"$\lg(E/\mathrm{eV})$")
    ax.set_ylabel("fraction of thrown events")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{sim_cfg['hadronic_model']}, zenith < {sim_cfg['max_zenith_deg']:.0f} deg")
    ax.legend(loc="lower right")
    return save_figure(fig, out, "trigger_efficiency", formats, dpi)


def model_comparison(zenith_deg: np.ndarray, lg_energy: float = 19.0, n: int = MODEL_SHOWERS,
                     seed: int = 0) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """EPOS-LHC and QGSJetII-04 predictions (muon_scale 1) for p and Fe at ``lg_energy`` against zenith.

    Per (model, primary): ``s1000`` [VEM] and ``muon_fraction`` averaged over the showers
    (station at 1000 m with the core's DX), and ``rise_time`` [ns], the mean t1/2 of
    simulated UB traces at 1000 m (the stations of ``n`` showers, their fluctuations included).
    """
    from airshower.detector.station import rise_times, station_traces
    from airshower.detector.tank import electronics
    from airshower.physics.atmosphere import vertical_depth
    from airshower.physics.showers import sample_showers
    from airshower.physics.signals import expected_signals

    ub = electronics("ub")
    x_ground = float(vertical_depth(sd_parameters()["detector"]["altitude_m"]))
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for model in ("EPOS-LHC", "QGSJetII-04"):
        for name in ("p", "Fe"):
            rng = np.random.default_rng([seed, MASS_NUMBERS[name]])
            rows = {"s1000": [], "muon_fraction": [], "rise_time": []}
            for zen in np.radians(np.asarray(zenith_deg, dtype=np.float64)):
                lg = np.full(n, lg_energy)
                sh = sample_showers(rng, lg, np.full(n, MASS_NUMBERS[name]), model)
                dx = x_ground / np.cos(zen) - sh.xmax
                comp = expected_signals(lg, zen, dx, dx, 1000.0, sh.rmu_signal, sh.em_factor, sh.dbeta)
                total = comp.sum(axis=0)
                rows["s1000"].append(total.mean())
                rows["muon_fraction"].append((comp[0] / total).mean())
                sim = station_traces(rng, np.ascontiguousarray(comp.T), np.full(n, 1000.0), dx,
                                     np.full(n, 1 / np.cos(zen)), ub, 120, time_shift=sh.time_shift)
                rows["rise_time"].append(np.nanmean(rise_times(sim.trace, ub.bin_ns)))
            out[(model, name)] = {k: np.asarray(v) for k, v in rows.items()}
    return out


def _models_figure(width: str, out: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    from airshower.physics.timing import rise_time_de_mauro

    zen = np.arange(0.0, 61.0, 10.0)
    values = model_comparison(zen)
    fig, axes = new_figure("double" if width == "single" else width, aspect=0.32, ncols=3)
    styles = {"EPOS-LHC": "-", "QGSJetII-04": "--"}
    for (model, name), v in values.items():
        kw = {"color": PRIMARY_COLOURS[name], "ls": styles[model], "marker": "o", "ms": 2.5,
              "label": f"{name}, {model}"}
        axes[0, 0].plot(zen, v["s1000"], **kw)
        axes[0, 1].plot(zen, v["muon_fraction"], **kw)
        axes[0, 2].plot(zen, v["rise_time"], **kw)
    axes[0, 2].plot(zen, rise_time_de_mauro(1000.0, np.radians(zen)), "k:", label="data (de Mauro 2020)")
    labels = ("S(1000) [VEM]", "muon fraction of S(1000)", r"$t_{1/2}$(1000 m) [ns]")
    for ax, label in zip(axes[0], labels, strict=True):
        ax.set_xlabel("zenith [deg]")
        ax.set_ylabel(label)
    axes[0, 1].set_ylim(0, 1)
    axes[0, 0].set_title("10 EeV, model prediction (muon_scale 1)")
    axes[0, 2].legend(fontsize="small")
    return save_figure(fig, out, "hadronic_models", formats, dpi)


def draw_validation(out_dir: str | Path, sim_cfg: Mapping[str, Any], events: ak.Array, meta: Mapping[str, Any],
                    formats: Sequence[str] = ("pdf", "png"), dpi: int = 200, width: str = "single",
                    trigger_flags: Mapping[str, np.ndarray] | None = None) -> list[Path]:
    """Draw all validation figures into ``out_dir``; return the files written.

    ``events``: simulated events as :func:`airshower.io.events.read_events` returns them;
    ``meta``: their ``bin_ns`` (trace bin width [ns]) at least, as
    :func:`~airshower.io.events.read_meta` returns it; ``sim_cfg``: the simulation settings
    they were made with (its hadronic model draws the parametrisation curves);
    ``trigger_flags``: per thrown event lg E and the trigger flags, as
    :func:`airshower.simulate.trigger_flags` returns them over :func:`efficiency_range`
    (the ``trigger_efficiency`` figure; without them it says so).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    with paper_style(width):
        files += _efficiency_figure(sim_cfg, trigger_flags, width, out, formats, dpi)
        files += _models_figure(width, out, formats, dpi)
        files += _xmax_figure(sim_cfg, width, out, formats, dpi)
        files += _ldf_figure(events, width, out, formats, dpi)
        files += _muon_fraction_figure(events, sim_cfg, width, out, formats, dpi)
        files += _trace_figure(events, meta, width, out, formats, dpi)
        files += _footprint_figure(events, meta, width, out, formats, dpi)
    return files
