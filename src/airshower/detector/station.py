"""The recorded traces of a set of stations, from the expected signal of each component.

Vectorised over a flat list of stations (no Python loop per station or particle):

1. **Totals.** Muons: N ~ Poisson(S_mu / v_mu) per station, each with a bounded,
   Beta-distributed signal (:mod:`airshower.physics.particles`); where more than 50 muons are expected, their
   compound sum is drawn as one Gamma variable of the same mean and variance
   S_mu v (1 + cv^2). EM (the three EM components share the EM particle signal): always
   such a Gamma variable (thousands of particles of ~0.02 VEM). A station whose total
   deposit cannot fire any station trigger (:func:`airshower.detector.trigger.minimum_trigger_signal`)
   stops here: it is silent whatever its time structure, so nothing more is drawn for it.
2. **Times.** Each muon arrives at exp(m + s Z) after the shower front (Z standard normal;
   the log-normal template of :mod:`airshower.physics.timing`, calibrated to the measured
   rise time, shifted by the shower's ``time_shift`` and fluctuating from station to station:
   :func:`~airshower.physics.timing.station_template_fluctuations`). Gamma totals are split over
   FADC bins as independent Gamma variables whose shapes follow the templates' bin
   probabilities (CDF differences at the bin edges), normalised to the drawn total -- a
   Dirichlet split, which makes each bin the compound-Poisson-like Gamma of its own
   expectation. The window opens at the earliest 1% quantile of the components (with a
   random phase of the FADC clock) and spans T + 600 ns; signal after it is lost.
3. **Pulses.** Each bin's deposit becomes the exponential pulse of
   :func:`airshower.detector.tank.pulse_shape`.
4. **Stored trace.** T bins from the first bin above 0.2 VEM peak (the signal start),
   digitised with noise, gains and saturation (:func:`airshower.detector.tank.digitise`).

The start time (first stored bin after the front) fluctuates with the first particles'
arrival, which reproduces the T^2/n^2 term of the de Mauro start-time variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airshower.detector.tank import Electronics, digitise, pulse_shape
from airshower.physics.particles import (
    MUON_SIGNAL_CV,
    MUON_SIGNAL_MAX_VEM,
    em_vem_moments,
    muon_signal_beta,
    muon_vem,
)
from airshower.physics.timing import normal_cdf, station_template_fluctuations, template_parameters

Z_EARLY = -2.326  # 1% quantile of the standard normal
MIN_COMPONENT_FRACTION = 0.01
EXTRA_WINDOW_NS = 600.0
START_THRESHOLD_VEM_PEAK = 0.2
MIN_BIN_SHAPE = 1e-4  # bins expecting less than this many Gamma "shape units" are left empty
MUON_PARTICLE_LIMIT = 50.0  # above this many expected muons a station's muons are drawn per bin


@dataclass
class StationTraces:
    """Output of :func:`station_traces`: the stations that passed the signal gate (``index``)."""

    index: np.ndarray  # (k,) rows of the input that were simulated in time
    trace: np.ndarray  # (k, T) float32 [VEM-charge per bin], as recorded
    start_ns: np.ndarray  # (k,) float64: time of the first stored bin after the shower front [ns]
    saturated: np.ndarray  # (k,) bool
    deposit: np.ndarray  # (n,) total deposited signal [VEM] of every input station (before the window)


def window_bins(trace_bins: int, elec: Electronics) -> int:
    """Bins simulated per station: the stored T plus ~600 ns in which the signal start may fall."""
    return trace_bins + int(np.ceil(EXTRA_WINDOW_NS / elec.bin_ns))


def window_opening(m: np.ndarray, s: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Time [ns after the front] of the earliest 1% quantile among components holding >= 1% of the signal."""
    early = np.exp(m + Z_EARLY * s)
    total = expected.sum(axis=1, keepdims=True)
    early = np.where(expected >= MIN_COMPONENT_FRACTION * total, early, np.inf).min(axis=1)
    return np.where(np.isfinite(early), early, np.exp(m[:, 0] + Z_EARLY * s[:, 0]))


