"""Accuracy metrics as compiled loops: the number of correct predictions of a batch (float64).

* binary:      per sample, the mean over the last axis of ``[(pred > threshold) == y_true]``
               (Keras ``binary_accuracy``, threshold 0.5); summed over the samples.
* categorical: ``[argmax pred[i] == argmax y_true[i]]`` summed over i (first maximum wins, as np.argmax).
* sparse:      ``[argmax pred[i] == labels[i]]`` summed over i.

Divide by the number of samples for the accuracy; summing lets callers combine batches exactly.
"""

from __future__ import annotations

import numpy as np

from .jit import njit

__all__ = ["binary_correct", "categorical_correct", "sparse_categorical_correct"]


@njit
def _argmax_row(a: np.ndarray, i: int) -> int:
    best = 0
    for j in range(1, a.shape[1]):
        if a[i, j] > a[i, best]:
            best = j
    return best


@njit
def binary_correct(y_true: np.ndarray, pred: np.ndarray, threshold: float) -> float:
    """``sum_i mean_k [(pred[i, k] > threshold) == y_true[i, k]]`` for (n, K) arrays."""
    n, k = pred.shape
    total = 0.0
    for i in range(n):
        hits = 0
        for j in range(k):
            predicted = 1.0 if pred[i, j] > threshold else 0.0
            if predicted == y_true[i, j]:
                hits += 1
        total += hits / k
    return total


@njit
def categorical_correct(y_true: np.ndarray, pred: np.ndarray) -> float:
    """``sum_i [argmax pred[i] == argmax y_true[i]]`` for (n, K) arrays."""
    total = 0.0
    for i in range(pred.shape[0]):
        if _argmax_row(pred, i) == _argmax_row(y_true, i):
            total += 1.0
    return total


@njit
def sparse_categorical_correct(labels: np.ndarray, pred: np.ndarray) -> float:
    """``sum_i [argmax pred[i] == labels[i]]`` for integer ``labels`` (n,) and ``pred`` (n, K)."""
    total = 0.0
    for i in range(pred.shape[0]):
        if _argmax_row(pred, i) == labels[i]:
            total += 1.0
    return total
