"""Training: one engine for a laptop CPU, one GPU and several GPUs under torchrun.

Modules: :mod:`~airshower.training.settings` (the training section of one model),
:mod:`~airshower.training.device` (device, autocast), :mod:`~airshower.training.distributed`
(DDP), :mod:`~airshower.training.data` (device-resident or streamed batches),
:mod:`~airshower.training.normalise` (target standardisation),
:mod:`~airshower.training.augment` (the 12 hexagon symmetries),
:mod:`~airshower.training.checkpoint` (atomic, ``weights_only`` checkpoints),
:mod:`~airshower.training.loop` (loss, epochs, schedule, early stopping) and
:mod:`~airshower.training.engine` (``airshower train`` and :func:`train_model`).

Importing this package is cheap; torch is imported by the submodules.
"""

from __future__ import annotations

from airshower.errors import AirshowerError


class TrainingError(AirshowerError):
    """Training cannot go on (a non-finite loss, a checkpoint that does not fit); the message says where."""


__all__ = ["TrainingError"]
