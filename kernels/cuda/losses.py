"""Losses forward and backward on the device: one row kernel for every loss kind, reduced in one block.

Each row is the CPU kernels' row function (:func:`microgradx.kernels.losses.crossentropy_row` and
``elementwise_row``) compiled for the device (:mod:`.device`): same codes, same per-sample
coefficient ``coef[i] = d total / d loss_i`` carrying the reduction and the sample weights, same clip
bounds ``lo``/``hi``, same *fused* variants (sigmoid + binary cross-entropy and softmax + categorical
cross-entropy give the gradient with respect to the last pre-activation). See that module's docstring
for the formulas. The kernel adds:

* ``softmax_logits`` (an argument of the shared row): the prediction is the row-wise softmax of
  ``pred`` (the last Dense layer's logits), computed on the fly, so softmax + cross-entropy never
  writes the probabilities;
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
from ..losses import CATEGORICAL_CROSSENTROPY, LOSS_CODES, SPARSE_CATEGORICAL_CROSSENTROPY
from .device import activate_derivative, crossentropy_row, elementwise_row
from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "LOSS_CODES", "loss_forward_backward"]

#: threads of the single block that reduces a batch's loss (a power of two).
THREADS = 512


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
            v = crossentropy_row(y_true, kind == SPARSE_CATEGORICAL_CROSSENTROPY, pred, i, from_logits, ls,
                                 lo, hi, fused, c, softmax_logits, grad)
        else:
            v = elementwise_row(kind, y_true, pred, i, from_logits, ls, lo, hi, fused, binary_labels, c, grad)
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
