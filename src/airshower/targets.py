"""What a reconstructed quantity is: one definition per target, iterated over by every stage.

A :class:`Target` says, in one place, everything the pipeline needs to know of a quantity:

* **shape and unit** of one event's value (the tensor file's ``targets/<name>``, the
  network head's output width, the predictions file's ``reco/<name>``);
* **truth**: how the converter computes it from the events file's Monte-Carlo fields;
* **symmetry action**: how many leading components are Cartesian (x, y) in the window's
  frame, which the twelve symmetries of the hexagon rotate and reflect (``horizontal``) --
  the standardisation gives these components shift 0 and one common scale, so that it
  commutes with the symmetries (:mod:`airshower.inference.normalise`);
* **finalisation** of a prediction in physical units (``unit_length``: the axis is rescaled
  to unit length);
* **residual**: the per-event quantity whose statistics measure the reconstruction, with
  its unit, definition and statistics (:mod:`airshower.evaluation.binned`);
* **separation**: whether the p/Fe merit factor of the reconstructed value is reported.

The stages iterate over :data:`TARGETS`: the converter (truth), the tensor-file contract
(:data:`TRUTH_COLUMNS`), the heads, the normaliser, the augmentation, the predictions file,
the metrics, the figures and the config schema's list of trainable targets (filled in from
:data:`TARGETS` when the package loads the schema; a test checks that the schema file lists
the built-in ones). Every stage reads the registry when it runs, so a target is added by an
entry here or, from a user's own code, with :func:`register` (``docs/extending.md``).

Frames and units: energies in eV, angles in rad in the events file; ``axis`` is the unit
vector pointing to where the shower comes from, (sin th cos ph, sin th sin ph, cos th) of
zenith th and azimuth ph (counter-clockwise from +x); ``core`` is the shower core minus the
hottest station's position [m] (the window frame). ``ln_a`` is the natural logarithm of
the primary's mass number A (0 for protons, 4.03 for iron), the mass estimator of Auger's
composition analyses (e.g. Auger, Phys. Rev. D 90, 122006 (2014)).

This module imports numpy only: the convert stage's environment has no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

TruthFn = Callable[[Mapping[str, np.ndarray], np.ndarray, np.ndarray], np.ndarray]
ResidualFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _difference(reco: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.asarray(reco, np.float64) - np.asarray(true, np.float64)


def unit_vectors(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (N, k) scaled to unit length (zero rows stay zero)."""
    values = np.asarray(values, dtype=np.float64)
    norm = np.linalg.norm(values, axis=1, keepdims=True)
    return values / np.where(norm > 0, norm, 1.0)


def opening_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle [deg] between the vectors of rows of ``a`` and ``b`` (N, 3); atan2(|a x b|, a.b), exact at small angles."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    cross = np.linalg.norm(np.cross(a, b), axis=1)
    return np.degrees(np.arctan2(cross, np.einsum("ij,ij->i", a, b)))


