"""Per-event uncertainty: the Gaussian negative log-likelihood, sigma in physical units, calibration."""

from __future__ import annotations

import math

import torch

from airshower.inference.normalise import TargetNormaliser
from airshower.inference.tensor_sources import MemorySource
from airshower.models.heads import RegressionHead
from airshower.targets import sigma_key
from airshower.training.engine import train_model
from airshower.training.loop import per_event_losses

from tests.kit.training import make_batch, tiny_builder, tiny_config


def test_loss_is_the_gaussian_nll_with_a_log_variance_and_the_mse_without() -> None:
    y = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    mu = torch.tensor([[0.5, 1.0, 0.0], [1.0, 3.0, 1.0]])
    s = torch.tensor([[0.0, -1.0, 1.0], [2.0, 0.5, -0.5]])
    nll = per_event_losses({"axis": mu, sigma_key("axis"): s}, {"axis": y}, ["axis"])["axis"]
    expected = (0.5 * (s + (y - mu) ** 2 * torch.exp(-s))).mean(dim=1)
    torch.testing.assert_close(nll, expected)
    mse = per_event_losses({"axis": mu}, {"axis": y}, ["axis"])["axis"]
    torch.testing.assert_close(mse, ((y - mu) ** 2).mean(dim=1))


def test_the_nll_is_minimal_at_the_variance_of_the_residuals() -> None:
    gen = torch.Generator().manual_seed(0)
    y = 2.0 * torch.randn(4000, generator=gen)
    s = torch.zeros((), requires_grad=True)
    opt = torch.optim.Adam([s], lr=0.05)
    for _ in range(400):
        loss = per_event_losses({"xmax": torch.zeros(4000), sigma_key("xmax"): s.expand(4000)},
                                {"xmax": y}, ["xmax"])["xmax"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    sigma = math.exp(0.5 * float(s.detach()))
    rms = float(y.pow(2).mean().sqrt())  # the prediction is 0: sigma^2 = mean squared residual
    assert abs(sigma - rms) < 0.01 * rms


def test_a_heteroscedastic_head_learns_calibrated_sigmas() -> None:
    """Noise whose width grows with the input: the predicted sigma follows it and the pulls have width 1."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3000, 1, generator=gen)
    width = 0.1 + 0.9 * x[:, 0]
    y = 2.0 * x[:, 0] + width * torch.randn(3000, generator=gen)
    torch.manual_seed(2)
    head = RegressionHead(1, ["xmax"], hidden=(32,), uncertainty=True)
    opt = torch.optim.Adam(head.parameters(), lr=0.01)
    for _ in range(600):
        loss = per_event_losses(head(x), {"xmax": y}, ["xmax"])["xmax"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = head(x)
        sigma = torch.exp(0.5 * out[sigma_key("xmax")])
        pulls = (y - out["xmax"]) / sigma
    assert abs(float(pulls.std()) - 1.0) < 0.1
    assert torch.corrcoef(torch.stack([sigma, width]))[0, 1] > 0.9


def test_normaliser_turns_log_variances_into_physical_sigmas() -> None:
    values = {"xmax": torch.tensor([700.0, 760.0, 820.0]), "core": torch.tensor([[10.0, -20.0], [30.0, 0.0],
                                                                                  [-5.0, 5.0]])}
    norm = TargetNormaliser.fit([values], ["xmax", "core"])
    out = norm.sigma({"xmax": torch.zeros(3), sigma_key("xmax"): torch.full((3,), 2.0 * math.log(0.5)),
                      sigma_key("core"): torch.zeros(3, 2)})
    torch.testing.assert_close(out["xmax"], 0.5 * norm.scale["xmax"].expand(3))
    torch.testing.assert_close(out["core"], norm.scale["core"].expand(3, 2))


def test_training_with_uncertainty_keeps_the_flag_and_the_head(tmp_path) -> None:
    cfg = tiny_config(targets=["xmax", "ln_a", "core"], uncertainty=True, epochs=2)
    info = train_model(cfg, "tiny", MemorySource(make_batch(48)), tmp_path / "out", device="cpu",
                        model_builder=tiny_builder())
    state = torch.load(tmp_path / "out" / "model.pt", weights_only=True)
    assert state["model"]["uncertainty"] is True and info["epochs_run"] == 2
    assert state["model_state"]["head.outputs.core.weight"].shape[0] == 4  # 2 values + 2 log-variances


def test_beta_weighting_gives_the_mean_the_squared_errors_gradient_at_one() -> None:
    y = torch.tensor([0.0, 1.0, 3.0])
    s = torch.tensor([0.5, -1.0, 2.0])
    grads = {}
    for beta in (0.0, 0.5, 1.0):
        mu = torch.tensor([0.2, 0.0, 1.0], requires_grad=True)
        loss = per_event_losses({"xmax": mu, sigma_key("xmax"): s}, {"xmax": y}, ["xmax"], beta)["xmax"].sum()
        loss.backward()
        grads[beta] = mu.grad.clone()
    torch.testing.assert_close(grads[1.0], -(y - torch.tensor([0.2, 0.0, 1.0])))  # d/dmu of (y - mu)^2 / 2
    torch.testing.assert_close(grads[0.0], grads[1.0] * torch.exp(-s))  # plain NLL: divided by sigma^2
    torch.testing.assert_close(grads[0.5], grads[1.0] * torch.exp(-0.5 * s))


def test_every_beta_keeps_the_minimum_at_the_residual_variance() -> None:
    r2 = torch.tensor(4.0)
    for beta in (0.0, 0.5, 1.0):
        s = torch.tensor(0.3, requires_grad=True)
        loss = per_event_losses({"xmax": torch.zeros(1), sigma_key("xmax"): s.reshape(1)},
                                {"xmax": r2.sqrt().reshape(1)}, ["xmax"], beta)["xmax"].sum()
        (grad,) = torch.autograd.grad(loss, s)
        s_star = torch.log(r2)  # sigma^2 = r^2: the gradient vanishes there, and has the sign of s - s*
        assert float(grad) * float(s.detach() - s_star) > 0, beta