def bin_fractions(
    expected: np.ndarray, m: np.ndarray, s: np.ndarray, open_ns: np.ndarray, n_bins: int, bin_ns: float
) -> np.ndarray:
    """Fraction of the summed signal of some components in each bin of the window, (k, n_bins) float32.

    ``expected``: (k, c) signals of the components; ``m``, ``s``: their (k, c) log-normal
    parameters. Signal before the window opens counts in the first bin.
    """
    edges = (open_ns[:, None] + bin_ns * np.arange(1, n_bins + 1)).astype(np.float32)  # upper edges
    np.maximum(edges, np.float32(1e-3), out=edges)
    ln_t = np.log(edges)
    del edges
    weights = (expected / np.maximum(expected.sum(axis=1, keepdims=True), 1e-30)).astype(np.float32)
    frac = np.zeros(ln_t.shape, dtype=np.float32)
    for c in range(expected.shape[1]):
        inv_s = (1.0 / s[:, c : c + 1]).astype(np.float32)
        z = ln_t * inv_s
        z -= (m[:, c : c + 1] * inv_s).astype(np.float32)
        cdf = normal_cdf(z)
        cdf *= weights[:, c : c + 1]
        frac += cdf
    frac[:, 1:] -= frac[:, :-1].copy()
    return np.maximum(frac, 0.0, out=frac)


def split_over_bins(
    rng: np.random.Generator, total: np.ndarray, shape: np.ndarray, frac: np.ndarray
) -> np.ndarray:
    """Share drawn totals [VEM] over bins: bin b gets Gamma(shape frac_b), normalised to the total.

    The Gamma variables of all bins plus one for the signal after the window (fraction
    1 - sum frac) are independent with a common scale, so their normalised values are a
    Dirichlet split: each bin's share is itself Gamma-distributed with shape * frac_b, the
    compound-Poisson-like fluctuation of its own expectation. Returns (k, n_bins) float32.
    """
    tail = np.maximum(1.0 - frac.sum(axis=1, dtype=np.float64), 0.0)
    shapes = frac * shape[:, None].astype(np.float32)
    shapes[shapes < MIN_BIN_SHAPE] = 0.0  # Gamma(0) is 0
    out = rng.standard_gamma(shapes, dtype=np.float32)
    del shapes
    norm = out.sum(axis=1, dtype=np.float64) + rng.gamma(tail * shape)
    # rows whose draws all underflowed (total shape << 1, i.e. << 0.1 VEM expected) stay empty
    gain = np.divide(total, norm, out=np.zeros(total.shape), where=norm > 1e-30).astype(np.float32)
    out *= gain[:, None]
    return out


