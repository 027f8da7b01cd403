"""Fused optimizer updates over one flat parameter buffer (Numba CPU), compiled from the scalar rules.

Nothing here spells an optimizer: every rule is one plain scalar function, written once next to its
optimizer (``microgradx.optimizers.adam.adam_rule``, ...), and :func:`flat_update` compiles it, with
the shared clip and weight-decay rules (``microgradx.optimizers.rules``) and the regularizers' penalty
rules (``microgradx.regularizers.penalty_rule``, ``penalty_gradient_rule``), into one driver over a flat
buffer. The CUDA engine compiles the same functions with ``cuda.jit(device=True)``
(:func:`microgradx.kernels.cuda.optimizers.update_kernel`).

Layout: the parameters of all variables lie in one flat array ``w``; variable ``s`` occupies
``w[offsets[s] : offsets[s] + sizes[s]]``; ``g`` and every slot buffer use the same layout. One driver
call performs Keras' whole step for every element::

    p[s] += penalty(w, l1[s], l2[s])                    # a penalised driver only: the weight regularizer,
    g <- g + penalty_gradient(w, l1[s], 2 l2[s])        #   of the weights before the update
    g <- clip_gradient(g, scale[s], clipvalue)          # clipnorm / global_clipnorm give scale[s]
    w <- decay_weight(w, weight_decay, lr)              # decoupled weight decay, before the update
    w, *slots <- rule(w, g, *slots, *arguments)

``scale`` comes from :func:`squared_norms` (float64; of the penalised gradients when the driver is
penalised: :func:`penalised_squared_norms`) and the clip-factor rules. A slot an option
switches off (Adam's ``v_hat`` without AMSGrad, ...) is an empty array that the driver never reads:
which slots exist is a compile-time constant of the driver (one specialization per combination).

**Speed.** A driver is one serial loop per variable that LLVM vectorises:

* it computes in the buffer's dtype: the rule's scalar arguments are cast to that dtype once per call
  (:func:`split_arguments`), and the rules take derived constants such as ``1 - beta_1`` as arguments
  (a ``1.0 - beta_1`` inside the loop is a float64 literal that would promote a float32 loop to
  float64: 2x slower, measured);
* a rule's boolean options (Adam's ``amsgrad``, SGD's ``nesterov``, RMSprop's ``centered``), which come
  after its numbers, are compile-time constants of the driver, like the slots (a run-time flag left a
  test and a masked ``max`` in the vectorised loop: Adam's step 15% slower, measured);
* it is compiled with :data:`FASTMATH`, the fast-math flags that keep NaN and infinity semantics;
* it is single-threaded on purpose: the engines give the cores to BLAS for the matrix products, and
  an OpenMP (``prange``) region between two BLAS calls leaves its threads spinning on the cores that
  BLAS needs next (a 784-256-256-10 Adam step went from 7.5 ms to 66 ms on the 2-core build machine).
  The vectorised update takes about 0.1 ms for 269k float32 parameters, so threads gain little.

**Cache.** A driver is a closure over the rule; numba keys its on-disk cache by the pickled closure
(the functions by name) and :func:`~microgradx.kernels.jit.rules_digest` (their code), so editing a rule
recompiles it.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from .jit import jitable, njit, rules_digest

__all__ = ["FASTMATH", "MAX_SLOTS", "squared_norms", "penalised_squared_norms", "flat_update", "split_arguments",
           "all_finite"]

#: LLVM fast-math flags of the update loops: reassociation (vectorised reductions), contraction (FMA),
#: reciprocal and approximate-function rewrites, no signed zeros. ``nnan`` and ``ninf`` are left out,
#: so NaN and infinity propagate (``fastmath=True`` would fold ``isnan`` to False).
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
#: the most slots a rule may take (Keras' optimizers need at most three).
MAX_SLOTS = 3


@njit
def squared_norms(g, offsets, sizes):
    """``||g_s||^2`` of every variable ``s`` (float64, accumulated in float64)."""
    squares = np.zeros(offsets.size, dtype=np.float64)
    for s in range(offsets.size):
        acc = 0.0
        gs = g[offsets[s]:offsets[s] + sizes[s]]
        for i in range(gs.size):
            gi = np.float64(gs[i])
            acc += gi * gi
        squares[s] = acc
    return squares


@functools.lru_cache(maxsize=None)
def penalised_squared_norms(penalty_gradient: Callable) -> Callable:
    """Compile ``norms(g, w, offsets, sizes, factors)``: :func:`squared_norms` of the gradients with each
    variable's weight penalty added (``factors[s] = (l1, l2)``), without writing them: what clipnorm and
    global_clipnorm see when the update driver adds the penalties."""
    gradient = jitable(penalty_gradient)
    digest = rules_digest(penalty_gradient)

    @njit
    def norms(g, w, offsets, sizes, factors):
        squares = np.zeros(offsets.size, dtype=np.float64)
        if digest < 0:  # never: the rule's code digest is a closure constant, part of the cache key
            return squares
        for s in range(offsets.size):
            acc = 0.0
            lo = offsets[s]
            l1, two_l2 = factors[s, 0], 2.0 * factors[s, 1]
            for i in range(sizes[s]):
                gi = np.float64(g[lo + i]) + gradient(np.float64(w[lo + i]), l1, two_l2)
                acc += gi * gi
            squares[s] = acc
        return squares

    return norms


def split_arguments(arguments: Sequence, dtype: np.dtype) -> tuple[tuple, tuple[bool, ...]]:
    """A rule's scalar arguments as ``(numbers, options)``: the numbers cast to the buffer's dtype (the
    driver's run-time arguments) and the booleans that follow them (compiled in: ``flat_update(...,
    options=options)``). A boolean before a number raises ``ValueError``."""
    k = len(arguments)
    while k and type(arguments[k - 1]) in _BOOLEANS:
        k -= 1
    numbers = arguments[:k]
    if not _BOOLEANS.isdisjoint(map(type, numbers)):
        raise ValueError(f"a rule's boolean options must follow its numbers, got the arguments {tuple(arguments)}")
    return tuple(map(np.dtype(dtype).type, numbers)), tuple(map(bool, arguments[k:]))


_BOOLEANS = frozenset((bool, np.bool_))


@functools.lru_cache(maxsize=None)
def flat_update(rule: Callable, present: tuple[bool, ...], step_rules: tuple, in_place: bool = True,
                penalised: bool = False, options: tuple[bool, ...] = ()) -> Callable:
    """Compile ``rule`` (``rule(w, g, *slots, *arguments) -> (w, *slots)``, plain scalar maths) into
    ``update(w, out, g, slots, offsets, sizes, scales, clipvalue, weight_decay, lr, arguments, factors,
    penalties) -> bool``.

    The new weights go back into ``w`` (``in_place``; ``out`` is then not used) or into ``out``, a buffer
    like ``w`` (``w`` keeps the old ones at no extra memory traffic). ``in_place`` is a compile-time
    constant: a run-time branch between the two stores, or ``out is w``, makes LLVM give up
    vectorising the loop (5x slower, measured). The return value says whether every new weight is
    finite, folded into the same pass (``sum(new * 0) == 0``, as :func:`all_finite`).

    ``present[k]``: whether slot ``k`` exists (``len(present)`` is the rule's number of slots, at most
    :data:`MAX_SLOTS`); ``slots`` is a tuple of that many 1-D arrays (an absent one empty);
    ``step_rules`` the shared ``(clip_gradient, decay_weight, ...)`` rules; ``arguments`` the rule's
    numeric arguments in the buffer's dtype and ``options`` its boolean ones, which follow them and are
    compile-time constants of the driver (both from :func:`split_arguments`).

    ``penalised`` (a compile-time constant, so an unregularised model runs the same loop as before):
    the weight regularizers join in the same call, ``factors[s] = (l1, l2)`` (float64, zeros for a
    variable without one); ``penalties[s]`` (float64) receives the penalty of variable ``s``'s weights
    before the update, accumulated in float64 by a loop over them just before their update loop (float64
    inside the update loop halved its vector width: 1.22 instead of 0.75 ns per float32 Adam weight,
    measured), which adds the penalty's gradient to g. Unpenalised drivers ignore both (pass empty arrays).
    """
    if not 1 <= len(present) <= MAX_SLOTS:
        raise ValueError(f"a rule takes 1 to {MAX_SLOTS} slots, got {len(present)}")
    clip_gradient, decay_weight = jitable(step_rules[0]), jitable(step_rules[1])
    penalty, penalty_gradient = jitable(step_rules[4]), jitable(step_rules[5])
    element = jitable(rule)
    n_slots = len(present)
    has_0, has_1, has_2 = (tuple(present) + (False,) * MAX_SLOTS)[:MAX_SLOTS]
    digest = rules_digest(rule, *step_rules)

    @njit(fastmath=set(FASTMATH))
    def update(w, out, g, slots, offsets, sizes, scales, clipvalue, weight_decay, lr, arguments, factors,
               penalties):
        t = w.dtype.type
        zero, clip, decay, lr_t = t(0), t(clipvalue), t(weight_decay), t(lr)
        check = zero
        if digest < 0:  # never: the rules' code digest is a closure constant, part of the cache key
            return False
        values = arguments + options   # the options are constants: LLVM drops their branches
        for s in range(offsets.size):
            scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
            ws, gs = w[lo:hi], g[lo:hi]
            os_ = out[lo:hi]
            a = slots[0][lo:hi]
            b = slots[min(1, n_slots - 1)][lo:hi]
            c = slots[n_slots - 1][lo:hi]
            l1 = factors[s, 0] if penalised else 0.0
            l2 = factors[s, 1] if penalised else 0.0
            l1_t, two_l2_t = t(l1), t(2.0 * l2)
            if penalised:   # in float64, in a loop of its own: float64 in the update's loop halves its vectors
                total = 0.0
                for i in range(ws.size):
                    total += penalty(np.float64(ws[i]), l1, l2)
                penalties[s] = total
            for i in range(ws.size):
                gi = gs[i]
                if penalised:
                    gi = gi + penalty_gradient(ws[i], l1_t, two_l2_t)
                gi = clip_gradient(gi, scale, clip)
                wi = decay_weight(ws[i], decay, lr_t)
                x0 = a[i] if has_0 else zero
                x1 = b[i] if has_1 else zero
                x2 = c[i] if has_2 else zero
                if n_slots == 1:
                    wi, x0 = element(wi, gi, x0, *values)
                elif n_slots == 2:
                    wi, x0, x1 = element(wi, gi, x0, x1, *values)
                else:
                    wi, x0, x1, x2 = element(wi, gi, x0, x1, x2, *values)
                if in_place:
                    ws[i] = wi
                else:
                    os_[i] = wi
                check += wi * zero
                if has_0:
                    a[i] = x0
                if has_1:
                    b[i] = x1
                if has_2:
                    c[i] = x2
        return check == zero

    return update


# ----------------------------------------------------------------------------- after an update
@njit(fastmath=set(FASTMATH))
def all_finite(a):
    """True when no entry of the 1-D array ``a`` is NaN or inf: ``sum(a * 0) == 0``, one vectorised
    pass (``inf * 0`` and ``nan * 0`` are NaN, which :data:`FASTMATH` keeps). The engines call it on
    the flat weights after each update (a finite loss can still give an update that overflows)."""
    t = a.dtype.type
    zero = t(0.0)
    acc = t(0.0)
    for i in range(a.size):
        acc += a[i] * zero
    return acc == zero
