"""``temporal``'s ``time_attention``: sparse (local + strided) and LSH attention against dense references."""

from __future__ import annotations

import math

import pytest
import torch

from airshower.errors import ConfigError
from airshower.models.time_attention import lsh_attention, lsh_buckets, sparse_attention
from airshower.models.transformer import attention
from airshower.station_state import StationState
from tests.kit.temporal import build_temporal

G, T = 5, 24
TARGETS = ["xmax", "lg_energy", "axis", "core"]


def qkv(n=3, h=2, length=20, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, h, length, d, generator=g, dtype=torch.float64) for _ in range(3)]


def some_padding(n: int, length: int) -> torch.Tensor:
    """(n, length) validity: sequence b has its last 3 b tokens masked."""
    valid = torch.ones(n, length, dtype=torch.bool)
    for b in range(n):
        if b:
            valid[b, length - 3 * b :] = False
    return valid


def dense(q, k, v, allowed, self_value=None):
    """softmax(q k^T / sqrt(d)) v over keys ``allowed`` (N, H or 1, Lq, Lk); the diagonal set to
    ``self_value`` (Reformer's rule) where given."""
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if self_value is not None:
        eye = torch.eye(q.shape[2], dtype=torch.bool)
        scores = scores.masked_fill(eye, self_value)
    scores = scores.masked_fill(~allowed, torch.finfo(q.dtype).min)
    return torch.matmul(scores.softmax(-1), v)


def dense_shared_qk(qk, v, valid):
    """Full attention with shared QK: keys qk / |qk|, no attention to oneself unless nothing else."""
    k = torch.nn.functional.normalize(qk, dim=-1)
    return dense(qk, k, v, valid[:, None, None, :], torch.finfo(qk.dtype).min / 2)


# -- sparse ------------------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("stride", [1, 3, 20])
def test_sparse_with_a_window_over_the_whole_sequence_is_full_attention(padded, stride):
    q, k, v = qkv()
    valid = some_padding(3, 20) if padded else None
    expected = attention(q, k, v, valid, mode="materialized")
    got = sparse_attention(q, k, v, window=20, stride=stride, valid=valid)
    real = valid if padded else torch.ones(3, 20, dtype=torch.bool)
    torch.testing.assert_close(got[real.unsqueeze(1).expand(-1, 2, -1)], expected[real.unsqueeze(1).expand(-1, 2, -1)])


