"""The static-shape path of every architecture (for ``training.compile``): the results of the
packed path, and a forward pass torch.compile captures as one graph."""

from __future__ import annotations

import pytest
import torch

from airshower.inference.tensor_sources import as_model_input
from airshower.models.packing import StaticShapes, set_static_shapes

from tests.models.test_architectures import TINY, build


def _loss(model: torch.nn.Module, batch) -> torch.Tensor:
    return sum(v.square().sum() for v in model(batch).values())


@pytest.mark.parametrize("name", TINY)
def test_static_shapes_give_the_packed_results_and_gradients(name, make_batch, scramble):
    batch = as_model_input(scramble(make_batch()))  # junk in the absent cells must stay out
    model = build(name)
    model.eval()
    packed = model(batch)
    _loss(model, batch).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    set_static_shapes(model)
    assert model.static_shapes and all(m.static_shapes for m in model.modules() if isinstance(m, StaticShapes))
    static = model(batch)
    for key in packed:
        torch.testing.assert_close(static[key], packed[key], rtol=1e-4, atol=1e-5)
    _loss(model, batch).backward()
    for n, p in model.named_parameters():
        if n in grads:
            torch.testing.assert_close(p.grad, grads[n], rtol=1e-3, atol=1e-5, msg=f"gradient of {n}")
    set_static_shapes(model, False)
    assert not model.static_shapes


RNN_BREAK = "RNN, GRU, or LSTM"  # Dynamo leaves nn.LSTM to eager mode: a break at the module, shapes static


def _breaks(model: torch.nn.Module, batch) -> list[str]:
    """Why torch.compile would split ``model``'s forward pass, one reason per graph break."""
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(batch)
    return [str(getattr(r, "reason", r)) for r in explained.break_reasons]


@pytest.mark.parametrize("name", TINY)
def test_the_static_path_compiles_without_data_dependent_breaks(name, make_batch):
    """No nonzero, no value read back, no shape from the data: the only breaks left are at LSTMs."""
    batch = as_model_input(make_batch())
    model = build(name)
    model.eval()
    set_static_shapes(model)
    assert [r for r in _breaks(model, batch) if RNN_BREAK not in r] == []
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="aot_eager", dynamic=False)
    out, eager = compiled(batch), model(batch)
    for key in eager:
        torch.testing.assert_close(out[key], eager[key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["hexcnn", "temporal"])
def test_the_packed_path_breaks_the_graph_on_the_data(name, make_batch):
    """The check above can fail: the packed path's nonzero splits the graph."""
    model = build(name)
    model.eval()
    assert [r for r in _breaks(model, as_model_input(make_batch())) if RNN_BREAK not in r]
