"""What each architecture accepts: its hyperparameters, the rules that tie them together and
whether it has an uncertainty head, without torch.

The networks (:mod:`airshower.models.hexcnn`, ...) take their ``HYPERPARAMETERS``,
``constraints`` and ``SUPPORTS_UNCERTAINTY`` from here, so that checking a config entry
(:func:`resolve_hyperparameters`, :func:`check_model_entries`) needs the standard library
only: the workflow checks every model when it loads, in Snakemake's own environment, without
importing torch. :mod:`airshower.models.registry` maps each type to its network and builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airshower.errors import ConfigError
from airshower.models.hyperparams import Param, describe, resolve

# config keys of an entry ``models.<name>`` that are not hyperparameters
IGNORED_KEYS = ("type", "training", "label")  # label: the display name in figures and tables

# -- shared pieces ------------------------------------------------------------------------

# the hyperparameter of :class:`~airshower.models.heads.RegressionHead` every architecture declares
HEAD_PARAMS: dict[str, Param] = {
    "head_hidden": Param([64], "int_list", "widths of the dense layers of the head", 1),
}

# readouts of :class:`~airshower.models.hexcnn.HexConvBody`
READOUTS = ("flatten", "pool")

# the hexagonal-convolution body and head of ``hexcnn`` and ``lstm_hexcnn``
CONV_BODY_PARAMS: dict[str, Param] = {
    "conv_channels": Param([32, 32, 32], "int_list", "output channels of each hexagonal convolution", 1, min_length=1),
    "kernel_radius": Param(1, "int", "hexagonal rings each convolution covers (1: cell + 6 neighbours)", 1, 5),
    "readout": Param(
        "flatten",
        "str",
        "flatten: the last feature map of the whole window (keeps where each station sits); "
        "pool: mean and maximum over the cells holding a station",
        choices=READOUTS,
    ),
    **HEAD_PARAMS,
    "dropout": Param(0.0, "float", "dropout in the head", 0.0, 0.9),
}

# the trace LSTM of ``lstm_hexcnn`` and ``vit``
LSTM_PARAMS: dict[str, Param] = {
    "lstm_hidden": Param(16, "int", "hidden units of the trace LSTM (= length of each station's trace code)", 1),
    "lstm_layers": Param(1, "int", "stacked LSTM layers", 1, 4),
}

# attention modes of :func:`airshower.models.transformer.attention`
ATTENTION_MODES = ("fused", "materialized")

# what the transformers (``vit``, ``temporal``, ``perceiver``) share
TRANSFORMER_PARAMS: dict[str, Param] = {
    "dim": Param(32, "int", "token width", 8),
    "heads": Param(4, "int", "attention heads (must divide dim)", 1),
    "mlp_ratio": Param(2.0, "float", "hidden width of each MLP / dim", 0.25, 16.0),
    "dropout": Param(0.0, "float", "dropout in attention, MLPs and head", 0.0, 0.9),
    "attention": Param(
        "fused",
        "str",
        "fused: torch scaled_dot_product_attention (flash / memory-efficient kernels); "
        "materialized: explicit softmax(QK^T/sqrt(d))V (reference)",
        choices=ATTENTION_MODES,
    ),
    **HEAD_PARAMS,
}

# activation checkpointing of the ``temporal`` time blocks
CHECKPOINT_CHOICES = ("auto", "on", "off")
CHECKPOINT_AUTO_TOKENS = 128  # ``auto`` checkpoints the time blocks from this many tokens per trace on

# self-attention over the time tokens of ``temporal`` (:mod:`airshower.models.time_attention`)
TIME_ATTENTION_CHOICES = ("full", "sparse", "lsh")

# -- rules that tie hyperparameters together ------------------------------------------------

Problems = list[tuple[str, str]]  # (key, message) pairs
Rule = Callable[[Mapping[str, Any], int, int], Problems]  # (hyperparameters, grid_size, trace_bins)


def heads_divide_dim(hp: Mapping[str, Any], grid_size: int = 0, trace_bins: int = 0) -> Problems:
    """The rule every transformer here shares: dim % heads == 0."""
    if hp["dim"] % hp["heads"]:
        return [("heads", f"must divide dim = {hp['dim']}")]
    return []


def odd_trace_kernel(hp: Mapping[str, Any], grid_size: int = 0, trace_bins: int = 0) -> Problems:
    """``hexcnn``: the trace convolutions' kernel is odd (same-length output)."""
    if hp["trace_kernel"] % 2 == 0:
        return [("trace_kernel", "must be odd")]
    return []


