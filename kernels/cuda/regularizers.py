"""Regularization penalties on the device, compiled from the regularizer's element rules.

Nothing here spells the penalty: :func:`penalty_kernels` compiles the element rules written next to the
regularizer classes (``microgradx.regularizers.penalty_rule`` and ``penalty_gradient_rule``, handed over
by the engine from its plan) with ``cuda.jit(device=True)``, the very functions the CPU pass compiles
(:func:`microgradx.kernels.regularizers.penalty_pass`). For a flat tensor ``x`` (a kernel, a bias, or a
Dense layer's output for the batch) with factors ``l1``, ``l2`` and a ``divisor`` (1 for weights, the
batch size for an activity penalty)::

    totals[slot] += sum_i penalty_rule(x_i, l1, l2) / divisor
    dx_i         += penalty_gradient_rule(x_i, l1, 2 l2) / divisor * f'(x_i)

where ``f'`` is the derivative of the layer's activation taken from its output (``code``; linear for
weights): the gradient buffer of a Dense output holds d loss / d z on this engine, so an activity
penalty's d / d output is carried through the activation here. One block walks the elements (thread t of
B takes t, t + B, ...) and adds its float64 partial sum with the fixed-order tree of
:func:`~microgradx.kernels.cuda.reduce.block_sum`, so the total is deterministic; a non-finite total sets
``halted`` like a non-finite loss. An activity penalty is one launch (:func:`penalty_and_gradient`); the
weight penalties of a step are one launch together (:func:`weight_penalties_and_gradients`: the same
block walks every regularised variable of the flat buffers in turn, ``factors[s] = (l1, l2)``).
"""

from __future__ import annotations

import functools
import math
from typing import Callable

from numba import cuda, float64

from ..activations import LINEAR
from ..jit import compile_functions
from .device import activate_derivative
from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "penalty_kernels", "penalty_and_gradient", "weight_penalties_and_gradients"]

#: threads of the single block (a power of two).
THREADS = 256


@cuda.jit(device=True)
def _add_to_total(totals, slot, halted, value):
    total = totals[slot] + value
    totals[slot] = total
    if math.isinf(total) or math.isnan(total):
        halted[0] = 1


@functools.lru_cache(maxsize=None)
def penalty_kernels(penalty_rule: Callable, gradient_rule: Callable):
    """The two penalty kernels of the element rules ``penalty_rule(x, l1, l2)`` and ``gradient_rule(x, l1,
    two_l2)``: ``(tensor, weights)``, with the arguments ``(x, dx, l1, l2, divisor, code, totals, slot,
    halted)`` and ``(w, g, offsets, factors, totals, slot, halted)``."""
    penalty, gradient = compile_functions(cuda.jit(device=True), penalty_rule, gradient_rule)

    @cuda.jit(device=True)
    def block_pass(x, dx, lo, hi, l1, l2, divisor, code, partial):
        """This block's pass over ``x[lo:hi]``: the gradient into ``dx``, the penalty to every thread."""
        two_l2 = 2.0 * l2
        acc = 0.0
        for e in range(lo + cuda.threadIdx.x, hi, cuda.blockDim.x):
            v = float64(x[e])
            acc += penalty(v, l1, l2)
            d = gradient(v, l1, two_l2) / divisor
            if code != LINEAR:
                d = d * activate_derivative(code, x[e])
            dx[e] += d
        total = block_sum(partial, acc)
        cuda.syncthreads()   # every thread has read the sum before partial is used again
        return total / divisor

    @cuda.jit
    def tensor(x, dx, l1, l2, divisor, code, totals, slot, halted):
        partial = cuda.shared.array(THREADS, float64)
        total = block_pass(x, dx, 0, x.shape[0], l1, l2, divisor, code, partial)
        if cuda.threadIdx.x == 0:
            _add_to_total(totals, slot, halted, total)

    @cuda.jit
    def weights(w, g, offsets, factors, totals, slot, halted):
        partial = cuda.shared.array(THREADS, float64)
        total = 0.0
        for s in range(factors.shape[0]):
            if factors[s, 0] != 0.0 or factors[s, 1] != 0.0:
                total += block_pass(w, g, offsets[s], offsets[s + 1], factors[s, 0], factors[s, 1], 1.0, LINEAR,
                                    partial)
        if cuda.threadIdx.x == 0:
            _add_to_total(totals, slot, halted, total)

    return tensor, weights


def penalty_and_gradient(rules: tuple[Callable, Callable], x, dx, l1: float, l2: float, divisor: float, totals,
                         slot: int, halted, activation: int = LINEAR) -> None:
    """Add the penalty of the flat device array ``x`` to ``totals[slot]`` and its gradient into ``dx``, by
    the tensor kernel of ``rules`` (the penalty and gradient rules, :func:`penalty_kernels`)."""
    threads = launch_shape(x.shape[0], THREADS)[1]
    launch(penalty_kernels(*rules)[0], 1, threads, x, dx, float(l1), float(l2), float(divisor), int(activation),
           totals, int(slot), halted)


def weight_penalties_and_gradients(rules: tuple[Callable, Callable], w, g, offsets, factors, totals, slot: int,
                                   halted) -> None:
    """Every weight penalty of the flat device buffers in one launch: variable ``s`` (``offsets[s]`` to
    ``offsets[s + 1]``) with ``factors[s] = (l1, l2)`` (zeros: none) adds its penalty to ``totals[slot]``
    and its gradient into ``g``, the variables in order (deterministic)."""
    threads = launch_shape(w.shape[0], THREADS)[1]
    launch(penalty_kernels(*rules)[1], 1, threads, w, g, offsets, factors, totals, int(slot), halted)
