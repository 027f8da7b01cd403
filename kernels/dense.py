"""The Dense layer, forward and backward: one BLAS product each, with everything else fused around it.

Forward, for a batch X (n, in), kernel W (in, out), bias b (out,) and activation f::

    Z = X W            (BLAS)
    Y = f(Z + b)       (one fused pass over Z, written in place)

Backward, given dL/dY::

    dZ = dL/dY * f'(.)   from the output Y (one fused pass, in place; softmax: Jacobian-vector product)
    dW = X^T dZ          (BLAS; for one row the outer product, by np.multiply)
    db = sum_rows dZ     (accumulated in float64, serially: the same result for any thread count)
    dX = dZ W^T          (BLAS; skipped for the first layer)

Matrix products go to NumPy's BLAS (``np.matmul(..., out=...)``, called from Python: compiling
numba's own ``np.dot`` binding cost several seconds of first-call time for no speed gain); the
fused passes around them are serial njit kernels. BLAS brings its own threads, and numba threads
around a BLAS call would fight it for the cores (oversubscription). Every output goes into a
caller-provided buffer, so a training loop allocates nothing per step.
"""

from __future__ import annotations

import numpy as np

from .activations import activation_backward, activation_forward
from .jit import njit

__all__ = ["dense_forward", "dense_backward", "column_sums", "activation_and_bias_gradient"]


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, code: int, y: np.ndarray) -> None:
    """``y = f(x @ w + b)`` with activation ``code``; ``b`` of length 0 means no bias.

    ``x`` (n, in), ``w`` (in, out), ``y`` (n, out) C-contiguous, all of one float dtype.
    """
    np.matmul(x, w, out=y)
    activation_forward(y, b, code, y)


@njit
def column_sums(dz: np.ndarray, out: np.ndarray) -> None:
    """``out[j] = sum_i dz[i, j]``, accumulated in float64 in row order (deterministic)."""
    n, k = dz.shape
    acc = np.zeros(k, dtype=np.float64)
    for i in range(n):
        for j in range(k):
            acc[j] += dz[i, j]
    for j in range(k):
        out[j] = acc[j]


@njit
def activation_and_bias_gradient(y: np.ndarray, dy: np.ndarray, code: int, db: np.ndarray) -> None:
    """``dy <- dy * f'(.)`` (from the output y, in place), then ``db = sum_rows dy`` if ``db`` is not empty."""
    activation_backward(y, dy, code, dy)
    if db.shape[0] > 0:
        column_sums(dy, db)


def dense_backward(x: np.ndarray, w: np.ndarray, y: np.ndarray, dy: np.ndarray, code: int,
                   dw: np.ndarray, db: np.ndarray, dx: np.ndarray, need_dx: bool) -> None:
    """Gradients of a Dense layer from ``dy = dL/dy``; ``dy`` is overwritten with ``dL/dz``.

    ``dw = x^T dz``, ``db = sum_rows dz`` (skipped if ``db`` has length 0), ``dx = dz w^T`` (only if
    ``need_dx``). Pass ``code = LINEAR`` when ``dy`` already is ``dL/dz`` (a loss fused with the
    last activation).
    """
    activation_and_bias_gradient(y, dy, code, db)
    if x.shape[0] == 1:   # one row: dw is the outer product; np.matmul's k = 1 path is 4x slower (measured)
        np.multiply(x.T, dy, out=dw)
    else:
        np.matmul(x.T, dy, out=dw)
    if need_dx:
        np.matmul(dy, w.T, out=dx)