def station_traces(
    rng: np.random.Generator,
    expected: np.ndarray,
    r: np.ndarray,
    dx: np.ndarray,
    sec_theta: np.ndarray,
    elec: Electronics,
    trace_bins: int,
    gate_vem: float = 0.0,
    time_shift: np.ndarray | None = None,
    fluctuate: bool = True,
) -> StationTraces:
    """Simulate the recorded traces of n stations.

    ``expected``: (n, 4) expected signal [VEM] of muon, em, em_mu, em_had; ``r``: distance
    to the shower axis [m]; ``dx``: station DX [g/cm2]; ``sec_theta``: sec(zenith);
    ``gate_vem``: stations whose drawn total deposit is below it are not simulated in time;
    ``time_shift``: (n,) shift of ln(t/ns) of the station's shower (None: 0); ``fluctuate``:
    draw the station-to-station fluctuations of the time templates (False: every station
    follows the calibrated mean template).
    """
    n = expected.shape[0]
    n_bins = window_bins(trace_bins, elec)
    # 1. totals: muons one by one (a compound Gamma where there are many), EM as one Gamma variable
    v_mu = muon_vem(r, sec_theta)
    beta_a, beta_b = muon_signal_beta(v_mu)
    scale_mu = v_mu * (1.0 + MUON_SIGNAL_CV**2)
    lam_mu = expected[:, 0] / v_mu
    many = lam_mu > MUON_PARTICLE_LIMIT
    n_mu = np.zeros(n, dtype=np.int64)
    few = np.nonzero(~many)[0]
    n_mu[few] = rng.poisson(lam_mu[few])
    owner = np.repeat(np.arange(n), n_mu)
    dep_mu = MUON_SIGNAL_MAX_VEM * rng.beta(beta_a[owner], beta_b[owner])
    total_mu = np.bincount(owner, weights=dep_mu, minlength=n)
    total_mu[many] = rng.gamma(expected[many, 0] / scale_mu[many], scale_mu[many])
    v_em, cv_em = em_vem_moments(r)
    scale_em = v_em * (1.0 + cv_em**2)
    shape_em = expected[:, 1:].sum(axis=1) / scale_em
    total_em = rng.gamma(shape_em, scale_em)
    deposit = total_mu + total_em
    sel = np.nonzero(deposit >= gate_vem)[0]
    k = sel.size
    # 2. times
    m, s = template_parameters(r[sel], dx[sel], np.broadcast_to(sec_theta, r.shape)[sel])
    if time_shift is not None:
        m = m + np.asarray(time_shift, dtype=np.float64)[sel, None]
    if fluctuate:
        m, s = station_template_fluctuations(rng, m, s)
    open_ns = window_opening(m, s, expected[sel]) - rng.random(k) * elec.bin_ns  # random FADC phase
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[sel] = np.arange(k)
    mu_row = row_of[owner]
    mine = mu_row >= 0
    mu_row, mu_dep = mu_row[mine], dep_mu[mine]
    t_mu = np.exp(m[mu_row, 0] + s[mu_row, 0] * rng.standard_normal(mu_row.size))
    mu_bin = np.maximum(np.floor((t_mu - open_ns[mu_row]) / elec.bin_ns), 0.0).astype(np.int64)
    inside = mu_bin < n_bins
    flat = mu_row[inside] * n_bins + mu_bin[inside]
    deposits = np.bincount(flat, weights=mu_dep[inside], minlength=k * n_bins).reshape(k, n_bins).astype(np.float32)
    rows = np.nonzero(many[sel])[0]
    if rows.size:
        g = sel[rows]
        frac = bin_fractions(expected[g, :1], m[rows, :1], s[rows, :1], open_ns[rows], n_bins, elec.bin_ns)
        deposits[rows] += split_over_bins(rng, total_mu[g], expected[g, 0] / scale_mu[g], frac)
    frac = bin_fractions(expected[sel, 1:], m[:, 1:], s[:, 1:], open_ns, n_bins, elec.bin_ns)
    deposits += split_over_bins(rng, total_em[sel], shape_em[sel], frac)
    del frac
    # 3. pulses; 4. the stored window from the signal start, digitised
    analog = pulse_shape(deposits, elec)
    del deposits
    above = analog >= np.float32(START_THRESHOLD_VEM_PEAK * elec.peak_to_charge)
    first = np.where(above.any(axis=1), above.argmax(axis=1), 0)
    cols = first[:, None] + np.arange(trace_bins)
    stored = np.take_along_axis(analog, np.minimum(cols, n_bins - 1), axis=1)
    stored[cols >= n_bins] = 0.0
    trace, saturated = digitise(rng, stored, elec)
    return StationTraces(
        index=sel,
        trace=trace,
        start_ns=open_ns + first * elec.bin_ns,
        saturated=saturated,
        deposit=deposit,
    )


def rise_times(traces: np.ndarray, bin_ns: float, lo: float = 0.1, hi: float = 0.5) -> np.ndarray:
    """Rise time t1/2 [ns] of each trace (k, T): the time from ``lo`` (10%) to ``hi`` (50%) of its
    integrated signal (negative bins count as 0), interpolated linearly within bins; NaN for
    an empty trace. The observable of the Auger rise-time analyses (de Mauro 2020)."""
    cum = np.cumsum(np.maximum(np.asarray(traces, dtype=np.float64), 0.0), axis=1)
    total = cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = cum / total[:, None]
    times = []
    for f in (lo, hi):
        above = cum >= f
        j = np.where(above.any(axis=1), above.argmax(axis=1), cum.shape[1] - 1)
        prev = np.where(j > 0, np.take_along_axis(cum, np.maximum(j - 1, 0)[:, None], axis=1)[:, 0], 0.0)
        here = np.take_along_axis(cum, j[:, None], axis=1)[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.clip((f - prev) / (here - prev), 0.0, 1.0)
        times.append((j + frac) * bin_ns)  # bin j covers [j, j + 1) bins; cum reaches f inside it
    out = times[1] - times[0]
    return np.where(total > 0, out, np.nan)