def zenith_deg(axis: np.ndarray) -> np.ndarray:
    """Zenith angle [deg] of vectors (N, 3) pointing to where the shower comes from."""
    axis = np.asarray(axis, dtype=np.float64)
    cos = axis[:, 2] / np.linalg.norm(axis, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _xmax_truth(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> np.ndarray:
    return np.asarray(events["mc_xmax"], dtype=np.float32)


def _lg_energy_truth(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> np.ndarray:
    return np.log10(np.asarray(events["mc_energy"], dtype=np.float64)).astype(np.float32)


def _axis_truth(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> np.ndarray:
    zen = np.asarray(events["mc_zenith"], dtype=np.float64)
    azi = np.asarray(events["mc_azimuth"], dtype=np.float64)
    axis = np.stack([np.sin(zen) * np.cos(azi), np.sin(zen) * np.sin(azi), np.cos(zen)], axis=-1)
    return axis.astype(np.float32)


def _core_truth(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> np.ndarray:
    core = np.stack([events["mc_core_x"] - hot_x, events["mc_core_y"] - hot_y], axis=-1)
    return core.astype(np.float32)


def _ln_a_truth(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> np.ndarray:
    return np.log(np.asarray(events["mc_mass"], dtype=np.float64)).astype(np.float32)


def _relative_energy(reco: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.power(10.0, np.asarray(reco, np.float64) - np.asarray(true, np.float64)) - 1.0


def _core_distance(reco: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(reco, np.float64) - np.asarray(true, np.float64), axis=1)


@dataclass(frozen=True)
class Target:
    """One reconstructed quantity (see the module docstring for what each field drives)."""

    name: str
    shape: tuple[int, ...]
    unit: str
    label: str  # panel title in figures (matplotlib mathtext allowed)
    description: str
    truth_fields: tuple[str, ...]  # Monte-Carlo fields of the events file it is computed from
    truth: TruthFn
    residual: ResidualFn
    residual_unit: str
    residual_definition: str
    statistics: tuple[str, ...]
    horizontal: int = 0  # leading components that are window-frame (x, y): rotated by the symmetries
    unit_length: bool = False  # a direction: predictions are rescaled to unit length
    merit_factor: bool = False  # report the p/Fe merit factor of the reconstructed value
    # how figures and tables show the residual: mathtext symbol (no $; default Delta name), the
    # factor and unit of the shown values (default: the residual unit), decimals in tables
    residual_symbol: str = ""
    display_scale: float = 1.0
    display_unit: str | None = None
    decimals: int = 2

    @property
    def components(self) -> int:
        """Number of numbers per event (1 for a scalar)."""
        return int(math.prod(self.shape))

    def finalise(self, values: np.ndarray) -> np.ndarray:
        """A prediction in physical units made a valid value of the target (directions: unit length)."""
        return unit_vectors(values) if self.unit_length else np.asarray(values, dtype=np.float64)

    def finalise_sigma(self, values: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The standard deviations of :meth:`finalise`'s result from those of the raw ``values``.

        A direction is divided by the length of its raw vector, and so are its sigmas (first
        order, the spread along the vector neglected); other targets keep theirs.
        """
        sigma = np.asarray(sigma, dtype=np.float64)
        if not self.unit_length:
            return sigma
        norm = np.linalg.norm(np.asarray(values, dtype=np.float64), axis=1, keepdims=True)
        return sigma / np.where(norm > 0, norm, 1.0)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            name="xmax", shape=(), unit="g/cm2", label=r"$X_\mathrm{max}$",
            description="depth of the shower maximum",
            truth_fields=("mc_xmax",), truth=_xmax_truth,
            residual=_difference, residual_unit="g/cm2", residual_definition="Xmax_rec - Xmax_true",
            statistics=("bias", "std", "half68"), merit_factor=True,
            residual_symbol=r"\Delta X_\mathrm{max}", decimals=1,
        ),
        Target(
            name="lg_energy", shape=(), unit="lg(E/eV)", label="energy",
            description="decimal logarithm of the primary energy",
            truth_fields=("mc_energy",), truth=_lg_energy_truth,
            residual=_relative_energy, residual_unit="1", residual_definition="E_rec / E_true - 1",
            statistics=("bias", "std", "half68"),
            residual_symbol=r"\Delta E/E", display_scale=100.0, display_unit="%", decimals=1,
        ),
        Target(
            name="axis", shape=(3,), unit="unit vector", label="direction",
            description="unit vector pointing to where the shower comes from",
            truth_fields=("mc_zenith", "mc_azimuth"), truth=_axis_truth,
            residual=opening_angle_deg, residual_unit="deg",
            residual_definition="opening angle between reconstructed and true axis",
            statistics=("q68",), horizontal=2, unit_length=True, residual_symbol=r"\psi",
        ),
        Target(
            name="core", shape=(2,), unit="m", label="core",
            description="shower core relative to the hottest station",
            truth_fields=("mc_core_x", "mc_core_y"), truth=_core_truth,
            residual=_core_distance, residual_unit="m",
            residual_definition="distance between reconstructed and true core",
            statistics=("q68",), horizontal=2, residual_symbol=r"\Delta r", decimals=0,
        ),
        Target(
            name="ln_a", shape=(), unit="1", label=r"$\ln A$",
            description="natural logarithm of the primary's mass number",
            truth_fields=("mc_mass",), truth=_ln_a_truth,
            residual=_difference, residual_unit="1", residual_definition="lnA_rec - lnA_true",
            statistics=("bias", "std", "half68"), merit_factor=True, residual_symbol=r"\Delta \ln A",
        ),
    )
}

BUILT_IN: tuple[str, ...] = tuple(TARGETS)
# names other columns of the predictions file and the reconstruct table use
RESERVED_NAMES = ("zenith", "azimuth", "file", "event_id", "hottest_station", "mass")
# Truth-only columns of the tensor file's ``targets/`` group (not trainable): name -> (shape, dtype, unit)
TRUTH_ONLY: dict[str, tuple[tuple[int, ...], str, str]] = {"mass": ((), "int32", "A")}


def _mass_truth(events: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.asarray(events["mc_mass"], dtype=np.int32)


# Every column of the tensor file's ``targets/`` group: name -> (shape, dtype). The same dict
# object as ``airshower.io.tensors.TARGETS``; :func:`register` keeps it in step with TARGETS.
TRUTH_COLUMNS: dict[str, tuple[tuple[int, ...], str]] = {
    **{t.name: (t.shape, "float32") for t in TARGETS.values()},
    **{k: (shape, dtype) for k, (shape, dtype, _) in TRUTH_ONLY.items()},
}


def truth_fields() -> tuple[str, ...]:
    """Monte-Carlo fields of the events file that the converter reads for the truth columns."""
    return tuple(dict.fromkeys([*(f for t in TARGETS.values() for f in t.truth_fields), "mc_mass"]))


def register(target: Target) -> Target:
    """Add a target to the registry (and to every table derived from it); ValueError if the name is taken.

    Built-in targets are defined in :data:`TARGETS` above; this is for targets a user defines
    in their own code (``docs/extending.md``). Every stage reads the registry when it runs.
    """
    reserved = {*TARGETS, *TRUTH_ONLY, *RESERVED_NAMES}
    if target.name in reserved or target.name.endswith(("_logvar", "_sigma")) or not target.name.isidentifier():
        raise ValueError(f"target name {target.name!r} is taken or reserved (a Python identifier not in "
                         f"{sorted(reserved)} and not ending in _logvar or _sigma)")
    if target.horizontal not in (0, 2) or (target.horizontal and (len(target.shape) != 1 or target.shape[0] < 2)):
        raise ValueError(f"target {target.name!r}: horizontal = {target.horizontal} with shape {target.shape}; "
                         "expected 0, or 2 for a vector whose first components are (x, y)")
    TARGETS[target.name] = target
    TRUTH_COLUMNS[target.name] = (target.shape, "float32")
    return target


def unregister(name: str) -> None:
    """Remove a target added with :func:`register` (built-in targets stay)."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is a built-in target")
    TARGETS.pop(name, None)
    TRUTH_COLUMNS.pop(name, None)


def truth_columns(events: Mapping[str, np.ndarray], hot_x: np.ndarray, hot_y: np.ndarray) -> dict[str, np.ndarray]:
    """Every column of :data:`TRUTH_COLUMNS` from the events' truth fields and the hottest station's (x, y) [m]."""
    out = {name: np.asarray(t.truth(events, hot_x, hot_y), dtype=np.float32) for name, t in TARGETS.items()}
    out["mass"] = _mass_truth(events)
    return out


def units() -> dict[str, str]:
    """Unit of every truth column and of the derived ``zenith`` [deg]."""
    return {**{t.name: t.unit for t in TARGETS.values()}, **{k: u for k, (_, _, u) in TRUTH_ONLY.items()},
            "zenith": "deg"}


def sigma_key(name: str) -> str:
    """Key of a target's per-event uncertainty in a network's output dict: the log-variance."""
    return f"{name}_logvar"
