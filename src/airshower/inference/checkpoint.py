"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of tensors and plain containers (str, int, float, bool, None, list,
dict) only, so that loading it never runs pickled code:

* ``format`` (``"airshower-train"``), ``version`` (:data:`CHECKPOINT_VERSION`), ``fingerprint``
  (hash of what training depends on: config, model, tensors; written by the training engine,
  :func:`airshower.training.engine.fingerprint`)
* ``model``: ``name``, ``spec`` (the ``models.<name>`` entry without ``training``),
  ``grid_size``, ``trace_bins``, ``targets``, ``uncertainty`` (bool: the head gives
  log-variances; absent in checkpoints made before it existed, read as false), ``bin_ns``
  (trace bin width [ns] of the training tensor file; None for events held in memory)
* ``epoch``: epochs completed; ``model_state``: weights after that epoch;
  ``best_model_state`` and ``best_epoch``: weights with the lowest validation loss so far
* ``optimizer``, ``scheduler``, ``early_stopping``: their state dicts
* ``rng``: ``torch`` (CPU generator), ``cuda`` (list, one per GPU), ``shuffle`` and
  ``augment`` (the data generators)
* ``normaliser``: target shift and scale (:class:`~airshower.inference.normalise.TargetNormaliser`)
* ``history``: one dict per epoch (the rows of ``history.csv``); ``elapsed_s``: training time so far
* ``weights_sha256``: sha256 of the weights (:func:`weights_checksum`), written by
  :func:`save_checkpoint` and checked by :func:`load_checkpoint`, so that a damaged file is
  refused instead of predicting with corrupted weights (absent in checkpoints made before it
  existed: they load unchecked)

The final ``model.pt`` of a model is the last checkpoint; :func:`load_model` rebuilds the
network from it with the weights of the best epoch, for prediction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from airshower.atomic import atomic_path
from airshower.errors import InputFileError
from airshower.inference.normalise import TargetNormaliser
from airshower.io.files import require_file

CHECKPOINT_FORMAT = "airshower-train"
CHECKPOINT_VERSION = 1
CHECKSUM_KEY = "weights_sha256"
WEIGHT_KEYS = ("best_model_state", "model_state")  # the state dicts the checksum covers, in this order
# what turns the weights into physical values: the target scaling and the model's spec
# (architecture, window, trace bins and their width); checked like the weights
CONTENT_CHECKSUM_KEY = "content_sha256"
CONTENT_KEYS = ("normaliser", "model")


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor (CPU, contiguous; any dtype, bfloat16 included)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def _hash_value(digest: Any, value: Any) -> None:
    """Feed ``value`` to ``digest``: a mapping entry by entry in sorted key order (name, then
    value), a tensor as its dtype, shape and raw bytes, a list or tuple item by item, anything
    else as its ``repr``."""
    if isinstance(value, Mapping):
        digest.update(b"{")
        for name in sorted(value, key=str):
            digest.update(f"{name}\0".encode())
            _hash_value(digest, value[name])
        digest.update(b"}")
    elif isinstance(value, torch.Tensor):
        digest.update(f"{value.dtype}{tuple(value.shape)}\0".encode())
        digest.update(_tensor_bytes(value))
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _hash_value(digest, item)
        digest.update(b"]")
    else:
        digest.update(f"{value!r}\0".encode())


def weights_checksum(state: Mapping[str, Any]) -> str:
    """sha256 (hex) of the weights of a checkpoint: ``best_model_state`` and ``model_state``.

    Every entry of both state dicts in sorted key order: its name, then for a tensor its dtype,
    shape and raw bytes, for anything else its ``repr`` (the byte layout of the first checkpoints
    with a checksum, which must keep loading). A checkpoint without weights hashes to the digest
    of nothing.
    """
    digest = hashlib.sha256()
    for part in WEIGHT_KEYS:
        weights = state.get(part)
        if weights is None:
            continue
        digest.update(f"[{part}]".encode())
        for name in sorted(weights):
            digest.update(f"{name}\0".encode())
            _hash_value(digest, weights[name])
    return digest.hexdigest()


