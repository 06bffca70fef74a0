"""The 12 hexagon symmetries on window tensors, positions, axis and core."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from airshower.batch import Batch
from airshower.hexgrid import axial_to_xy, transform_fields
from airshower.station_state import StationState
from airshower.training.augment import N_SYMMETRIES, HexSymmetries

G = 5


def labelled_batch(n: int = N_SYMMETRIES, grid: int = G) -> Batch:
    """Every cell holds its flat index + 1 in traces and start_time, its lattice position, triggered."""
    h = grid // 2
    dq, dr = np.meshgrid(np.arange(grid) - h, np.arange(grid) - h, indexing="ij")
    x, y = axial_to_xy(dq, dr)
    label = torch.arange(1, grid * grid + 1, dtype=torch.float32).reshape(grid, grid)
    pos = torch.stack([torch.as_tensor(x), torch.as_tensor(y), torch.full((grid, grid), 7.0, dtype=torch.float64)], -1)
    return Batch(
        traces=label[None, :, :, None].expand(n, grid, grid, 3).clone(),
        start_time=label[None].expand(n, grid, grid).clone(),
        state=torch.full((n, grid, grid), int(StationState.TRIGGERED), dtype=torch.int8),
        position=pos.float()[None].expand(n, grid, grid, 3).clone(),
        targets={"axis": torch.tensor([[0.6, 0.0, 0.8]] * n), "core": torch.tensor([[100.0, 0.0]] * n)},
    )


def test_identity_changes_nothing() -> None:
    b = labelled_batch(2)
    out = HexSymmetries(G).apply(b, torch.zeros(2, dtype=torch.long))
    for name in ("traces", "start_time", "state", "position"):
        assert torch.equal(getattr(out, name), getattr(b, name)), name
    assert torch.allclose(out.targets["axis"], b.targets["axis"])


def test_rotation_by_60_degrees_moves_the_cell_at_plus_x_to_the_next_neighbour() -> None:
    b = labelled_batch(1)
    out = HexSymmetries(G).apply(b, torch.tensor([1]))
    h = G // 2
    # (dq, dr) = (1, 0) at 0 deg goes to (0, 1) at 60 deg
    assert out.start_time[0, h, h + 1] == b.start_time[0, h + 1, h]
    assert out.start_time[0, h, h] == b.start_time[0, h, h]
    assert torch.allclose(out.targets["core"][0], torch.tensor([50.0, 100.0 * math.sqrt(3) / 2]), atol=1e-4)


def test_reflection_flips_y() -> None:
    b = labelled_batch(1)
    out = HexSymmetries(G).apply(b, torch.tensor([6]))
    h = G // 2
    # (0, 1) at 60 deg goes to (1, -1) at -60 deg
    assert out.start_time[0, h + 1, h - 1] == b.start_time[0, h, h + 1]
    b.targets["axis"] = torch.tensor([[0.3, 0.4, 0.866]])
    out = HexSymmetries(G).apply(b, torch.tensor([6]))
    assert torch.allclose(out.targets["axis"], torch.tensor([[0.3, -0.4, 0.866]]))


@pytest.mark.parametrize("k", range(N_SYMMETRIES))
def test_agrees_with_hexgrid_transform_fields(k: int, events: Batch) -> None:
    """The batched, device-side augmentation equals hexgrid's reference transform, for every k."""
    sym = HexSymmetries(events.traces.shape[1])
    ks = torch.full((len(events),), k)
    out = sym.apply(events, ks)
    ref = transform_fields(
        k,
        {"traces": events.traces, "start_time": events.start_time, "state": events.state,
         "position": events.position, **events.targets},
    )
    for name in ("traces", "start_time", "state"):
        assert torch.equal(getattr(out, name), ref[name]), name
    assert torch.allclose(out.position, ref["position"], atol=1e-3)
    for name in ("axis", "core"):
        assert torch.allclose(out.targets[name], ref[name], atol=1e-4), name
    assert torch.equal(out.targets["xmax"], events.targets["xmax"])


def test_the_twelve_are_distinct() -> None:
    b = labelled_batch(N_SYMMETRIES)
    out = HexSymmetries(G).apply(b, torch.arange(N_SYMMETRIES))
    assert len({out.start_time[k].numpy().tobytes() for k in range(N_SYMMETRIES)}) == N_SYMMETRIES


@pytest.mark.parametrize("k", range(N_SYMMETRIES))
def test_moved_cells_sit_where_their_rotated_positions_say(k: int) -> None:
    """After any symmetry each kept cell's (rotated) position equals the lattice position of its new cell."""
    b = labelled_batch(1)
    out = HexSymmetries(G).apply(b, torch.tensor([k]))
    kept = out.state[0] != int(StationState.ABSENT)
    assert torch.allclose(out.position[0][kept], b.position[0][kept], atol=1e-2)
    gone = ~kept
    assert (out.traces[0][gone] == 0).all() and (out.position[0][gone] == 0).all()
    # z components untouched
    assert torch.allclose(out.targets["axis"][0, 2], b.targets["axis"][0, 2])
    assert math.isclose(float(out.targets["axis"][0, :2].norm()), 0.6, rel_tol=1e-5)


def test_each_event_gets_its_own_symmetry() -> None:
    b = labelled_batch(N_SYMMETRIES)
    sym = HexSymmetries(G)
    out = sym.apply(b, torch.arange(N_SYMMETRIES))
    for k in range(N_SYMMETRIES):
        single = sym.apply(labelled_batch(1), torch.tensor([k]))
        assert torch.equal(out.traces[k], single.traces[0])
        assert torch.allclose(out.targets["core"][k], single.targets["core"][0])


def test_draw_is_reproducible_and_uniform() -> None:
    sym = HexSymmetries(G)
    a = sym.draw(6000, torch.Generator().manual_seed(3))
    b = sym.draw(6000, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    counts = torch.bincount(a, minlength=N_SYMMETRIES).float()
    assert counts.min() > 400 and counts.max() < 600
