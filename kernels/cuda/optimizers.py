"""Fused optimizer updates on flat device buffers, compiled from the optimizers' scalar rules.

Nothing here spells an optimizer: :func:`update_kernel` compiles an optimizer's rule (a plain scalar
function, ``microgradx.optimizers.adam.adam_rule``, ...) and the shared clip and weight-decay rules
(``microgradx.optimizers.rules``) with ``cuda.jit(device=True)``, the very functions the CPU driver
compiles with numba (:func:`microgradx.kernels.optimizers.flat_update`). Layout as on the CPU: variable
``s`` occupies ``[offsets[s], offsets[s+1])`` of the flat parameter buffer ``w``; the gradient and
every slot buffer share the layout.

One optimizer step is at most two launches:

1. (only with ``clipnorm`` or ``global_clipnorm``) :func:`squared_norms`: one block per variable adds
   ``g_i^2`` in float64 with a shared-memory tree, ``sq[s] = ||g_s||^2``;
2. the update kernel, one thread per element: it finds its variable ``s``, takes the clip factor of
   ``sq`` (the rules ``clipnorm_scale`` / ``global_clipnorm_scale``), then
   ``g <- clip_gradient(g, scale, clipvalue)``, ``w <- decay_weight(w, weight_decay, lr)`` and
   ``w, *slots <- rule(w, g, *slots, *arguments)``.

The learning rate of the step (a schedule's value) and the rule's arguments (Adam's ``alpha_t``, ...)
are computed on the host and passed as numbers (at most :data:`MAX_ARGUMENTS`), so no host-device
copy happens per step. A slot an option switches off is a one-element placeholder that is never read
(which slots exist is a compile-time constant of the kernel). Every update kernel first reads
``halted[0]`` (set by the loss kernel when a batch's loss is not finite) and then leaves everything
unchanged. :func:`guard_update` (after the update) undoes an update that made a weight non-finite and
sets the same flag.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np
from numba import cuda, float64

from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = ["THREADS", "MAX_SLOTS", "MAX_ARGUMENTS", "CLIP_NONE", "CLIP_NORM", "CLIP_GLOBAL_NORM",
           "squared_norms", "update_kernel", "update", "placeholder", "guard_update"]

#: threads per block.
THREADS = 256
#: the most slots and scalar arguments a rule may take.
MAX_SLOTS = 3
MAX_ARGUMENTS = 6
#: no norm clipping (``clipvalue`` is independent of the mode).
CLIP_NONE = 0
#: per-variable ``clipnorm``.
CLIP_NORM = 1
#: ``global_clipnorm`` over all variables.
CLIP_GLOBAL_NORM = 2

#: a plain scalar function compiled once as a device function.
_device = functools.lru_cache(maxsize=None)(cuda.jit(device=True))


@cuda.jit
def _squared_norms(g, offsets, sq):
    partial = cuda.shared.array(THREADS, float64)
    s = cuda.blockIdx.x
    t = cuda.threadIdx.x
    stride = cuda.blockDim.x  # a power of two <= THREADS
    start = offsets[s]
    stop = offsets[s + 1]
    acc = 0.0
    for i in range(start + t, stop, stride):
        gi = float64(g[i])
        acc += gi * gi
    total = block_sum(partial, acc)
    if t == 0:
        sq[s] = total


@cuda.jit(device=True)
def _variable_of(offsets, i):
    """The variable whose segment holds flat index i (segments are few: a linear scan)."""
    s = 0
    while s + 2 < offsets.shape[0] and offsets[s + 1] <= i:
        s += 1
    return s


@functools.lru_cache(maxsize=None)
def update_kernel(rule: Callable, present: tuple[bool, ...], n_arguments: int, step_rules: tuple):
    """The update kernel of ``rule`` (``rule(w, g, *slots, *arguments) -> (w, *slots)``).

    ``present[k]``: whether slot ``k`` exists (``len(present)`` slots, at most :data:`MAX_SLOTS`);
    ``n_arguments`` scalar arguments (at most :data:`MAX_ARGUMENTS`); ``step_rules`` the shared
    ``(clip_gradient, decay_weight, clipnorm_scale, global_clipnorm_scale)`` rules. Kernel arguments:
    ``(halted, w, g, s0, s1, s2, offsets, sq, clip_mode, clipnorm, clipvalue, weight_decay, lr,
    a0, ..., a5)`` (unused slots and arguments padded).
    """
    if not 1 <= len(present) <= MAX_SLOTS or not 0 <= n_arguments <= MAX_ARGUMENTS:
        raise ValueError(f"a rule takes 1 to {MAX_SLOTS} slots and at most {MAX_ARGUMENTS} arguments, "
                         f"got {len(present)} and {n_arguments}")
    element = _device(rule)
    clip_gradient, decay_weight, clipnorm_scale, global_clipnorm_scale = (_device(f) for f in step_rules[:4])
    n_slots = len(present)
    has_0, has_1, has_2 = (tuple(present) + (False,) * MAX_SLOTS)[:MAX_SLOTS]

    @cuda.jit(device=True)
    def clip_scale(sq, s, clip_mode, clipnorm):
        if clip_mode == CLIP_NORM:
            return clipnorm_scale(math.sqrt(sq[s]), clipnorm)
        if clip_mode == CLIP_GLOBAL_NORM:
            total = 0.0
            for v in range(sq.shape[0]):
                total += sq[v]
            return global_clipnorm_scale(math.sqrt(total), clipnorm)
        return 1.0

    @cuda.jit
    def kernel(halted, w, g, s0, s1, s2, offsets, sq, clip_mode, clipnorm, clipvalue, weight_decay, lr,
               a0, a1, a2, a3, a4, a5):
        i = cuda.grid(1)
        if i < w.shape[0] and halted[0] == 0:
            gi = clip_gradient(g[i], clip_scale(sq, _variable_of(offsets, i), clip_mode, clipnorm), clipvalue)
            wi = decay_weight(w[i], weight_decay, lr)
            x0 = s0[i] if has_0 else 0.0
            x1 = s1[i] if has_1 else 0.0
            x2 = s2[i] if has_2 else 0.0
            arguments = (a0, a1, a2, a3, a4, a5)[:n_arguments]
            if n_slots == 1:
                w[i], x0 = element(wi, gi, x0, *arguments)
            elif n_slots == 2:
                w[i], x0, x1 = element(wi, gi, x0, x1, *arguments)
            else:
                w[i], x0, x1, x2 = element(wi, gi, x0, x1, x2, *arguments)
            if has_0:
                s0[i] = x0
            if has_1:
                s1[i] = x1
            if has_2:
                s2[i] = x2

    return kernel


@functools.lru_cache(maxsize=None)
def placeholder(dtype_name: str):
    """A one-element device array for a slot an option switches off (never read)."""
    return cuda.to_device(np.zeros(1, dtype=dtype_name))


def squared_norms(g, offsets, sq, stream=0) -> None:
    """``sq[s] = sum of g_i^2 over variable s`` (float64), for ``offsets`` of length ``variables + 1``."""
    variables = offsets.shape[0] - 1
    if variables > 0:
        threads = launch_shape(g.shape[0], THREADS)[1]
        launch(_squared_norms, variables, threads, g, offsets, sq, stream=stream)


def update(rule: Callable, present: Sequence[bool], step_rules: tuple, halted, w, g, slots: Sequence, offsets,
           sq, clip_mode: int, clipnorm: float, clipvalue: float, weight_decay: float, lr: float,
           arguments: Sequence, stream=0) -> None:
    """One optimizer step over the flat buffer ``w`` in place: the kernel of :func:`update_kernel`,
    one thread per element (``slots``: the rule's slot buffers, ``None`` for an absent one)."""
    kernel = update_kernel(rule, tuple(present), len(arguments), step_rules)
    unused = placeholder(w.dtype.name)
    slots = [unused if s is None else s for s in slots] + [unused] * (MAX_SLOTS - len(slots))
    scalars = [a if isinstance(a, (bool, np.bool_)) else float(a) for a in arguments]
    scalars += [0.0] * (MAX_ARGUMENTS - len(scalars))
    launch(kernel, *launch_shape(w.shape[0], THREADS), halted, w, g, *slots, offsets, sq, int(clip_mode),
           float(clipnorm), float(clipvalue), float(weight_decay), float(lr), *scalars, stream=stream)


# ----------------------------------------------------------------------------- after an update
@cuda.jit
def _flag_non_finite(halted, w, flags, slot):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        wi = w[i]
        if math.isinf(wi) or math.isnan(wi):
            halted[0] = 2
            flags[slot] = 1.0


@cuda.jit
def _commit_or_restore(halted, w, committed):
    i = cuda.grid(1)
    if i < w.shape[0]:
        if halted[0] == 2:
            w[i] = committed[i]
        else:
            committed[i] = w[i]


def guard_update(halted, w, committed, flags, slot: int, stream=0) -> None:
    """After an update: undo it when it made a weight of ``w`` non-finite. Two launches:

    1. any thread whose ``w[i]`` is NaN or inf (while ``halted[0] == 0``) sets ``halted[0] = 2`` and
       ``flags[slot] = 1`` (so the later updates of the epoch are skipped, as after a non-finite loss);
    2. ``halted[0] == 2``: ``w <- committed`` (the weights before the update); else ``committed <- w``.

    ``committed`` must equal ``w`` before the first update (the engine copies it when it uploads).
    """
    shape = launch_shape(w.shape[0], THREADS)
    launch(_flag_non_finite, *shape, halted, w, flags, int(slot), stream=stream)
    launch(_commit_or_restore, *shape, halted, w, committed, stream=stream)
