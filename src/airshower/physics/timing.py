"""Step 7 of docs/physics.md: when the particles of each component reach a station [ns].

Arrival-time templates (M. Pothast, PhD thesis 2022, and the public repository
``martp91/time-trace-template-gh``, ``time_templates/data``; ``arrival_time_lognormal`` in
sd_parameters.json): after the shower front reaches a station, the signal of component c
arrives with a log-normal time pdf,

    ln(t / ns) ~ Normal(m, s),   m = a + b u + c u^2 + d u^3,   s = a' + b' u,   u = DX/400 - 1,

coefficients interpolated linearly in lg(r) between the tabulated core distances
(500-2000 m; clamped outside), m clipped to [1, 10] and s to [0.1, 3]. In the templates
both m and the width shrink as DX grows: shallow (old) showers give fast signals, deep
showers (small DX) slow ones -- the rise-time observable.

Front: the plane front reaches each station at its geometric time; the curved front of
radius Rc adds (sqrt(r^2 + Rc^2) - Rc)/c (de Mauro 2020, as used by Pothast: the templates
are phased to this front). Rc follows from the true DXmax (ground) by inverting

    DXmax = A + B (DX_Rc - 855.4 + C (lgE - 19.15)),
    DX_Rc = (X_ground - X(h_ground + Rc cos theta)) / cos theta,

(``curvature_de_mauro``), with a shower-to-shower scatter of DX_Rc of 42 g/cm2 (the scatter
the de Mauro calibration assigns to DX_Rc, ``extra_scatter_gcm2``). Deeper showers (smaller
DXmax) thus have a smaller Rc: a more curved front.

Start-time variance (de Mauro; ``start_time_variance``, :func:`start_time_variance`):
Var(t_start) = a^2 (T^2/n^2 + c r^2 cos^2 theta) + b^2, T = t_half/0.59, n = S / (track
length factor) the number of particles (n = 12 and t_half from the de Mauro rise-time
parametrisation where n < 10). The T^2/n^2 term is the statistics of the first particles,
which the simulator produces by sampling the particle times; the other two terms (front
fluctuations and the 10 ns constant, less the FADC quantisation the simulated traces carry
already) are added as a per-station time offset (:func:`start_time_extra_sigma`).

Rise time (``rise_time_de_mauro``, :func:`rise_time_de_mauro`): the mean t1/2 (10% -> 50%
of the integrated trace) measured in data, t1/2 = 0.9253 (r/m)^0.8471 exp(-0.01152 theta/deg)
ns (de Mauro 2020; about 290 ns at 1000 m for theta < 20 deg). The templates are fits to mean
traces of simulated (EPOS-LHC) stations; as they are, single traces rise 20-40% slower than
this near vertical and fall more steeply with zenith. :func:`template_parameters` therefore
shifts ln t of every component by c0 + c1 x + c2 x^2 + (c_lnr + c_x_lnr x) ln(r/1000 m), x = sec theta - 1
(``time_template_calibration``, fitted so that the simulated t1/2 follows the data within 10%
from 0 to 60 deg and 500 to 1600 m).

Fluctuations (``shower_fluctuations``): per shower, ln t of every component and station is
shifted by N(0, time_shower_sigma_ln); per station by N(0, time_station_sigma_ln), and each
component's width s is multiplied by exp(N(0, width_station_sigma_ln))
(:func:`station_template_fluctuations`), so that stations at equal (r, DX) do not share one
trace shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from airshower.errors import ConfigError
from airshower.physics.atmosphere import height_at_depth, vertical_depth
from airshower.physics.parameters import sd_parameters
from airshower.physics.signals import COMPONENTS

C_M_PER_NS = 0.299792458
DX_RANGE_GCM2 = (0.0, 1200.0)  # DX range the time templates are evaluated in (clipped outside)
DXRC_SCATTER_GCM2 = 42.0
RC_MIN_M = 500.0

# Standard normal CDF tabulated on a uniform grid (float32, 4097 points in [-8.5, 8.5]) and
# interpolated linearly by direct indexing (|error| < 1e-6): numpy has no vectorised erf,
# and this keeps the package free of scipy while costing a few array passes per value
# (the simulator evaluates it for every station, time bin and component).
_Z0, _Z1, _NZ = -8.5, 8.5, 4097
_DZ = (_Z1 - _Z0) / (_NZ - 1)
_PHI64 = np.array([0.5 * math.erfc(-(_Z0 + i * _DZ) / math.sqrt(2.0)) for i in range(_NZ)])
_PHI64[0], _PHI64[-1] = 0.0, 1.0  # exact limits (the true values differ by 1e-17)
_PHI_GRID = _PHI64.astype(np.float32)
_PHI_STEP = np.append(np.diff(_PHI64), 0.0).astype(np.float32)


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal cumulative distribution (tabulated, |error| < 1e-6), float32 out."""
    z = np.asarray(z, dtype=np.float32)
    u = z.reshape(-1) * np.float32(1.0 / _DZ)  # a new 1-d array
    u -= np.float32(_Z0 / _DZ)
    np.maximum(u, 0.0, out=u)
    np.minimum(u, np.float32(_NZ - 1.001), out=u)
    i = u.astype(np.intp)  # (np.take is much slower with int32 indices)
    u -= i
    out = np.take(_PHI_STEP, i)
    out *= u
    out += np.take(_PHI_GRID, i)
    return out.reshape(z.shape)