def patch_fits_trace(hp: Mapping[str, Any], grid_size: int, trace_bins: int) -> Problems:
    """``temporal``: a time token holds at most the whole trace."""
    if hp["patch_bins"] > trace_bins:
        return [("patch_bins", f"must be <= the trace length {trace_bins}")]
    return []


# -- the architectures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    """What config entries of one ``type`` accept: hyperparameters (name -> :class:`Param`),
    the rules that tie them together, and whether the network has an uncertainty head."""

    type: str
    hyperparameters: Mapping[str, Param]
    rules: tuple[Rule, ...] = ()
    supports_uncertainty: bool = True

    def constraints(self, hp: Mapping[str, Any], grid_size: int, trace_bins: int) -> Problems:
        """Violations of the rules for a window of ``grid_size`` and traces of ``trace_bins`` bins."""
        return [problem for rule in self.rules for problem in rule(hp, grid_size, trace_bins)]


ARCHITECTURES: dict[str, Architecture] = {
    a.type: a
    for a in (
        Architecture(
            "hexcnn",
            {
                "trace_channels": Param(
                    [8, 16], "int_list", "channels of the 1D convolutions over each trace", 1, min_length=1
                ),
                "trace_kernel": Param(7, "int", "kernel size of the trace convolutions [bins], odd", 1, 31),
                "trace_features": Param(16, "int", "length of each station's trace code", 1),
                **CONV_BODY_PARAMS,
            },
            rules=(odd_trace_kernel,),
        ),
        Architecture("lstm_hexcnn", {**LSTM_PARAMS, **CONV_BODY_PARAMS}),
        Architecture(
            "vit",
            {
                **LSTM_PARAMS,
                "tokens": Param(
                    "window",
                    "str",
                    "window: one token per cell (patch size 1, learned position embedding); "
                    "stations: one token per station + key-padding mask, position from its coordinates",
                    choices=("window", "stations"),
                ),
                "pool": Param(
                    "cls", "str", "readout: class token or mean over station tokens", choices=("cls", "mean")
                ),
                "depth": Param(2, "int", "transformer blocks", 1),
                **TRANSFORMER_PARAMS,
            },
            rules=(heads_divide_dim,),
        ),
        Architecture(
            "temporal",
            {
                "patch_bins": Param(4, "int", "trace bins per time token (1: one token per bin)", 1),
                "time_layers": Param(2, "int", "transformer blocks over the time tokens of each trace", 1),
                "station_layers": Param(2, "int", "transformer blocks over the stations", 1),
                **TRANSFORMER_PARAMS,
                "time_checkpoint": Param(
                    "auto",
                    "str",
                    "activation checkpointing of the time blocks (recompute in backward; same results): "
                    f"on, off, or auto (on from {CHECKPOINT_AUTO_TOKENS} time tokens per trace)",
                    choices=CHECKPOINT_CHOICES,
                ),
                "time_attention": Param(
                    "full",
                    "str",
                    "self-attention over the time tokens: full (every token, fused kernel of 'attention'); "
                    "sparse (Sparse Transformer local + strided pattern, see sparse_window, sparse_stride); "
                    "lsh (Reformer: shared query/key, hashed into buckets, chunked; see lsh_chunk, lsh_rounds)",
                    choices=TIME_ATTENTION_CHOICES,
                ),
                "sparse_window": Param(
                    32,
                    "int",
                    "time_attention sparse: block of time tokens (= bins with patch_bins 1); each token attends "
                    "to its own block and the one before and after",
                    1,
                ),
                "sparse_stride": Param(
                    0,
                    "int",
                    "time_attention sparse: each token also attends to every stride-th token (same position "
                    "modulo stride); 0: round(sqrt(time tokens))",
                    0,
                ),
                "lsh_chunk": Param(
                    32,
                    "int",
                    "time_attention lsh: time tokens per chunk after sorting by bucket (a chunk attends to itself "
                    "and the previous one); buckets: time tokens / chunk, even (1 if one chunk holds the trace)",
                    1,
                ),
                "lsh_rounds": Param(
                    2, "int", "time_attention lsh: independent hashing rounds, outputs combined", 1, 8
                ),
            },
            rules=(heads_divide_dim, patch_fits_trace),
        ),
        Architecture(
            "perceiver",
            {
                "latents": Param(16, "int", "learned latent vectors", 1),
                "cross_layers": Param(1, "int", "cross-attention + latent self-attention stacks", 1),
                "self_layers": Param(2, "int", "latent self-attention blocks per stack", 0),
                **TRANSFORMER_PARAMS,
            },
            rules=(heads_divide_dim,),
        ),
    )
}


def architecture(name: str, spec: Any) -> Architecture:
    """The :class:`Architecture` of config entry ``models.<name>`` (a mapping with a known ``type``)."""
    prefix = f"models.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{prefix} = {spec!r}: expected a mapping with a 'type' key")
    if "type" not in spec:
        raise ConfigError(f"{prefix}: missing 'type'; allowed: {', '.join(ARCHITECTURES)}")
    kind = spec["type"]
    if kind not in ARCHITECTURES:
        raise ConfigError(f"{prefix}.type = {kind!r}: unknown architecture; allowed: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[kind]


def resolve_hyperparameters(name: str, spec: Mapping[str, Any], grid_size: int, trace_bins: int) -> dict[str, Any]:
    """The validated hyperparameters of config entry ``models.<name>`` (defaults filled in).

    Raises :class:`ConfigError` naming ``models.<name>.<key>``, the value and what is allowed:
    for a missing or unknown ``type``, unknown keys, bad values and broken rules (for a window
    of ``grid_size`` and traces of ``trace_bins`` bins).
    """
    arch = architecture(name, spec)
    prefix = f"models.{name}"
    hp = resolve(arch.hyperparameters, spec, prefix, ignore=IGNORED_KEYS)
    problems = arch.constraints(hp, grid_size, trace_bins)
    if problems:
        key, message = problems[0]
        raise ConfigError(f"{prefix}.{key} = {hp[key]!r}: {message}")
    return hp


def check_uncertainty(name: str, kind: str, uncertainty: bool, supported: Mapping[str, bool] | None = None) -> None:
    """Refuse ``training.uncertainty`` for model ``name`` when its architecture ``kind`` has no
    uncertainty head. ``supported``: type -> has one (default: the :data:`ARCHITECTURES`)."""
    if supported is None:
        supported = {k: a.supports_uncertainty for k, a in ARCHITECTURES.items()}
    if uncertainty and not supported[kind]:
        raise ConfigError(
            f"models.{name}: training.uncertainty = true, but architecture {kind!r} has no "
            f"uncertainty head; allowed with: {', '.join(k for k, ok in supported.items() if ok)}"
        )


def check_model_entries(config: Mapping[str, Any], source: str = "config") -> None:
    """Check every entry of ``models`` of a validated study config as training will build it.

    Each model's hyperparameters against its architecture (unknown keys, bad values, rules that
    tie them together, for the study's window ``convert.grid_size`` and the training dataset's
    ``trace_bins``) and its ``training.uncertainty`` against the architecture. The workflow calls
    this when it loads, so that a misspelt key stops ``snakemake -n`` instead of the train jobs
    after simulation and conversion. Raises :class:`ConfigError`, one line: the source, then
    ``models.<name>.<key>``, the value and what is allowed.
    """
    from airshower.config import dataset_simulation

    grid_size = int(config["convert"]["grid_size"])
    trace_bins = int(dataset_simulation(config, config["train_dataset"])["trace_bins"])
    for name, spec in config["models"].items():
        try:
            resolve_hyperparameters(name, spec, grid_size, trace_bins)
            overrides = spec.get("training") or {}
            check_uncertainty(name, spec["type"], overrides.get("uncertainty", config["training"]["uncertainty"]))
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None


def hyperparameter_table(kind: str) -> str:
    """Text description of the hyperparameters of architecture ``kind`` (for docs and --help)."""
    if kind not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {kind!r}; allowed: {', '.join(ARCHITECTURES)}")
    return describe(ARCHITECTURES[kind].hyperparameters)
