"""Accuracy counts on the device: the number of correct predictions of a batch, added to a float64 slot.

The rules of :mod:`microgradx.kernels.metrics` (Keras ``binary_accuracy`` with a threshold,
``categorical_accuracy``, ``sparse_categorical_accuracy``; the first maximum wins the argmax):

* binary:      ``sum_i mean_k [(pred[i, k] > threshold) == y_true[i, k]]``
* categorical: ``sum_i [argmax pred[i] == argmax y_true[i]]``
* sparse:      ``sum_i [argmax pred[i] == y_true[i, 0]]`` (class indices stored as floats)

One block of up to :data:`THREADS` threads walks the rows and a shared-memory tree adds the per-thread
counts in a fixed order; ``counts[slot] += total`` accumulates over the batches of an epoch on the
device (one copy to the host at the end).
"""

from __future__ import annotations

from numba import cuda, float64

from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "BINARY", "CATEGORICAL", "SPARSE_CATEGORICAL", "correct_count"]

#: threads of the single reducing block (a power of two).
THREADS = 512

BINARY = 0
CATEGORICAL = 1
SPARSE_CATEGORICAL = 2


@cuda.jit(device=True)
def _argmax_row(a, i):
    best = 0
    for j in range(1, a.shape[1]):
        if a[i, j] > a[i, best]:
            best = j
    return best


@cuda.jit
def _correct_kernel(kind, y_true, pred, threshold, counts, slot):
    partial = cuda.shared.array(THREADS, float64)
    t = cuda.threadIdx.x
    stride = cuda.blockDim.x  # a power of two <= THREADS
    n = pred.shape[0]
    k = pred.shape[1]
    acc = 0.0
    for i in range(t, n, stride):
        if kind == BINARY:
            hits = 0
            for j in range(k):
                predicted = 1.0 if pred[i, j] > threshold else 0.0
                if predicted == y_true[i, j]:
                    hits += 1
            acc += hits / k
        elif kind == CATEGORICAL:
            if _argmax_row(pred, i) == _argmax_row(y_true, i):
                acc += 1.0
        else:
            if _argmax_row(pred, i) == int(y_true[i, 0]):
                acc += 1.0
    total = block_sum(partial, acc)
    if t == 0:
        counts[slot] += total


def correct_count(kind: int, y_true, pred, counts, slot: int = 0, threshold: float = 0.5, stream=0) -> None:
    """``counts[slot] += number of correct predictions`` of the batch (``kind``: BINARY, CATEGORICAL, ...)."""
    if kind not in (BINARY, CATEGORICAL, SPARSE_CATEGORICAL):
        raise ValueError(f"Invalid value received for argument `kind`: {kind!r}. Expected BINARY (0), "
                         "CATEGORICAL (1) or SPARSE_CATEGORICAL (2).")
    threads = launch_shape(pred.shape[0], THREADS)[1]
    launch(_correct_kernel, 1, threads, int(kind), y_true, pred, float(threshold), counts, int(slot),
           stream=stream)
