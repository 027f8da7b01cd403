"""Weight and activity penalties (``microgradx.regularizers``) and their gradients, in one pass.

For a tensor ``x`` (a kernel, a bias, or a layer's output for a batch) with factors ``l1``, ``l2`` and a
``divisor`` (1 for weights; the batch size for an activity penalty, as Keras divides it by the batch
size)::

    penalty = (l1 * sum |x| + l2 * sum x**2) / divisor          (sums accumulated in float64)
    dx     += (l1 * sign(x) + 2 * l2 * x) / divisor              (sign(0) = 0)

One serial loop reads ``x`` once, adds the gradient into ``dx`` in place and returns the penalty, so the
penalty costs one pass over the regularised tensor and nothing for the others; the result does not depend
on the thread count.
"""

from __future__ import annotations

import numpy as np

from .jit import njit

__all__ = ["penalty_and_gradient", "weight_penalties_and_gradients"]


@njit
def penalty_and_gradient(x: np.ndarray, dx: np.ndarray, l1: float, l2: float, divisor: float) -> float:
    """``dx += (l1 sign x + 2 l2 x) / divisor`` over the flat arrays ``x``, ``dx``; returns the penalty."""
    absolute = 0.0
    squares = 0.0
    for i in range(x.shape[0]):
        v = np.float64(x[i])
        sign = 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0)
        absolute += abs(v)
        squares += v * v
        dx[i] += (l1 * sign + 2.0 * l2 * v) / divisor
    return (l1 * absolute + l2 * squares) / divisor


def weight_penalties_and_gradients(w: np.ndarray, g: np.ndarray, segments, factors: np.ndarray,
                                   penalties: np.ndarray) -> None:
    """For each variable ``s`` of the flat buffers (``segments[s] = (offset, size)``) with a regularizer
    ``factors[s] = (l1, l2)``: its penalty into ``penalties[s]`` (0 without one) and its gradient added
    into ``g``, one :func:`penalty_and_gradient` pass each."""
    for s, ((o, n), (l1, l2)) in enumerate(zip(segments, factors)):
        penalties[s] = penalty_and_gradient(w[o:o + n], g[o:o + n], l1, l2, 1.0) if l1 or l2 else 0.0
