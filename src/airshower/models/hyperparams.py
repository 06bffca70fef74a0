"""Declared hyperparameters of the architectures and their validation against a config entry.

Each architecture lists its hyperparameters (name -> :class:`Param`) in
:data:`airshower.models.specs.ARCHITECTURES` (its network class shares the table as
``HYPERPARAMETERS``); :func:`resolve` merges a config entry ``models.<name>`` with the defaults and raises
:class:`~airshower.errors.ConfigError` naming ``models.<name>.<key>``, the value and what is
allowed for unknown keys and bad values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airshower.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One hyperparameter: default, kind (int, float, str, bool, int_list), bounds, choices, doc."""

    default: Any
    kind: str
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    min_length: int = 0

    def allowed(self) -> str:
        """What this parameter accepts, in words."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        text = {
            "int": "an integer",
            "float": "a number",
            "str": "a string",
            "bool": "true or false",
            "int_list": "a list of integers",
        }[self.kind]
        if self.kind == "int_list":
            if self.min_length:
                text += f" (at least {self.min_length})"
            if bounds:
                text += ", each " + " and ".join(bounds)
        elif bounds:
            text += " " + " and ".join(bounds)
        return text

    def _in_bounds(self, x: float) -> bool:
        return (self.minimum is None or x >= self.minimum) and (self.maximum is None or x <= self.maximum)

    def check(self, value: Any) -> Any:
        """The value converted to its kind; raises ValueError if it is not allowed."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "int":
            if isinstance(value, int) and not isinstance(value, bool) and self._in_bounds(value):
                return int(value)
        elif self.kind == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and self._in_bounds(value):
                return float(value)
        elif self.kind == "str":
            if isinstance(value, bool) and self.choices is not None and YAML_SWITCH[value] in self.choices:
                return YAML_SWITCH[value]  # YAML 1.1 reads an unquoted on / off as true / false
            if isinstance(value, str) and (self.choices is None or value in self.choices):
                return value
        elif self.kind == "int_list":
            if (
                isinstance(value, (list, tuple))
                and len(value) >= self.min_length
                and all(isinstance(v, int) and not isinstance(v, bool) and self._in_bounds(v) for v in value)
            ):
                return [int(v) for v in value]
        raise ValueError(self.allowed())


YAML_SWITCH = {True: "on", False: "off"}


def resolve(
    params: Mapping[str, Param], spec: Mapping[str, Any], prefix: str, ignore: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Defaults of ``params`` overridden by ``spec``; ``prefix`` is e.g. ``models.vit``."""
    unknown = sorted(k for k in spec if k not in params and k not in ignore)
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]}: unknown hyperparameter (value {spec[unknown[0]]!r}); "
            f"allowed: {', '.join(sorted(params))}"
        )
    out: dict[str, Any] = {}
    for key, param in params.items():
        value = spec.get(key, param.default)
        try:
            out[key] = param.check(value)
        except ValueError as err:
            raise ConfigError(f"{prefix}.{key} = {value!r}: expected {err}") from None
    return out


def describe(params: Mapping[str, Param]) -> str:
    """A text table of the hyperparameters: name, default, allowed values, meaning."""
    lines = []
    for key, p in params.items():
        lines.append(f"{key} (default {p.default!r}; {p.allowed()}): {p.doc}")
    return "\n".join(lines)