@pytest.mark.parametrize("window,stride", [(4, 5), (3, 4), (7, 2), (5, 1), (1, 6)])
def test_sparse_matches_the_dense_local_plus_strided_pattern(window, stride):
    length = 22
    q, k, v = qkv(length=length)
    valid = some_padding(3, length)
    i = torch.arange(length)
    local = (i[:, None] // window - i[None, :] // window).abs() <= 1
    strided = (i[:, None] - i[None, :]) % stride == 0
    allowed = (local | strided)[None, None] & valid[:, None, None, :]
    expected = dense(q, k, v, allowed)
    got = sparse_attention(q, k, v, window, stride, valid)
    real = valid[:, None, :, None].expand_as(got)
    torch.testing.assert_close(got[real], expected[real])


# -- lsh ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("chunk", [20, 64])
def test_lsh_with_one_bucket_is_full_shared_qk_attention(padded, chunk):
    qk, _, v = qkv()
    valid = some_padding(3, 20) if padded else torch.ones(3, 20, dtype=torch.bool)
    assert lsh_buckets(20, chunk) == 1
    rotations = torch.randn(2, 1, 4, 1, dtype=torch.float64)
    got = lsh_attention(qk, v, rotations, n_buckets=1, chunk=chunk, valid=valid if padded else None)
    expected = dense_shared_qk(qk, v, valid)
    real = valid[:, None, :, None].expand_as(got)
    torch.testing.assert_close(got[real], expected[real])


def test_lsh_matches_dense_attention_within_own_and_previous_chunk():
    """One round, several buckets: the dense reference over the keys the sorted chunks allow."""
    n, h, length, d, chunk, buckets = 2, 2, 26, 4, 6, 4
    qk, _, v = qkv(n, h, length, d)
    valid = some_padding(n, length)
    rotations = torch.randn(h, 1, d, buckets // 2, dtype=torch.float64)
    got = lsh_attention(qk, v, rotations, buckets, chunk, valid)
    # the same hashing and sort, by hand
    rot = torch.einsum("nhld,hdb->nhlb", qk, rotations[:, 0])
    bucket = torch.cat([rot, -rot], -1).argmax(-1)
    bucket = torch.where(valid[:, None, :], bucket, buckets)
    order = torch.argsort(bucket * 100 + torch.arange(length), dim=-1)
    slot = torch.argsort(order, dim=-1)  # position of each token in the sorted sequence
    c = slot // chunk  # (N, H, L) chunk of each token
    allowed = ((c[..., :, None] - c[..., None, :]) == 0) | ((c[..., :, None] - c[..., None, :]) == 1)
    allowed &= valid[:, None, None, :]
    k = torch.nn.functional.normalize(qk, dim=-1)
    expected = dense(qk, k, v, allowed, torch.finfo(qk.dtype).min / 2)
    real = valid[:, None, :, None].expand_as(got)
    torch.testing.assert_close(got[real], expected[real])


def test_lsh_rounds_are_combined_by_their_softmax_mass():
    """Two identical rounds give the one-round result (weights 1/2 each)."""
    qk, _, v = qkv(length=30)
    one = torch.randn(2, 1, 4, 2, dtype=torch.float64)
    single = lsh_attention(qk, v, one, 4, 8)
    double = lsh_attention(qk, v, one.expand(-1, 2, -1, -1), 4, 8)
    torch.testing.assert_close(double, single)


def test_lsh_token_attends_to_itself_only_when_nothing_else_is_there():
    qk, _, v = qkv(n=1, length=10)
    valid = torch.zeros(1, 10, dtype=torch.bool)
    valid[0, 4] = True  # the only real token
    out = lsh_attention(qk, v, torch.randn(2, 1, 4, 1, dtype=torch.float64), 1, 16, valid)
    torch.testing.assert_close(out[0, :, 4], v[0, :, 4])
    valid[0, 7] = True  # another one: now neither looks at itself
    out = lsh_attention(qk, v, torch.randn(2, 1, 4, 1, dtype=torch.float64), 1, 16, valid)
    torch.testing.assert_close(out[0, :, 4], v[0, :, 7])
    torch.testing.assert_close(out[0, :, 7], v[0, :, 4])


# -- masks -------------------------------------------------------------------------------------

VARIANTS = {
    "sparse": lambda q, k, v, valid: sparse_attention(q, k, v, 4, 3, valid),
    "lsh": lambda q, k, v, valid: lsh_attention(q, v, torch.ones(2, 2, 4, 2, dtype=q.dtype).cumsum(-1), 4, 5, valid),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_padded_keys_get_no_weight_and_padding_does_not_change_real_outputs(variant):
    fn = VARIANTS[variant]
    q, k, v = qkv(length=17)
    valid = some_padding(3, 17)
    base = fn(q, k, v, valid)
    # padded tokens with wild keys and values: the real outputs stay
    wild = [torch.where(valid[:, None, :, None], x, 1e3 * torch.randn_like(x)) for x in (q, k, v)]
    real = valid[:, None, :, None].expand_as(base)
    torch.testing.assert_close(fn(*wild, valid)[real], base[real])
    # more padding appended: the real outputs stay
    extra = [torch.cat([x, torch.randn(3, 2, 9, 4, dtype=x.dtype)], dim=2) for x in (q, k, v)]
    longer = fn(*extra, torch.cat([valid, torch.zeros(3, 9, dtype=torch.bool)], dim=1))
    torch.testing.assert_close(longer[:, :, :17][real], base[real])
    assert torch.isfinite(longer).all()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gradients_reach_all_inputs_and_stay_finite_with_padding(variant):
    q, k, v = (x.requires_grad_(True) for x in qkv(length=17))
    valid = some_padding(3, 17)
    out = VARIANTS[variant](q, k, v, valid)
    out[valid[:, None, :, None].expand_as(out)].square().sum().backward()
    used = (q, v) if variant == "lsh" else (q, k, v)
    for x in used:
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        assert (x.grad.transpose(1, 2)[~valid] == 0).all()  # padded tokens receive no gradient


# -- the network -------------------------------------------------------------------------------


def scramble_absent(batch):
    """The same batch with large random traces, times and positions in the ABSENT cells."""
    g = torch.Generator().manual_seed(1)
    absent = batch.state == StationState.ABSENT
    traces, start, pos = batch.traces.clone(), batch.start_time.clone(), batch.position.clone()
    traces[absent] = torch.rand(traces[absent].shape, generator=g) * 1e4
    start[absent] = torch.randn(start[absent].shape, generator=g) * 1e5
    pos[absent] = torch.randn(pos[absent].shape, generator=g) * 1e5
    return type(batch)(traces=traces, start_time=start, state=batch.state, position=pos)


def build(**extra) -> torch.nn.Module:
    return build_temporal(G, T, TARGETS, **{"sparse_window": 4, "lsh_chunk": 4, **extra})


@pytest.mark.parametrize("choice", ["full", "sparse", "lsh"])
def test_temporal_trains_with_every_time_attention(choice, make_batch):
    model = build(time_attention=choice, dropout=0.1)
    batch = make_batch(grid_size=G, trace_bins=T)
    out = model(batch)
    sum(v.square().mean() for v in out.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name.startswith("encoder.blocks."):
            assert p.grad.abs().sum() > 0, name
    # absent cells do not leak into the outputs
    model.eval()
    with torch.no_grad():
        a, b = model(batch), model(scramble_absent(batch))
    for key in TARGETS:
        torch.testing.assert_close(a[key], b[key])


@pytest.mark.parametrize("choice", ["sparse", "lsh"])
def test_checkpointing_keeps_the_results(choice, make_batch):
    batch = make_batch(grid_size=G, trace_bins=T)
    plain = build(time_attention=choice, time_checkpoint="off")
    ckpt = build(time_attention=choice, time_checkpoint="on")
    results = []
    for model in (plain, ckpt):
        loss = sum(v.square().mean() for v in model(batch).values())
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for g0, g1 in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(g0, g1, rtol=1e-4, atol=1e-6)


def test_sparse_network_with_a_whole_trace_window_equals_the_full_one(make_batch):
    full = build(time_attention="full", attention="materialized")
    sparse = build(time_attention="sparse", sparse_window=T)
    sparse.load_state_dict(full.state_dict())
    batch = make_batch(grid_size=G, trace_bins=T)
    with torch.no_grad():
        a, b = full(batch), sparse(batch)
    for key in TARGETS:
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6)


def test_the_layers_take_their_hyperparameters():
    sparse = build(time_attention="sparse", sparse_window=5, sparse_stride=0)
    attn = sparse.encoder.blocks[0].attn
    assert (attn.window, attn.stride) == (5, round(math.sqrt(T)))
    lsh = build(time_attention="lsh", lsh_chunk=5, lsh_rounds=3)
    attn = lsh.encoder.blocks[1].attn
    assert attn.n_buckets == 6 and attn.rotations.shape == (2, 3, 4, 3)
    assert "encoder.blocks.0.attn.rotations" in lsh.state_dict()  # the hashing is saved with the weights


@pytest.mark.parametrize(
    "extra,pattern",
    [
        ({"time_attention": "linear"}, r"models\.net\.time_attention = 'linear'.*'full', 'sparse', 'lsh'"),
        ({"sparse_window": 0}, r"models\.net\.sparse_window = 0"),
        ({"lsh_rounds": 9}, r"models\.net\.lsh_rounds = 9"),
    ],
)
def test_bad_choices_are_config_errors(extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build(**extra)
