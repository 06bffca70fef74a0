"""Export a trained network to one ``.pt2`` file that runs with plain torch (``airshower export``).

The file is a :func:`torch.export.export` program (saved with :func:`torch.export.save`) of
the network *and* its target de-standardisation, so that it maps detector inputs straight to
physical units. Load and run it without this package::

    import torch
    program = torch.export.load("model.pt2").module()
    outputs = program(traces, start_time, state, position)   # a tuple, order below

Inputs (B events, G x G window, T bins; the tensor-file contract of
:mod:`airshower.io.tensors`; B is dynamic, 1 <= B <= ``max_batch``):

* ``traces``      (B, G, G, T) float32 signal per bin [VEM]
* ``start_time``  (B, G, G)    float32 trace start relative to the hottest station [ns]
* ``state``       (B, G, G)    int8    :class:`~airshower.station_state.StationState`
* ``position``    (B, G, G, 3) float32 station position relative to the hottest station [m]

Outputs, a flat tuple: for each target of the model (the checkpoint's order) its value in
physical units (``normaliser.denormalise``; a target with ``unit_length``, the axis, rescaled
to unit length as :meth:`airshower.targets.Target.finalise` does), followed, for a model with
an uncertainty head, by its standard deviation ``exp(logvar / 2) * scale`` in the same unit
(per component; for the axis divided by the raw vector's length like the value, as
:meth:`airshower.targets.Target.finalise_sigma` and ``airshower predict`` do). Shapes (B,) for
a scalar target, (B, k) for a vector.

The file carries a JSON record ``airshower.json`` (read it with
``torch.export.load(path, extra_files={"airshower.json": ""})``): the names, shapes, dtypes
and units of inputs and outputs in order, grid size, trace bins, bin width [ns] (from the
checkpoint; None for a network trained on events in memory), model name and type, targets,
epoch of the weights and airshower/torch versions.

Every export is checked before the file appears: the saved program is loaded again and run on
batches of other sizes and other station counts than the example it was traced with, and its
outputs must match the package's own prediction path
(:func:`airshower.evaluation.predict.predict_source`) to 1e-4 of each output's spread over the
batch (1e-3 of its largest value where that is larger). Otherwise, or when
:func:`torch.export.export` cannot trace the network, :class:`ExportError` names the model and
the cause and no file is left behind (written through :func:`airshower.atomic.atomic_path`).

Why torch.export and not TorchScript or ONNX: ``docs/export.md``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from airshower import __version__
from airshower.atomic import atomic_path
from airshower.batch import Batch
from airshower.errors import ConfigError, ExportError
from airshower.io.files import require_writable
from airshower.station_state import StationState
from airshower.targets import TARGETS, sigma_key

METADATA_FILE = "airshower.json"
METADATA_FORMAT = "airshower-export"
METADATA_VERSION = 1
INPUT_NAMES = ("traces", "start_time", "state", "position")
DEFAULT_MAX_BATCH = 65536
TOLERANCE = 1e-4  # largest difference allowed, relative to each output's spread over the batch
EXAMPLE_EVENTS = 4  # events of the example batch that is traced (>= 2: 0 and 1 would be specialised)


class PhysicalModel(nn.Module):
    """A network plus its target de-standardisation: plain tensors in, physical units out (a flat tuple)."""

    def __init__(self, net: nn.Module, normaliser: Any, targets: list[str], uncertainty: bool) -> None:
        super().__init__()
        self.net = net
        self.targets = list(targets)
        self.uncertainty = bool(uncertainty)
        for t in self.targets:
            shape = TARGETS[t].shape
            self.register_buffer(f"shift_{t}", normaliser.shift[t].detach().float().reshape(shape).clone())
            self.register_buffer(f"scale_{t}", normaliser.scale[t].detach().float().reshape(shape).clone())

    def output_names(self) -> list[str]:
        names = []
        for t in self.targets:
            names.append(t)
            if self.uncertainty:
                names.append(f"{t}_sigma")
        return names

    def forward(
        self, traces: torch.Tensor, start_time: torch.Tensor, state: torch.Tensor, position: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        raw = self.net(Batch(traces=traces, start_time=start_time, state=state, position=position))
        out: list[torch.Tensor] = []
        for t in self.targets:
            shift, scale = getattr(self, f"shift_{t}"), getattr(self, f"scale_{t}")
            value = raw[t].float() * scale + shift
            norm = torch.ones_like(value[..., :1])
            if TARGETS[t].unit_length:  # as Target.finalise and Target.finalise_sigma
                norm = torch.linalg.vector_norm(value, dim=-1, keepdim=True)
                norm = torch.where(norm > 0, norm, torch.ones_like(norm))
                value = value / norm
            out.append(value)
            if self.uncertainty:
                sigma = torch.exp(0.5 * raw[sigma_key(t)].float()) * scale
                out.append(sigma / norm if TARGETS[t].unit_length else sigma)
        return tuple(out)


def example_inputs(grid_size: int, trace_bins: int, batch_size: int, seed: int,
                   absent_rows: int = 0) -> tuple[torch.Tensor, ...]:
    """(traces, start_time, state, position) of a synthetic batch in the exported dtypes.

    Built by :func:`airshower.models.flops.make_example_batch` (every other event at the
    array's edge, so station counts vary; the others fill the window); ``absent_rows``
    leading q-rows of every event are made ABSENT (fewer stations than any traced example).
    """
    from airshower.models.flops import make_example_batch

    b = make_example_batch(grid_size, trace_bins, batch_size, seed=seed)
    traces, start, state, pos = b.traces.float().clone(), b.start_time.float(), b.state.clone(), b.position.float()
    if absent_rows:
        state[:, : min(absent_rows, grid_size // 2), :] = int(StationState.ABSENT)  # the centre stays
    traces[state < int(StationState.TRIGGERED)] = 0.0
    return traces.contiguous(), start.contiguous(), state.to(torch.int8).contiguous(), pos.contiguous()


def _short(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"


def metadata(info: Mapping[str, Any], wrapper: PhysicalModel, *, weights: str, max_batch: int,
             bin_ns: float | None) -> dict[str, Any]:
    """The ``airshower.json`` record stored in the file."""
    g, t = int(info["grid_size"]), int(info["trace_bins"])
    outputs = []
    for target in wrapper.targets:
        spec = TARGETS[target]
        shape = ["B", *spec.shape]
        outputs.append({"name": target, "target": target, "kind": "value", "shape": shape, "dtype": "float32",
                        "unit": spec.unit, "description": spec.description, "unit_length": spec.unit_length})
        if wrapper.uncertainty:
            outputs.append({"name": f"{target}_sigma", "target": target, "kind": "sigma", "shape": shape,
                            "dtype": "float32", "unit": spec.unit,
                            "description": f"predicted standard deviation of {target} (per component)"})
    states = {s.name: int(s) for s in StationState}
    return {
        "format": METADATA_FORMAT,
        "version": METADATA_VERSION,
        "model": str(info["name"]),
        "type": (info.get("spec") or {}).get("type"),
        "targets": list(wrapper.targets),
        "uncertainty": wrapper.uncertainty,
        "weights": weights,
        "weights_epoch": info.get("best_epoch") if weights == "best" else info.get("epoch"),
        "grid_size": g,
        "trace_bins": t,
        "bin_ns": bin_ns,
        "max_batch": int(max_batch),
        "inputs": [
            {"name": "traces", "shape": ["B", g, g, t], "dtype": "float32", "unit": "VEM/bin"},
            {"name": "start_time", "shape": ["B", g, g], "dtype": "float32", "unit": "ns"},
            {"name": "state", "shape": ["B", g, g], "dtype": "int8", "unit": "StationState", "values": states},
            {"name": "position", "shape": ["B", g, g, 3], "dtype": "float32", "unit": "m"},
        ],
        "outputs": outputs,
        "output_order": [o["name"] for o in outputs],
        "airshower_version": __version__,
        "torch_version": torch.__version__,
    }


def _reference(net: nn.Module, normaliser: Any, inputs: tuple[torch.Tensor, ...], names: list[str]) -> list[np.ndarray]:
    """The package's own physical predictions of ``inputs`` (predict_source), in the order of ``names``."""
    from airshower.evaluation.predict import predict_source
    from airshower.inference.tensor_sources import MemorySource

    traces, start, state, pos = inputs
    batch = Batch(traces=traces, start_time=start, state=state, position=pos)
    values, sigma = predict_source(net, normaliser, MemorySource(batch), batch_size=len(batch))
    out = []
    for n in names:
        target = n.removesuffix("_sigma")
        out.append(values[n] if n in values else sigma[target])
    return out


def _compare(got: tuple[torch.Tensor, ...], want: list[np.ndarray], names: list[str]) -> tuple[str, float] | None:
    """(name, relative difference) of the first output beyond :data:`TOLERANCE`, else None."""
    if len(got) != len(want):
        return (f"{len(got)} outputs for {len(want)} expected", float("inf"))
    for name, g, w in zip(names, got, want):
        g = np.asarray(g.detach().cpu().numpy(), dtype=np.float64)
        if g.shape != w.shape:
            return (f"{name} (shape {g.shape}, expected {w.shape})", float("inf"))
        finite = np.isfinite(w)
        if not np.array_equal(np.isfinite(g), finite):
            return (f"{name} (non-finite values differ)", float("inf"))
        if not finite.any():
            continue
        scale = max(float(np.std(w[finite])), 1e-3 * float(np.abs(w[finite]).max()), 1e-12)
        rel = float(np.abs(g[finite] - w[finite]).max() / scale)
        if rel > TOLERANCE:
            return (name, rel)
    return None


def export_model(
    model_dir_or_pt: str | Path,
    output: str | Path,
    example: tuple[torch.Tensor, ...] | None = None,
    weights: str = "best",
    max_batch: int = DEFAULT_MAX_BATCH,
) -> dict[str, Any]:
    """Export the trained model of ``model_dir_or_pt`` (its folder or ``model.pt``) to ``output`` (.pt2).

    ``example``: the (traces, start_time, state, position) traced (default: a synthetic batch
    of :data:`EXAMPLE_EVENTS` events, see :func:`example_inputs`); ``weights``: ``"best"``
    or ``"last"``; ``max_batch``: the largest batch the file accepts. Returns the metadata
    record stored in the file. Raises :class:`ExportError` (nothing written) when the network
    cannot be exported or the saved program does not reproduce the package's predictions.
    """
    from torch.export import Dim

    from airshower.inference.checkpoint import checkpoint_path, load_model

    if weights not in ("best", "last"):
        raise ConfigError(f"--weights = {weights!r}: must be 'best' or 'last'")
    if int(max_batch) < 2:
        raise ConfigError(f"max_batch = {max_batch}: must be >= 2")
    checkpoint = checkpoint_path(model_dir_or_pt)
    output = Path(output)
    if output.is_dir():
        raise ConfigError(f"--output {output}: is a folder; give the file to write (e.g. model.pt2)")
    require_writable(output, "exported model")
    net, normaliser, info = load_model(checkpoint, device="cpu", weights=weights)
    name = str(info["name"])
    g, t = int(info["grid_size"]), int(info["trace_bins"])
    wrapper = PhysicalModel(net, normaliser, list(info["targets"]), bool(info["uncertainty"])).eval()
    names = wrapper.output_names()
    if example is None:
        example = example_inputs(g, t, EXAMPLE_EVENTS, seed=0)
    if len(example) != len(INPUT_NAMES):
        raise ConfigError(f"the example holds {len(example)} tensors: give ({', '.join(INPUT_NAMES)})")
    traces, start, state, position = example
    example = (traces.float(), start.float(), state.to(torch.int8), position.float())  # the dtypes of the contract
    n_example = int(example[0].shape[0])
    if n_example < 2 or n_example > max_batch:
        raise ConfigError(f"the example batch has {n_example} events: must be 2..{max_batch} (0 and 1 are specialised)")
    want = (torch.Size([n_example, g, g, t]), torch.Size([n_example, g, g]), torch.Size([n_example, g, g]),
            torch.Size([n_example, g, g, 3]))
    if tuple(x.shape for x in example) != want:
        raise ConfigError(f"example shapes {[tuple(x.shape) for x in example]} do not fit model {name!r} "
                          f"({g}x{g} window, {t} bins)")

    batch_dim = Dim("batch", min=1, max=int(max_batch))
    dynamic = {n: {0: batch_dim} for n in INPUT_NAMES}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # nn.LSTM re-assigns its _flat_weights list while traced; harmless (the check below compares outputs)
            warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights.* were assigned")
            program = torch.export.export(wrapper, example, dynamic_shapes=dynamic, strict=False)
    except Exception as exc:  # noqa: BLE001 - whatever torch.export cannot trace is reported with the model
        raise ExportError(f"model {name!r} ({checkpoint}) cannot be exported with torch.export: {_short(exc)}") from exc

    meta = metadata(info, wrapper, weights=weights, max_batch=max_batch, bin_ns=info.get("bin_ns"))
    other = n_example + 3 if n_example + 3 <= max_batch else n_example - 1  # another batch size
    checks = {
        f"{other} events, first q-row absent": example_inputs(g, t, other, seed=5, absent_rows=1),
        "1 event": example_inputs(g, t, 1, seed=11),
    }
    with atomic_path(output, suffix=".pt2") as tmp:
        try:
            torch.export.save(program, tmp, extra_files={METADATA_FILE: json.dumps(meta, indent=1)})
        except Exception as exc:  # noqa: BLE001
            raise ExportError(f"model {name!r}: saving the exported program failed: {_short(exc)}") from exc
        _verify(tmp, name, net, normaliser, names, checks)
    return meta


def _verify(path: Path, name: str, net: nn.Module, normaliser: Any, names: list[str],
            checks: Mapping[str, tuple[torch.Tensor, ...]]) -> None:
    """Load the saved program and compare it with the package's predictions on ``checks``."""
    try:
        extra = {METADATA_FILE: ""}
        loaded = torch.export.load(path, extra_files=extra).module()
        json.loads(extra[METADATA_FILE])
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"model {name!r}: the saved program cannot be loaded again: {_short(exc)}") from exc
    for label, inputs in checks.items():
        try:
            with torch.no_grad():
                got = loaded(*inputs)
        except Exception as exc:  # noqa: BLE001
            raise ExportError(f"model {name!r}: the exported program fails on a batch of {label}: "
                              f"{_short(exc)}") from exc
        bad = _compare(tuple(got), _reference(net, normaliser, inputs, names), names)
        if bad is not None:
            raise ExportError(f"model {name!r}: the exported program differs from the network on a batch of {label}: "
                              f"first differing output {bad[0]} (relative difference {bad[1]:.2e} > {TOLERANCE:g})")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``airshower.json`` record of an exported file."""
    extra = {METADATA_FILE: ""}
    torch.export.load(path, extra_files=extra)
    return json.loads(extra[METADATA_FILE])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower export``."""
    parser.add_argument("--model-dir", required=True, help="the trained model's folder (holding model.pt) or model.pt")
    parser.add_argument("--output", required=True, help="file to write (.pt2): the network in physical units")
    parser.add_argument("--weights", choices=("best", "last"), default="best",
                        help="weights of the best validation epoch (default) or of the last epoch")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                        help=f"largest batch the exported file accepts (default {DEFAULT_MAX_BATCH})")


def main(config: Mapping[str, Any], args: argparse.Namespace) -> int:
    """``airshower export``: reads nothing from the config (the checkpoint says what the model is)."""
    meta = export_model(args.model_dir, args.output, weights=args.weights, max_batch=args.max_batch)
    print(json.dumps({"output": str(args.output), "model": meta["model"], "outputs": meta["output_order"],
                      "grid_size": meta["grid_size"], "trace_bins": meta["trace_bins"]}))
    return 0
