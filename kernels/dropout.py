"""Inverted dropout with the counter-based hash RNG: the same mask on every engine and thread count.

For an input X (n, f), a resolved noise shape (mn, mf) with mn in {1, n} and mf in {1, f}, and
``u(e) = hash_uniform(seed, step, e)`` for the flat index e of each element of the noise array::

    keep[a, b] = u(a * mf + b) >= rate
    scale[i, j] = keep[i if mn > 1 else 0, j if mf > 1 else 0] / (1 - rate)      (0 when rate == 1)
    Y = X * scale                 dX = dY * scale

so the mask broadcasts like Keras' ``noise_shape`` (``(None, 1)`` drops whole rows, ``(1, f)`` whole
columns). Each element's draw depends only on its coordinates, never on a generator's state, so the
mask is the same whatever the number of threads or the order of the loop, bit for bit equal to
:func:`microgradx.kernels.rng.uniform_array`. The kernel is serial on purpose: a numba parallel
region right before BLAS calls leaves OpenMP threads spinning on the cores BLAS needs (measured: a
digits MLP step took 21 ms with a ``prange`` dropout and 1.3 ms without, on 2 cores).
"""

from __future__ import annotations

import numba
import numpy as np

from . import rng
from .jit import compile_functions, njit, wrapping

__all__ = ["dropout_forward", "dropout_backward"]


#: ``rng.hash_uniform`` (and the ``mix64`` it calls) compiled inline from the one source in rng.py
_, _hash_uniform = compile_functions(wrapping(njit(inline="always"), numba.config.DISABLE_JIT), rng.mix64,
                                     rng.hash_uniform)


@njit
def dropout_forward(x: np.ndarray, seed: int, step: int, rate: float, mask_rows: int, mask_cols: int,
                    scale: np.ndarray, y: np.ndarray) -> None:
    """``scale`` (n, f) := the scaled keep mask (see the module docstring); ``y = x * scale``.

    ``mask_rows``/``mask_cols`` are the resolved noise shape ``(mn, mf)``; ``y`` may alias ``x``.
    """
    n, f = x.shape
    keep_value = 0.0 if rate >= 1.0 else 1.0 / (1.0 - rate)
    for i in range(n):
        a = i if mask_rows > 1 else 0
        for j in range(f):
            b = j if mask_cols > 1 else 0
            u = _hash_uniform(seed, step, np.int64(a) * mask_cols + b)
            s = keep_value if u >= rate else 0.0
            scale[i, j] = s
            y[i, j] = x[i, j] * scale[i, j]


@njit
def dropout_backward(dy: np.ndarray, scale: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * scale`` (``dx`` may alias ``dy``)."""
    n, f = dy.shape
    for i in range(n):
        for j in range(f):
            dx[i, j] = dy[i, j] * scale[i, j]
