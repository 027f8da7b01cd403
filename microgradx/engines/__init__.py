"""Engines: the parts that turn a :class:`~microgradx.models.Sequential` model into computations.

``get_engine(name)`` returns the engine *class* for ``compile(engine=name)``:

* ``"scalar"``: one :class:`~microgradx.engine.Value` per number (slow, every step visible);
* ``"cpu"``: Numba CPU kernels (:mod:`microgradx.engines.cpu`);
* ``"cuda"``: numba-cuda kernels (:mod:`microgradx.engines.cuda`);
* ``"auto"``: ``"cuda"`` when a real GPU is usable (never Numba's CUDA simulator), else ``"cpu"``.

The CPU and CUDA engines are imported only when asked for, so ``import microgradx`` loads no numba.
"""

from __future__ import annotations

import importlib
import os

from .base import Engine

__all__ = ["Engine", "get_engine", "ENGINE_NAMES", "cuda_available"]

#: the names ``compile(engine=...)`` accepts.
ENGINE_NAMES = ("scalar", "cpu", "cuda", "auto")

_MODULES = {"scalar": ("scalar", "ScalarEngine"), "cpu": ("cpu", "CpuEngine"), "cuda": ("cuda", "CudaEngine")}


def cuda_available() -> bool:
    """True when a real CUDA GPU can be used: numba-cuda importable, not the simulator, a device present.

    Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) never counts: it is for tests, and far slower
    than the CPU engine. The device check itself lives in :mod:`microgradx.engines.cuda.device`
    (``gpu_available()``); any failure to import it means "no GPU".
    """
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        import numba
    except ImportError:
        return False
    if numba.config.ENABLE_CUDASIM:
        return False
    try:
        module = importlib.import_module(".cuda", __name__)
    except ImportError:
        return False
    check = getattr(module, "gpu_available", None)
    if check is None:
        return False
    try:
        return bool(check())
    except Exception:  # a broken driver install means "no usable GPU", not a crash at compile time
        return False


def get_engine(name: str) -> type[Engine]:
    """The engine class registered under ``name`` (one of :data:`ENGINE_NAMES`)."""
    if not isinstance(name, str):
        raise TypeError(f"Invalid value received for argument `engine`: {name!r} of type "
                        f"{type(name).__name__}. Expected one of {list(ENGINE_NAMES)}.")
    key = name.lower()
    if key not in ENGINE_NAMES:
        raise ValueError(f"Invalid value received for argument `engine`: {name!r}. "
                         f"Expected one of {list(ENGINE_NAMES)}.")
    if key == "auto":
        key = "cuda" if cuda_available() else "cpu"
    module_name, class_name = _MODULES[key]
    try:
        module = importlib.import_module(f".{module_name}", __name__)
    except ImportError as error:
        hint = " (install the `cuda` extra: pip install microgradx[cuda])" if key == "cuda" else ""
        raise ImportError(f"engine={name!r} is not available: importing microgradx.engines.{module_name} "
                          f"failed with {error!r}{hint}") from error
    engine_class = getattr(module, class_name, None)
    if engine_class is None:
        raise ImportError(f"engine={name!r} is not available: microgradx.engines.{module_name} does not "
                          f"define {class_name}")
    return engine_class
