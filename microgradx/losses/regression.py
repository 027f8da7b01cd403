"""The regression losses, each class next to its formula over the ops namespace:
:class:`MeanSquaredError`, :class:`MeanAbsoluteError`, and their function forms."""

from __future__ import annotations

from typing import Any

import numpy as np

from .loss import Loss
from .ops import NumpyOps, Ops


def _squared_error(ops: Ops, y: np.ndarray, p: np.ndarray, axis: int) -> np.ndarray:
    """Per sample ``mean((y - p)**2)`` over ``axis``."""
    return ops.mean((y - p) ** 2, axis)


def _absolute_error(ops: Ops, y: np.ndarray, p: np.ndarray, axis: int) -> np.ndarray:
    """Per sample ``mean(|y - p|)`` over ``axis``."""
    return ops.mean(ops.abs(y - p), axis)


class MeanSquaredError(Loss):
    """Mean squared error: per sample ``mean((y_true - y_pred)**2)`` over the last axis.

    ``"sum"`` sums the per-sample *means*, not the raw squared errors (Keras). PyTorch's
    ``MSELoss(reduction="sum")`` sums the raw squared errors.
    """

    kind = "mean_squared_error"

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_squared_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _squared_error(ops, y_true, y_pred, -1)


class MeanAbsoluteError(Loss):
    """Mean absolute error: per sample ``mean(|y_true - y_pred|)`` over the last axis
    (the derivative of ``|d|`` at ``d = 0`` is 0)."""

    kind = "mean_absolute_error"

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_absolute_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _absolute_error(ops, y_true, y_pred, -1)


def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """Per-sample ``mean((y_true - y_pred)**2)`` over the last axis (no reduction)."""
    return MeanSquaredError(reduction="none")(y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis (no reduction)."""
    return MeanAbsoluteError(reduction="none")(y_true, y_pred)