def content_checksum(state: Mapping[str, Any]) -> str:
    """sha256 (hex) of what maps the outputs to physical values: the target scaling (``normaliser``)
    and the model's spec (``model``)."""
    digest = hashlib.sha256()
    for part in CONTENT_KEYS:
        if state.get(part) is not None:
            digest.update(f"[{part}]".encode())
            _hash_value(digest, state[part])
    return digest.hexdigest()


def checkpoint_path(model_dir_or_pt: str | Path) -> Path:
    """The ``model.pt`` of a trained model's folder, or the path itself when it is not a folder."""
    path = Path(model_dir_or_pt)
    return path / "model.pt" if path.is_dir() else path


def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.

    A reader (or a run killed half-way, SIGKILL included) sees the old file or the new one,
    never a partial one. The checksums of the weights (:func:`weights_checksum`) and of the
    target scaling and model spec (:func:`content_checksum`) are stored with them under
    ``weights_sha256`` and ``content_sha256`` (replacing any ``state`` may carry).
    """
    content = dict(state)
    content[CHECKSUM_KEY] = weights_checksum(content)
    content[CONTENT_CHECKSUM_KEY] = content_checksum(content)
    with atomic_path(path, durable=True) as tmp:
        torch.save(content, tmp)


def verify_checksum(state: Mapping[str, Any], path: Path) -> None:
    """InputFileError naming ``path`` when a stored checksum (weights; target scaling and spec)
    is not that of the content.

    Checkpoints made before a checksum existed have none and pass that check unchecked.
    """
    for key, what, checksum in ((CHECKSUM_KEY, "weights", weights_checksum),
                                (CONTENT_CHECKSUM_KEY, "target scaling or model spec", content_checksum)):
        stored = state.get(key)
        if stored is None:
            continue
        computed = checksum(state)
        if stored != computed:
            raise InputFileError(
                f"{path}: checksum mismatch of the {what}: the file is damaged (stored {str(stored)[:16]}..., "
                f"computed {computed[:16]}...); train again or restore it"
            )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; :class:`InputFileError` when it is not one of ours
    or when its weights do not match their stored checksum (a damaged file)."""
    path = require_file(path, "checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input here
        raise InputFileError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputFileError(f"{path}: not an airshower training checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise InputFileError(
            f"{path}: checkpoint version {state.get('version')!r}; this airshower reads version {CHECKPOINT_VERSION}"
        )
    verify_checksum(state, path)
    return state


def load_model(
    path: str | Path, device: str | torch.device = "cpu", weights: str = "best"
) -> tuple[torch.nn.Module, TargetNormaliser, dict[str, Any]]:
    """The trained network of a ``model.pt``, in eval mode on ``device``, ready for prediction.

    Returns ``(model, normaliser, info)``: the model with the weights of the best epoch
    (``weights="best"``) or of the last one (``"last"``); the
    :class:`~airshower.inference.normalise.TargetNormaliser` that turns its standardised
    outputs into physical units (``normaliser.denormalise(model(batch))``); and ``info``, the
    checkpoint's ``model`` entry with ``epoch`` and ``best_epoch`` added.
    """
    from airshower.models.registry import build_model  # the registry imports every network: only when loading

    state = load_checkpoint(path, map_location="cpu")
    meta = state["model"]
    model = build_model(meta["name"], dict(meta["spec"]), meta["grid_size"], meta["trace_bins"],
                        list(meta["targets"]), uncertainty=bool(meta.get("uncertainty", False)))
    key = {"best": "best_model_state", "last": "model_state"}[weights]
    model.load_state_dict(state[key])
    model.to(device).eval()
    info = dict(meta, epoch=state["epoch"], best_epoch=state.get("best_epoch"),
                uncertainty=bool(meta.get("uncertainty", False)))
    return model, TargetNormaliser.from_state_dict(state["normaliser"]), info