def _template_tables() -> tuple[np.ndarray, np.ndarray]:
    table = sd_parameters()["arrival_time_lognormal"]
    lg_r = np.log10(np.asarray(table["r"], dtype=np.float64))
    coef = np.zeros((lg_r.size, len(COMPONENTS), 6))
    for i, comp in enumerate(COMPONENTS):
        coef[:, i, :4] = np.asarray(table["m"][comp])
        coef[:, i, 4:] = np.asarray(table["s"][comp])
    return lg_r, coef


_LG_R, _COEF = _template_tables()
_R_TABLE = 10.0**_LG_R  # the tabulated core distances [m]


def lognormal_parameters(r: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, s) of ln(t/ns) per component for stations at axis distance ``r`` [m] and ``dx`` [g/cm2].

    Returns two arrays of shape (*shape, 4) (components in :data:`COMPONENTS` order).
    """
    r, dx = np.broadcast_arrays(np.asarray(r, dtype=np.float64), np.asarray(dx, dtype=np.float64))
    lg_r = np.clip(np.log10(np.maximum(r, 1.0)), _LG_R[0], _LG_R[-1])
    j = np.clip(np.searchsorted(_LG_R, lg_r, side="right") - 1, 0, _LG_R.size - 2)
    w = ((lg_r - _LG_R[j]) / (_LG_R[j + 1] - _LG_R[j]))[..., None, None]
    coef = _COEF[j] * (1.0 - w) + _COEF[j + 1] * w  # (*shape, 4, 6)
    u = (np.clip(dx, *DX_RANGE_GCM2) / 400.0 - 1.0)[..., None]
    m = coef[..., 0] + u * (coef[..., 1] + u * (coef[..., 2] + u * coef[..., 3]))
    s = coef[..., 4] + u * coef[..., 5]
    return np.clip(m, 1.0, 10.0), np.clip(s, 0.1, 3.0)


def lognormal_cdf(t_ns: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Fraction of a component's signal arrived by time ``t_ns`` after the front (0 for t <= 0)."""
    t = np.asarray(t_ns, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = (np.log(np.maximum(t, 0.0)) - m) / s
    return normal_cdf(z)


def curvature_parameters(variant: str) -> dict[str, float]:
    """The de Mauro coefficients (A, B, C) and the DX_Rc scatter [g/cm2] of ``simulation`` or ``data``."""
    table = sd_parameters()["curvature_de_mauro"]
    if variant not in ("simulation", "data"):
        raise ConfigError(f"simulation.curvature = {variant!r} is not known; choose 'simulation' or 'data'")
    entry: Mapping[str, float] = table[variant]
    return {
        "A": float(entry["A"]),
        "B": float(entry["B"]),
        "C": float(entry["C"]),
        "scatter": float(entry.get("extra_scatter_gcm2", DXRC_SCATTER_GCM2)),
    }


def curvature_radius(
    dxmax_ground: np.ndarray,
    zenith: np.ndarray,
    lg_energy: np.ndarray,
    variant: str = "simulation",
    rng: np.random.Generator | None = None,
    ground_height_m: float = 1400.0,
) -> np.ndarray:
    """Radius of curvature Rc [m] of the shower front from the ground DXmax [g/cm2] (de Mauro).

    With ``rng`` the shower-to-shower scatter of DX_Rc is drawn; without it, the mean relation.
    """
    p = curvature_parameters(variant)
    dxmax_ground = np.asarray(dxmax_ground, dtype=np.float64)
    cos_t = np.cos(np.asarray(zenith, dtype=np.float64))
    dx_rc = (dxmax_ground - p["A"]) / p["B"] + 855.4 - p["C"] * (np.asarray(lg_energy) - 19.15)
    if rng is not None:
        dx_rc = dx_rc + rng.normal(0.0, p["scatter"], size=dx_rc.shape)
    x_ground = float(vertical_depth(ground_height_m))
    x_rc = np.clip(x_ground - dx_rc * cos_t, 12.0, x_ground - 1.0)  # the point stays in the atmosphere
    return np.maximum((height_at_depth(x_rc) - ground_height_m) / cos_t, RC_MIN_M)


def front_delay_ns(r: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """Delay [ns] of a spherical front of radius ``rc`` [m] behind the plane front at axis distance ``r`` [m]."""
    r2 = np.asarray(r, dtype=np.float64) ** 2
    return r2 / (np.sqrt(r2 + rc * rc) + rc) / C_M_PER_NS


def start_time_extra_sigma(r: np.ndarray, zenith: np.ndarray, bin_ns: float = 0.0) -> np.ndarray:
    """Std [ns] of the per-station time offset: sqrt(a^2 c r^2 cos^2 theta + b^2 - bin^2/12) (de Mauro).

    The constant b (10 ns) of the measured variance includes the quantisation of the start
    time to the FADC bins (uniform within a bin: bin^2/12, 7.2 ns rms for 25 ns bins); the
    simulated traces are quantised already, so ``bin_ns`` [ns] takes that part out of b.
    """
    p = sd_parameters()["start_time_variance"]
    r = np.asarray(r, dtype=np.float64)
    cos_t = np.cos(np.asarray(zenith, dtype=np.float64))
    floor = max(p["b_ns"] ** 2 - bin_ns**2 / 12.0, 0.0)
    return np.sqrt(p["a"] ** 2 * p["c_per_m2"] * (r * cos_t) ** 2 + floor)


def _fluctuation(name: str) -> float:
    return float(sd_parameters()["shower_fluctuations"][name]["value"])


def rise_time_de_mauro(r: np.ndarray, zenith: np.ndarray) -> np.ndarray:
    """Mean rise time t1/2 [ns] of measured traces at axis distance ``r`` [m] and ``zenith`` [rad] (de Mauro 2020).

    t1/2 = a (r/m)^b exp(-c theta/deg): the parametrisation takes the zenith in degrees.
    """
    p = sd_parameters()["rise_time_de_mauro"]
    theta_deg = np.degrees(np.asarray(zenith, dtype=np.float64))
    r = np.asarray(r, dtype=np.float64)
    return p["a_ns"] * r ** p["b"] * np.exp(-p["c_per_deg"] * theta_deg)


def track_length_factor(zenith: np.ndarray) -> np.ndarray:
    """Mean track length of a muon through the tank in units of the water height: 1/(cos th + 2H/(pi R) sin th)."""
    det = sd_parameters()["detector"]
    zen = np.asarray(zenith, dtype=np.float64)
    ratio = 2.0 * det["water_height_m"] / (np.pi * det["tank_radius_m"])
    return 1.0 / (np.cos(zen) + ratio * np.sin(zen))


def start_time_variance(t_half_ns: np.ndarray | None, signal_vem: np.ndarray, r: np.ndarray,
                        zenith: np.ndarray) -> np.ndarray:
    """de Mauro's variance [ns^2] of a station's start time (``start_time_variance`` in sd_parameters.json).

    Var = a^2 (T^2/n^2 + c r^2 cos^2 theta) + b^2, T = t1/2 / 0.59, n = S / track_length_factor;
    where n < 10 (or ``t_half_ns`` is None): n = 12 and t1/2 from :func:`rise_time_de_mauro`.
    ``signal_vem`` [VEM], ``r`` [m], ``zenith`` [rad].
    """
    p = sd_parameters()["start_time_variance"]
    signal, r, zen = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (signal_vem, r, zenith)))
    n = signal / track_length_factor(zen)
    param = rise_time_de_mauro(r, zen)
    t_half = param if t_half_ns is None else np.broadcast_to(np.asarray(t_half_ns, dtype=np.float64), n.shape)
    few = n < 10.0
    t_half = np.where(few, param, t_half)
    n = np.where(few, 12.0, n)
    big_t = t_half / 0.59
    return p["a"] ** 2 * (big_t**2 / n**2 + p["c_per_m2"] * (r * np.cos(zen)) ** 2) + p["b_ns"] ** 2


