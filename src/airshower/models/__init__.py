"""The networks: hexagonal convolution, trace encoders, CNN/LSTM baselines and transformers.

Every network takes one :class:`airshower.batch.Batch` and returns a dict of named
predictions in normalised units; :func:`build_model` makes one from its config entry.

Importing this package imports no torch: :mod:`airshower.models.specs` (what each
architecture accepts, checked when the workflow loads) needs the standard library only. The
names below are looked up on first use, from :mod:`~airshower.models.registry` and
:mod:`~airshower.models.flops`, which import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> "module:name" (the form airshower.codedeps follows: code using these depends on the module)
_LAZY = {
    "MODEL_TYPES": "airshower.models.registry:MODEL_TYPES",
    "build_model": "airshower.models.registry:build_model",
    "hyperparameter_table": "airshower.models.specs:hyperparameter_table",
    "count_parameters": "airshower.models.flops:count_parameters",
    "forward_flops": "airshower.models.flops:forward_flops",
    "make_example_batch": "airshower.models.flops:make_example_batch",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name].split(":")
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
