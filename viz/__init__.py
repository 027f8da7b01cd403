"""Pictures of what the engines expose: Graphviz drawings of scalar graphs and matplotlib figures.

Submodules are imported on first use so that ``import microgradx`` (and ``import microgradx.viz``) does
not pull in matplotlib or graphviz: ``microgradx.viz.draw_graph`` imports :mod:`microgradx.viz.graph` the
first time it is looked up.
"""

from __future__ import annotations

import importlib

# public name -> submodule that defines it (loaded lazily by __getattr__)
_LAZY = {
    "draw_graph": "graph",
    "render": "graph",
    "save_dot": "graph",
    "backward_frames": "graph",
    "GraphvizNotFoundError": "graph",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
