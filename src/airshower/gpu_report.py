"""``airshower gpu-report``: the folder a timed one-machine run of a study hands back.

After the workflow has run (``scripts/gpu-study.sh``), this measures the device's dense matmul
rate (:func:`airshower.inference.peak.device_peak`), writes the model FLOPs utilisation of every
trained run (:mod:`airshower.figures.utilisation`) to ``results/{study}/figures/utilisation.{md,csv}``
and copies into ``--out`` at most :data:`MAX_FILES` files:

* ``summary.md``, ``time_to_target.md``, ``headline.png``, ``resolution_vs_time.png`` (required:
  a missing one is an error naming it);
* ``scaling.md`` and ``scaling.png`` (when the figures stage wrote them);
* ``utilisation.md``;

beside whatever is already there (the script's ``gpu-study.log``): the total is checked.
Paths are relative to ``--workdir``, the folder the workflow ran in (:mod:`airshower.layout`).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from airshower import layout
from airshower.errors import InputFileError, OutputFileError

# the most files the output folder may hold (what a short GPU job can hand back)
MAX_FILES = 8
REQUIRED = ("summary.md", "time_to_target.md", "headline.png", "resolution_vs_time.png")
OPTIONAL = ("scaling.md", "scaling.png")
UTILISATION = "utilisation.md"
DEFAULT_OUT = Path("results/gpu-study")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``airshower gpu-report``."""
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder to copy the report into (default {DEFAULT_OUT})")
    parser.add_argument("--workdir", default=".", help="the folder the workflow ran in (default: the current one)")
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                        help="device whose matmul rate is measured (default: AIRSHOWER_DEVICE, else auto)")


def report_files(figures_dir: Path) -> list[Path]:
    """The figures and tables to hand back, in order: the required ones (an error naming the first
    one missing), then those of :data:`OPTIONAL` that exist."""
    for name in REQUIRED:
        if not (figures_dir / name).is_file():
            hint = " (figures.formats must include png)" if name.endswith(".png") else ""
            raise InputFileError(f"{figures_dir / name}: expected figure or table is missing{hint}; "
                                 "did the workflow's figures rule run?")
    return [figures_dir / n for n in REQUIRED] + [figures_dir / n for n in OPTIONAL if (figures_dir / n).is_file()]


def collect(files: list[Path], out: Path, limit: int = MAX_FILES) -> list[Path]:
    """Copy ``files`` into ``out`` and check that it then holds at most ``limit`` files (any already
    there, such as a log, included); the copies' paths."""
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in files:
        dest = out / src.name
        shutil.copyfile(src, dest)
        copied.append(dest)
    held = sorted(p.name for p in out.rglob("*") if p.is_file())
    if len(held) > limit:
        raise OutputFileError(f"{out} holds {len(held)} files, more than {limit}: {', '.join(held)}")
    return copied


def main(config: dict[str, Any], args: argparse.Namespace) -> int:
    """``airshower gpu-report``: reads ``study``, ``models`` (names, labels, replicas) and ``training.amp``."""
    from airshower.figures.labels import model_labels
    from airshower.figures.utilisation import utilisation_rows, write_utilisation
    from airshower.inference.device import choose_device, device_name
    from airshower.inference.peak import device_peak
    from airshower.training.replicas import all_runs

    root = Path(args.workdir)
    study = config["study"]
    figures_dir = root / layout.figures_dir(study)
    files = report_files(figures_dir)  # before the measurement: a missing figure fails at once
    dev = choose_device(args.device)
    amp = config["training"]["amp"]
    peak = device_peak(dev, amp)
    note = (f"{peak.dtype_name} {peak.n} x {peak.n} products on {device_name(dev)}: "
            f"{peak.flops_per_s / 1e12:.3g} TFLOP/s; training.amp {amp}")
    rows = utilisation_rows(study, all_runs(config), peak.flops_per_s, model_labels(config["models"]), root)
    write_utilisation(figures_dir, rows, study, note)
    copied = collect([*files, figures_dir / UTILISATION], Path(args.out))
    print(f"peak: {note}")
    for r in rows:
        util = "" if r["utilisation"] is None else f"{100 * r['utilisation']:.1f} %"
        print(f"  {r['model']}: {r['events_per_s'] or 0:.0f} events/s, {r['achieved_tflops'] or 0:.3g} TFLOP/s, {util}")
    print(f"copied {len(copied)} files to {args.out}: {', '.join(p.name for p in copied)}")
    return 0
