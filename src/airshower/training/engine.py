"""``airshower train``: train one model of the study on a tensor file, on a CPU, a GPU or several GPUs.

The same code runs everywhere: one process on the CPU or a GPU, or ``torchrun
--nproc-per-node N -m airshower.cli train ...`` for DistributedDataParallel on N GPUs (or N
CPU processes with gloo). Rank 0 alone writes checkpoints, logs and outputs.

Outputs in ``output_dir``: ``model.pt`` (the last checkpoint; see
:mod:`airshower.training.checkpoint` and :func:`~airshower.training.checkpoint.load_model`),
``history.csv`` (one row per epoch), ``train_info.json`` and ``provenance.json``.

Resumable state lives in ``state_dir`` (``last.pt``, written atomically after every epoch),
outside the declared outputs so that it survives a failed Snakemake job. A run finds it,
checks its fingerprint (training settings, model entry, tensor file checksum, number of
processes) and resumes after its last epoch; on a mismatch it says so in the log and starts
afresh. On the CPU a resumed run ends with the same weights, bit for bit, as an
uninterrupted one. The state is removed once the outputs are written.
"""

from __future__ import annotations

import argparse
import copy
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
from pathlib import Path
from typing import Any

import torch

from airshower.atomic import write_text
from airshower.batch import Batch
from airshower.config import validate_config
from airshower.errors import InputFileError
from airshower.io.files import require_writable
from airshower.training import TrainingError
from airshower.training.augment import HexSymmetries
from airshower.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint,
    save_checkpoint,
)
from airshower.training.data import (
    H5Source,
    TensorSource,
    as_model_input,
    check_batch_size,
    choose_data,
    split_indices,
)
from airshower.training.device import autocast_dtype, device_name, free_memory_bytes, peak_memory_bytes, synchronize
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
    evaluate,
    loss_weights,
    train_epoch,
)
from airshower.training.normalise import TargetNormaliser
from airshower.training.provenance import file_record, host, now_utc, versions, write_json_atomic
from airshower.training.settings import model_entry, model_spec, resolve_training

log = logging.getLogger("airshower.train")

ModelBuilder = Callable[..., torch.nn.Module]  # (name, spec, grid_size, trace_bins, targets, uncertainty=bool)
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds", "events_per_s")
STATE_FILE = "last.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower train``."""
    parser.add_argument("--model", required=True, help="model to train (a key of 'models' in the config)")
    parser.add_argument("--tensors", type=Path, default=None, help="tensor file (default data/tensors/{train_dataset}.h5)")
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
    tensors = args.tensors or Path("data/tensors") / f"{config['train_dataset']}.h5"
    output = args.output or Path("results") / config["study"] / "models" / model
    state = args.state_dir or Path("results") / config["study"] / ".state" / "train" / model
    train_model(config, model, tensors, output, state, device=args.device, threads=args.threads)
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


def default_builder() -> ModelBuilder:
    """The model registry's ``build_model``."""
    try:
        from airshower.models.registry import build_model
    except ModuleNotFoundError as exc:
        raise TrainingError(f"the model registry is not available ({exc})") from exc
    return build_model


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


def _count_parameters(model: torch.nn.Module) -> int:
    try:
        from airshower.models.flops import count_parameters

        return int(count_parameters(model))
    except ModuleNotFoundError:
        return sum(p.numel() for p in model.parameters())


def _flops_per_event(model: torch.nn.Module, example: Batch, grid_size: int, trace_bins: int) -> float | None:
    """Forward FLOPs of one event (the models' counter, or torch's flop counter when it is absent)."""
    was_training = model.training
    model.eval()
    try:
        try:
            from airshower.models.flops import forward_flops
        except ModuleNotFoundError:
            forward_flops = None
        if forward_flops is not None:
            return float(forward_flops(model, grid_size, trace_bins, example_batch=example))
        from torch.utils.flop_counter import FlopCounterMode

        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(example)
        return float(counter.get_total_flops()) / max(1, len(example))
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
) -> dict[str, Any]:
    """Train ``model_name`` of ``config`` (validated, defaults filled) on ``tensors``: the tensor
    file, or any :class:`~airshower.training.data.TensorSource` (events in memory: tests, benchmarks).

    Writes ``model.pt``, ``history.csv``, ``train_info.json`` and ``provenance.json`` into
    ``output_dir`` (rank 0 only) and returns the content of ``train_info.json``.
    ``state_dir`` keeps the resumable state (default ``output_dir/.state``). ``model_builder``
    replaces the registry (tests); ``step_hook(epoch, step)`` is called after every step.
    Raises :class:`~airshower.errors.ConfigError`, :class:`~airshower.errors.InputFileError`
    or :class:`~airshower.training.TrainingError` with a message naming the problem
    (config errors before those of the tensor file).
    """
    wall_start = time.perf_counter()
    started = now_utc()
    config = validate_config(config, source="config", partial=True)
    settings = resolve_training(config, model_name)
    entry = model_entry(config, model_name)
    spec = model_spec(config, model_name)
    targets: list[str] = list(settings["targets"])
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
        return _run(
            ctx, settings, entry, spec, targets, model_name, source, output_dir, state_dir,
            model_builder, step_hook, tensors_path, wall_start, started,
        )
    finally:
        teardown(ctx)


