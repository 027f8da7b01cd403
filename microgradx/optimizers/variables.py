"""The variables an optimizer updates: float arrays in place, or ``Value``s through a float copy.

:meth:`Optimizer.apply` accepts float32/float64 NumPy arrays (updated in place), ``Value``s and
object arrays of ``Value``s (their ``.data`` is read into a float64 array, updated, and written back).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Value

__all__ = ["FLOAT_DTYPES", "numbers", "as_array", "write_back"]

#: the dtypes an optimizer's state and variables may have
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def numbers(x: Any) -> Any:
    """Floats of a gradient given as a number, an array, a Value or an object array of Values."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, np.ndarray) and x.dtype == object:
        return np.vectorize(lambda v: v.data if isinstance(v, Value) else float(v),
                            otypes=[np.float64])(x)
    return x


def as_array(variable: Any, argument: str) -> np.ndarray:
    """The array the update works on: the variable itself (float ndarray, updated in place), or a
    float64 copy of a Value's / an object array of Values' numbers (written back after the update)."""
    if isinstance(variable, np.ndarray) and variable.dtype in FLOAT_DTYPES:
        if not variable.flags.writeable:
            raise ValueError(f"{argument} is a read-only array")
        return variable
    if isinstance(variable, Value):
        return np.array(variable.data, dtype=np.float64)
    if isinstance(variable, np.ndarray) and variable.dtype == object \
            and all(isinstance(v, Value) for v in variable.flat):
        return numbers(variable)
    raise TypeError(f"{argument} must be a float32/float64 numpy array, a microgradx.Value or an object "
                    f"array of Values, got {type(variable).__name__}"
                    + (f" of dtype {variable.dtype}" if isinstance(variable, np.ndarray) else ""))


def write_back(variable: Any, work: np.ndarray) -> None:
    if isinstance(variable, Value):
        variable.data = float(work)
    elif isinstance(variable, np.ndarray) and variable.dtype == object:
        for v, x in zip(variable.flat, work.flat):
            v.data = float(x)
