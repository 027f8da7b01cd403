"""microgradx: learn and do backpropagation.

One model, three engines, one API:

* the scalar graph (:class:`Value`), where every chain-rule step can be printed (:class:`Trace`),
  explained as path products (:func:`explain`), checked (:func:`gradcheck`), drawn
  (:mod:`microgradx.viz.graph`) and animated (:func:`backward_frames`), or compiled into a Numba tape
  (:func:`compile_tape`);
* Numba CPU kernels and CUDA kernels that train the same :class:`Sequential` model through the same
  Keras-style :mod:`~microgradx.losses`, :mod:`~microgradx.optimizers` and :mod:`~microgradx.callbacks`
  (``model.compile(..., engine="scalar" | "cpu" | "cuda" | "auto")``).

``import microgradx`` is light: NumPy-only parts load on first use, and numba, matplotlib, graphviz and
numba.cuda are imported only by the parts that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .engine import Value
from .explain import explain
from .gradcheck import gradcheck
from .trace import Trace, TraceStep

import microgradx.viz as _viz  # noqa: F401  (light: registers Value's notebook display, plots load lazily)

__version__ = "0.1.0"

# name -> (submodule, attribute), imported on first access
_LAZY_ATTRIBUTES = {
    "Sequential": ("models", "Sequential"),
    "compile_tape": ("tape", "compile_tape"),
    "Tape": ("tape", "Tape"),
    "set_random_seed": ("utils", "set_random_seed"),
    "backward_frames": ("viz.frames", "backward_frames"),  # draws: imports graphviz on first use only
}
_SUBMODULES = frozenset({
    "activations", "callbacks", "datasets", "engines", "initializers", "kernels", "layers", "losses",
    "metrics", "models", "nn", "optimizers", "regularizers", "tape", "utils", "viz",
})

__all__ = ["Value", "Trace", "TraceStep", "explain", "gradcheck", *sorted(_LAZY_ATTRIBUTES),
           *sorted(_SUBMODULES), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'microgradx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
