"""Replicas: a model of the study trained N times with independent initialisation, shuffling and augmentation.

``training.replicas: N`` (default 1; a model may override it in ``models.<name>.training``)
trains every model N times. Replica 0 of model ``m`` is ``m`` itself: today's paths and
seed, so raising N adds jobs and re-runs nothing that exists. Replica ``k > 0`` is the run
``m~k`` (:data:`SEPARATOR`; legal in paths and Snakemake wildcards, not in the names of
models: :func:`airshower.config.validate_config` refuses them): ``results/{study}/models/m~k/``, its own predictions
and metrics, trained with the entry of ``m`` and the seed :func:`replica_seed` of
(``training.seed``, k). The validation split stays that of ``training.seed`` (every replica
is validated on the same events); the initial weights, the batch order and the hexagon
symmetries drawn come from the replica's seed.

Standard library only: the workflow plans with it (workflow/rules/common.smk).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from airshower.layout import REPLICA_SEPARATOR as SEPARATOR


def replica_name(model: str, replica: int) -> str:
    """The run name of replica ``replica`` of ``model``: ``model`` for 0, else ``model~replica``."""
    if replica < 0:
        raise ValueError(f"replica {replica}: expected 0 or more")
    return model if replica == 0 else f"{model}{SEPARATOR}{replica}"


def split_replica(name: str) -> tuple[str, int]:
    """(model, replica) of a run name: ``m~2`` -> (``m``, 2); ``m`` -> (``m``, 0)."""
    model, sep, index = name.rpartition(SEPARATOR)
    if sep and model and index.isdigit() and int(index) > 0 and str(int(index)) == index:
        return model, int(index)
    return name, 0


def replica_count(config: Mapping[str, Any], model: str) -> int:
    """N of ``model``: ``models.<model>.training.replicas``, else ``training.replicas``, else 1."""
    entry = (config.get("models") or {}).get(model) or {}
    override = (entry.get("training") or {}) if isinstance(entry, Mapping) else {}
    if "replicas" in override:
        return int(override["replicas"])
    return int((config.get("training") or {}).get("replicas", 1))


def replica_names(config: Mapping[str, Any], model: str) -> list[str]:
    """The runs of ``model``: ``[m, m~1, ..., m~(N-1)]``."""
    return [replica_name(model, k) for k in range(replica_count(config, model))]


def all_runs(config: Mapping[str, Any]) -> list[str]:
    """Every run of the study, model by model in the config's order, replica 0 first."""
    return [run for model in (config.get("models") or {}) for run in replica_names(config, model)]


def replica_seed(seed: int, replica: int) -> int:
    """The seed of replica ``replica`` of a model trained with ``training.seed`` = ``seed``.

    ``seed`` itself for replica 0; else 31 bits of SHA-256 of ``"{seed}:{replica}"``, so the
    seeds of replicas (and the ``+1``, ``+2`` the engine derives from them) do not collide
    with those of other replicas or of neighbouring ``training.seed`` values.
    """
    if replica == 0:
        return int(seed)
    digest = hashlib.sha256(f"{int(seed)}:{int(replica)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


