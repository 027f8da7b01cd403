"""Metrics for ``compile(metrics=[...])``: per-sample values in NumPy (vectorised), averaged by ``fit``.

=============================  ========================================================  =========
name                           per-sample value                                          direction
=============================  ========================================================  =========
binary_accuracy                mean over the last axis of [y == (p > threshold)]          up
categorical_accuracy           [argmax y == argmax p]                                     up
sparse_categorical_accuracy    [y == argmax p]                                            up
mean_absolute_error ("mae")    mean over the last axis of |y - p|                         down
mean_squared_error ("mse")     mean over the last axis of (y - p)**2                      down
=============================  ========================================================  =========

``"accuracy"`` / ``"acc"`` resolve like Keras 3 from the shapes of the labels and outputs: one output
unit -> binary, labels with fewer dimensions than the outputs (or a last dimension of 1 against
several outputs) -> sparse categorical, otherwise categorical. The epoch value is the mean of the
per-sample values over all samples (weighted by ``sample_weight`` where given), as Keras' ``Mean``
metric wrappers compute it. The ``direction`` is what ``EarlyStopping(mode="auto")`` uses.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["Metric", "get", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_absolute_error", "mean_squared_error", "METRIC_NAMES"]

#: the default threshold of binary_accuracy (Keras).
BINARY_THRESHOLD = 0.5


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = BINARY_THRESHOLD) -> np.ndarray:
    """Per sample: mean over the last axis of ``y_true == (y_pred > threshold)``."""
    y_true, y_pred = _as_2d(y_true, y_pred)
    return np.mean(y_true == (y_pred > threshold).astype(y_true.dtype), axis=-1)


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per sample: ``argmax(y_true) == argmax(y_pred)`` (one-hot labels)."""
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per sample: ``y_true == argmax(y_pred)`` (integer labels, shape ``(B,)`` or ``(B, 1)``)."""
    labels = np.asarray(y_true).reshape(len(y_pred))
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float64)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per sample: ``mean(|y_true - y_pred|)`` over the last axis."""
    y_true, y_pred = _as_2d(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per sample: ``mean((y_true - y_pred)**2)`` over the last axis."""
    y_true, y_pred = _as_2d(y_true, y_pred)
    return np.mean((y_true - y_pred) ** 2, axis=-1)


def _as_2d(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:  # broadcasting (B, 1) against (B,) would give (B, B): wrong numbers
        raise ValueError(f"Invalid value received for argument `y_true`: shape {y_true.shape} does not match "
                         f"`y_pred` of shape {y_pred.shape}. Expected the same shape (up to a trailing "
                         f"dimension of size 1).")
    return y_true, y_pred


class Metric:
    """A named per-sample metric with a direction (``"up"``: larger is better, ``"down"``)."""

    def __init__(self, name: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], direction: str) -> None:
        self.name = name
        self.fn = fn
        self.direction = direction
        self._direction = direction  # the attribute name Keras' EarlyStopping looks up

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return self.fn(y_true, y_pred)

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, direction={self.direction!r})"


_FUNCTIONS = {
    "binary_accuracy": (binary_accuracy, "up"),
    "categorical_accuracy": (categorical_accuracy, "up"),
    "sparse_categorical_accuracy": (sparse_categorical_accuracy, "up"),
    "mean_absolute_error": (mean_absolute_error, "down"),
    "mean_squared_error": (mean_squared_error, "down"),
}
_ALIASES = {"mae": "mean_absolute_error", "mse": "mean_squared_error"}
METRIC_NAMES = ("accuracy", "acc", *_FUNCTIONS, *_ALIASES)


def _accuracy_for(y_true: np.ndarray, y_pred: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Keras 3's choice for ``"accuracy"`` from the shapes of labels and outputs."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape[-1] == 1:
        return binary_accuracy
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier: "str | Metric | Callable", y_true: np.ndarray | None = None,
        y_pred: np.ndarray | None = None) -> Metric:
    """A :class:`Metric` from a name (``"accuracy"``, ``"mae"``, ...), a ``Metric``, or a function
    ``fn(y_true, y_pred) -> per-sample values`` (named after the function, direction unknown).

    ``"accuracy"``/``"acc"`` need example ``y_true``/``y_pred`` to pick binary/sparse/categorical.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            if y_true is None or y_pred is None:
                raise ValueError(f"metric {identifier!r} needs example labels and outputs to choose between "
                                 f"binary, categorical and sparse categorical accuracy")
            return Metric(identifier, _accuracy_for(y_true, y_pred), "up")
        key = _ALIASES.get(key, key)
        if key in _FUNCTIONS:
            fn, direction = _FUNCTIONS[key]
            return Metric(identifier, fn, direction)
        raise ValueError(f"Invalid value received for argument `metrics`: unknown metric {identifier!r}. "
                         f"Expected one of {list(METRIC_NAMES)} or a function fn(y_true, y_pred).")
    if callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier, "")
    raise TypeError(f"Invalid value received for argument `metrics`: {identifier!r} of type "
                    f"{type(identifier).__name__}. Expected a metric name, a Metric or a function.")
