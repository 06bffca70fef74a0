"""Step 5 of docs/physics.md: the expected signal [VEM] of each shower component in a station.

Four components: ``muon``, ``em`` (pure electromagnetic), ``em_mu`` (EM from muon decay
and interactions) and ``em_had`` (EM from low-energy hadrons). Air-shower universality
(Ave et al., Astropart. Phys. 88 (2017) 46; parametrisation of M. Stadelmaier /
M. Pothast, ``signal_components`` in sd_parameters.json) gives each at 1000 m from the
core as a function of energy, zenith, the station's distance to the shower maximum DX
and the muon content Rmu (in this parametrisation's unit: Rmu = 1 is its EPOS-LHC proton;
the simulator passes :func:`airshower.physics.muons.signal_rmu`):

    S_c(1000 m) = R_c(Rmu) f_c(sec theta) 10^(a_c + b_c (lgE - 19)) GH_c(DX)      [VEM]
    GH_c(DX)   = ((DX - DX0)/(400 - DX0))^((DXmax - DX0)/lam) exp((400 - DX)/lam)
    lam        = lam0 + lam1 (lgE - 19),   R_c = 1 + alpha_c (Rmu - 1)
    f_c        = c0 + c1 x + c2 x^2 + c3 x^3,   x = sec theta - 1.33

The lateral shape is a modified NKG function of the distance r to the shower axis
(the form of the Auger SD-1500 lateral distribution function, Phys. Rev. D 102 (2020)
062005; docs/physics.md step 5):

    S_c(r) = S_c(1000 m) (r/1000)^beta_c ((r + 700)/1700)^(beta_c + gamma),  gamma = 0

with slopes that depend on the shower age at the ground, DX_g = X_ground / cos(theta) - Xmax:
old (large DX_g) showers have flatter lateral profiles, and the muonic components
(muon, em_mu) are flatter than the electromagnetic ones (em, em_had), so the muon
fraction rises with r. The two linear forms below are chosen so that the total signal
follows beta ~ -2.6 near vertical and ~ -1.9 at 60 deg (docs/physics.md step 5) for a mixed
composition at 10 EeV; at fixed zenith the dependence on DX_g makes the LDF shape an
(Xmax-sensitive) observable, with a p-Fe difference of ~0.05 in beta.

    beta_mu(DX_g) = -2.25 + 0.35 (DX_g - 100)/800,  beta_em(DX_g) = -2.95 + 0.40 (DX_g - 100)/800

Shower-to-shower fluctuations beyond Xmax and Rmu (``shower_fluctuations`` in
sd_parameters.json, drawn by :func:`airshower.physics.showers.sample_showers`): the pure EM
component of a shower is multiplied by ``em_factor`` (ln-normal, sigma 0.05) at every station,
and every lateral slope is moved by the shower's ``dbeta`` (normal, sigma 0.10).
"""

from __future__ import annotations

import numpy as np

from airshower.physics.parameters import sd_parameters

COMPONENTS: tuple[str, ...] = ("muon", "em", "em_mu", "em_had")
MUON_LIKE = np.array([True, False, True, False])  # lateral slope and per-particle signal class

LDF_GAMMA = 0.0
BETA_MU_REF, BETA_MU_SLOPE = -2.25, 0.35
BETA_EM_REF, BETA_EM_SLOPE = -2.95, 0.40
LDF_DX_REF_GCM2, LDF_DX_SCALE_GCM2 = 100.0, 800.0
LDF_DX_RANGE_GCM2 = (0.0, 1200.0)
R_MIN_M = 50.0  # the LDF is capped at 50 m from the axis (the stations saturate there anyway)


def _component_table() -> dict[str, np.ndarray]:
    table = sd_parameters()["signal_components"]
    rows = [table[c] for c in COMPONENTS]
    return {
        "lgs0": np.array([r["lgSref"][0] for r in rows]),
        "lgs1": np.array([r["lgSref"][1] for r in rows]),
        "dxmax": np.array([r["DXmax"] for r in rows], dtype=np.float64),
        "lam0": np.array([r["lam"][0] for r in rows]),
        "lam1": np.array([r["lam"][1] for r in rows]),
        "dx0": np.array([r["DX0"] for r in rows], dtype=np.float64),
        "alpha": np.array([r["alpha"] for r in rows]),
        "sec": np.array([r["sec_theta"] for r in rows]),  # (4, 4)
    }