def template_shift(r: np.ndarray, sec_theta: np.ndarray) -> np.ndarray:
    """Shift of ln(t/ns) of every component at axis distance ``r`` [m] (``time_template_calibration``):
    c0 + c1 x + c2 x^2 + (c_lnr + c_x_lnr x) ln(r / 1000 m), x = sec theta - 1 (r clamped to the
    templates' 500-2000 m)."""
    c = sd_parameters()["time_template_calibration"]
    x = np.asarray(sec_theta, dtype=np.float64) - 1.0
    lr = np.log(np.clip(np.asarray(r, dtype=np.float64), _R_TABLE[0], _R_TABLE[-1]) / 1000.0)
    return c["c0"] + x * (c["c1"] + c["c2"] * x) + (c["c_lnr"] + c["c_x_lnr"] * x) * lr


def template_parameters(r: np.ndarray, dx: np.ndarray, sec_theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated (m, s) of ln(t/ns) per component, shape (*shape, 4): :func:`lognormal_parameters`
    with m shifted by :func:`template_shift` (the data rise time of de Mauro 2020)."""
    m, s = lognormal_parameters(r, dx)
    return m + template_shift(r, sec_theta)[..., None], s


def shower_time_shift(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-shower shift of ln(t/ns) of every component: N(0, time_shower_sigma_ln)."""
    return rng.normal(0.0, _fluctuation("time_shower_sigma_ln"), size=n)


def station_template_fluctuations(rng: np.random.Generator, m: np.ndarray,
                                  s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, s) of k stations (k, 4) with per-station fluctuations: m + N(0, time_station_sigma_ln) (all
    components alike), s x exp(N(0, width_station_sigma_ln)) (each component); s stays in [0.1, 3]."""
    k = m.shape[0]
    shift = rng.normal(0.0, _fluctuation("time_station_sigma_ln"), size=(k, 1))
    width = np.exp(rng.normal(0.0, _fluctuation("width_station_sigma_ln"), size=s.shape))
    return m + shift, np.clip(s * width, 0.1, 3.0)
