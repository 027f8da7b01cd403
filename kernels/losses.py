"""Losses, forward and backward in one pass: per-sample losses and d(total)/d(prediction).

The maths of one row is written once, as plain functions that compile for both targets:
:func:`crossentropy_row` (dense or sparse labels) and :func:`elementwise_row` for the losses averaged
over the last axis (binary cross-entropy, squared and absolute error, hinge; one element's maths is
:func:`elementwise_term`). The CPU kernel below loops over the rows with them (numba,
``inline="always"``); the CUDA loss kernel calls the same functions compiled with
``cuda.jit(device=True)`` (:mod:`microgradx.kernels.cuda.device`). One entry point,
:func:`loss_forward_backward`, dispatches on the kind code. The reduction and the sample
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

from .jit import compile_functions, njit

__all__ = [
    "BINARY_CROSSENTROPY", "MEAN_SQUARED_ERROR", "CATEGORICAL_CROSSENTROPY",
    "SPARSE_CATEGORICAL_CROSSENTROPY", "HINGE", "MEAN_ABSOLUTE_ERROR", "LOSS_CODES",
    "loss_forward_backward", "elementwise_term", "smoothed_label", "row_prediction", "crossentropy_row",
    "elementwise_row", "rows_forward_backward", "ROW_FUNCTIONS",
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


def smoothed_label(y_true, i, j, sparse, ls, k):
    """``y[i, j]`` as float64: the one-hot entry of the class index ``y_true[i, 0]`` when ``sparse``,
    smoothed (``y (1 - ls) + ls / K``) when ``ls != 0``."""
    if sparse:
        y = 1.0 if int(y_true[i, 0]) == j else 0.0
    else:
        y = float(y_true[i, j])
    if ls != 0.0:
        y = y * (1.0 - ls) + ls / k
    return y


def row_prediction(pred, i, j, softmax_logits, row_max, row_sum):
    """``pred[i, j]`` as float64, or its row softmax when ``softmax_logits`` (from the row's max and
    sum of exponentials)."""
    if softmax_logits:
        return math.exp(float(pred[i, j]) - row_max) / row_sum
    return float(pred[i, j])


def crossentropy_row(y_true, sparse, pred, i, from_logits, ls, lo, hi, fused, c, softmax_logits, grad):
    """Row ``i`` of (sparse) categorical cross-entropy: writes ``grad[i, :] = c d loss_i / d pred[i, :]``
    (or ``/ d z`` when ``fused``) and returns ``loss_i`` (formulas in the module docstring).

    ``softmax_logits``: ``pred`` holds the last layer's logits and the probabilities are their row
    softmax, made on the fly (the CUDA engine's fused softmax + cross-entropy)."""
    k = pred.shape[1]
    ysum = 0.0
    for j in range(k):
        ysum += smoothed_label(y_true, i, j, sparse, ls, k)
    row_max = 0.0
    row_sum = 1.0
    if from_logits or softmax_logits:
        row_max = float(pred[i, 0])
        for j in range(1, k):
            row_max = max(row_max, float(pred[i, j]))
        row_sum = 0.0
        for j in range(k):
            row_sum += math.exp(float(pred[i, j]) - row_max)
    total = 0.0
    if from_logits:
        log_s = math.log(row_sum)
        for j in range(k):
            y = smoothed_label(y_true, i, j, sparse, ls, k)
            x = float(pred[i, j]) - row_max
            total -= y * (x - log_s)
            grad[i, j] = c * (math.exp(x) / row_sum * ysum - y)
        return total
    s = 0.0
    for j in range(k):
        s += row_prediction(pred, i, j, softmax_logits, row_max, row_sum)
    # the loss and gq = sum_k g_k q_k (g_k = -y_k / q_k where q_k is unclipped) in one pass
    gq = 0.0
    for j in range(k):
        y = smoothed_label(y_true, i, j, sparse, ls, k)
        q = row_prediction(pred, i, j, softmax_logits, row_max, row_sum) / s
        total -= y * math.log(min(max(q, lo), hi))
        if lo <= q and q <= hi:
            gq -= y
    for j in range(k):
        y = smoothed_label(y_true, i, j, sparse, ls, k)
        q = row_prediction(pred, i, j, softmax_logits, row_max, row_sum) / s
        inside = lo <= q and q <= hi
        if fused:
            # d/dz_k = q_k (g_k - gq), and q_k g_k = -y_k where unclipped
            grad[i, j] = c * (q * (-gq) - (y if inside else 0.0))
        else:
            g = -y / q if inside else 0.0
            grad[i, j] = c * (g - gq) / s
    return total


def elementwise_row(kind, y_true, pred, i, from_logits, ls, lo, hi, fused, binary_labels, c, grad):
    """Row ``i`` of a loss averaged over the last axis (BCE, MSE, MAE, hinge: :func:`elementwise_term`):
    writes ``grad[i, :] = c d loss_i / d pred[i, :]`` and returns ``loss_i``. BCE labels are smoothed
    (``y (1 - ls) + ls / 2``); with ``binary_labels`` hinge labels in {0, 1} are mapped to {-1, 1}."""
    k = pred.shape[1]
    total = 0.0
    for j in range(k):
        y = float(y_true[i, j])
        if kind == BINARY_CROSSENTROPY and ls != 0.0:
            y = y * (1.0 - ls) + 0.5 * ls
        elif kind == HINGE and binary_labels:
            y = 2.0 * y - 1.0
        loss, derivative = elementwise_term(kind, y, float(pred[i, j]), from_logits, lo, hi, fused)
        total += loss
        grad[i, j] = c * derivative / k
    return total / k


#: the rows and their helpers, written once above, compiled for the CPU (CUDA: kernels.cuda.device)
ROW_FUNCTIONS = (elementwise_term, smoothed_label, row_prediction, crossentropy_row, elementwise_row)
*_, _crossentropy_row, _elementwise_row = compile_functions(njit(inline="always"), *ROW_FUNCTIONS)


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
def rows_forward_backward(kind, y_true, pred, coef, from_logits, ls, lo, hi, fused, per_sample, grad):
    """Every row of the batch: ``per_sample[i] = loss_i``, the ``coef``-weighted gradient into ``grad``;
    returns ``sum_i coef[i] loss_i`` (float64)."""
    n = pred.shape[0]
    crossentropy = kind == CATEGORICAL_CROSSENTROPY or kind == SPARSE_CATEGORICAL_CROSSENTROPY
    binary_labels = kind == HINGE and _all_binary(y_true)
    total = 0.0
    for i in range(n):
        c = coef[i]
        if crossentropy:
            row = _crossentropy_row(y_true, kind == SPARSE_CATEGORICAL_CROSSENTROPY, pred, i, from_logits, ls,
                                   lo, hi, fused, c, False, grad)
        else:
            row = _elementwise_row(kind, y_true, pred, i, from_logits, ls, lo, hi, fused, binary_labels, c,
                                  grad)
        per_sample[i] = row
        total += c * row
    return total


def loss_forward_backward(kind: int, y_true: np.ndarray, pred: np.ndarray, coef: np.ndarray,
                          from_logits: bool, label_smoothing: float, lo: float, hi: float, fused: bool,
                          per_sample: np.ndarray, grad: np.ndarray) -> float:
    """Per-sample losses into ``per_sample``, ``coef``-weighted gradient into ``grad``; returns the total.

    ``y_true`` (n, K) float targets, or (n, 1) class indices stored as floats for the sparse loss;
    ``pred`` (n, K) predictions (probabilities, logits or values); ``coef`` (n,) float64; ``lo``/``hi``
    the clip bounds; ``grad`` (n, K) of ``pred``'s dtype. See the module docstring for the formulas.
    """
    if kind not in LOSS_CODES.values():
        raise ValueError(f"unknown loss kind code {kind!r}; expected one of {sorted(LOSS_CODES.values())}")
    return rows_forward_backward(kind, y_true, pred, coef, from_logits, label_smoothing, lo, hi, fused,
                                 per_sample, grad)
