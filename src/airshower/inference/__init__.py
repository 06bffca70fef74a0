"""Running a trained network: what ``airshower predict``, ``reconstruct`` and ``export`` need, and training shares.

Modules: :mod:`~airshower.inference.checkpoint` (the ``model.pt`` format: atomic,
``weights_only`` checkpoints with a checksum; :func:`~airshower.inference.checkpoint.load_model`
rebuilds the network for prediction), :mod:`~airshower.inference.normalise` (target
standardisation, fitted at training and stored in the checkpoint),
:mod:`~airshower.inference.tensor_sources` (events of a tensor file or in memory, read in batches
of :class:`~airshower.batch.Batch`) and :mod:`~airshower.inference.device` (device choice,
autocast). Nothing here imports :mod:`airshower.training`; training imports these.

Importing this package is cheap; torch is imported by the submodules.
"""
