"""HexConv2d: golden neighbour counts, a slow reference, masks, stride and 60-degree equivariance."""

from __future__ import annotations

import pytest
import torch

from airshower.models.hexconv import HexConv2d, hex_kernel_mask, hex_taps


def ones_conv(radius: int, stride: int = 1) -> HexConv2d:
    conv = HexConv2d(1, 1, radius=radius, stride=stride)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    return conv


def hex_offsets(radius: int) -> list[tuple[int, int]]:
    return [
        (dq, dr)
        for dq in range(-radius, radius + 1)
        for dr in range(-radius, radius + 1)
        if max(abs(dq), abs(dr), abs(dq + dr)) <= radius
    ]


def slow_reference(conv: HexConv2d, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Explicit sum over the hexagonal neighbours of every output cell."""
    b, c_in, g, _ = x.shape
    k, s = conv.radius, conv.stride
    g_out = (g - 1) // s + 1
    if mask is not None:
        x = x * mask[:, None].to(x.dtype)
    out = torch.zeros(b, conv.out_channels, g_out, g_out, dtype=torch.float64)
    w = conv.weight.detach().double()
    for q_out in range(g_out):
        for r_out in range(g_out):
            q, r = q_out * s, r_out * s
            acc = conv.bias.detach().double().clone().expand(b, -1).clone()
            for dq, dr in hex_offsets(k):
                qq, rr = q + dq, r + dr
                if 0 <= qq < g and 0 <= rr < g:
                    acc += x[:, :, qq, rr].double() @ w[:, :, dq + k, dr + k].T
            out[:, :, q_out, r_out] = acc
    return out


def test_kernel_mask_radius_one_is_block_minus_corners():
    expected = torch.tensor([[False, True, True], [True, True, True], [True, True, False]])
    assert torch.equal(hex_kernel_mask(1), expected)


@pytest.mark.parametrize("radius", [0, 1, 2, 3])
def test_kernel_mask_counts_hexagon_cells(radius):
    assert int(hex_kernel_mask(radius).sum()) == hex_taps(radius) == len(hex_offsets(radius))


def test_golden_neighbour_counts_radius_one():
    # all weights 1, zero bias, input ones: each cell counts itself + its neighbours in the window.
    # (0, 0) has (1, 0) and (0, 1); (0, 3) also has (1, 2) = (q+1, r-1): 4 where (0, 0) has 3.
    expected = torch.tensor(
        [
            [3.0, 5.0, 5.0, 4.0],
            [5.0, 7.0, 7.0, 5.0],
            [5.0, 7.0, 7.0, 5.0],
            [4.0, 5.0, 5.0, 3.0],
        ]
    )
    out = ones_conv(1)(torch.ones(1, 1, 4, 4))
    assert torch.equal(out[0, 0], expected)


def test_golden_neighbour_counts_radius_two():
    out = ones_conv(2)(torch.ones(1, 1, 5, 5))[0, 0]
    assert out[2, 2] == 19  # the full hexagon of radius 2
    assert out[0, 0] == 6 and out[4, 4] == 6  # dq, dr >= 0 with dq + dr <= 2
    assert out[0, 4] == 9 and out[4, 0] == 9  # dq >= 0 >= dr: |dq + dr| <= 2 always


def test_golden_with_absent_cells():
    # 3 x 3 window, cells (0, 0) and (1, 2) outside the array (their values must not count).
    # Each entry counts the present cells among the cell and its 6 neighbours, e.g.
    # (1, 1): itself, (2, 1), (0, 1), (1, 0), (2, 0), (0, 2) -- (1, 2) absent -> 6;
    # (2, 2): itself, (2, 1) -- (1, 2) absent -> 2; (0, 0) (absent itself): (1, 0), (0, 1) -> 2.
    mask = torch.ones(1, 3, 3, dtype=torch.bool)
    mask[0, 0, 0] = False
    mask[0, 1, 2] = False
    x = torch.full((1, 1, 3, 3), 5.0)
    x[0, 0, 0, 0] = x[0, 0, 1, 2] = 1e6
    out = ones_conv(1)(x, mask)[0, 0] / 5.0
    expected = torch.tensor([[2.0, 4.0, 3.0], [4.0, 6.0, 4.0], [4.0, 4.0, 2.0]])
    assert torch.equal(out, expected)


@pytest.mark.parametrize("radius,stride,g", [(1, 1, 5), (2, 1, 6), (1, 2, 7), (2, 3, 8)])
def test_agrees_with_slow_reference(radius, stride, g):
    torch.manual_seed(radius * 10 + stride)
    conv = HexConv2d(3, 4, radius=radius, stride=stride)
    with torch.no_grad():
        conv.weight.normal_()  # also the taps outside the hexagon: the mask must drop them
        conv.bias.normal_()
    x = torch.randn(2, 3, g, g)
    mask = torch.rand(2, g, g) > 0.3
    out = conv(x, mask)
    assert out.shape == (2, 4, (g - 1) // stride + 1, (g - 1) // stride + 1)
    torch.testing.assert_close(out.double(), slow_reference(conv, x, mask), rtol=1e-5, atol=1e-5)


def test_masked_cells_contribute_nothing():
    torch.manual_seed(1)
    conv = HexConv2d(2, 3)
    x = torch.randn(1, 2, 5, 5)
    mask = torch.rand(1, 5, 5) > 0.5
    garbage = x.clone()
    garbage[:, :, ~mask[0]] = 1e6
    assert torch.equal(conv(x, mask), conv(garbage, mask))


def test_output_mask_marks_cells_that_see_a_station():
    conv = HexConv2d(1, 1)
    mask = torch.zeros(1, 5, 5, dtype=torch.bool)
    mask[0, 2, 2] = True
    seen = conv.output_mask(mask)[0]
    cells = {(int(q), int(r)) for q, r in seen.nonzero()}
    assert cells == {(2 + dq, 2 + dr) for dq, dr in hex_offsets(1)}


def rotate60(dq: int, dr: int) -> tuple[int, int]:
    """60-degree counter-clockwise rotation of an axial offset (x = q + r/2, y = r sqrt(3)/2)."""
    return -dr, dq + dr


def rotate_window(x: torch.Tensor) -> torch.Tensor:
    """Rotate the hexagon of radius G//2 around the window centre by 60 degrees."""
    g = x.shape[-1]
    h = g // 2
    out = torch.zeros_like(x)
    for dq, dr in hex_offsets(h):
        nq, nr = rotate60(dq, dr)
        out[..., nq + h, nr + h] = x[..., dq + h, dr + h]
    return out


def symmetric_conv(c_in: int, c_out: int, radius: int) -> HexConv2d:
    conv = HexConv2d(c_in, c_out, radius=radius)
    per_ring = torch.randn(c_out, c_in, radius + 1)
    with torch.no_grad():
        conv.weight.zero_()
        for dq, dr in hex_offsets(radius):
            ring = max(abs(dq), abs(dr), abs(dq + dr))
            conv.weight[:, :, dq + radius, dr + radius] = per_ring[:, :, ring]
    return conv


@pytest.mark.parametrize("radius", [1, 2])
def test_rotation_equivariance_with_symmetric_kernel(radius):
    torch.manual_seed(radius)
    g, h = 9, 4
    hexagon = torch.zeros(g, g, dtype=torch.bool)
    for dq, dr in hex_offsets(h):
        hexagon[dq + h, dr + h] = True
    x = torch.randn(2, 3, g, g) * hexagon
    conv = symmetric_conv(3, 2, radius)
    out = conv(x)
    out_rot = conv(rotate_window(x))
    # rotating the input rotates the output on the hexagon (outside it, cells leave the window)
    torch.testing.assert_close(rotate_window(out) * hexagon, out_rot * hexagon, rtol=1e-5, atol=1e-5)
    # a generic (asymmetric) kernel is not equivariant: the check can fail
    generic = HexConv2d(3, 2, radius=radius)
    diff = (rotate_window(generic(x)) - generic(rotate_window(x))) * hexagon
    assert diff.abs().max() > 1e-3


def test_rotation_helper_is_order_six():
    x = torch.randn(1, 1, 7, 7)
    y = x
    for _ in range(6):
        y = rotate_window(y)
    hexagon = rotate_window(torch.ones(1, 1, 7, 7)) != 0
    assert torch.equal(y * hexagon, x * hexagon)
    assert not torch.equal(rotate_window(x) * hexagon, x * hexagon)


def test_gradient_does_not_reach_taps_outside_hexagon():
    conv = HexConv2d(2, 2)
    conv(torch.randn(1, 2, 5, 5)).sum().backward()
    outside = ~hex_kernel_mask(1)
    assert torch.all(conv.weight.grad[:, :, outside] == 0)
    assert torch.all(conv.weight.grad[:, :, ~outside] != 0)
