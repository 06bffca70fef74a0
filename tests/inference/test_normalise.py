"""Target standardisation: fitted statistics, inverse, chunked fit, and commuting with the symmetries."""

from __future__ import annotations

import torch

from airshower.batch import Batch
from airshower.inference.normalise import TargetNormaliser
from airshower.training.augment import N_SYMMETRIES, HexSymmetries

TARGETS = ["xmax", "lg_energy", "axis", "core"]


def test_standardised_scalars_have_zero_mean_and_unit_variance(events: Batch) -> None:
    norm = TargetNormaliser.fit([events.targets], TARGETS)
    z = norm.normalise(events.targets)
    for t in ("xmax", "lg_energy"):
        assert abs(float(z[t].mean())) < 1e-4
        assert abs(float(z[t].std(unbiased=False)) - 1.0) < 1e-3
    # horizontal components: no shift, one common scale (RMS 1 over both)
    assert float(norm.shift["core"].abs().max()) == 0.0
    assert torch.isclose((z["core"] ** 2).mean(), torch.tensor(1.0), atol=1e-4)
    assert norm.scale["axis"][0] == norm.scale["axis"][1]
    assert abs(float(z["axis"][:, 2].mean())) < 1e-4


def test_denormalise_inverts(events: Batch) -> None:
    norm = TargetNormaliser.fit([events.targets], TARGETS)
    back = norm.denormalise(norm.normalise(events.targets))
    for t in TARGETS:
        assert torch.allclose(back[t], events.targets[t].float(), rtol=1e-5, atol=1e-3)


def test_chunked_fit_equals_one_pass(events: Batch) -> None:
    whole = TargetNormaliser.fit([events.targets], TARGETS)
    chunks = [{k: v[i : i + 10] for k, v in events.targets.items()} for i in range(0, len(events), 10)]
    parts = TargetNormaliser.fit(chunks, TARGETS)
    for t in TARGETS:
        assert torch.allclose(whole.shift[t], parts.shift[t], atol=1e-4)
        assert torch.allclose(whole.scale[t], parts.scale[t], rtol=1e-5)


def test_state_dict_round_trip_holds_only_tensors(events: Batch) -> None:
    norm = TargetNormaliser.fit([events.targets], TARGETS)
    state = norm.state_dict()
    assert all(isinstance(v, torch.Tensor) for part in state.values() for v in part.values())
    again = TargetNormaliser.from_state_dict(state)
    assert all(torch.equal(again.scale[t], norm.scale[t]) for t in TARGETS)


def test_standardisation_commutes_with_the_symmetries(events: Batch) -> None:
    norm = TargetNormaliser.fit([events.targets], TARGETS)
    sym = HexSymmetries(events.traces.shape[1])
    k = torch.arange(len(events)) % N_SYMMETRIES
    rotate_then_norm = norm.normalise(sym.apply(events, k).targets)
    z = norm.normalise(events.targets)
    norm_then_rotate = sym.apply(Batch(events.traces, events.start_time, events.state, events.position, z), k).targets
    for t in ("axis", "core"):
        assert torch.allclose(rotate_then_norm[t], norm_then_rotate[t], atol=1e-5)


def test_constant_target_gets_unit_scale() -> None:
    norm = TargetNormaliser.fit([{"xmax": torch.full((5,), 700.0)}], ["xmax"])
    assert float(norm.scale["xmax"]) == 1.0
