"""The cross-entropy losses, each class next to its formula over the ops namespace
(:mod:`microgradx.losses.ops`), which gives a number on float arrays and a graph on ``Value`` arrays:
:class:`BinaryCrossentropy`, :class:`CategoricalCrossentropy`, :class:`SparseCategoricalCrossentropy`,
and their function forms (per-sample losses, no reduction)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .inputs import check_axis, check_label_smoothing, prepare_true
from .loss import Loss
from .ops import NumpyOps, Ops, float_values, probability_bounds


def _bce(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type, from_logits: bool,
         label_smoothing: float, axis: int) -> np.ndarray:
    """Per sample, the mean over ``axis`` of ``l(y, p)`` where, after smoothing
    ``y <- y (1 - ls) + ls / 2``,

    * probabilities: ``p <- clip(p, eps, 1 - eps)``, ``l = -[y log p + (1 - y) log(1 - p)]``, with
      ``log(1 - p)`` evaluated as ``log1p(-p)`` (exact for small p; Keras' torch backend does the same)
    * logits x:      ``l = max(x, 0) - x y + log(1 + exp(-|x|))``  (stable, no clipping)
    """
    if label_smoothing:
        y = y * dtype(1 - label_smoothing) + dtype(0.5 * label_smoothing)
    if from_logits:
        elements = ops.relu(p) - p * y + ops.log1p(ops.exp(-ops.abs(p)))
    else:
        low, high = probability_bounds(dtype)
        p = ops.clip(p, low, high)
        elements = -(y * ops.log(p) + (dtype(1) - y) * ops.log1p(-p))
    return ops.mean(elements, axis)


def _log_probabilities(ops: Ops, p: np.ndarray, dtype: type, from_logits: bool, axis: int) -> np.ndarray:
    """``log softmax(x)`` for logits (``x - m - log sum exp(x - m)`` with the row maximum ``m``,
    a constant), else ``log clip(p / sum p, eps, 1 - eps)`` (Keras renormalises probabilities)."""
    if from_logits:
        shifted = p - np.max(ops.numbers(p), axis=axis, keepdims=True).astype(dtype)
        return shifted - ops.log(ops.sum(ops.exp(shifted), axis, keepdims=True))
    total = ops.sum(p, axis, keepdims=True)
    if np.any(ops.numbers(total) <= 0):
        raise ValueError("y_pred probabilities must have a positive sum over the class axis; "
                         "a row sums to 0 (did you mean from_logits=True?)")
    low, high = probability_bounds(dtype)
    return ops.log(ops.clip(p / total, low, high))


def _categorical(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type, from_logits: bool,
                 label_smoothing: float, axis: int) -> np.ndarray:
    """Per sample ``-sum_k y_k log q_k`` over the class ``axis``, with ``y <- y (1 - ls) + ls / K``
    and ``log q`` from :func:`_log_probabilities`."""
    if label_smoothing:
        y = y * dtype(1 - label_smoothing) + dtype(label_smoothing / p.shape[axis])
    return -ops.sum(y * _log_probabilities(ops, p, dtype, from_logits, axis), axis)


def _check_probabilities(y_pred: np.ndarray, from_logits: bool, loss_name: str) -> None:
    """Probabilities (not ``from_logits``) must be >= 0: the categorical losses' predictions' check."""
    if not from_logits and np.any(float_values(y_pred) < 0):
        raise ValueError(f"{loss_name}: probabilities in y_pred must be >= 0 (did you mean from_logits=True?)")


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, Keras' ``BinaryCrossentropy``.

    Per element, after label smoothing ``y <- y (1 - ls) + ls / 2``:

    * probabilities (``from_logits=False``): ``p <- clip(p, EPSILON, 1 - EPSILON)``,
      ``l = -[y log p + (1 - y) log(1 - p)]``;
    * logits: ``l = max(x, 0) - x y + log(1 + exp(-|x|))`` (stable, no clipping: logit 50 with
      label 0 costs 50).

    The per-sample loss is the mean of ``l`` over ``axis``, then the reduction applies. Labels must be
    in [0, 1]. PyTorch: ``BCELoss`` clamps ``log`` at -100 instead of clipping ``p``, and neither
    ``BCELoss`` nor ``BCEWithLogitsLoss`` has label smoothing.
    """

    kind = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.axis = axis

    def _check_labels(self, y_true, y_pred_shape):
        super()._check_labels(y_true, y_pred_shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"BinaryCrossentropy: y_true must be in [0, 1], got values from "
                             f"{y_true.min()} to {y_true.max()}")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = check_axis(self.axis, y_pred.ndim, "BinaryCrossentropy")
        return _bce(ops, y_true, y_pred, dtype, self.from_logits, self.label_smoothing, axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy with one-hot (or soft) labels along ``axis``.

    ``y <- y (1 - ls) + ls / K`` (K classes), then per sample ``-sum_k y_k log q_k`` where
    ``log q = log_softmax(x)`` for logits, or ``log clip(p / sum p, EPSILON, 1 - EPSILON)`` for
    probabilities: **Keras renormalises the probabilities first** (``[1, 3, 0]`` means
    ``[0.25, 0.75, 0]``). PyTorch's ``CrossEntropyLoss`` takes logits and class indices (or
    probabilities as targets) and never renormalises predictions.
    """

    kind = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.axis = axis

    def _check_labels(self, y_true, y_pred_shape):
        super()._check_labels(y_true, y_pred_shape)
        if not y_pred_shape:
            raise ValueError("CategoricalCrossentropy: y_pred must have a class axis, got a scalar")
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"CategoricalCrossentropy: y_true must hold (one-hot or soft) labels in "
                             f"[0, 1], got values from {y_true.min()} to {y_true.max()}")

    def _check_predictions(self, y_pred):
        _check_probabilities(y_pred, self.from_logits, "CategoricalCrossentropy")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = check_axis(self.axis, y_pred.ndim, "CategoricalCrossentropy")
        return _categorical(ops, y_true, y_pred, dtype, self.from_logits, self.label_smoothing, axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels: per sample ``-log q[label]`` with
    ``log q`` as in :class:`CategoricalCrossentropy` (no label smoothing, as in Keras).

    Labels have shape ``(N,)`` or ``(N, 1)`` for predictions ``(N, K)`` and must be integers in
    ``[0, K)`` (``ignore_class`` excepted). With ``ignore_class=c`` the samples labelled ``c`` get loss 0
    and are masked out of the mean (the divisor is the number of valid samples, Keras' ``valid +
    EPSILON``). PyTorch's ``CrossEntropyLoss(ignore_index=c)`` does the same for logits.
    """

    kind = "sparse_categorical_crossentropy"
    integer_labels = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, Integral)):
            raise ValueError(f"ignore_class must be an int or None, got {ignore_class!r}")
        self.ignore_class = ignore_class
        self.axis = axis

    def _prepare_labels(self, y_true, dtype):
        labels = prepare_true(y_true, np.float64)
        if labels.size and not np.all(labels == np.round(labels)):
            raise ValueError(f"SparseCategoricalCrossentropy: y_true must hold integer class indices, "
                             f"got {labels[labels != np.round(labels)][:3].tolist()}")
        return labels.astype(np.int64)

    def _align(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.ndim > 0 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return y_true, y_pred

    def _check_labels(self, y_true, y_pred_shape):
        axis = check_axis(self.axis, len(y_pred_shape), "SparseCategoricalCrossentropy")
        expected = y_pred_shape[:axis] + y_pred_shape[axis + 1:]
        if not y_pred_shape or y_true.shape != expected:
            raise ValueError(f"SparseCategoricalCrossentropy: y_true must have shape {expected} (or with a "
                             f"trailing 1) for y_pred.shape={y_pred_shape}, got y_true.shape={y_true.shape}")
        k = y_pred_shape[axis]
        valid = y_true if self.ignore_class is None else y_true[y_true != self.ignore_class]
        if valid.size and (valid.min() < 0 or valid.max() >= k):
            raise ValueError(f"SparseCategoricalCrossentropy: labels must be in [0, {k}) for {k} classes, "
                             f"got values from {valid.min()} to {valid.max()}")

    def _check_predictions(self, y_pred):
        _check_probabilities(y_pred, self.from_logits, "SparseCategoricalCrossentropy")

    def _mask(self, y_true):
        return None if self.ignore_class is None else (y_true != self.ignore_class)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = check_axis(self.axis, y_pred.ndim, "SparseCategoricalCrossentropy")
        valid = None if self.ignore_class is None else (y_true != self.ignore_class)
        labels = y_true if valid is None else np.where(valid, y_true, 0)
        log_q = np.moveaxis(_log_probabilities(ops, y_pred, dtype, self.from_logits, axis), axis, -1)
        picked = -np.take_along_axis(log_q, labels[..., None], axis=-1)[..., 0]
        if valid is not None:   # ignored samples contribute an exact 0 (no graph edge)
            picked = np.where(valid, picked, ops.zero(dtype))
            if ops is NumpyOps:
                picked = picked.astype(dtype)
        return picked

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Any:
    """Per-sample binary cross-entropy (no reduction), Keras' ``keras.losses.binary_crossentropy``."""
    return BinaryCrossentropy(from_logits, label_smoothing, axis, reduction="none")(y_true, y_pred)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Any:
    """Per-sample categorical cross-entropy (no reduction)."""
    return CategoricalCrossentropy(from_logits, label_smoothing, axis, reduction="none")(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Any:
    """Per-sample sparse categorical cross-entropy (no reduction; ignored samples give 0)."""
    return SparseCategoricalCrossentropy(from_logits, ignore_class, axis, reduction="none")(y_true, y_pred)
