"""The water-Cherenkov station: pulse shape, FADC binning, noise, gains and saturation.

Constants from ``detector`` in sd_parameters.json (Auger, NIM A 798 (2015) 172 and the
SD-1500 electronics):

* each particle's light is an exponential pulse of decay time 61.4 ns, sampled in 25 ns
  FADC bins (UB) or 8.333 ns (UUB); traces are kept in VEM-charge units per bin
  (the trace summed over bins is the signal in VEM);
* one VEM has a charge of ``vem_charge_adc`` (ADC counts summed over bins) and a peak of
  ``vem_peak_adc``: trigger thresholds in "VEM peak" convert to VEM-charge per bin with
  the ratio peak/charge;
* the high-gain (anode) channel digitises with ``adc_bits`` (UB 10 bits, UUB 12 bits: the
  json gives the UB value, 12 is the UUB design) and clips at 2^bits - 1 counts
  (UB: 1023 / 172 = 5.95 VEM-charge per bin); above it the low-gain (dynode) channel,
  ``dynode_to_anode`` = 32 times less sensitive, takes over, and it saturates in turn at
  32 x the high-gain range: such stations are flagged saturated;
* baseline noise: Gaussian, NOISE_ADC counts rms in each channel (typical values, not in
  the json).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from airshower.errors import ConfigError
from airshower.physics.parameters import sd_parameters

NOISE_ADC = {"ub": 0.6, "uub": 2.0}
UUB_ADC_BITS = 12


@dataclass(frozen=True)
class Electronics:
    """FADC settings of one electronics generation (UB or UUB); trace units: VEM-charge per bin."""

    name: str
    bin_ns: float
    vem_charge_adc: float
    vem_peak_adc: float
    adc_max: int
    dynode_to_anode: float
    noise_adc: float
    pulse_decay_ns: float

    @property
    def peak_to_charge(self) -> float:
        """VEM-charge per bin of one VEM peak."""
        return self.vem_peak_adc / self.vem_charge_adc

    @property
    def high_gain_max_vem(self) -> float:
        """Largest value [VEM-charge/bin] the high-gain channel records."""
        return self.adc_max / self.vem_charge_adc

    @property
    def low_gain_max_vem(self) -> float:
        """Largest value [VEM-charge/bin] the low-gain channel records (saturation)."""
        return self.adc_max * self.dynode_to_anode / self.vem_charge_adc


def electronics(name: str) -> Electronics:
    """The ``ub`` (25 ns) or ``uub`` (8.333 ns) electronics."""
    det = sd_parameters()["detector"]
    if name not in ("ub", "uub"):
        raise ConfigError(f"simulation.electronics = {name!r} is not known; choose 'ub' or 'uub'")
    e = det[name]
    bits = int(e.get("adc_bits", UUB_ADC_BITS if name == "uub" else 10))
    return Electronics(
        name=name,
        bin_ns=float(e["bin_ns"]),
        vem_charge_adc=float(e["vem_charge_adc"]),
        vem_peak_adc=float(e["vem_peak_adc"]),
        adc_max=2**bits - 1,
        dynode_to_anode=float(e.get("dynode_to_anode", det["ub"]["dynode_to_anode"])),
        noise_adc=NOISE_ADC[name],
        pulse_decay_ns=float(det["single_particle_pulse_decay_ns"]),
    )


def pulse_kernel(n_bins: int, bin_ns: float, decay_ns: float) -> np.ndarray:
    """Fraction of a particle's charge in each bin after its arrival bin (arrival uniform within the bin).

    k[0] = 1 - (tau/dt)(1 - e^(-dt/tau)),  k[j>=1] = (tau/dt)(1 - e^(-dt/tau))^2 e^(-(j-1) dt/tau);
    the k sum to 1 over infinitely many bins.
    """
    ratio = np.exp(-bin_ns / decay_ns)
    g = decay_ns / bin_ns * (1.0 - ratio)
    k = np.empty(n_bins)
    k[0] = 1.0 - g
    k[1:] = g * (1.0 - ratio) * ratio ** np.arange(n_bins - 1)
    return k


@lru_cache(maxsize=8)
def pulse_matrix(n_bins: int, bin_ns: float, decay_ns: float) -> np.ndarray:
    """(n_bins, n_bins) float32 matrix M with traces = deposits @ M (deposits per arrival bin)."""
    k = pulse_kernel(n_bins, bin_ns, decay_ns)
    idx = np.arange(n_bins)
    lag = idx[None, :] - idx[:, None]
    m = np.where(lag >= 0, k[np.clip(lag, 0, None)], 0.0).astype(np.float32)
    m.setflags(write=False)
    return m


def pulse_shape(deposits: np.ndarray, elec: Electronics) -> np.ndarray:
    """Traces [VEM-charge/bin] from the charge deposited per arrival bin, shape (n, T) -> (n, T)."""
    n_bins = deposits.shape[-1]
    return np.asarray(deposits, dtype=np.float32) @ pulse_matrix(n_bins, elec.bin_ns, elec.pulse_decay_ns)


def digitise(rng: np.random.Generator, traces: np.ndarray, elec: Electronics) -> tuple[np.ndarray, np.ndarray]:
    """Baseline noise, ADC quantisation, high-gain clipping with low-gain takeover, saturation.

    Returns (traces [VEM-charge/bin] as recorded, float32; saturated flag per trace).
    """
    q = elec.vem_charge_adc
    adc = traces * np.float32(q)
    noise = rng.standard_normal(traces.shape, dtype=np.float32) * np.float32(elec.noise_adc)
    high = np.rint(adc + noise)
    use_low = high > elec.adc_max
    out = high / np.float32(q)
    if np.any(use_low):
        rows = np.nonzero(use_low.any(axis=1))[0]
        sub_adc = adc[rows] / np.float32(elec.dynode_to_anode) + noise[rows]
        low = np.minimum(np.rint(sub_adc), elec.adc_max)
        sub_out = np.where(use_low[rows], low * np.float32(elec.dynode_to_anode / q), out[rows])
        out[rows] = sub_out
        saturated = np.zeros(traces.shape[0], dtype=bool)
        saturated[rows] = (sub_adc >= elec.adc_max + 0.5).any(axis=1)
    else:
        saturated = np.zeros(traces.shape[0], dtype=bool)
    return out.astype(np.float32, copy=False), saturated
