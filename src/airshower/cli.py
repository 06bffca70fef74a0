"""The ``airshower`` command: one subcommand per workflow stage, each a thin shell over a library function.

Every subcommand takes the configuration either as a YAML file (``--config``, validated
against the schema with defaults) or as JSON text (``--config-json``: the part of the config
a Snakemake rule hands the stage through its ``params``). Errors caused by input (config,
files) print one clear message and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from airshower.config import load_config, load_config_json
from airshower.errors import AirshowerError

# subcommand -> (module, function): the function takes (config, args) and does the work.
# Modules are imported lazily so that `airshower --help` stays fast and a stage's heavy
# imports (torch, matplotlib) are paid only by that stage.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "simulate": ("airshower.simulate", "main", "simulate one shard of a dataset into a ROOT events file"),
    "convert": ("airshower.convert", "main", "convert the events files of a dataset into one HDF5 tensor file"),
    "train": ("airshower.training.engine", "main", "train one model of the study on a tensor file"),
    "predict": ("airshower.evaluation.predict", "main", "reconstruct a test tensor file with a trained model"),
    "evaluate": ("airshower.evaluation.metrics", "main", "bias, resolution and merit factor of a model's predictions"),
    "figures": ("airshower.figures.paper", "main", "the study's figures and summary tables"),
    "reconstruct": ("airshower.evaluation.reconstruct", "main",
                    "reconstruct events files with a trained network into a per-event table (outside the workflow)"),
    "export": ("airshower.export", "main", "export a trained model to one .pt2 file that runs with plain torch"),
    "sd-vs-fd": ("airshower.figures.reference", "main",
                 "SD-reconstructed against FD Xmax of hybrid events, from a reconstructed table"),
    "gpu-report": ("airshower.gpu_report", "main",
                   "model FLOPs utilisation and the study's key tables and figures, in one folder (outside the workflow)"),
}
# subcommands that read no study config: what they need is in the trained model's checkpoint
NO_CONFIG = frozenset({"reconstruct", "export", "sd-vs-fd"})

def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", default=None, help="study config (YAML); default: config/config.yaml")
    group.add_argument("--config-json", default=None, help="config as JSON text (used by the Snakemake rules)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand; each stage module adds its own options.

    With ``command``, only that stage's module is imported for its options (the others get
    none): a workflow rule runs in a conda environment with that stage's dependencies only,
    e.g. ``simulate`` without torch. ``command=""`` imports no stage module.
    """
    parser = argparse.ArgumentParser(prog="airshower", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, _func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_config_options(p)
        if command is not None and name != command:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("airshower"):
                p.set_defaults(_unavailable=f"stage '{name}' is not available in this version ({exc.name})")
                continue
            raise
        add = getattr(mod, "add_arguments", None)
        if add is not None:
            add(p)
    return parser


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
    """The validated config of a call (``--config-json``, ``--config`` or config/config.yaml).

    Subcommands of :data:`NO_CONFIG` get an empty config unless one is given.
    """
    if args.command in NO_CONFIG and args.config_json is None and args.config is None:
        return {}
    if args.config_json is not None:
        return load_config_json(args.config_json)
    return load_config(args.config or "config/config.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``airshower`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else "")
    args = parser.parse_args(argv)
    if getattr(args, "_unavailable", None):
        print(f"airshower: error: {args._unavailable}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[args.command]
    try:
        config = resolve_config(args)
        run = getattr(importlib.import_module(module), func)
        result = run(config, args)
    except AirshowerError as exc:
        print(f"airshower {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"airshower {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
