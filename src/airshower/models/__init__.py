"""The networks: hexagonal convolution, trace encoders, CNN/LSTM baselines and transformers.

Every network takes one :class:`airshower.batch.Batch` and returns a dict of named
predictions in normalised units; :func:`build_model` makes one from its config entry.
"""

from airshower.models.flops import count_parameters, forward_flops, make_example_batch
from airshower.models.registry import MODEL_TYPES, build_model, hyperparameter_table

__all__ = [
    "MODEL_TYPES",
    "build_model",
    "count_parameters",
    "forward_flops",
    "hyperparameter_table",
    "make_example_batch",
]
