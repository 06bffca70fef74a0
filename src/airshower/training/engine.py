"""``airshower train``: train one model of the study on a tensor file, on a CPU, a GPU or several GPUs.

The same code runs everywhere: one process on the CPU or a GPU, or ``torchrun
--nproc-per-node N -m airshower.cli train ...`` for DistributedDataParallel on N GPUs (or N
CPU processes with gloo). Rank 0 alone writes checkpoints, logs and outputs.

Outputs in ``output_dir``: ``model.pt`` (the last checkpoint; see
:mod:`airshower.inference.checkpoint` and :func:`~airshower.inference.checkpoint.load_model`),
``history.csv`` (one row per epoch: :data:`HISTORY_COLUMNS` with the cumulative training time
``elapsed_s`` [s] and training FLOPs ``train_flops`` (3 x forward, :func:`~airshower.training.loop.training_flops`), the validation loss of each
target ``val_<target>`` and its resolution in physical units, e.g. ``val_xmax_std_gcm2``, see
:mod:`airshower.training.resolution`), ``train_info.json`` and ``provenance.json``. The log has
one line per epoch: losses, the resolutions, time, speed and the time left (ETA, from the
mean epoch time of this run; early stopping may end sooner).

Resumable state lives in ``state_dir`` (``last.pt``, written atomically after every epoch),
outside the declared outputs so that it survives a failed Snakemake job. A run finds it,
checks its fingerprint (training settings, model entry, tensor file checksum, number of
processes) and resumes after its last epoch, with the training time spent so far (the time
budget ``training.budget_minutes`` and the schedule that spans it count it); on a mismatch it says so in the log and starts
afresh. On the CPU a resumed run ends with the same weights, bit for bit, as an
uninterrupted one. The state is removed once the outputs are written.

A run, step by step (:func:`train`; the order fixes the random streams): the checked
settings (:func:`~airshower.training.settings.training_settings`, once);
:func:`prepare_data` (targets checked, events identified, split, placed on the device or
streamed, normaliser fitted); :func:`build_network` (initial weights from the seed);
:func:`initial_state` and :func:`resume` (optimiser, schedule, early stopping, generators:
fresh or from the resumable state); :func:`build_step_context`; :func:`run_epochs` (one
resumable state per epoch); :func:`train_info` and the outputs.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from airshower import layout
from airshower.atomic import write_text
from airshower.batch import Batch
from airshower.config import validate_config
from airshower.errors import InputFileError, TrainingError
from airshower.inference.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint,
    save_checkpoint,
)
from airshower.inference.device import autocast_dtype, device_name, free_memory_bytes, peak_memory_bytes, synchronize
from airshower.inference.normalise import TargetNormaliser
from airshower.inference.progress import format_duration
from airshower.inference.tensor_sources import H5Source, TensorSource, as_model_input
from airshower.io.files import require_writable
from airshower.models.flops import count_parameters, forward_flops
from airshower.models.packing import set_static_shapes
from airshower.models.registry import build_model
from airshower.training.augment import HexSymmetries
from airshower.training.data import (
    DeviceData,
    Split,
    StreamData,
    check_batch_size,
    choose_data,
    selection_mask,
    split_indices,
)
from airshower.training.distributed import (
    DistContext,
    barrier,
    broadcast_object,
    setup,
    teardown,
    wrap_model,
)
from airshower.training.loop import (
    EarlyStopping,
    LRSchedule,
    StepContext,
    build_optimizer,
    train_epoch,
    training_flops,
    validate,
)
from airshower.training.provenance import file_record, host, now_utc, versions, write_json_atomic
from airshower.training.resolution import resolution_columns
from airshower.training.settings import TrainingSettings, training_settings

log = logging.getLogger("airshower.train")

ModelBuilder = Callable[..., torch.nn.Module]  # (name, spec, grid_size, trace_bins, targets, uncertainty=bool)
# seconds: wall time of the epoch (training and validation) [s]; elapsed_s: cumulative training
# time [s] up to the end of the epoch (resumed runs included), which the time budget counts
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds", "events_per_s", "elapsed_s", "train_flops")
STATE_FILE = "last.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower train``."""
    parser.add_argument("--model", required=True, help="model to train (a key of 'models' in the config)")
    parser.add_argument("--tensors", type=Path, default=None, help="tensor file (default data/{study}/tensors/{train_dataset}.h5)")
    parser.add_argument("--output", type=Path, default=None, help="output folder (default results/{study}/models/{model})")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="folder of the resumable state (default results/{study}/.state/train/{model})",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default: $AIRSHOWER_DEVICE or auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of torch (default: torch's choice)")


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """Entry of ``airshower train`` (the CLI has validated ``config``)."""
    _configure_logging()
    model = args.model
    tensors = args.tensors or layout.tensor_file(config["study"], config["train_dataset"])
    output = args.output or layout.model_dir(config["study"], model)
    state = args.state_dir or layout.state_dir(config["study"], model)
    train(training_settings(config, model), tensors, output, state, device=args.device, threads=args.threads)
    return 0


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (redirections included)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


def _configure_logging() -> None:
    """Plain timestamped lines on stderr for the ``airshower.train`` logger (once per process)."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def _source_identity(source: TensorSource, tensors_path: Path | None, cache_dir: Path | None) -> dict[str, Any]:
    if tensors_path is not None:
        return file_record(tensors_path, cache_dir)
    whole = source.read(0, source.n_events)
    digest = hashlib.sha256()
    for t in (whole.traces, whole.start_time, whole.state, whole.position, *whole.targets.values()):
        digest.update(t.contiguous().numpy().tobytes())
    return {"path": source.describe(), "size_bytes": None, "sha256": digest.hexdigest()}


def fingerprint(settings: Mapping[str, Any], model_name: str, entry: Mapping[str, Any], tensors_sha256: str, world_size: int) -> str:
    """Hash of everything a resumable state depends on."""
    blob = json.dumps(
        {
            "format": [CHECKPOINT_FORMAT, CHECKPOINT_VERSION],
            "settings": settings,
            "model": model_name,
            "entry": entry,
            "tensors": tensors_sha256,
            "world_size": world_size,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_targets(source: TensorSource, targets: list[str]) -> Batch:
    """The first (up to 8) events, after checking that the source holds every trained target
    and that none of them is NaN or inf in any event (:func:`_check_finite_targets`)."""
    first = source.read(0, min(8, source.n_events))
    missing = [t for t in targets if t not in first.targets]
    if missing:
        raise InputFileError(
            f"{source.describe()}: holds no target(s) {missing} named in 'training.targets' "
            f"(it has {sorted(first.targets)})"
        )
    _check_finite_targets(source, targets)
    return first


def _check_finite_targets(source: TensorSource, targets: list[str], chunk_events: int = 4096) -> None:
    """InputFileError naming the source, the target and the number of events where a trained target is not finite.

    A tensor file is checked on its target columns alone; other sources are read in chunks.
    """
    from airshower.io.tensors import check_finite_targets, nonfinite_events, nonfinite_target_error

    if isinstance(source, H5Source):
        check_finite_targets(source.path, targets)
        return
    bad = dict.fromkeys(targets, 0)
    for start in range(0, source.n_events, chunk_events):
        chunk = source.read(start, min(start + chunk_events, source.n_events)).targets
        for t in targets:
            bad[t] += nonfinite_events(chunk[t].detach().float().cpu().numpy())
    for t, count in bad.items():
        if count:
            raise nonfinite_target_error(source.describe(), t, count, source.n_events)


def _flops_per_event(model: torch.nn.Module, example: Batch, grid_size: int, trace_bins: int) -> float | None:
    """Forward FLOPs of one event (:func:`~airshower.models.flops.forward_flops` on ``example``); None if not countable."""
    was_training = model.training
    model.eval()
    try:
        return float(forward_flops(model, grid_size, trace_bins, example_batch=example))
    except Exception as exc:  # noqa: BLE001 - FLOPs are informative; training goes on without them
        log.warning("FLOPs per event not counted: %s: %s", type(exc).__name__, exc)
        return None
    finally:
        model.train(was_training)


def _rng_state(shuffle: torch.Generator, augment: torch.Generator) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "shuffle": shuffle.get_state(),
        "augment": augment.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: Mapping[str, Any], shuffle: torch.Generator, augment: torch.Generator) -> None:
    torch.set_rng_state(state["torch"].cpu())
    shuffle.set_state(state["shuffle"].cpu())
    augment.set_state(state["augment"].cpu())
    if torch.cuda.is_available() and "cuda" in state and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _format_history(rows: list[dict[str, Any]], extra: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*HISTORY_COLUMNS, *extra], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def _resume_state(
    state_path: Path, want: str, ctx: DistContext
) -> dict[str, Any] | None:
    """Rank 0 decides whether the state in ``state_path`` is resumed; every rank then loads it."""
    decision: str | None = None
    if ctx.is_main and state_path.exists():
        try:
            found = load_checkpoint(state_path).get("fingerprint")
        except InputFileError as exc:
            log.warning("resumable state %s is unreadable (%s); starting afresh", state_path, exc)
            found = None
        if found == want:
            decision = "resume"
        else:
            if found is not None:
                log.info(
                    "resumable state %s was made for another config, model or tensor file "
                    "(fingerprint %s..., now %s...); starting afresh",
                    state_path,
                    found[:12],
                    want[:12],
                )
            state_path.unlink(missing_ok=True)
    decision = broadcast_object(ctx, decision)
    if decision != "resume":
        return None
    return load_checkpoint(state_path, map_location="cpu")


@dataclass
class PreparedData:
    """The events of one run: checked, identified, split and placed (:func:`prepare_data`)."""

    source: TensorSource
    example: Batch  # the first (up to 8) events on the CPU, for the FLOP count
    identity: dict[str, Any]  # path, size [bytes] and sha256 of the events (provenance)
    fingerprint: str  # what a resumable state must match (:func:`fingerprint`)
    split: Split
    steps_per_epoch: int  # full global batches per pass over the training split
    data: DeviceData | StreamData
    normaliser: TargetNormaliser  # fitted on the training split (a resumed run takes the checkpoint's)


@dataclass
class Network:
    """The model being trained (not wrapped for DDP or compiled) and its size (:func:`build_network`)."""

    model: torch.nn.Module
    parameters: int
    flops_per_event: float | None  # forward FLOPs of one event (counted on rank 0, shared; None when not counted)


@dataclass
class RunState:
    """What a resumable state holds, as the epoch loop advances it (:func:`initial_state`, :func:`resume`)."""

    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    early: EarlyStopping
    shuffle: torch.Generator  # draws the order of the training batches
    augment: torch.Generator  # draws the hexagon symmetries
    normaliser: TargetNormaliser
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch (history.csv)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)  # CPU weights of the best epoch
    start_epoch: int = 1
    finished: bool = False  # early stopping or the last epoch reached
    resumed_from: int = 0  # epochs done before this run (0: a fresh start)
    elapsed_before: float = 0.0  # training time [s] of the runs this one resumes
    run_seconds: float = 0.0  # training time [s] of this run's epochs
    clock: Callable[[], float] = time.perf_counter  # seconds, for the epochs' wall time (tests: a fake one)

    @property
    def elapsed_s(self) -> float:
        """Training time [s] of every epoch done, resumed runs included."""
        return self.elapsed_before + self.run_seconds


def train_model(
    config: Mapping[str, Any],
    model_name: str,
    tensors: str | Path | TensorSource,
    output_dir: Path,
    state_dir: Path | None = None,
    *,
    device: str | None = None,
    threads: int | None = None,
    model_builder: ModelBuilder | None = None,
    step_hook: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Train ``model_name`` of ``config`` (validated, defaults filled) on ``tensors``: the tensor
    file, or any :class:`~airshower.inference.tensor_sources.TensorSource` (events in memory: tests, benchmarks).

    Writes ``model.pt``, ``history.csv``, ``train_info.json`` and ``provenance.json`` into
    ``output_dir`` (rank 0 only) and returns the content of ``train_info.json``.
    ``state_dir`` keeps the resumable state (default ``output_dir/.state``). ``model_builder``
    replaces the registry (tests); ``step_hook(epoch, step)`` is called after every step;
    ``clock`` (default :func:`time.perf_counter`) times the epochs (tests: a fake clock).
    Raises :class:`~airshower.errors.ConfigError`, :class:`~airshower.errors.InputFileError`
    or :class:`~airshower.errors.TrainingError` with a message naming the problem
    (config errors before those of the tensor file).
    """
    config = validate_config(config, source="config", partial=True)
    return train(training_settings(config, model_name), tensors, output_dir, state_dir, device=device,
                 threads=threads, model_builder=model_builder, step_hook=step_hook, clock=clock)


def train(
    settings: TrainingSettings,
    tensors: str | Path | TensorSource,
    output_dir: Path,
    state_dir: Path | None = None,
    *,
    device: str | None = None,
    threads: int | None = None,
    model_builder: ModelBuilder | None = None,
    step_hook: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Train the model of ``settings`` (from :func:`~airshower.training.settings.training_settings`).

    Arguments, outputs and errors as :func:`train_model`, which checks the config and calls this.
    """
    wall_start = time.perf_counter()
    started = now_utc()
    output_dir = require_writable(output_dir, "model folder", directory=True)  # before any work
    state_dir = require_writable(state_dir if state_dir is not None else output_dir / ".state",
                                 "training state folder", directory=True)
    if isinstance(tensors, (str, os.PathLike)):
        tensors_path: Path | None = Path(tensors)
        source: TensorSource = H5Source(tensors_path)
    else:
        tensors_path, source = None, tensors
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))

    ctx = setup(device)
    try:
        return _run(ctx, settings, source, tensors_path, output_dir, state_dir, model_builder, step_hook,
                    wall_start, started, clock or time.perf_counter)
    finally:
        teardown(ctx)


def _run(
    ctx: DistContext,
    settings: TrainingSettings,
    source: TensorSource,
    tensors_path: Path | None,
    output_dir: Path,
    state_dir: Path,
    model_builder: ModelBuilder | None,
    step_hook: Callable[[int, int], None] | None,
    wall_start: float,
    started: str,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """One training run in this process, the steps in their order (which fixes the random streams)."""
    if not ctx.is_main:
        log.setLevel(logging.WARNING)
    prepared = prepare_data(settings, source, tensors_path, state_dir, ctx)
    network = build_network(settings, prepared, model_builder or build_model, ctx)
    run = initial_state(settings, network, prepared, ctx)
    run.clock = clock
    state_path = state_dir / STATE_FILE
    resume(run, state_path, prepared.fingerprint, network, settings.model_name, ctx)
    sc = build_step_context(settings, prepared, network, run, ctx)
    _log_start(settings, prepared, network, sc, ctx)
    run_epochs(settings, prepared, network, run, sc, ctx, state_path, step_hook)
    info = train_info(settings, prepared, network, run, sc, ctx, wall_start)
    if ctx.is_main:
        _write_outputs(output_dir, state_path, run.history, info, prepared.identity, settings, started)
    barrier(ctx)
    return info


def prepare_data(
    settings: TrainingSettings, source: TensorSource, tensors_path: Path | None, state_dir: Path, ctx: DistContext
) -> PreparedData:
    """Check the trained targets of ``source``, identify it, split it, place it and fit the normaliser.

    The identity (checksum of the tensor file, cached in ``state_dir``) is computed on rank 0
    and broadcast; the data stay on the device when they fit ``device_data_limit_gb`` [GB]
    (and half the free GPU memory), else they are streamed in chunks.
    """
    targets = list(settings.targets)
    example = _check_targets(source, targets)
    identity = broadcast_object(ctx, _source_identity(source, tensors_path, state_dir) if ctx.is_main else None)
    want = fingerprint(settings.section_dict(), settings.model_name, settings.entry_dict(), identity["sha256"],
                       ctx.world_size)
    keep = selection_mask(source, settings.selection)  # training.selection (6T5 by default)
    split = split_indices(source.n_events, settings.val_fraction, settings.validation_seed, keep=keep,
                          train_events=settings.train_events)
    check_batch_size(settings.batch_size, len(split.train), ctx)
    data = choose_data(source, ctx.device, settings.device_data_limit_gb, settings.stream_chunk_events,
                       free_memory_bytes(ctx.device))
    normaliser = TargetNormaliser.fit(data.targets(split.train), targets)
    return PreparedData(source=source, example=example, identity=identity, fingerprint=want, split=split,
                        steps_per_epoch=len(split.train) // settings.batch_size, data=data, normaliser=normaliser)


def build_network(
    settings: TrainingSettings, prepared: PreparedData, builder: ModelBuilder, ctx: DistContext
) -> Network:
    """The model of ``settings`` on the device, its initial weights drawn from ``seed``; its size counted."""
    grid, bins = prepared.source.grid_size, prepared.source.trace_bins
    torch.manual_seed(settings.seed)
    model = builder(settings.model_name, settings.spec_dict(), grid, bins, list(settings.targets),
                    uncertainty=settings.uncertainty).to(ctx.device)
    n_params = int(count_parameters(model))
    # counted on rank 0 and shared: a FLOP budget must stop every process after the same epoch
    flops = broadcast_object(ctx, _flops_per_event(model, as_model_input(prepared.example).to(ctx.device), grid, bins)
                             if ctx.is_main else None)
    return Network(model=model, parameters=n_params, flops_per_event=flops)


def initial_state(
    settings: TrainingSettings, network: Network, prepared: PreparedData, ctx: DistContext
) -> RunState:
    """Optimiser, schedule, early stopping and random generators of a fresh start (seeds ``seed`` + 1, + 2;
    ``seed`` is the replica's, :mod:`airshower.training.replicas`)."""
    optimizer = build_optimizer(network.model, settings)
    return RunState(
        optimizer=optimizer,
        schedule=LRSchedule(optimizer, settings, prepared.steps_per_epoch,
                            training_flops(network.flops_per_event, settings.batch_size)),
        early=EarlyStopping(settings.patience, settings.min_delta),
        shuffle=prepared.data.generator(settings.seed + 1),
        augment=torch.Generator(device=ctx.device).manual_seed(settings.seed + 2),
        normaliser=prepared.normaliser,
        best_state=_cpu_state(network.model),
    )


def resume(run: RunState, state_path: Path, want: str, network: Network, model_name: str, ctx: DistContext) -> RunState:
    """Load the resumable state at ``state_path`` into ``run`` and the model when its fingerprint is ``want``.

    Otherwise (none, unreadable, made for other settings) ``run`` stays a fresh start and a
    mismatching state is removed. Returns ``run``.
    """
    resumed = _resume_state(state_path, want, ctx)
    if resumed is None:
        return run
    network.model.load_state_dict(resumed["model_state"])
    run.optimizer.load_state_dict(resumed["optimizer"])
    run.schedule.load_state_dict(resumed["scheduler"])
    run.early.load_state_dict(resumed["early_stopping"])
    run.normaliser = TargetNormaliser.from_state_dict(resumed["normaliser"])
    _restore_rng(resumed["rng"], run.shuffle, run.augment)
    run.history = list(resumed["history"])
    run.best_state = resumed["best_model_state"]
    run.elapsed_before = float(resumed["elapsed_s"])
    run.finished = bool(resumed["finished"])
    run.resumed_from = int(resumed["epoch"])
    run.start_epoch = run.resumed_from + 1
    log.info("resuming %s from %s after epoch %d", model_name, state_path, run.resumed_from)
    return run


def build_step_context(
    settings: TrainingSettings, prepared: PreparedData, network: Network, run: RunState, ctx: DistContext
) -> StepContext:
    """What every training step needs: the model (DDP-wrapped, compiled if asked), loss weights, autocast dtype."""
    dev = ctx.device
    amp = autocast_dtype(dev, settings.amp)
    net = wrap_model(ctx, network.model)
    if settings.compile:
        set_static_shapes(network.model)  # no data-dependent sizes in the compiled graph
        net = torch.compile(net)
    symmetries = HexSymmetries(prepared.source.grid_size, dev) if settings.augment else None
    return StepContext(
        model=net,
        optimizer=run.optimizer,
        schedule=run.schedule,
        normaliser=run.normaliser,
        weights=dict(settings.loss_weights),
        grad_clip=settings.grad_clip,
        device=dev,
        amp_dtype=amp,
        symmetries=symmetries,
        augment_generator=run.augment,
        params=[p for p in network.model.parameters() if p.requires_grad],
        uncertainty_beta=settings.uncertainty_beta,
    )


def _amp_name(dtype: torch.dtype | None) -> str:
    return str(dtype).replace("torch.", "") if dtype else "off"


def _log_start(
    settings: TrainingSettings, prepared: PreparedData, network: Network, sc: StepContext, ctx: DistContext
) -> None:
    """One log line with what is trained on what, where and how."""
    flops = network.flops_per_event
    log.info(
        "training %s (%s): %d parameters, %s FLOPs/event; %d train / %d validation events of %s; "
        "data %s; device %s x%d; amp %s; batch %d; epochs %d",
        settings.model_name,
        settings.entry.get("type"),
        network.parameters,
        f"{flops:.3g}" if flops is not None else "?",
        len(prepared.split.train),
        len(prepared.split.val),
        prepared.source.describe(),
        "on the device" if prepared.data.mode == "device" else f"streamed in chunks of {settings.stream_chunk_events}",
        device_name(ctx.device),
        ctx.world_size,
        _amp_name(sc.amp_dtype),
        settings.batch_size,
        settings.epochs,
    )


def _model_meta(settings: TrainingSettings, prepared: PreparedData) -> dict[str, Any]:
    """The checkpoint's ``model`` entry: what :func:`~airshower.inference.checkpoint.load_model` rebuilds."""
    source = prepared.source
    return {"name": settings.model_name, "spec": settings.spec_dict(), "grid_size": source.grid_size,
            "trace_bins": source.trace_bins, "targets": list(settings.targets), "uncertainty": settings.uncertainty,
            "bin_ns": getattr(source, "info", {}).get("bin_ns")}


def run_epochs(
    settings: TrainingSettings,
    prepared: PreparedData,
    network: Network,
    run: RunState,
    sc: StepContext,
    ctx: DistContext,
    state_path: Path,
    step_hook: Callable[[int, int], None] | None,
) -> None:
    """Train and validate epoch by epoch from ``run.start_epoch`` until early stopping, ``epochs``
    or a spent budget (``training.budget_minutes``, ``budget_flops``): the epoch in which it is
    spent ends at that step (:func:`_budget_stop`) and is validated, and training ends.

    After every epoch, rank 0 writes the resumable state to ``state_path`` (atomically);
    ``run`` holds the history, the best weights and the time spent [s].
    """
    dev, data, split = ctx.device, prepared.data, prepared.split
    progress = sys.stderr.isatty()
    meta = _model_meta(settings, prepared)
    for epoch in range(run.start_epoch, settings.epochs + 1):
        if run.finished:
            break
        t0 = run.clock()
        lr_first = run.schedule.lr
        result = train_epoch(
            sc,
            data.batches(split.train, settings.batch_size, ctx, run.shuffle),
            prepared.steps_per_epoch,
            epoch,
            ctx,
            progress=progress,
            step_hook=step_hook,
            stop=_budget_stop(settings, run, t0, ctx),
        )
        validation = validate(network.model, data.batches(split.val, settings.batch_size, ctx), run.normaliser,
                              sc.weights, dev, sc.amp_dtype, ctx, sc.uncertainty_beta)
        val, per_target = validation.loss, validation.per_target
        if not math.isfinite(val):
            raise TrainingError(
                f"the validation loss is not finite ({val}) after epoch {epoch}; training stopped. "
                "The last checkpoint (end of the previous epoch) is kept"
            )
        improved = run.early.update(val, epoch)
        if improved:
            run.best_state = _cpu_state(network.model)
        run.schedule.epoch_end(val)
        synchronize(dev)
        # rank 0's time on every process: the budget stops them all after the same epoch
        seconds = float(broadcast_object(ctx, run.clock() - t0))
        run.run_seconds += seconds
        run.schedule.epoch_time(run.elapsed_s, result.steps, seconds)
        row = {
            "epoch": epoch,
            "train_loss": result.loss,
            "val_loss": val,
            "lr": lr_first,
            "seconds": round(seconds, 4),
            "events_per_s": round(result.events / result.seconds, 2) if result.seconds > 0 else None,
            "elapsed_s": round(run.elapsed_s, 4),
            "train_flops": _flops_done(run, network, settings),
            **{f"val_{t}": v for t, v in per_target.items()},
            **{r.column: r.value for r in validation.resolution.values()},
        }
        run.history.append(row)
        run.finished = run.early.should_stop or epoch == settings.epochs or run.schedule.budget_spent()
        left = 0 if run.finished else settings.epochs - epoch
        mean_seconds = run.run_seconds / (epoch - run.start_epoch + 1)
        eta = left * mean_seconds
        if settings.budget_s is not None and left:
            eta = min(eta, max(0.0, settings.budget_s - run.elapsed_s))
        log.info(
            "epoch %d/%d train %.5g val %.5g (%s) lr %.3g %.2fs %.0f ev/s %s%s%s",
            epoch,
            settings.epochs,
            result.loss,
            val,
            ", ".join(r.text() for r in validation.resolution.values()),
            lr_first,
            seconds,
            row["events_per_s"] or 0.0,
            f"ETA {format_duration(eta)}" if left else "done",
            " *" if improved else "",
            f" (early stop: no improvement for {run.early.patience} epochs)" if run.early.should_stop
            else (f" ({_budget_text(settings)} spent)" if run.schedule.budget_spent() else ""),
        )
        if ctx.is_main:
            save_checkpoint(_checkpoint(run, network, meta, prepared.fingerprint, epoch), state_path)
        barrier(ctx)


def _budget_stop(settings: TrainingSettings, run: RunState, t0: float, ctx: DistContext) -> Callable[[int], bool] | None:
    """Called after step ``step`` of an epoch: keeps the time schedule's rate current and says
    whether a budget is spent, so that the epoch ends there (None without budgets).

    With a time budget the seconds per step are re-measured after steps 4, 8, 16, ... of the
    epoch (:meth:`~airshower.training.loop.LRSchedule.running_estimate`; rank 0's clock,
    shared). The FLOP budget counts steps, the same on every process. The time budget reads
    the clock, which differs between processes, so under torchrun it is checked only at those
    re-measurements, against rank 0's clock (a run may then overshoot it by up to half the
    steps done in the epoch); a single process checks it after every step. On a GPU the
    measurements wait for the queued work (between them the host may run a few steps ahead).
    """
    if settings.budget_s is None and settings.budget_flops is None:
        return None
    sched = run.schedule

    def control(step: int) -> bool:
        spent = False
        if settings.budget_s is not None:
            if step >= 4 and step & (step - 1) == 0:  # a power of two
                synchronize(ctx.device)  # on a GPU the measured time holds the work queued so far
                seconds = float(broadcast_object(ctx, run.clock() - t0))
                sched.running_estimate(seconds, step)
                spent = run.elapsed_s + seconds >= settings.budget_s  # the same on every process
            spent = spent or (ctx.world_size == 1 and run.elapsed_s + (run.clock() - t0) >= settings.budget_s)
        if settings.budget_flops is not None:
            spent = spent or sched.step_count * sched.flops_per_step >= settings.budget_flops
        return spent

    return control


def _budget_text(settings: TrainingSettings) -> str:
    """The budgets of a run for the log: "time budget of 5 min 00 s", "budget of 1e+15 FLOPs" or both."""
    parts = []
    if settings.budget_s is not None:
        parts.append(f"time budget of {format_duration(settings.budget_s)}")
    if settings.budget_flops is not None:
        parts.append(f"budget of {settings.budget_flops:.3g} FLOPs")
    return " or ".join(parts)


def _flops_done(run: RunState, network: Network, settings: TrainingSettings) -> float | None:
    """Training FLOPs of every optimiser step so far (resumed runs included; None when not counted)."""
    return training_flops(network.flops_per_event, run.schedule.step_count * settings.batch_size)


def _checkpoint(run: RunState, network: Network, meta: dict[str, Any], want: str, epoch: int) -> dict[str, Any]:
    """The resumable state after ``epoch`` (the content of ``last.pt`` and, at the end, ``model.pt``)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "fingerprint": want,
        "model": meta,
        "epoch": epoch,
        "finished": run.finished,
        "model_state": _cpu_state(network.model),
        "best_model_state": run.best_state,
        "best_epoch": run.early.best_epoch,
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.schedule.state_dict(),
        "early_stopping": run.early.state_dict(),
        "rng": _rng_state(run.shuffle, run.augment),
        "normaliser": run.normaliser.state_dict(),
        "history": run.history,
        "elapsed_s": run.elapsed_before + run.run_seconds,
    }


def train_info(
    settings: TrainingSettings,
    prepared: PreparedData,
    network: Network,
    run: RunState,
    sc: StepContext,
    ctx: DistContext,
    wall_start: float,
) -> dict[str, Any]:
    """The content of ``train_info.json``: what was trained, how long [s], how fast [events/s], on what."""
    dev = ctx.device
    history = run.history
    return {
        "model": settings.model_name,
        "type": settings.entry.get("type"),
        "parameters": network.parameters,
        "flops_per_event": network.flops_per_event,
        "epochs_run": len(history),
        "epochs_max": settings.epochs,
        "best_epoch": run.early.best_epoch,
        "best_val_loss": run.early.best if math.isfinite(run.early.best) else None,
        "stopped_early": bool(history) and len(history) < settings.epochs,
        "budget_s": settings.budget_s,
        "stopped_by_budget": run.schedule.budget_spent(),
        "replica": settings.replica,
        "resumed_after_epoch": run.resumed_from,
        "wall_time_s": round(time.perf_counter() - wall_start, 3),
        "training_time_s": round(run.elapsed_before + run.run_seconds, 3),
        "training_flops": _flops_done(run, network, settings),
        "budget_flops": settings.budget_flops,
        "mean_events_per_s": _mean([r.get("events_per_s") for r in history]),
        "device": device_name(dev),
        "processes": ctx.world_size,
        "amp": _amp_name(sc.amp_dtype),
        "compiled": settings.compile,
        "data": prepared.data.mode,
        "peak_gpu_memory_bytes": peak_memory_bytes(dev),
        "seed": settings.seed,
        "train_events": len(prepared.split.train),
        "val_events": len(prepared.split.val),
        "batch_size": settings.batch_size,
        "targets": list(settings.targets),
        "versions": versions(),
    }


def _mean(values: list[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


def _write_outputs(
    output_dir: Path,
    state_path: Path,
    history: list[dict[str, Any]],
    info: dict[str, Any],
    identity: dict[str, Any],
    settings: TrainingSettings,
    started: str,
) -> None:
    """model.pt (the final checkpoint), history.csv, train_info.json, provenance.json; then drop the state."""
    output_dir.mkdir(parents=True, exist_ok=True)
    final = load_checkpoint(state_path)
    save_checkpoint(final, output_dir / "model.pt")
    per_target_cols = [f"val_{t}" for t in settings.targets] + resolution_columns(settings.targets)
    write_text(output_dir / "history.csv", _format_history(history, per_target_cols))
    write_json_atomic(output_dir / "train_info.json", info)
    model_name = settings.model_name
    provenance = {
        "stage": "train",
        "model": model_name,
        "inputs": [identity],
        "config": {"training": settings.section_dict(), "models": {model_name: settings.entry_dict()}},
        "command": sys.argv,
        "versions": info["versions"],
        "host": host(),
        "started": started,
        "finished": now_utc(),
        "outputs": [str(output_dir / n) for n in ("model.pt", "history.csv", "train_info.json", "provenance.json")],
    }
    write_json_atomic(output_dir / "provenance.json", provenance)
    state_path.unlink(missing_ok=True)
    log.info("wrote %s (best epoch %s)", output_dir, info["best_epoch"])