run_training = train_model  # the name callers with a TensorSource in memory use


def _run(
    ctx: DistContext,
    settings: dict[str, Any],
    entry: dict[str, Any],
    spec: dict[str, Any],
    targets: list[str],
    model_name: str,
    source: TensorSource,
    output_dir: Path,
    state_dir: Path,
    model_builder: ModelBuilder | None,
    step_hook: Callable[[int, int], None] | None,
    tensors_path: Path | None,
    wall_start: float,
    started: str,
) -> dict[str, Any]:
    if not ctx.is_main:
        log.setLevel(logging.WARNING)
    dev = ctx.device
    seed = int(settings["seed"])
    example = _check_targets(source, targets)
    grid, bins = source.grid_size, source.trace_bins

    identity = broadcast_object(ctx, _source_identity(source, tensors_path, state_dir) if ctx.is_main else None)
    want = fingerprint(settings, model_name, entry, identity["sha256"], ctx.world_size)

    split = split_indices(source.n_events, settings["val_fraction"], seed)
    batch_size = int(settings["batch_size"])
    check_batch_size(batch_size, len(split.train), ctx)
    steps_per_epoch = len(split.train) // batch_size

    data = choose_data(source, dev, settings["device_data_limit_gb"], settings["stream_chunk_events"], free_memory_bytes(dev))
    normaliser = TargetNormaliser.fit(data.targets(split.train), targets)

    torch.manual_seed(seed)
    builder = model_builder or default_builder()
    raw = builder(model_name, copy.deepcopy(spec), grid, bins, list(targets),
                  uncertainty=bool(settings["uncertainty"])).to(dev)
    n_params = _count_parameters(raw)
    flops = _flops_per_event(raw, as_model_input(example).to(dev), grid, bins) if ctx.is_main else None

    optimizer = build_optimizer(raw, settings)
    schedule = LRSchedule(optimizer, settings, steps_per_epoch)
    early = EarlyStopping(settings["patience"], settings["min_delta"])
    shuffle_gen = data.generator(seed + 1)
    augment_gen = torch.Generator(device=dev).manual_seed(seed + 2)
    history: list[dict[str, Any]] = []
    best_state = _cpu_state(raw)
    start_epoch, elapsed_before, finished = 1, 0.0, False

    state_path = state_dir / STATE_FILE
    resumed = _resume_state(state_path, want, ctx)
    resumed_from = 0
    if resumed is not None:
        raw.load_state_dict(resumed["model_state"])
        optimizer.load_state_dict(resumed["optimizer"])
        schedule.load_state_dict(resumed["scheduler"])
        early.load_state_dict(resumed["early_stopping"])
        normaliser = TargetNormaliser.from_state_dict(resumed["normaliser"])
        _restore_rng(resumed["rng"], shuffle_gen, augment_gen)
        history = list(resumed["history"])
        best_state = resumed["best_model_state"]
        elapsed_before = float(resumed["elapsed_s"])
        finished = bool(resumed["finished"])
        resumed_from = int(resumed["epoch"])
        start_epoch = resumed_from + 1
        log.info("resuming %s from %s after epoch %d", model_name, state_path, resumed_from)
        del resumed

    amp = autocast_dtype(dev, settings["amp"])
    net = wrap_model(ctx, raw)
    if settings["compile"]:
        net = torch.compile(net)
    symmetries = HexSymmetries(grid, dev) if settings["augment"] else None
    weights = loss_weights(settings)
    sc = StepContext(
        model=net,
        optimizer=optimizer,
        schedule=schedule,
        normaliser=normaliser,
        weights=weights,
        grad_clip=float(settings["grad_clip"]),
        device=dev,
        amp_dtype=amp,
        symmetries=symmetries,
        augment_generator=augment_gen,
        params=[p for p in raw.parameters() if p.requires_grad],
        uncertainty_beta=float(settings["uncertainty_beta"]),
    )
    log.info(
        "training %s (%s): %d parameters, %s FLOPs/event; %d train / %d validation events of %s; "
        "data %s; device %s x%d; amp %s; batch %d; epochs %d",
        model_name,
        spec.get("type"),
        n_params,
        f"{flops:.3g}" if flops is not None else "?",
        len(split.train),
        len(split.val),
        source.describe(),
        "on the device" if data.mode == "device" else f"streamed in chunks of {settings['stream_chunk_events']}",
        device_name(dev),
        ctx.world_size,
        str(amp).replace("torch.", "") if amp else "off",
        batch_size,
        settings["epochs"],
    )
    progress = sys.stderr.isatty()
    meta = {"name": model_name, "spec": spec, "grid_size": grid, "trace_bins": bins, "targets": targets,
            "uncertainty": bool(settings["uncertainty"]), "bin_ns": getattr(source, "info", {}).get("bin_ns")}
    per_target_cols = [f"val_{t}" for t in targets]

    run_seconds = 0.0
    for epoch in range(start_epoch, settings["epochs"] + 1):
        if finished:
            break
        t0 = time.perf_counter()
        lr_first = schedule.lr
        result = train_epoch(
            sc,
            data.batches(split.train, batch_size, ctx, shuffle_gen),
            steps_per_epoch,
            epoch,
            ctx,
            progress=progress,
            step_hook=step_hook,
        )
        val, per_target = evaluate(raw, data.batches(split.val, batch_size, ctx), normaliser, weights, dev, amp, ctx,
                                   sc.uncertainty_beta)
        if not math.isfinite(val):
            raise TrainingError(
                f"the validation loss is not finite ({val}) after epoch {epoch}; training stopped. "
                "The last checkpoint (end of the previous epoch) is kept"
            )
        improved = early.update(val, epoch)
        if improved:
            best_state = _cpu_state(raw)
        schedule.epoch_end(val)
        synchronize(dev)
        seconds = time.perf_counter() - t0
        run_seconds += seconds
        row = {
            "epoch": epoch,
            "train_loss": result.loss,
            "val_loss": val,
            "lr": lr_first,
            "seconds": round(seconds, 4),
            "events_per_s": round(result.events / result.seconds, 2) if result.seconds > 0 else None,
            **{f"val_{t}": v for t, v in per_target.items()},
        }
        history.append(row)
        finished = early.should_stop or epoch == settings["epochs"]
        log.info(
            "epoch %d/%d train %.5g val %.5g lr %.3g %.2fs %.0f ev/s%s%s",
            epoch,
            settings["epochs"],
            result.loss,
            val,
            lr_first,
            seconds,
            row["events_per_s"] or 0.0,
            " *" if improved else "",
            f" (early stop: no improvement for {early.patience} epochs)" if early.should_stop else "",
        )
        if ctx.is_main:
            state = {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                "fingerprint": want,
                "model": meta,
                "epoch": epoch,
                "finished": finished,
                "model_state": _cpu_state(raw),
                "best_model_state": best_state,
                "best_epoch": early.best_epoch,
                "optimizer": optimizer.state_dict(),
                "scheduler": schedule.state_dict(),
                "early_stopping": early.state_dict(),
                "rng": _rng_state(shuffle_gen, augment_gen),
                "normaliser": normaliser.state_dict(),
                "history": history,
                "elapsed_s": elapsed_before + run_seconds,
            }
            save_checkpoint(state, state_path)
        barrier(ctx)

    info = {
        "model": model_name,
        "type": spec.get("type"),
        "parameters": n_params,
        "flops_per_event": flops,
        "epochs_run": len(history),
        "epochs_max": settings["epochs"],
        "best_epoch": early.best_epoch,
        "best_val_loss": early.best if math.isfinite(early.best) else None,
        "stopped_early": bool(history) and len(history) < settings["epochs"],
        "resumed_after_epoch": resumed_from,
        "wall_time_s": round(time.perf_counter() - wall_start, 3),
        "training_time_s": round(elapsed_before + run_seconds, 3),
        "mean_events_per_s": _mean([r.get("events_per_s") for r in history]),
        "device": device_name(dev),
        "processes": ctx.world_size,
        "amp": str(amp).replace("torch.", "") if amp else "off",
        "compiled": bool(settings["compile"]),
        "data": data.mode,
        "peak_gpu_memory_bytes": peak_memory_bytes(dev),
        "seed": seed,
        "train_events": len(split.train),
        "val_events": len(split.val),
        "batch_size": batch_size,
        "targets": targets,
        "versions": versions(),
    }
    if ctx.is_main:
        _write_outputs(output_dir, state_path, history, per_target_cols, info, identity, settings, entry, model_name, started)
    barrier(ctx)
    return info


def _mean(values: list[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


def _write_outputs(
    output_dir: Path,
    state_path: Path,
    history: list[dict[str, Any]],
    per_target_cols: list[str],
    info: dict[str, Any],
    identity: dict[str, Any],
    settings: dict[str, Any],
    entry: dict[str, Any],
    model_name: str,
    started: str,
) -> None:
    """model.pt (the final checkpoint), history.csv, train_info.json, provenance.json; then drop the state."""
    output_dir.mkdir(parents=True, exist_ok=True)
    final = load_checkpoint(state_path)
    save_checkpoint(final, output_dir / "model.pt")
    write_text(output_dir / "history.csv", _format_history(history, per_target_cols))
    write_json_atomic(output_dir / "train_info.json", info)
    provenance = {
        "stage": "train",
        "model": model_name,
        "inputs": [identity],
        "config": {"training": settings, "models": {model_name: entry}},
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


