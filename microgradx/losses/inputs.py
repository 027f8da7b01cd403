"""Preparing a loss's inputs, the same for every loss (Keras' call path, steps 1 and 2 of
:mod:`microgradx.losses`): the working dtype from ``y_pred``, labels cast to it, Keras' rank alignment,
and the checks whose errors name the argument."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from ..engine import Value
from .ops import NumpyOps, Ops, ValueOps, is_value_array


def prepare_pred(y_pred: Any) -> tuple[np.ndarray, Ops, type]:
    """Return ``(array, ops, dtype)`` for the predictions: a float array or an object array of Values."""
    if is_value_array(y_pred):
        arr = np.asarray(y_pred, dtype=object) if not isinstance(y_pred, Value) \
            else np.array(y_pred, dtype=object)
        numbers = ValueOps.numbers(arr)
        ops, dtype = ValueOps, np.float64
    else:
        try:
            arr = np.asarray(y_pred)
        except (TypeError, ValueError) as error:
            raise TypeError(f"y_pred must be an array of numbers or of microgradx.Value, "
                            f"got {type(y_pred).__name__}: {error}") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"y_pred must be an array of numbers or of microgradx.Value, got an array "
                            f"of dtype {arr.dtype} (mixing Values and numbers is not supported)")
        dtype = arr.dtype.type if arr.dtype in (np.float32, np.float64) else np.float64
        arr = arr.astype(dtype, copy=False)
        numbers, ops = arr, NumpyOps
    if arr.ndim == 0:
        raise ValueError("y_pred must have at least one dimension (a batch of samples, or one sample's "
                         f"outputs), got a scalar {float(numbers)!r}; wrap it as [y_pred]")
    if not np.all(np.isfinite(numbers)):
        bad = numbers[~np.isfinite(numbers)].ravel()[:3]
        raise ValueError(f"y_pred contains non-finite values ({bad.tolist()}...); a loss of NaN/inf "
                         f"would silently poison training. Check the learning rate and the inputs.")
    return arr, ops, dtype


def prepare_true(y_true: Any, dtype: type) -> np.ndarray:
    if isinstance(y_true, Value):
        y_true = y_true.data
    arr = np.asarray(y_true)
    if arr.dtype == object:
        arr = np.vectorize(float, otypes=[np.float64])(arr) if arr.size else arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"y_true must be an array of numbers, got dtype {arr.dtype}")
    arr = arr.astype(dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y_true contains non-finite values: {arr[~np.isfinite(arr)][:3].tolist()}")
    return arr


def squeeze_or_expand_to_same_rank(x1: np.ndarray, x2: np.ndarray,
                                   expand_rank_1: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Keras' rank alignment: if the ranks differ by exactly one and the bigger array's last dimension
    is 1, squeeze it; but if the smaller array has rank 1 (and ``expand_rank_1``), expand that one
    instead. ``(N, 1)`` vs ``(N,)`` becomes ``(N, 1)`` vs ``(N, 1)``; ``(N, 3, 1)`` vs ``(N, 3)`` becomes
    ``(N, 3)`` vs ``(N, 3)``. Anything else is returned unchanged."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def require_same_shape(true_shape: tuple[int, ...], pred_shape: tuple[int, ...], loss_name: str) -> None:
    if true_shape != pred_shape:
        raise ValueError(
            f"{loss_name}: y_true and y_pred must have the same shape (after aligning a trailing "
            f"dimension of size 1), got y_true.shape={true_shape} and y_pred.shape={pred_shape}")


def check_axis(axis: int, ndim: int, loss_name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, Integral):
        raise TypeError(f"{loss_name}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{loss_name}: axis={axis} is out of range for inputs of rank {ndim}")
    return int(axis) % ndim


def check_label_smoothing(label_smoothing: float) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, Real) \
            or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)
