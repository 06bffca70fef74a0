"""Step 4 of docs/physics.md: a realistic atmosphere, vertical depth <-> height, slant depth.

The 5-layer US standard atmosphere in Linsley's parametrisation, as used by CORSIKA
(D. Heck et al., FZKA 6019 (1998), atmosphere 1; parameters after J. Linsley):

    X(h) = a_i + b_i exp(-h / c_i)      for layers i = 1..4   (h below 100 km)
    X(h) = a_5 - b_5 h / c_5            for layer 5           (100 km <= h < 112.8 km)

with X the vertical depth [g/cm2] above height h [a.s.l.]. At the SD-1500 altitude of
1400 m this gives 875.5 g/cm2 (sd_parameters.json quotes ~880 g/cm2 for Malargue; the
yearly average there is within 1%). Layer 1 is used below sea level too, which only
matters for stations far downstream of very inclined showers.

Slant depth along an axis of zenith theta uses the flat-Earth approximation
X_slant = X(h) / cos(theta), accurate to < 1% up to 60-65 deg (Earth curvature matters
only beyond ~70 deg, which the simulator does not allow).
"""

from __future__ import annotations

import numpy as np

# layer lower boundaries [m] and Linsley coefficients (a, b in g/cm2, c in m)
_LAYER_BOTTOM_M = np.array([-np.inf, 4.0e3, 10.0e3, 40.0e3, 100.0e3])
_A = np.array([-186.555305, -94.919, 0.61289, 0.0, 0.01128292])
_B = np.array([1222.6562, 1144.9069, 1305.5948, 540.1778, 1.0])
_C_M = np.array([9941.8638, 8781.5355, 6361.4304, 7721.7016, 1.0e7])
TOP_OF_ATMOSPHERE_M = 112_829.2  # where layer 5 reaches X = 0


def _layer_depth(i: np.ndarray, h: np.ndarray) -> np.ndarray:
    expo = _A[i] + _B[i] * np.exp(-h / _C_M[i])
    lin = _A[i] - _B[i] * h / _C_M[i]
    return np.where(i < 4, expo, lin)


# vertical depth at the lower boundary of each layer (layer 0 has none: +inf)
_LAYER_BOTTOM_X = np.concatenate([[np.inf], _layer_depth(np.arange(1, 5), _LAYER_BOTTOM_M[1:])])


def vertical_depth(height_m: np.ndarray | float) -> np.ndarray:
    """Vertical atmospheric depth [g/cm2] above height ``height_m`` [m a.s.l.]; 0 above the top."""
    h = np.asarray(height_m, dtype=np.float64)
    i = np.searchsorted(_LAYER_BOTTOM_M, h, side="right") - 1
    x = _layer_depth(i, h)
    return np.maximum(x, 0.0)


def height_at_depth(depth_gcm2: np.ndarray | float) -> np.ndarray:
    """Height [m a.s.l.] where the vertical depth is ``depth_gcm2`` [g/cm2] (inverse of :func:`vertical_depth`).

    Depths <= 0 map to the top of the atmosphere.
    """
    x = np.asarray(depth_gcm2, dtype=np.float64)
    # layer index: boundaries in depth decrease with height
    i = np.searchsorted(-_LAYER_BOTTOM_X, -x, side="right") - 1
    i = np.clip(i, 0, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        expo = -_C_M[i] * np.log((x - _A[i]) / _B[i])
    lin = (_A[i] - x) * _C_M[i] / _B[i]
    h = np.where(i < 4, expo, lin)
    return np.where(x <= 0.0, TOP_OF_ATMOSPHERE_M, h)


def slant_depth(height_m: np.ndarray | float, zenith: np.ndarray | float) -> np.ndarray:
    """Slant depth [g/cm2] along an axis of zenith ``zenith`` [rad] at height ``height_m`` [m] (flat Earth)."""
    return vertical_depth(height_m) / np.cos(np.asarray(zenith, dtype=np.float64))
