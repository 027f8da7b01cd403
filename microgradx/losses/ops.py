"""The operations a loss formula may use, as two namespaces: :class:`NumpyOps` on float arrays and
:class:`ValueOps` on NumPy object arrays of :class:`~microgradx.Value` (building graph nodes), so that one
formula gives a number or a graph; and Keras' fuzz factor :data:`EPSILON` with the probability bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Value, sum_values

#: Keras' fuzz factor ``keras.config.epsilon()``: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``
#: before ``log`` (BCE, CCE, SCCE), and the ``ignore_class`` mask is rescaled by
#: ``total / (valid + EPSILON)``. The bounds are computed in the working dtype, so in float32
#: ``1 - EPSILON`` rounds to 0.99999988 exactly as in Keras.
EPSILON = 1e-7


class NumpyOps:
    """The operations a loss formula may use, on float arrays.

    Arithmetic (``+ - * / **``) is plain NumPy in both namespaces: on object arrays NumPy applies the
    Python operators element by element, so only the functions below differ. Sums and means
    accumulate in float64 and return the input's dtype.
    """

    log = staticmethod(np.log)        # log(x)
    exp = staticmethod(np.exp)        # exp(x)
    log1p = staticmethod(np.log1p)    # log(1 + x)
    abs = staticmethod(np.abs)        # |x|

    @staticmethod
    def relu(x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``."""
        return np.maximum(x, x.dtype.type(0))

    @staticmethod
    def clip(x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        """``min(max(x, low), high)``."""
        return np.clip(x, low, high)

    @staticmethod
    def numbers(x: np.ndarray) -> np.ndarray:
        """The float values (for constants such as the softmax shift)."""
        return x

    @staticmethod
    def mean(x: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis, dtype=np.float64).astype(x.dtype)

    @staticmethod
    def sum(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
        return np.sum(x, axis=axis, dtype=np.float64, keepdims=keepdims).astype(x.dtype)

    @staticmethod
    def total(x: np.ndarray) -> Any:
        """The sum of every element, accumulated in float64."""
        return np.sum(x, dtype=np.float64)

    @staticmethod
    def cast(x: Any, dtype: type) -> Any:
        return dtype(x)

    @staticmethod
    def zero(dtype: type) -> Any:
        return dtype(0)


def _each(method: str, *extra: float):
    """Apply ``Value.<method>(*extra)`` to every element of an object array."""
    func = np.frompyfunc(lambda v: getattr(v, method)(*extra), 1, 1)
    return func


class ValueOps:
    """The same operations on object arrays of :class:`~microgradx.Value`: each builds graph nodes
    (``Value.log``, ``Value.clip``, ...), so ``backward()`` runs the chain rule through the loss."""

    log = staticmethod(_each("log"))
    exp = staticmethod(_each("exp"))
    log1p = staticmethod(_each("log1p"))
    abs = staticmethod(_each("abs"))
    relu = staticmethod(_each("relu"))

    @staticmethod
    def clip(x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        return _each("clip", float(low), float(high))(x)

    @staticmethod
    def numbers(x: np.ndarray) -> np.ndarray:
        """The ``.data`` of every Value, as float64 (a constant: no gradient flows through it)."""
        return np.frompyfunc(lambda v: v.data, 1, 1)(x).astype(np.float64)

    @staticmethod
    def mean(x: np.ndarray, axis: int) -> np.ndarray:
        return np.sum(x, axis=axis) / x.shape[axis]

    @staticmethod
    def sum(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def total(x: np.ndarray) -> Any:
        """The sum of every element: one n-ary ``sum`` node (added left to right, like ``np.sum``)."""
        return sum_values(x.ravel().tolist())

    @staticmethod
    def cast(x: Any, dtype: type) -> Any:
        return x

    @staticmethod
    def zero(dtype: type) -> Any:
        return Value(0.0)


Ops = type[NumpyOps] | type[ValueOps]


def is_value_array(x: Any) -> bool:
    return isinstance(x, Value) or (
        isinstance(x, np.ndarray) and x.dtype == object and x.size > 0
        and all(isinstance(v, Value) for v in x.flat))


def float_values(x: np.ndarray) -> np.ndarray:
    """The float values of a float array or of an object array of Values."""
    return ValueOps.numbers(x) if x.dtype == object else x


def probability_bounds(dtype: type) -> tuple[Any, Any]:
    """``(EPSILON, 1 - EPSILON)`` computed in ``dtype`` (float32: 1e-7 and 0.99999988)."""
    eps = dtype(EPSILON)
    return eps, dtype(1) - eps
