"""Losses, forward and backward in one pass: per-sample losses and d(total)/d(prediction).

Two compiled kernels behind one entry point, :func:`loss_forward_backward`, that dispatches on the
kind code: :func:`categorical_crossentropy` (dense or sparse labels; row-wise) and
:func:`mean_over_last_axis` for the losses averaged over the last axis (binary cross-entropy, squared
and absolute error, hinge), whose per-element maths is one plain scalar function,
:func:`elementwise_term`. The reduction and the sample
weights enter as one float64 coefficient per sample, ``coef[i] = d total / d loss_i``, which the
engine derives from the reduction (``sum``: w_i; ``sum_over_batch_size``: w_i / n;
``mean_with_sample_weight``: w_i / sum w), so that::

    total = sum_i coef[i] * loss_i          grad[i, :] = coef[i] * d loss_i / d pred[i, :]

Per-sample losses, with K the size of the last axis (``y`` smoothed first where label smoothing is
given; ``lo = eps`` and ``hi = 1 - eps`` are Keras' clip bounds, computed in the model dtype):

* binary cross-entropy, probabilities: ``p = clip(pred, lo, hi)``,
  ``loss = mean_k -(y log p + (1 - y) log(1 - p))``, ``d/dpred = (-y/p + (1-y)/(1-p)) / K`` where
  ``lo <= pred <= hi`` and 0 where clipping is active. Smoothing: ``y <- y (1 - ls) + ls / 2``.
* binary cross-entropy, logits x: ``loss = mean_k max(x, 0) - x y + log(1 + exp(-|x|))``,
  ``d/dx = (sigmoid(x) - y) / K``.
* mean squared error: ``loss = mean_k (y - pred)^2``, ``d/dpred = 2 (pred - y) / K``.
* mean absolute error: ``loss = mean_k |y - pred|``, ``d/dpred = sign(pred - y) / K`` (0 where equal).
* categorical cross-entropy, probabilities: renormalise ``q = pred / S`` with ``S = sum_k pred``, clip,
  ``loss = -sum_k y log q``; with ``g_k = -y_k / q_k`` (0 where clipped),
  ``d/dpred_j = (g_j - sum_k g_k q_k) / S``. Smoothing: ``y <- y (1 - ls) + ls / K``.
* categorical cross-entropy, logits x: ``loss = -sum_k y_k log_softmax(x)_k``,
  ``d/dx_k = softmax(x)_k sum_j y_j - y_k``.
* sparse categorical cross-entropy: the same with the one-hot row of the integer label.
* hinge: labels in {0, 1} are first mapped to {-1, 1} (when every label of the batch is 0 or 1);
  ``loss = mean_k max(1 - y pred, 0)``, ``d/dpred = -y / K`` where ``1 - y pred > 0``, else 0.

*Fused* variants (``fused=True``) return the gradient with respect to the last layer's
pre-activation z instead, computed exactly as the composition with the last activation:

* sigmoid + binary cross-entropy (probabilities): ``d/dz = (pred - y) / K`` where unclipped, else 0.
* softmax + categorical cross-entropy (probabilities): with ``c = sum of y_j over unclipped j``,
  ``d/dz_k = q_k c - y_k`` (the ``- y_k`` only where q_k is unclipped): the familiar ``p - y``
  when nothing is clipped.

Losses accumulate in float64.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit

__all__ = [
    "BINARY_CROSSENTROPY", "MEAN_SQUARED_ERROR", "CATEGORICAL_CROSSENTROPY",
    "SPARSE_CATEGORICAL_CROSSENTROPY", "HINGE", "MEAN_ABSOLUTE_ERROR", "LOSS_CODES",
    "loss_forward_backward", "elementwise_term", "mean_over_last_axis", "categorical_crossentropy",
]

BINARY_CROSSENTROPY = 0
MEAN_SQUARED_ERROR = 1
CATEGORICAL_CROSSENTROPY = 2
SPARSE_CATEGORICAL_CROSSENTROPY = 3
HINGE = 4
MEAN_ABSOLUTE_ERROR = 5

#: ``loss.kind`` -> integer code understood by :func:`loss_forward_backward`.
LOSS_CODES = {
    "binary_crossentropy": BINARY_CROSSENTROPY,
    "mean_squared_error": MEAN_SQUARED_ERROR,
    "categorical_crossentropy": CATEGORICAL_CROSSENTROPY,
    "sparse_categorical_crossentropy": SPARSE_CATEGORICAL_CROSSENTROPY,
    "hinge": HINGE,
    "mean_absolute_error": MEAN_ABSOLUTE_ERROR,
}


# ----------------------------------------------------------------- losses averaged over the last axis
def elementwise_term(kind, y, x, from_logits, lo, hi, fused):
    """``(loss, d loss / d x)`` of one element for the losses averaged over the last axis: binary
    cross-entropy (``y`` already smoothed), squared error, absolute error, hinge (``y`` already in
    {-1, 1}). ``x`` is the prediction (a logit for BCE ``from_logits``); the formulas are in the
    module docstring. Plain Python and self-contained, so that it compiles for CPU and CUDA alike.
    """
    if kind == MEAN_SQUARED_ERROR:
        d = x - y
        return d * d, 2.0 * d
    if kind == MEAN_ABSOLUTE_ERROR:
        d = x - y
        return abs(d), (1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0))
    if kind == HINGE:
        margin = 1.0 - y * x
        return (margin, -y) if margin > 0.0 else (0.0, 0.0)
    if from_logits:   # binary cross-entropy from logits; the stable logistic, as in activations.activate
        if x >= 0.0:
            sigmoid = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            sigmoid = e / (1.0 + e)
        return max(x, 0.0) - x * y + math.log1p(math.exp(-abs(x))), sigmoid - y
    p = min(max(x, lo), hi)
    loss = -(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))
    if not lo <= x <= hi:
        return loss, 0.0
    if fused:
        return loss, x - y
    return loss, -y / x + (1.0 - y) / (1.0 - x)


_elementwise_term = njit(inline="always")(elementwise_term)


@njit
def _all_binary(y_true):
    """Whether every entry of ``y_true`` is 0 or 1."""
    n, k = y_true.shape
    for i in range(n):
        for j in range(k):
            if y_true[i, j] != 0.0 and y_true[i, j] != 1.0:
                return False
    return True


@njit
def mean_over_last_axis(kind, y_true, pred, coef, from_logits, ls, lo, hi, fused, per_sample, grad):
    """Rows of a loss averaged over the last axis (BCE, MSE, MAE, hinge: :func:`elementwise_term`);
    returns ``sum_i coef[i] loss_i``. BCE labels are smoothed (``y (1 - ls) + ls / 2``); hinge labels
    all in {0, 1} are mapped to {-1, 1}."""
    n, k = pred.shape
    binary_hinge = kind == HINGE and _all_binary(y_true)
    total = 0.0
    for i in range(n):
        c = coef[i]
        row = 0.0
        for j in range(k):
            y = np.float64(y_true[i, j])
            if kind == BINARY_CROSSENTROPY and ls != 0.0:
                y = y * (1.0 - ls) + 0.5 * ls
            elif binary_hinge:
                y = 2.0 * y - 1.0
            loss, derivative = _elementwise_term(kind, y, np.float64(pred[i, j]), from_logits, lo, hi, fused)
            row += loss
            grad[i, j] = c * derivative / k
        per_sample[i] = row / k
        total += c * per_sample[i]
    return total


@njit(inline="always")
def _smoothed_label(y_true, labels, sparse, i, j, ls, k):
    if sparse:
        y = 1.0 if labels[i] == j else 0.0
    else:
        y = np.float64(y_true[i, j])
    if ls != 0.0:
        y = y * (1.0 - ls) + ls / k
    return y


@njit
def categorical_crossentropy(y_true, labels, sparse, pred, coef, from_logits, ls, lo, hi, fused,
                             per_sample, grad):
    """(Sparse) categorical cross-entropy rows; ``y_true`` is unused when ``sparse`` (``labels`` is)."""
    n, k = pred.shape
    total = 0.0
    for i in range(n):
        c = coef[i]
        ysum = 0.0
        for j in range(k):
            ysum += _smoothed_label(y_true, labels, sparse, i, j, ls, k)
        row = 0.0
        if from_logits:
            m = np.float64(pred[i, 0])
            for j in range(1, k):
                m = max(m, np.float64(pred[i, j]))
            s = 0.0
            for j in range(k):
                s += math.exp(np.float64(pred[i, j]) - m)
            log_s = math.log(s)
            for j in range(k):
                y = _smoothed_label(y_true, labels, sparse, i, j, ls, k)
                x = np.float64(pred[i, j]) - m
                row -= y * (x - log_s)
                grad[i, j] = c * (math.exp(x) / s * ysum - y)
        else:
            s = 0.0
            for j in range(k):
                s += np.float64(pred[i, j])
            # the loss and gq = sum_k g_k q_k (g_k = -y_k / q_k where q_k is unclipped) in one pass
            gq = 0.0
            for j in range(k):
                y = _smoothed_label(y_true, labels, sparse, i, j, ls, k)
                q = np.float64(pred[i, j]) / s
                row -= y * math.log(min(max(q, np.float64(lo)), np.float64(hi)))
                if np.float64(lo) <= q <= np.float64(hi):
                    gq -= y
            for j in range(k):
                y = _smoothed_label(y_true, labels, sparse, i, j, ls, k)
                q = np.float64(pred[i, j]) / s
                inside = np.float64(lo) <= q <= np.float64(hi)
                if fused:
                    # d/dz_k = q_k (g_k - gq), and q_k g_k = -y_k where unclipped
                    grad[i, j] = c * (q * (-gq) - (y if inside else 0.0))
                else:
                    g = -y / q if inside else 0.0
                    grad[i, j] = c * (g - gq) / s
        per_sample[i] = row
        total += c * row
    return total


def loss_forward_backward(kind: int, y_true: np.ndarray, labels: np.ndarray, pred: np.ndarray,
                          coef: np.ndarray, from_logits: bool, label_smoothing: float,
                          lo: float, hi: float, fused: bool,
                          per_sample: np.ndarray, grad: np.ndarray) -> float:
    """Per-sample losses into ``per_sample``, ``coef``-weighted gradient into ``grad``; returns the total.

    Dispatches on the loss ``kind`` to :func:`categorical_crossentropy` or :func:`mean_over_last_axis`. ``y_true`` (n, K) float targets (ignored for sparse); ``labels`` (n,)
    int64 class indices (sparse only); ``pred`` (n, K) predictions (probabilities, logits or values);
    ``coef`` (n,) float64; ``lo``/``hi`` the clip bounds; ``grad`` (n, K) of ``pred``'s dtype.
    See the module docstring for the formulas.
    """
    if kind in (CATEGORICAL_CROSSENTROPY, SPARSE_CATEGORICAL_CROSSENTROPY):
        return categorical_crossentropy(y_true, labels, kind == SPARSE_CATEGORICAL_CROSSENTROPY, pred, coef,
                                        from_logits, label_smoothing, lo, hi, fused, per_sample, grad)
    if kind in LOSS_CODES.values():
        return mean_over_last_axis(kind, y_true, pred, coef, from_logits, label_smoothing, lo, hi, fused,
                                   per_sample, grad)
    raise ValueError(f"unknown loss kind code {kind!r}; expected one of {sorted(LOSS_CODES.values())}")
