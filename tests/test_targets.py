"""The target registry: every layer agrees with :data:`airshower.targets.TARGETS`, and each
definition (truth, symmetry action, residual) does what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from airshower import targets as tg
from airshower.batch import Batch
from airshower.config import load_schema, schema_path
from airshower.errors import ConfigError
from airshower.evaluation import binned
from airshower.hexgrid import N_SYMMETRIES, transform_vectors, vector_fields
from airshower.inference.normalise import TargetNormaliser
from airshower.io import tensors
from airshower.models.heads import RegressionHead, check_targets
from airshower.training.augment import HexSymmetries

NAMES = list(tg.TARGETS)


def test_the_schema_lists_exactly_the_registry() -> None:
    with open(schema_path(), encoding="utf-8") as handle:  # the file, as Snakemake validates with it
        training = yaml.safe_load(handle)["$defs"]["training"]["properties"]
    assert training["targets"]["items"]["enum"] == NAMES == list(tg.BUILT_IN)
    assert list(training["loss_weights"]["properties"]) == NAMES
    loaded = load_schema()["$defs"]["training"]["properties"]
    assert loaded["targets"]["items"]["enum"] == NAMES and list(loaded["loss_weights"]["properties"]) == NAMES


def test_every_layer_knows_every_target() -> None:
    assert {k for k in tensors.TARGETS if k not in tg.TRUTH_ONLY} == set(NAMES)
    assert tensors.TARGETS is tg.TRUTH_COLUMNS
    assert set(NAMES) <= set(tg.units())
    assert check_targets(NAMES) == NAMES
    assert {n for n, t in tg.TARGETS.items() if t.horizontal} == set(vector_fields()) - {"position"}
    for name, t in tg.TARGETS.items():
        assert set(t.statistics) <= set(binned.STATISTICS), name
        assert t.components == int(np.prod(t.shape)), name


def _truth_events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "mc_xmax": rng.normal(750, 60, n), "mc_energy": 10 ** rng.uniform(18.5, 20, n),
        "mc_zenith": rng.uniform(0, 1.0, n), "mc_azimuth": rng.uniform(0, 6.28, n),
        "mc_core_x": rng.normal(0, 500, n), "mc_core_y": rng.normal(0, 500, n),
        "mc_mass": rng.choice([1, 4, 14, 56], n).astype(np.int32),
    }


def test_truth_columns_have_the_declared_shapes_and_values() -> None:
    rng = np.random.default_rng(1)
    events = _truth_events(9, rng)
    cols = tg.truth_columns(events, np.full(9, 100.0), np.zeros(9))
    assert set(cols) == set(tg.TRUTH_COLUMNS)
    for name, (shape, dtype) in tg.TRUTH_COLUMNS.items():
        assert cols[name].shape == (9, *shape) and cols[name].dtype == np.dtype(dtype), name
    np.testing.assert_allclose(cols["ln_a"], np.log(events["mc_mass"]), rtol=1e-6)
    np.testing.assert_allclose(cols["core"][:, 0], events["mc_core_x"] - 100.0, rtol=1e-5)
    np.testing.assert_allclose(tg.zenith_deg(cols["axis"]), np.degrees(events["mc_zenith"]), atol=1e-4)
    assert set(tg.truth_fields()) == set(events)


@pytest.mark.parametrize("k", range(N_SYMMETRIES))
def test_augmentation_acts_on_each_target_as_its_definition_says(k: int) -> None:
    rng = np.random.default_rng(k)
    n, g = 4, 5
    values = {name: torch.as_tensor(rng.normal(size=(n, *t.shape)), dtype=torch.float32)
              for name, t in tg.TARGETS.items()}
    batch = Batch(torch.zeros(n, g, g, 2), torch.zeros(n, g, g), torch.full((n, g, g), 3, dtype=torch.int8),
                  torch.zeros(n, g, g, 3), values)
    out = HexSymmetries(g).apply(batch, torch.full((n,), k))
    for name, t in tg.TARGETS.items():
        if t.horizontal:
            expected = transform_vectors(values[name].numpy(), k)
            np.testing.assert_allclose(out.targets[name].numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=name)
        else:  # invariant under the symmetries of the hexagon
            torch.testing.assert_close(out.targets[name], values[name])


def test_standardisation_commutes_with_the_symmetries() -> None:
    rng = np.random.default_rng(3)
    values = {name: torch.as_tensor(rng.normal(2.0, 3.0, size=(200, *t.shape)), dtype=torch.float32)
              for name, t in tg.TARGETS.items()}
    norm = TargetNormaliser.fit([values], NAMES)
    g = 5
    batch = Batch(torch.zeros(200, g, g, 2), torch.zeros(200, g, g), torch.full((200, g, g), 3, dtype=torch.int8),
                  torch.zeros(200, g, g, 3), values)
    sym = HexSymmetries(g)
    k = torch.arange(200) % N_SYMMETRIES
    rotated_then_normalised = norm.normalise(sym.apply(batch, k).targets)
    normalised = Batch(batch.traces, batch.start_time, batch.state, batch.position, norm.normalise(values))
    normalised_then_rotated = sym.apply(normalised, k).targets
    for name in NAMES:
        torch.testing.assert_close(rotated_then_normalised[name], normalised_then_rotated[name], rtol=1e-4,
                                   atol=1e-5)


def test_residuals_match_their_definitions() -> None:
    true_axis = np.array([[0.0, 0.0, 1.0]])
    reco_axis = np.array([[np.sin(np.radians(2.0)), 0.0, np.cos(np.radians(2.0))]])
    assert tg.TARGETS["axis"].residual(reco_axis, true_axis)[0] == pytest.approx(2.0)
    assert tg.TARGETS["core"].residual(np.array([[3.0, 4.0]]), np.zeros((1, 2)))[0] == pytest.approx(5.0)
    assert tg.TARGETS["lg_energy"].residual(np.array([19.0 + np.log10(1.1)]), np.array([19.0]))[0] == pytest.approx(0.1)
    assert tg.TARGETS["ln_a"].residual(np.array([1.5]), np.array([np.log(4)]))[0] == pytest.approx(1.5 - np.log(4))
    np.testing.assert_allclose(np.linalg.norm(tg.TARGETS["axis"].finalise(np.array([[3.0, 0, 4.0]])), axis=1), 1.0)


def test_uncertainty_head_gives_a_log_variance_per_component() -> None:
    head = RegressionHead(8, NAMES, hidden=(4,), uncertainty=True)
    out = head(torch.randn(5, 8))
    for name, t in tg.TARGETS.items():
        assert out[name].shape == (5, *t.shape)
        logvar = out[tg.sigma_key(name)]
        assert logvar.shape == (5, *t.shape)
        assert (logvar >= -10).all() and (logvar <= 10).all()
    assert set(RegressionHead(8, NAMES)(torch.randn(2, 8))) == set(NAMES)


def test_a_model_type_without_an_uncertainty_head_is_refused(monkeypatch) -> None:
    from airshower.models import registry

    monkeypatch.setattr(registry.MODEL_TYPES["perceiver"], "SUPPORTS_UNCERTAINTY", False)
    with pytest.raises(ConfigError, match=r"models\.p: training\.uncertainty = true, but architecture 'perceiver'"):
        registry.build_model("p", {"type": "perceiver"}, 5, 8, ["xmax"], uncertainty=True)
    registry.build_model("p", {"type": "perceiver"}, 5, 8, ["xmax"], uncertainty=False)
