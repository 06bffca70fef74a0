"""Training: one engine for a laptop CPU, one GPU and several GPUs under torchrun.

Modules: :mod:`~airshower.training.settings` (the checked training settings of one model),
:mod:`~airshower.training.distributed` (DDP), :mod:`~airshower.training.data`
(device-resident or streamed batches), :mod:`~airshower.training.augment` (the 12 hexagon
symmetries), :mod:`~airshower.training.loop` (loss, epochs, schedule, early stopping),
:mod:`~airshower.training.provenance` (what made a model) and
:mod:`~airshower.training.engine` (``airshower train`` and
:func:`~airshower.training.engine.train_model`).

What training shares with prediction lives in :mod:`airshower.inference`: the checkpoint
format, the target normaliser, the event sources and the device choice. Errors that stop
training are :class:`airshower.errors.TrainingError`.

Importing this package is cheap; torch is imported by the submodules.
"""
