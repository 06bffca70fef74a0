"""Packing of stations and padding of per-event token sets."""

from __future__ import annotations

import torch

from airshower.models.packing import Packing, pad_groups


def test_gather_scatter_round_trip():
    mask = torch.tensor([[[True, False], [False, True]], [[False, False], [True, False]]])
    x = torch.arange(2 * 2 * 2 * 3, dtype=torch.float32).reshape(2, 2, 2, 3)
    p = Packing.from_mask(mask)
    assert len(p) == 3
    assert p.event.tolist() == [0, 0, 1]
    rows = p.gather(x)
    torch.testing.assert_close(rows, x[mask])
    back = p.scatter(rows)
    torch.testing.assert_close(back, x * mask.unsqueeze(-1))
    filled = p.scatter(rows, fill=torch.full((1, 1, 1, 3), -1.0))
    assert torch.all(filled[~mask] == -1)


def test_pad_groups_keeps_order_and_marks_padding():
    values = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])
    group = torch.tensor([2, 0, 2, 0, 2])
    padded, valid, dest = pad_groups(values, group, 4)
    assert padded.shape == (4, 3, 1)
    assert padded[0, :2, 0].tolist() == [2.0, 4.0]
    assert padded[2, :, 0].tolist() == [1.0, 3.0, 5.0]
    assert valid.tolist() == [[True, True, False], [False] * 3, [True] * 3, [False] * 3]
    torch.testing.assert_close(padded.reshape(-1, 1)[dest], values)


def test_pad_groups_with_no_rows():
    padded, valid, _ = pad_groups(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), 2)
    assert padded.shape == (2, 1, 2) and not valid.any()
