"""Losses forward and backward on the device: one row kernel for every loss kind, reduced in one block.

The rules are those of the CPU kernel :func:`microgradx.kernels.losses.loss_forward_backward` (same
codes, same per-sample coefficient ``coef[i] = d total / d loss_i`` carrying the reduction and the
sample weights, same clip bounds ``lo``/``hi``, same *fused* variants: sigmoid + binary cross-entropy
and softmax + categorical cross-entropy give the gradient with respect to the last pre-activation).
See that module's docstring for the formulas. Two device-only additions:

* ``softmax_logits``: the prediction is the row-wise softmax of ``pred`` (the last Dense layer's
  logits), computed on the fly, so softmax + cross-entropy never writes the probabilities;
* ``activation``: an elementwise activation code whose derivative (from the output ``pred``)
  multiplies the gradient, so ``grad`` is already ``d total / d z`` of the last Dense layer.

One block of up to :data:`THREADS` threads (a power of two) walks the rows (thread t of B takes rows
t, t + B, ...), each thread accumulates ``coef[i] * loss_i`` in float64, and a shared-memory tree adds
the threads' sums in a fixed order: the total is deterministic and lands in ``totals[slot]`` on the
device, so a training epoch never waits for the host between batches. A total that is not finite sets the
``halted`` flag, which every optimizer kernel checks: the weights then stay as they were before that
batch, as on the CPU engine (which skips the update and stops the epoch).
"""

from __future__ import annotations

import math

from numba import cuda, float64

from ..activations import LINEAR
from ..losses import BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, HINGE, LOSS_CODES, SPARSE_CATEGORICAL_CROSSENTROPY
from .device import activate_derivative, elementwise_term
from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "LOSS_CODES", "loss_forward_backward"]

#: threads of the single block that reduces a batch's loss (a power of two).
THREADS = 512


@cuda.jit(device=True)
def _prediction(pred, i, j, softmax_logits, row_max, row_sum):
    """``pred[i, j]`` as float64, or its row softmax when ``softmax_logits``."""
    if softmax_logits:
        return math.exp(float64(pred[i, j]) - row_max) / row_sum
    return float64(pred[i, j])


@cuda.jit(device=True)
def _label(y_true, i, j, sparse, ls, k):
    if sparse:
        y = 1.0 if int(y_true[i, 0]) == j else 0.0
    else:
        y = float64(y_true[i, j])
    if ls != 0.0:
        y = y * (1.0 - ls) + ls / k
    return y


@cuda.jit(device=True)
def _categorical_crossentropy_row(y_true, sparse, pred, i, from_logits, ls, lo, hi, fused, c,
                                  softmax_logits, grad):
    k = pred.shape[1]
    ysum = 0.0
    for j in range(k):
        ysum += _label(y_true, i, j, sparse, ls, k)
    # softmax_logits: the row's max and sum of exponentials (the probabilities are made on the fly)
    row_max = float64(pred[i, 0])
    for j in range(1, k):
        row_max = max(row_max, float64(pred[i, j]))
    row_sum = 0.0
    for j in range(k):
        row_sum += math.exp(float64(pred[i, j]) - row_max)
    if from_logits:
        log_s = math.log(row_sum)
        total = 0.0
        for j in range(k):
            y = _label(y_true, i, j, sparse, ls, k)
            x = float64(pred[i, j]) - row_max
            total -= y * (x - log_s)
            grad[i, j] = c * (math.exp(x) / row_sum * ysum - y)
        return total
    s = 0.0
    for j in range(k):
        s += _prediction(pred, i, j, softmax_logits, row_max, row_sum)
    total = 0.0
    gq = 0.0
    for j in range(k):
        y = _label(y_true, i, j, sparse, ls, k)
        q = _prediction(pred, i, j, softmax_logits, row_max, row_sum) / s
        qc = min(max(q, lo), hi)
        total -= y * math.log(qc)
        if lo <= q and q <= hi:
            gq -= y
    for j in range(k):
        y = _label(y_true, i, j, sparse, ls, k)
        q = _prediction(pred, i, j, softmax_logits, row_max, row_sum) / s
        inside = lo <= q and q <= hi
        if fused:
            grad[i, j] = c * (q * (-gq) - (y if inside else 0.0))
        else:
            g = -y / q if inside else 0.0
            grad[i, j] = c * (g - gq) / s
    return total


