"""Host synchronisations of the training step, counted on the CPU (tests.kit.host_syncs)."""

from __future__ import annotations

import pytest
import torch

from airshower.models.registry import MODEL_TYPES
from airshower.training.loop import train_step

from tests.kit.host_syncs import HostSyncCounter
from tests.kit.training import STEP_TARGETS as TARGETS, TinyNet, network_step, step_context, step_events

# Where each network must ask the host for a size: the packing of stations (nonzero) and,
# for the token sets padded per event, the longest set (one scalar read).
EXPECTED_STEP_SYNCS = {
    "hexcnn": {"aten.nonzero": 1},
    "lstm_hexcnn": {"aten.nonzero": 1},
    "vit": {"aten.nonzero": 1},
    "temporal": {"aten.nonzero": 2, "aten._local_scalar_dense": 1},
    "perceiver": {"aten.nonzero": 2, "aten._local_scalar_dense": 1},
}


def test_counts_what_waits_for_the_device_and_nothing_else() -> None:
    x = torch.arange(6.0)
    with HostSyncCounter() as syncs:
        _ = (x @ x) * 2  # kernels only
        _ = (x > 2).nonzero()
        _ = x.sum().item()
        _ = x[x > 3]  # boolean-mask indexing: a data-dependent size
        x[x > 4] = 0.0  # boolean-mask assignment
        _ = x[torch.tensor([0, 2])]  # integer indexing: no sync
    assert syncs.counts["aten.nonzero"] == 1
    assert syncs.counts["aten._local_scalar_dense"] == 1
    assert syncs.counts["aten.index"] == 1
    assert syncs.counts["aten.index_put_"] == 1
    assert syncs.total == 4
    assert syncs.describe() == "4 (_local_scalar_dense 1, index 1, index_put_ 1, nonzero 1)"
    with HostSyncCounter() as none:
        _ = torch.softmax(x, 0).cumsum(0)
    assert none.total == 0 and none.describe() == "0"


def test_the_step_itself_never_waits_for_the_device() -> None:
    """Augmentation, normalisation, loss, backward, clipping, schedule and AdamW: no host sync
    (a network without packing shows the loop's own count)."""
    grid = 5
    events = step_events(grid=grid)
    torch.manual_seed(0)
    sc = step_context(TinyNet(grid, 16, TARGETS, dropout=0.0), events, grid)
    train_step(sc, events)  # creates the optimiser state
    with HostSyncCounter() as syncs, syncs.excluding_optimizer(sc.optimizer):
        loss = train_step(sc, events)
    assert syncs.total == 0, syncs.describe()
    assert loss.requires_grad is False and loss.dim() == 0


def test_excluding_optimizer_skips_only_the_optimizer_step() -> None:
    grid = 5
    events = step_events(grid=grid)
    sc = step_context(TinyNet(grid, 16, TARGETS, dropout=0.0), events, grid)
    train_step(sc, events)
    with HostSyncCounter() as all_ops:
        train_step(sc, events)
    with HostSyncCounter() as counted, counted.excluding_optimizer(sc.optimizer):
        train_step(sc, events)
        _ = torch.ones(3).nonzero()  # after the step: counted again
    assert all_ops.total > 0  # the CPU optimiser reads its step counts with .item()
    assert counted.total == 1 and counted.counts["aten.nonzero"] == 1


@pytest.mark.parametrize("kind", sorted(MODEL_TYPES))
def test_each_network_syncs_only_to_pack_stations(kind: str) -> None:
    """A guard on the GPU step: a new .item(), nonzero or boolean mask in a network fails here."""
    sc, events = network_step(kind)
    train_step(sc, events)
    with HostSyncCounter() as syncs, syncs.excluding_optimizer(sc.optimizer):
        train_step(sc, events)
    assert dict(syncs.counts) == EXPECTED_STEP_SYNCS[kind], syncs.describe()