def gaisser_hillas_dx(dx: np.ndarray, dxmax: float, dx0: float, lam: np.ndarray) -> np.ndarray:
    """Universality shape GH(DX), normalised to 1 at DX = 400 g/cm2 (DX clipped just above DX0)."""
    dx = np.maximum(dx, dx0 + 1.0)
    return np.exp((dxmax - dx0) / lam * np.log((dx - dx0) / (400.0 - dx0)) + (400.0 - dx) / lam)


def signal_at_1000(
    lg_energy: np.ndarray, zenith: np.ndarray, dx: np.ndarray, rmu: np.ndarray
) -> np.ndarray:
    """Expected signal [VEM] of each component at r = 1000 m, shape (4, *broadcast shape).

    ``lg_energy`` lg(E/eV), ``zenith`` [rad], ``dx`` [g/cm2] (station DX), ``rmu`` muon content.
    """
    t = _component_table()
    lg_energy, zenith, dx, rmu = np.broadcast_arrays(
        np.asarray(lg_energy, dtype=np.float64), np.asarray(zenith, dtype=np.float64),
        np.asarray(dx, dtype=np.float64), np.asarray(rmu, dtype=np.float64),
    )
    le = lg_energy - 19.0
    x = 1.0 / np.cos(zenith) - 1.33
    out = np.empty((len(COMPONENTS), *lg_energy.shape))
    for i in range(len(COMPONENTS)):
        c = t["sec"][i]
        f_sec = c[0] + x * (c[1] + x * (c[2] + x * c[3]))
        lam = t["lam0"][i] + t["lam1"][i] * le
        gh = gaisser_hillas_dx(dx, t["dxmax"][i], t["dx0"][i], lam)
        scale = 1.0 + t["alpha"][i] * (rmu - 1.0)
        out[i] = scale * f_sec * 10.0 ** (t["lgs0"][i] + t["lgs1"][i] * le) * gh
    return np.maximum(out, 0.0)


def ldf_slopes(dx_ground: np.ndarray, dbeta: np.ndarray | float = 0.0) -> np.ndarray:
    """Lateral slopes beta_c per component, shape (4, *shape), from the ground DX [g/cm2], plus ``dbeta``."""
    d = (np.clip(np.asarray(dx_ground, dtype=np.float64), *LDF_DX_RANGE_GCM2) - LDF_DX_REF_GCM2) / LDF_DX_SCALE_GCM2
    beta_mu = BETA_MU_REF + BETA_MU_SLOPE * d + dbeta
    beta_em = BETA_EM_REF + BETA_EM_SLOPE * d + dbeta
    return np.stack([beta_mu if m else beta_em for m in MUON_LIKE])


def lateral_shape(r: np.ndarray, beta: np.ndarray, gamma: float = LDF_GAMMA) -> np.ndarray:
    """Modified NKG shape (r/1000)^beta ((r+700)/1700)^(beta+gamma), 1 at r = 1000 m (r capped at R_MIN_M)."""
    r = np.maximum(np.asarray(r, dtype=np.float64), R_MIN_M)
    return np.exp(beta * np.log(r / 1000.0) + (beta + gamma) * np.log((r + 700.0) / 1700.0))


def expected_signals(
    lg_energy: np.ndarray,
    zenith: np.ndarray,
    dx_station: np.ndarray,
    dx_ground: np.ndarray,
    r: np.ndarray,
    rmu: np.ndarray,
    em_factor: np.ndarray | float = 1.0,
    dbeta: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Expected signal [VEM] of each component in a station, shape (4, *shape).

    ``dx_station``: slant depth of the station's projection on the axis minus Xmax;
    ``dx_ground``: the same at the core (sets the LDF slope); ``r``: distance to the axis [m];
    ``em_factor``: the shower's factor on the pure EM component; ``dbeta``: its shift of the
    lateral slopes (shower-to-shower fluctuations; 1 and 0 give the mean shower).
    """
    lg_energy, zenith, dx_station, dx_ground, r, rmu, em_factor, dbeta = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (lg_energy, zenith, dx_station, dx_ground, r, rmu, em_factor, dbeta))
    )
    s1000 = signal_at_1000(lg_energy, zenith, dx_station, rmu)
    s1000[COMPONENTS.index("em")] *= em_factor
    return s1000 * lateral_shape(r, ldf_slopes(dx_ground, dbeta))
