"""Kernel launches with little host work: ``launch(kernel, grid, block, *args)``.

A training step of a small batch is a dozen short kernels, and the GPU then waits for the host:
numba-cuda's ordinary launch ``kernel[grid, block](*args)`` types every argument (a new
``types.Array`` per device array), wraps every array in an argument hint, builds a launch
configuration and marshals each argument, about 25 µs for three arrays and 70 µs for a product with
its epilogue operands (measured on an H100 with numba-cuda 0.30). :func:`launch` does the same launch
with that work done once:

* the first launch of a kernel with a new combination of argument types goes through numba-cuda's
  ordinary path (which compiles it), then looks up the compiled overload in ``kernel.overloads`` and
  records its launch plan: the driver function handle and the argument types;
* a device array's marshalled form, numba's array data model ``(meminfo, parent, nitems, itemsize,
  data, *shape, *strides)``, is computed once per array (:func:`resident`) and reused;
* later launches with the same argument kinds call ``cuda.core.launch`` directly with the flattened
  arguments and a cached launch configuration.

Before a plan is used, its marshalling of the first call's arguments is compared with numba-cuda's own
(``_Kernel._prepare_args``); a plan that differs, or any missing internal, falls back for good to the
ordinary launch, as does everything in the CUDA simulator and with ``MICROGRADX_CUDA_FAST_LAUNCH=0``.
Launches stay on the default stream, in order, as with ``kernel[grid, block](*args)``.

:class:`RowWindow` is a contiguous block of rows of a C-contiguous 2-D (or 1-D) device array that
costs no device-array slicing (30 µs each in numba-cuda 0.30): the epoch loop passes each batch's
rows of the epoch's data as windows.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numba

__all__ = ["launch", "launch_count", "plan_counts", "resident", "RowWindow", "rows", "fast_launch_enabled",
           "FAST_LAUNCH_ENV"]

#: set to ``0`` to use numba-cuda's ordinary launch for every kernel.
FAST_LAUNCH_ENV = "MICROGRADX_CUDA_FAST_LAUNCH"

_LaunchConfig = _core_launch = _types = _Purpose = _typeof = None
if not numba.config.ENABLE_CUDASIM:      # the simulator runs kernels as Python: nothing to cache there
    try:
        from cuda.core import LaunchConfig as _LaunchConfig
        from cuda.core import launch as _core_launch
        from numba.cuda import types as _types
        from numba.cuda.typing.typeof import Purpose as _Purpose
        from numba.cuda.typing.typeof import typeof as _typeof
    except ImportError:                  # a numba-cuda without these modules: the ordinary launch
        _core_launch = None
#: numba-cuda's object for the default stream, made on first use
_DEFAULT_STREAM: Any = None
#: kernels launched through :func:`launch` so far
_LAUNCHES = 0


def launch_count() -> int:
    """How many kernels :func:`launch` has launched in this process (for benchmarks)."""
    return _LAUNCHES


def plan_counts() -> dict[str, int]:
    """How many (kernel, argument kinds) combinations launch fast, and how many fell back to the ordinary
    launch (an internal that differs from numba-cuda 0.30, or an argument it cannot marshal)."""
    plans = [plan for by_kind in _PLANS.values() for plan in by_kind.values()]
    return {"fast": sum(plan is not None for plan in plans), "ordinary": sum(plan is None for plan in plans)}


def fast_launch_enabled() -> bool:
    """True when :func:`launch` may bypass numba-cuda's per-call dispatch (a real GPU, not switched off)."""
    return _core_launch is not None and os.environ.get(FAST_LAUNCH_ENV, "1") != "0"


