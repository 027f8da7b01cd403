"""Activations: the per-element math shared by the CPU and CUDA kernels, plus row-wise softmax.

Each activation is an integer code (so one compiled kernel serves them all). Two plain scalar
functions hold the per-element math of all of them: :func:`activate` (the forward ``y = f(z)``) and
:func:`activate_derivative` (the local derivative ``f'(z)`` written *from the output* y, which is
what the backward pass keeps):

=========  ====  =================================  ==========================
name       code  forward y = f(z)                   derivative dy/dz from y
=========  ====  =================================  ==========================
linear     0     z                                  1
relu       1     max(z, 0)                          1 if y > 0 else 0
tanh       2     tanh(z)                            1 - y**2
sigmoid    3     1 / (1 + exp(-z))   (stable form)  y (1 - y)
softmax    4     exp(z_k) / sum_j exp(z_j)  (rows)  Jacobian-vector product (activation_backward)
=========  ====  =================================  ==========================

Both are plain Python and call no other helper: the CPU kernels compile them with
``njit(inline="always")`` and the CUDA kernels with ``cuda.jit(device=True)``
(:mod:`microgradx.kernels.cuda.device`). The array kernels below run one loop per code, so that
the code is a constant inside each loop and the compiler can vectorise it.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit

__all__ = [
    "LINEAR", "RELU", "TANH", "SIGMOID", "SOFTMAX", "ACTIVATION_CODES",
    "activate", "activate_derivative",
    "softmax_row", "softmax_backward_row", "activation_forward", "activation_backward", "softmax_rows",
]

LINEAR = 0
RELU = 1
TANH = 2
SIGMOID = 3
SOFTMAX = 4

#: Activation name -> integer code understood by every kernel.
ACTIVATION_CODES = {"linear": LINEAR, "relu": RELU, "tanh": TANH, "sigmoid": SIGMOID, "softmax": SOFTMAX}


# --------------------------------------------------------------------------- scalar math (shared)
def activate(code, z):
    """The elementwise activation ``code`` at z (softmax is row-wise: see :func:`softmax_rows`).

    Self-contained (it calls no other helper) so that it compiles unchanged for both targets.
    """
    if code == RELU:
        return 0.0 if z <= 0.0 else z
    if code == TANH:
        return math.tanh(z)
    if code == SIGMOID:
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    return z


def activate_derivative(code, y):
    """dy/dz of the elementwise activation ``code``, from its output y (self-contained, like activate)."""
    if code == RELU:
        return 1.0 if y > 0.0 else 0.0
    if code == TANH:
        return 1.0 - y * y
    if code == SIGMOID:
        return y * (1.0 - y)
    return 1.0


def softmax_row(z, out, i):
    """``out[i] = exp(z[i] - max z[i]) / sum_k exp(z[i, k] - max z[i])`` (may alias z); the sum in
    float64. Plain Python, compiled for the CPU here and for CUDA in :mod:`microgradx.kernels.cuda.device`."""
    k = z.shape[1]
    m = z[i, 0]
    for j in range(1, k):
        if z[i, j] > m:
            m = z[i, j]
    total = 0.0
    for j in range(k):
        e = math.exp(z[i, j] - m)
        out[i, j] = e
        total += out[i, j]
    for j in range(k):
        out[i, j] = out[i, j] / total


def softmax_backward_row(y, dy, dz, i):
    """Softmax's Jacobian-vector product on row i: ``dz[i, k] = y[i, k] (dy[i, k] - sum_j y[i, j] dy[i, j])``
    (the sum in float64; ``dz`` may alias ``dy``)."""
    k = y.shape[1]
    s = 0.0
    for j in range(k):
        s += float(y[i, j]) * float(dy[i, j])
    for j in range(k):
        dz[i, j] = y[i, j] * (dy[i, j] - s)


_activate = njit(inline="always")(activate)
_activate_derivative = njit(inline="always")(activate_derivative)
_softmax_row = njit(inline="always")(softmax_row)
_softmax_backward_row = njit(inline="always")(softmax_backward_row)


# --------------------------------------------------------------------------- array kernels
@njit
def softmax_rows(z: np.ndarray, out: np.ndarray) -> None:
    """:func:`softmax_row` for every row of ``z`` (may alias z)."""
    for i in range(z.shape[0]):
        _softmax_row(z, out, i)


@njit
def _apply_activation(code: int, a: np.ndarray) -> None:
    """``a = f(a)`` in place for an elementwise activation ``code``.

    One loop per code (the code is a constant inside each loop, so the compiler can vectorise it).
    """
    n, k = a.shape
    if code == RELU:
        for i in range(n):
            for j in range(k):
                a[i, j] = _activate(RELU, a[i, j])
    elif code == TANH:
        for i in range(n):
            for j in range(k):
                a[i, j] = _activate(TANH, a[i, j])
    elif code == SIGMOID:
        for i in range(n):
            for j in range(k):
                a[i, j] = _activate(SIGMOID, a[i, j])


@njit
def activation_forward(z: np.ndarray, bias: np.ndarray, code: int, out: np.ndarray) -> None:
    """``out = f(z + bias)`` for activation ``code`` (``bias`` may have length 0: no bias); may alias z."""
    n, k = z.shape
    has_bias = bias.shape[0] > 0
    for i in range(n):
        for j in range(k):
            out[i, j] = z[i, j] + bias[j] if has_bias else z[i, j]
    if code == SOFTMAX:
        softmax_rows(out, out)
    else:
        _apply_activation(code, out)


@njit
def activation_backward(y: np.ndarray, dy: np.ndarray, code: int, dz: np.ndarray) -> None:
    """``dz = dy * f'(z)`` from the output y (may alias dy).

    softmax: ``dz[i, k] = y[i, k] (dy[i, k] - sum_j y[i, j] dy[i, j])`` (the Jacobian-vector product,
    the row sum in float64). The elementwise derivatives are rounded to dz's dtype before the product.
    """
    n, k = y.shape
    t = dz.dtype.type   # the derivative in the output dtype: a float32 loop stays float32 (vectorised)
    if code == SOFTMAX:
        for i in range(n):
            _softmax_backward_row(y, dy, dz, i)
    elif code == RELU:
        for i in range(n):
            for j in range(k):
                dz[i, j] = dy[i, j] * t(_activate_derivative(RELU, y[i, j]))
    elif code == TANH:
        for i in range(n):
            for j in range(k):
                dz[i, j] = dy[i, j] * t(_activate_derivative(TANH, y[i, j]))
    elif code == SIGMOID:
        for i in range(n):
            for j in range(k):
                dz[i, j] = dy[i, j] * t(_activate_derivative(SIGMOID, y[i, j]))
    else:
        for i in range(n):
            for j in range(k):
                dz[i, j] = dy[i, j]
