"""Hinge loss for maximum-margin classification (micrograd's demo loss): :class:`Hinge`, next to its
formula over the ops namespace, and its function form."""

from __future__ import annotations

from typing import Any

import numpy as np

from .loss import Loss
from .ops import NumpyOps, Ops


def _hinge(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type) -> np.ndarray:
    """Per sample ``mean(max(1 - y p, 0))`` over the last axis, with labels in {0, 1} first mapped to
    {-1, 1} by ``y <- 2 y - 1`` (Keras does this only when *every* label is 0 or 1)."""
    if np.all((y == 0) | (y == 1)):
        y = dtype(2) * y - dtype(1)
    return ops.mean(ops.relu(dtype(1) - y * p), -1)


class Hinge(Loss):
    """Hinge loss (micrograd's demo loss): per sample ``mean(max(1 - y * y_pred, 0))`` over the last
    axis, with labels in {-1, 1}. Labels that are all 0 or 1 are first converted by ``2 y - 1``, as in
    Keras. Unlike Keras (which uses any other labels unchanged), labels outside {-1, 0, 1}, or a mix of
    -1 and 0, raise ``ValueError``. PyTorch has ``HingeEmbeddingLoss`` (a different loss) and
    ``MultiMarginLoss``; neither converts 0/1 labels.
    """

    kind = "hinge"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge") -> None:
        super().__init__(reduction, name)

    def _check_labels(self, y_true, y_pred_shape):
        super()._check_labels(y_true, y_pred_shape)
        ok = np.all((y_true == 0) | (y_true == 1)) or np.all((y_true == -1) | (y_true == 1))
        if not ok:
            raise ValueError(f"Hinge: y_true must be all in {{0, 1}} or all in {{-1, 1}}, got "
                             f"{np.unique(y_true)[:5].tolist()}")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _hinge(ops, y_true, y_pred, dtype)


def hinge(y_true: Any, y_pred: Any) -> Any:
    """Per-sample hinge loss ``mean(max(1 - y * y_pred, 0))`` (no reduction)."""
    return Hinge(reduction="none")(y_true, y_pred)