class RowWindow:
    """Rows ``[start, stop)`` of a C-contiguous device array ``base``, without slicing it.

    Has the ``shape``, ``dtype``, ``strides``, ``size`` and ``ndim`` the kernels' Python wrappers read;
    :func:`launch` marshals it as the slice ``base[start:stop]`` (same type, data pointer moved by
    ``start`` rows). Only made by :func:`rows`, which returns a real slice where a fast launch is off.
    """

    __slots__ = ("base", "start", "shape", "dtype", "strides", "size", "ndim", "numba_type", "marshalled")

    def __init__(self, base: Any, start: int, stop: int) -> None:
        plan = resident(base)
        self.base = base
        self.start = start
        self.shape = (stop - start,) + tuple(base.shape[1:])
        self.dtype = base.dtype
        self.strides = tuple(base.strides)
        self.ndim = base.ndim
        self.size = (stop - start) * (int(base.size) // base.shape[0] if base.shape[0] else 0)
        self.numba_type = plan.numba_type
        nitems_at, data_at, shape_at = 2, 4, 5
        values = list(plan.values)
        values[nitems_at] = self.size
        values[data_at] = values[data_at] + start * self.strides[0]
        values[shape_at] = self.shape[0]
        self.marshalled = tuple(values)


def rows(array: Any, start: int, stop: int) -> Any:
    """``array[start:stop]`` for the kernels: a :class:`RowWindow` when launches are fast, else a slice."""
    if fast_launch_enabled() and array.flags["C_CONTIGUOUS"]:
        return RowWindow(array, start, stop)
    return array[start:stop]


class _Resident:
    """A device array's numba type and marshalled kernel argument, computed once."""

    __slots__ = ("numba_type", "values")

    def __init__(self, array: Any) -> None:
        self.numba_type = _typeof(array, _Purpose.argument) if _typeof is not None else None
        pointer = array.__cuda_array_interface__["data"][0] if array.size else 0
        meminfo = parent = 0
        self.values = ((meminfo, parent, int(array.size), int(array.dtype.itemsize), int(pointer or 0))
                       + tuple(int(d) for d in array.shape) + tuple(int(s) for s in array.strides))


_RESIDENT_ATTRIBUTE = "_microgradx_launch_plan"


def resident(array: Any) -> _Resident:
    """The marshalled form of a device array, cached on the array (its pointer and shape never change)."""
    plan = getattr(array, _RESIDENT_ATTRIBUTE, None)
    if plan is None:
        plan = _Resident(array)
        try:
            setattr(array, _RESIDENT_ATTRIBUTE, plan)
        except AttributeError:        # an array class without a __dict__: recompute next time
            pass
    return plan


class _Plan:
    """The compiled kernel of one argument-kind combination and how to pass its scalars."""

    __slots__ = ("handle", "scalars")

    def __init__(self, handle: Any, scalars: tuple) -> None:
        self.handle = handle
        self.scalars = scalars       # per argument: None for an array, else the ctypes converter


#: dispatcher -> {argument kinds: _Plan, or None where the ordinary launch must be used}
_PLANS: dict[Any, dict[tuple, Any]] = {}
_CONFIGS: dict[tuple, Any] = {}


def _kind(value: Any) -> Any:
    """What selects the overload: an array's numba type, or a scalar's Python type."""
    plan = getattr(value, _RESIDENT_ATTRIBUTE, None)
    if plan is not None:
        return plan.numba_type
    if isinstance(value, (bool, int, float)):
        return type(value)
    if isinstance(value, RowWindow):
        return value.numba_type
    if hasattr(value, "__cuda_array_interface__"):      # once per array: resident() caches it
        return resident(value).numba_type
    return type(value)                                 # e.g. a NumPy scalar


def _converter(numba_type: Any) -> Any:
    """How numba-cuda passes a scalar of ``numba_type`` (``_Kernel._prepare_args``), or raise."""
    if numba_type == _types.boolean:
        return bool
    if numba_type == _types.float64:
        return ctypes.c_double
    if numba_type == _types.float32:
        return ctypes.c_float
    if isinstance(numba_type, _types.Integer):
        return getattr(ctypes, f"c_{numba_type}")
    raise TypeError(f"no fast marshalling for {numba_type}")


def _flatten(plan: _Plan, args: tuple) -> list:
    flat: list = []
    for value, convert in zip(args, plan.scalars):
        if convert is None:
            flat.extend(value.marshalled if isinstance(value, RowWindow) else resident(value).values)
        else:
            flat.append(convert(value))
    return flat


def _same_marshalling(compiled: Any, args: tuple, flat: list) -> bool:
    """Compare :func:`_flatten` with numba-cuda's own marshalling of the same (real) arguments."""
    theirs: list = []
    for numba_type, value in zip(compiled.argument_types, args):
        if isinstance(value, RowWindow):
            value = value.base[value.start:value.start + value.shape[0]]
        compiled._prepare_args(numba_type, value, 0, [], theirs)
    if len(theirs) != len(flat):
        return False
    for mine, reference in zip(flat, theirs):
        a = mine.value if isinstance(mine, ctypes._SimpleCData) else mine
        b = reference.value if isinstance(reference, ctypes._SimpleCData) else reference
        if type(mine) is not type(reference) and not (isinstance(a, int) and isinstance(b, int)):
            return False
        if a != b:
            return False
    return True


def _make_plan(kernel: Any, args: tuple) -> Any:
    """The plan of ``kernel`` for these arguments (already compiled by an ordinary launch), or None."""
    try:
        if getattr(kernel, "_launch_config_sensitive", False) or getattr(kernel, "specialized", False):
            return None
        argtypes = tuple(kernel.typeof_pyval(a.base[a.start:a.start + a.shape[0]] if isinstance(a, RowWindow)
                                             else a) for a in args)
        compiled = kernel.overloads.get(argtypes)
        if compiled is None or compiled.debug or compiled.cooperative or compiled.extensions:
            return None
        scalars = tuple(None if isinstance(t, _types.Array) else _converter(t) for t in argtypes)
        plan = _Plan(compiled._codelibrary.get_cufunc().kernel, scalars)
        if not _same_marshalling(compiled, args, _flatten(plan, args)):
            return None
        return plan
    except Exception:  # any internal that differs from numba-cuda 0.30: use the ordinary launch
        return None


def _ordinary(kernel: Any, grid: Any, block: Any, args: tuple, stream: Any = 0) -> None:
    real = tuple(a.base[a.start:a.start + a.shape[0]] if isinstance(a, RowWindow) else a for a in args)
    kernel[grid, block, stream](*real)


def launch(kernel: Any, grid: Any, block: Any, *args: Any, stream: Any = 0) -> None:
    """``kernel[grid, block, stream](*args)``, with the per-call host work cached on the default stream.

    ``args`` are device arrays, :class:`RowWindow` objects and Python ``int``/``float``/``bool``
    scalars (always the same Python type at one argument position of a call site). Another stream
    than the default (0) takes numba-cuda's ordinary launch.
    """
    global _DEFAULT_STREAM, _LAUNCHES
    _LAUNCHES += 1
    if stream or not fast_launch_enabled():
        _ordinary(kernel, grid, block, args, stream)
        return
    plans = _PLANS.get(kernel)
    if plans is None:
        plans = _PLANS[kernel] = {}
    key = tuple(_kind(a) for a in args)
    if key not in plans:
        _ordinary(kernel, grid, block, args)          # compiles on first use
        plans[key] = _make_plan(kernel, args)
        return
    plan = plans[key]
    if plan is None:
        _ordinary(kernel, grid, block, args)
        return
    config = _CONFIGS.get((grid, block))
    if config is None:
        config = _CONFIGS[(grid, block)] = _LaunchConfig(grid=grid, block=block, shmem_size=0)
    if _DEFAULT_STREAM is None:
        _DEFAULT_STREAM = kernel[grid, block, 0].stream       # numba-cuda's stream object for 0
    _core_launch(_DEFAULT_STREAM, config, plan.handle, *_flatten(plan, args))
