"""The numbers of the parametric SD simulation (``resources/sd_parameters.json``).

The file holds every constant the simulator needs, each block with the form of its
formula; its sources are listed in ``docs/physics.md`` ("Sources").
The dict is loaded once through :mod:`importlib.resources` and cached: treat it as
read-only (use :func:`load_parameters` for a private copy).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

RESOURCE = "resources/sd_parameters.json"


@lru_cache(maxsize=1)
def sd_parameters() -> dict[str, Any]:
    """The parameter dict shared by all physics modules (cached, do not modify)."""
    with resources.files("airshower").joinpath(RESOURCE).open("r", encoding="utf-8") as handle:
        return json.load(handle)


def load_parameters() -> dict[str, Any]:
    """A private deep copy of the parameters (safe to modify)."""
    return copy.deepcopy(sd_parameters())
