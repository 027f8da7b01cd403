"""Fused optimizer updates on flat device buffers: all five optimizers, clipping and weight decay.

The per-element rules are the plain scalar functions of :mod:`microgradx.kernels.optimizers`
(``clip_gradient``, ``decay_weight``, ``sgd_element``, ``adam_element``, ``adadelta_element``,
``adagrad_element``, ``rmsprop_element``), compiled here with ``cuda.jit(device=True)``: one source
for both targets. Layout as on the CPU: variable ``s`` occupies ``[offsets[s], offsets[s+1])`` of the
flat parameter buffer ``w``; the gradient and every slot buffer share the layout.

One optimizer step is at most two launches:

1. (only with ``clipnorm`` or ``global_clipnorm``) :func:`squared_norms`: one block per variable adds
   ``g_i^2`` in float64 with a shared-memory tree, ``sq[s] = ||g_s||^2``;
2. the update kernel, one thread per element: it finds its variable ``s``, computes Keras' clip scale
   from ``sq`` (``clipnorm``: ``c / max(||g_s||, c)``; ``global_clipnorm``: ``c min(1/n, 1/c)`` with
   ``n = sqrt(sum_s sq[s])``, NaN when ``n`` is not finite), then
   ``g <- clip_gradient(g, scale, clipvalue)``, ``w <- decay_weight(w, wd * lr)`` and the optimizer's
   element rule.

The learning rate of the step (a schedule's value) and Adam's ``alpha_t`` are computed on the host
and passed as numbers, so no host-device copy happens per step. A slot that an option switches off
(momentum-free SGD's velocity, Adam's ``v_hat`` without AMSGrad, ...) is a one-element placeholder
that is never read. Every update kernel first reads ``halted[0]`` (set by the loss kernel when a
batch's loss is not finite) and then leaves everything unchanged. :func:`guard_update` (after the
update) undoes an update that made a weight non-finite and sets the same flag.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float64

from .. import optimizers as _rules
from .elementwise import launch_shape
from .launch import launch
from .reduce import block_sum

__all__ = [
    "THREADS", "CLIP_NONE", "CLIP_NORM", "CLIP_GLOBAL_NORM", "squared_norms", "sgd_update",
    "adam_update", "adadelta_update", "adagrad_update", "rmsprop_update", "guard_update",
]

#: threads per block.
THREADS = 256
#: no norm clipping (``clipvalue`` is independent of the mode).
CLIP_NONE = 0
#: per-variable ``clipnorm``.
CLIP_NORM = 1
#: ``global_clipnorm`` over all variables.
CLIP_GLOBAL_NORM = 2

_clip = cuda.jit(device=True)(_rules.clip_gradient)
_decay = cuda.jit(device=True)(_rules.decay_weight)
_sgd = cuda.jit(device=True)(_rules.sgd_element)
_adam = cuda.jit(device=True)(_rules.adam_element)
_adadelta = cuda.jit(device=True)(_rules.adadelta_element)
_adagrad = cuda.jit(device=True)(_rules.adagrad_element)
_rmsprop = cuda.jit(device=True)(_rules.rmsprop_element)


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


@cuda.jit(device=True)
def _clip_scale(sq, s, clip_mode, clipnorm):
    if clip_mode == CLIP_NORM:
        norm = math.sqrt(sq[s])
        if norm > 0.0:
            return clipnorm / max(norm, clipnorm)
        return 1.0
    if clip_mode == CLIP_GLOBAL_NORM:
        total = 0.0
        for v in range(sq.shape[0]):
            total += sq[v]
        norm = math.sqrt(total)
        if math.isinf(norm) or math.isnan(norm):
            return math.nan
        if norm > 0.0:
            return clipnorm * min(1.0 / norm, 1.0 / clipnorm)
        return 1.0
    return 1.0


@cuda.jit(device=True)
def _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr):
    """What every rule starts from at element i: the clipped gradient and the decayed weight."""
    scale = _clip_scale(sq, _variable_of(offsets, i), clip_mode, clipnorm)
    return _clip(g[i], scale, clipvalue), _decay(w[i], wd_lr)


@cuda.jit
def _sgd_kernel(halted, w, g, velocity, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, lr, momentum,
                nesterov):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        gi, wi = _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr)
        vi = velocity[i] if momentum != 0.0 else 0.0
        wi, vi = _sgd(wi, gi, vi, lr, momentum, nesterov)
        w[i] = wi
        if momentum != 0.0:
            velocity[i] = vi


@cuda.jit
def _adam_kernel(halted, w, g, m, v, v_hat, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, alpha, beta_1,
                 beta_2, epsilon, amsgrad):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        gi, wi = _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr)
        vh = v_hat[i] if amsgrad else 0.0
        wi, mi, vi, vh = _adam(wi, gi, m[i], v[i], vh, alpha, beta_1, beta_2, epsilon, amsgrad)
        w[i] = wi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            v_hat[i] = vh


@cuda.jit
def _adadelta_kernel(halted, w, g, acc_grad, acc_delta, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr,
                     lr, rho, epsilon):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        gi, wi = _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr)
        wi, ag, ad = _adadelta(wi, gi, acc_grad[i], acc_delta[i], lr, rho, epsilon)
        w[i] = wi
        acc_grad[i] = ag
        acc_delta[i] = ad


@cuda.jit
def _adagrad_kernel(halted, w, g, accumulator, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, lr,
                    epsilon):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        gi, wi = _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr)
        wi, ai = _adagrad(wi, gi, accumulator[i], lr, epsilon)
        w[i] = wi
        accumulator[i] = ai


@cuda.jit
def _rmsprop_kernel(halted, w, g, velocity, average_gradient, momentum_buffer, offsets, sq, clip_mode,
                    clipnorm, clipvalue, wd_lr, lr, rho, momentum, epsilon, centered):
    i = cuda.grid(1)
    if i < w.shape[0] and halted[0] == 0:
        gi, wi = _clipped_and_decayed(w, g, i, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr)
        ai = average_gradient[i] if centered else 0.0
        bi = momentum_buffer[i] if momentum > 0.0 else 0.0
        wi, vi, ai, bi = _rmsprop(wi, gi, velocity[i], ai, bi, lr, rho, momentum, epsilon, centered)
        w[i] = wi
        velocity[i] = vi
        if centered:
            average_gradient[i] = ai
        if momentum > 0.0:
            momentum_buffer[i] = bi


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


def _update(kernel, halted, w, g, slots, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, rule, stream):
    """Launch one update kernel: one thread per element of ``w``, the common arguments in their order."""
    launch(kernel, *launch_shape(w.shape[0], THREADS), halted, w, g, *slots, offsets, sq, int(clip_mode),
           float(clipnorm), float(clipvalue), float(wd_lr), *rule, stream=stream)


def sgd_update(halted, w, g, velocity, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, lr, momentum,
               nesterov, stream=0) -> None:
    """One SGD step over the flat buffer ``w`` in place (``velocity`` unused when ``momentum == 0``)."""
    _update(_sgd_kernel, halted, w, g, (velocity,), offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr,
            (float(lr), float(momentum), bool(nesterov)), stream)


def adam_update(halted, w, g, m, v, v_hat, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, alpha, beta_1,
                beta_2, epsilon, amsgrad, stream=0) -> None:
    """One Adam step with ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)`` (``v_hat``: AMSGrad only)."""
    _update(_adam_kernel, halted, w, g, (m, v, v_hat), offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr,
            (float(alpha), float(beta_1), float(beta_2), float(epsilon), bool(amsgrad)), stream)


def adadelta_update(halted, w, g, acc_grad, acc_delta, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr,
                    lr, rho, epsilon, stream=0) -> None:
    """One Adadelta step over the flat buffer in place."""
    _update(_adadelta_kernel, halted, w, g, (acc_grad, acc_delta), offsets, sq, clip_mode, clipnorm,
            clipvalue, wd_lr, (float(lr), float(rho), float(epsilon)), stream)


def adagrad_update(halted, w, g, accumulator, offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr, lr, epsilon,
                   stream=0) -> None:
    """One Adagrad step over the flat buffer in place."""
    _update(_adagrad_kernel, halted, w, g, (accumulator,), offsets, sq, clip_mode, clipnorm, clipvalue, wd_lr,
            (float(lr), float(epsilon)), stream)


def rmsprop_update(halted, w, g, velocity, average_gradient, momentum_buffer, offsets, sq, clip_mode,
                   clipnorm, clipvalue, wd_lr, lr, rho, momentum, epsilon, centered, stream=0) -> None:
    """One RMSprop step (``average_gradient`` used only when centered, ``momentum_buffer`` with momentum)."""
    _update(_rmsprop_kernel, halted, w, g, (velocity, average_gradient, momentum_buffer), offsets, sq,
            clip_mode, clipnorm, clipvalue, wd_lr,
            (float(lr), float(rho), float(momentum), float(epsilon), bool(centered)), stream)


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
