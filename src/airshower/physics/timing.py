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

Start-time variance (de Mauro; ``start_time_variance``):
Var(t_start) = a^2 (T^2/n^2 + c r^2 cos^2 theta) + b^2, T = t_half/0.59, n = S / (signal
per particle). The T^2/n^2 term is the statistics of the first particles, which the
simulator produces by sampling the particle times; the other two terms (front
fluctuations and the 10 ns clock jitter) are added as a per-station time offset
(:func:`start_time_extra_sigma`).
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


def start_time_extra_sigma(r: np.ndarray, zenith: np.ndarray) -> np.ndarray:
    """Std [ns] of the per-station time offset: sqrt(a^2 c r^2 cos^2 theta + b^2) (de Mauro)."""
    p = sd_parameters()["start_time_variance"]
    r = np.asarray(r, dtype=np.float64)
    cos_t = np.cos(np.asarray(zenith, dtype=np.float64))
    return np.sqrt(p["a"] ** 2 * p["c_per_m2"] * (r * cos_t) ** 2 + p["b_ns"] ** 2)