@cuda.jit(device=True)
def _elementwise_row(kind, y_true, pred, i, from_logits, ls, lo, hi, fused, binary_labels, c, grad):
    """One row of a loss averaged over the last axis (BCE, MSE, MAE, hinge), the CPU kernels'
    ``mean_over_last_axis`` row: the per-element math is their ``elementwise_term``, compiled for the GPU."""
    k = pred.shape[1]
    total = 0.0
    for j in range(k):
        y = float64(y_true[i, j])
        if kind == BINARY_CROSSENTROPY and ls != 0.0:
            y = y * (1.0 - ls) + 0.5 * ls
        elif kind == HINGE and binary_labels:
            y = 2.0 * y - 1.0
        loss, derivative = elementwise_term(kind, y, float64(pred[i, j]), from_logits, lo, hi, fused)
        total += loss
        grad[i, j] = c * derivative / k
    return total / k


@cuda.jit
def _loss_kernel(kind, y_true, pred, coef, from_logits, ls, lo, hi, fused, softmax_logits,
                 binary_labels, code, grad, totals, slot, halted):
    partial = cuda.shared.array(THREADS, float64)
    t = cuda.threadIdx.x
    stride = cuda.blockDim.x  # a power of two <= THREADS
    n = pred.shape[0]
    k = pred.shape[1]
    acc = 0.0
    for i in range(t, n, stride):
        c = coef[i]
        if kind == CATEGORICAL_CROSSENTROPY or kind == SPARSE_CATEGORICAL_CROSSENTROPY:
            v = _categorical_crossentropy_row(y_true, kind == SPARSE_CATEGORICAL_CROSSENTROPY, pred, i,
                                              from_logits, ls, lo, hi, fused, c, softmax_logits, grad)
        else:
            v = _elementwise_row(kind, y_true, pred, i, from_logits, ls, lo, hi, fused, binary_labels, c, grad)
        if code != LINEAR:
            for j in range(k):
                grad[i, j] = grad[i, j] * activate_derivative(code, pred[i, j])
        acc += c * v
    total = block_sum(partial, acc)
    if t == 0:
        totals[slot] = total
        if math.isinf(total) or math.isnan(total):
            halted[0] = 1


def loss_forward_backward(kind: int, y_true, pred, coef, grad, totals, slot: int, halted, *,
                          from_logits: bool = False, label_smoothing: float = 0.0,
                          lo: float = 1e-7, hi: float = 1.0 - 1e-7, fused: bool = False,
                          softmax_logits: bool = False, binary_labels: bool = True,
                          activation: int = LINEAR, stream=0) -> None:
    """``totals[slot] = sum_i coef[i] loss_i`` (float64) and ``grad = d total / d pred`` on the device.

    Args:
        kind: a code of :data:`LOSS_CODES`.
        y_true: (n, K) float targets, or (n, 1) class indices stored as floats for the sparse loss.
        pred: (n, K) predictions (probabilities, logits or values), or the last layer's logits when
            ``softmax_logits`` (then ``fused`` gives ``d total / d logits``).
        coef: (n,) float64 per-sample coefficients (the reduction and sample weights).
        grad: (n, K) output, ``pred``'s dtype; times ``f'(pred)`` when ``activation`` is not linear.
        totals: float64 device array; ``slot`` the index written.
        halted: int32 device array of one element, set to 1 when the total is not finite (the
            optimizer kernels then leave the weights alone, like the CPU engine skipping the update).
        lo, hi: the probability clip bounds (Keras epsilon, rounded to the model dtype).
        binary_labels: hinge only: map labels {0, 1} to {-1, 1} (the caller checks the batch).
    """
    if kind not in LOSS_CODES.values():
        raise ValueError(f"Invalid value received for argument `kind`: {kind!r}. Expected one of "
                         f"{sorted(LOSS_CODES.values())} (microgradx.kernels.losses.LOSS_CODES).")
    threads = launch_shape(pred.shape[0], THREADS)[1]
    launch(_loss_kernel, 1, threads, int(kind), y_true, pred, coef, bool(from_logits),
           float(label_smoothing), float(lo), float(hi), bool(fused), bool(softmax_logits),
           bool(binary_labels), int(activation), grad, totals, int(slot), halted, stream=stream)
