"""Regularization penalties on the device: the CPU kernel's rule (:mod:`microgradx.kernels.regularizers`).

For a flat tensor ``x`` (a kernel, a bias, or a Dense layer's output for the batch) with factors ``l1``,
``l2`` and a ``divisor`` (1 for weights, the batch size for an activity penalty)::

    totals[slot] += (l1 * sum |x| + l2 * sum x**2) / divisor
    dx           += (l1 * sign(x) + 2 * l2 * x) / divisor * f'(x)

where ``f'`` is the derivative of the layer's activation taken from its output (``code``; linear for
weights): the gradient buffer of a Dense output holds d loss / d z on this engine, so an activity
penalty's d / d output is carried through the activation here. One block walks the elements (thread t of
B takes t, t + B, ...) and adds its float64 partial sums with the fixed-order tree of
:func:`~microgradx.kernels.cuda.reduce.block_sum`, so the total is deterministic; a non-finite total sets
``halted`` like a non-finite loss.
"""

from __future__ import annotations

import math

from numba import cuda, float64

from ..activations import LINEAR
from .device import activate_derivative
from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "penalty_and_gradient"]

#: threads of the single block (a power of two).
THREADS = 256


@cuda.jit
def _penalty_kernel(x, dx, l1, l2, divisor, code, totals, slot, halted):
    partial = cuda.shared.array(THREADS, float64)
    t = cuda.threadIdx.x
    stride = cuda.blockDim.x
    absolute = 0.0
    squares = 0.0
    for e in range(t, x.shape[0], stride):
        v = float64(x[e])
        sign = 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0)
        absolute += abs(v)
        squares += v * v
        d = (l1 * sign + 2.0 * l2 * v) / divisor
        if code != LINEAR:
            d = d * activate_derivative(code, x[e])
        dx[e] += d
    total_absolute = block_sum(partial, absolute)
    cuda.syncthreads()
    total_squares = block_sum(partial, squares)
    if t == 0:
        total = totals[slot] + (l1 * total_absolute + l2 * total_squares) / divisor
        totals[slot] = total
        if math.isinf(total) or math.isnan(total):
            halted[0] = 1


def penalty_and_gradient(x, dx, l1: float, l2: float, divisor: float, totals, slot: int, halted,
                         activation: int = LINEAR) -> None:
    """Add the penalty of the flat device array ``x`` to ``totals[slot]`` and its gradient into ``dx``."""
    threads = launch_shape(x.shape[0], THREADS)[1]
    launch(_penalty_kernel, 1, threads, x, dx, float(l1), float(l2), float(divisor), int(activation), totals,
           int(slot), halted)
