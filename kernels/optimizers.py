"""Fused optimizer updates over one flat parameter buffer (Numba CPU).

The per-element maths is written once, as plain scalar functions (``sgd_element``, ``adam_element``,
...). The CPU drivers below compile them with ``njit(inline="always")``; the CUDA engine compiles the
*same* Python functions with ``cuda.jit(device=True)``. The readable reference of every rule is
``microgradx.optimizers.<Name>.update_step`` (NumPy, per variable); ``tests/test_kernels_optimizers.py``
checks these kernels against it.

Layout: the parameters of all variables lie in one flat array ``w``; variable ``s`` occupies
``w[offsets[s] : offsets[s] + sizes[s]]``; ``g`` and every slot buffer (``m``, ``v``, ...) use the same
layout. One driver call performs Keras' whole step for every element::

    g <- clip_gradient(g, scale[s], clipvalue)     # clipnorm / global_clipnorm give scale[s]
    w <- decay_weight(w, wd * lr)                   # decoupled weight decay, before the update
    w, slots <- <optimizer>_element(w, g, slots, hyper-parameters)

``scale`` comes from :func:`gradient_scales` (norms accumulated in float64). A slot that an option
switches off (Adam's ``v_hat`` without AMSGrad, ...) is passed as an empty array and never read.
Kernels take arrays and floats only (never optimizer objects). Only float32 and float64 buffers are
used, so each driver has at most two specializations. Every driver exists twice, compiled from two
small wrappers around one ``_<name>_range`` loop: a serial one for the buffers of typical teaching
models and a ``prange`` one over chunks of :data:`CHUNK` elements for buffers of at least
:data:`PARALLEL_MIN_SIZE` elements (one parallel region per step).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .jit import njit

__all__ = [
    "clip_gradient", "decay_weight", "sgd_element", "adam_element", "adadelta_element",
    "adagrad_element", "rmsprop_element", "gradient_scales", "sgd_update", "adam_update",
    "adadelta_update", "adagrad_update", "rmsprop_update", "PARALLEL_MIN_SIZE", "CHUNK",
]


# ------------------------------------------------------------------ scalar rules (CPU and CUDA)
def clip_gradient(g, scale, clipvalue):
    """``g * scale``, then ``clip(g, -clipvalue, clipvalue)`` when ``clipvalue > 0``."""
    g = g * scale
    if clipvalue > 0.0:
        if g > clipvalue:
            g = clipvalue
        elif g < -clipvalue:
            g = -clipvalue
    return g


def decay_weight(w, wd_lr):
    """Decoupled weight decay: ``w - w * (wd * lr)`` (0 when ``wd_lr == 0``)."""
    return w - w * wd_lr


def sgd_element(w, g, v, lr, momentum, nesterov):
    """Keras SGD. ``momentum == 0``: ``w - lr g``. Else ``v <- momentum v - lr g`` and
    ``w <- w + v`` (or ``w + momentum v - lr g`` with Nesterov). Returns ``(w, v)``."""
    if momentum == 0.0:
        return w - g * lr, v
    v = v * momentum - g * lr
    if nesterov:
        return w + (v * momentum - g * lr), v
    return w + v, v


def adam_element(w, g, m, v, v_hat, alpha, beta_1, beta_2, epsilon, amsgrad):
    """Keras Adam with ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``:
    ``m <- m + (1 - beta_1)(g - m)``, ``v <- v + (1 - beta_2)(g^2 - v)``, ``v_hat <- max(v_hat, v)``
    with AMSGrad, ``w <- w - alpha m / (sqrt(v or v_hat) + epsilon)``. Returns ``(w, m, v, v_hat)``."""
    m = m + (g - m) * (1.0 - beta_1)
    v = v + (g * g - v) * (1.0 - beta_2)
    u = v
    if amsgrad:
        v_hat = max(v_hat, v)
        u = v_hat
    return w - (m * alpha) / (math.sqrt(u) + epsilon), m, v, v_hat


def adadelta_element(w, g, acc_grad, acc_delta, lr, rho, epsilon):
    """Keras Adadelta: ``E[g^2] <- rho E[g^2] + (1 - rho) g^2``,
    ``delta = -sqrt(E[dx^2] + eps) g / sqrt(E[g^2] + eps)`` (old ``E[dx^2]``),
    ``E[dx^2] <- rho E[dx^2] + (1 - rho) delta^2``, ``w <- w + lr delta``.
    Returns ``(w, acc_grad, acc_delta)``."""
    acc_grad = rho * acc_grad + (1.0 - rho) * (g * g)
    delta = -(math.sqrt(acc_delta + epsilon) * g) / math.sqrt(acc_grad + epsilon)
    acc_delta = rho * acc_delta + (1.0 - rho) * (delta * delta)
    return w + lr * delta, acc_grad, acc_delta


def adagrad_element(w, g, accumulator, lr, epsilon):
    """Keras Adagrad: ``a <- a + g^2``, ``w <- w - lr g / sqrt(a + eps)``. Returns ``(w, a)``."""
    accumulator = accumulator + g * g
    return w - (lr * g) / math.sqrt(accumulator + epsilon), accumulator


def rmsprop_element(w, g, velocity, average_gradient, momentum_buffer, lr, rho, momentum, epsilon,
                    centered):
    """Keras RMSprop: ``v <- rho v + (1 - rho) g^2``; centered: ``gbar <- rho gbar + (1 - rho) g``,
    ``den = v - gbar^2 + eps``, else ``den = v + eps``; ``inc = lr g / sqrt(den)``; with momentum
    ``b <- momentum b + inc``, ``w <- w - b``, else ``w <- w - inc``.
    Returns ``(w, velocity, average_gradient, momentum_buffer)``."""
    velocity = rho * velocity + (1.0 - rho) * (g * g)
    if centered:
        average_gradient = rho * average_gradient + (1.0 - rho) * g
        denominator = velocity - average_gradient * average_gradient + epsilon
    else:
        denominator = velocity + epsilon
    increment = (lr * g) / math.sqrt(denominator)
    if momentum > 0.0:
        momentum_buffer = momentum * momentum_buffer + increment
        return w - momentum_buffer, velocity, average_gradient, momentum_buffer
    return w - increment, velocity, average_gradient, momentum_buffer


_clip = njit(inline="always")(clip_gradient)
_decay = njit(inline="always")(decay_weight)
_sgd = njit(inline="always")(sgd_element)
_adam = njit(inline="always")(adam_element)
_adadelta = njit(inline="always")(adadelta_element)
_adagrad = njit(inline="always")(adagrad_element)
_rmsprop = njit(inline="always")(rmsprop_element)


# --------------------------------------------------------------------------------- clipping
@njit
def gradient_scales(g, offsets, sizes, clipnorm, global_clipnorm):
    """Per-variable gradient scale factors (float64), Keras' clipping:

    * ``clipnorm = c > 0``: ``scale_s = c / max(||g_s||, c)`` (1 for a zero gradient);
    * ``global_clipnorm = c > 0``: ``n = sqrt(sum_s ||g_s||^2)``, ``scale = c min(1/n, 1/c)``
      (no +1e-6, unlike ``torch.nn.utils.clip_grad_norm_``; a non-finite ``n`` gives NaN);
    * neither: 1. Squared norms accumulate in float64.
    """
    count = offsets.size
    squares = np.zeros(count, dtype=np.float64)
    for s in range(count):
        acc = 0.0
        for i in range(offsets[s], offsets[s] + sizes[s]):
            gi = np.float64(g[i])
            acc += gi * gi
        squares[s] = acc
    scales = np.ones(count, dtype=np.float64)
    if clipnorm > 0.0:
        for s in range(count):
            norm = math.sqrt(squares[s])
            if norm > 0.0:
                scales[s] = clipnorm / max(norm, clipnorm)
    elif global_clipnorm > 0.0:
        norm = math.sqrt(squares.sum())
        if not math.isfinite(norm):
            scales[:] = np.nan
        elif norm > 0.0:
            scales[:] = global_clipnorm * min(1.0 / norm, 1.0 / global_clipnorm)
    return scales


# ----------------------------------------------------------------------------------- drivers
#: Buffers with at least this many elements are updated by the ``prange`` (multi-threaded) driver;
#: smaller ones serially. A parallel region costs ~10-50 us on an idle machine and was measured at
#: ~32 ms on the loaded 2-core build machine, while a serial Adam step over 1,000 parameters takes
#: ~17 us: below this size threads cannot pay for themselves. Read at call time (tests lower it).
PARALLEL_MIN_SIZE = 1 << 17

#: Elements per ``prange`` chunk of the parallel drivers.
CHUNK = 1 << 14


def _dispatch(serial, parallel, name: str, doc: str):
    """A Python entry point that runs ``parallel`` for big buffers and ``serial`` otherwise."""
    def run(w, *args):
        kernel = parallel if w.size >= PARALLEL_MIN_SIZE else serial
        kernel(w, *args)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run


@njit
def _sgd_range(lo, hi, w, g, velocity, offsets, sizes, scales, clipvalue, wd_lr, lr, momentum, nesterov):
    for s in range(offsets.size):
        scale = scales[s]
        for i in range(max(offsets[s], lo), min(offsets[s] + sizes[s], hi)):
            gi = _clip(g[i], scale, clipvalue)
            wi = _decay(w[i], wd_lr)
            vi = velocity[i] if momentum != 0.0 else 0.0
            wi, vi = _sgd(wi, gi, vi, lr, momentum, nesterov)
            w[i] = wi
            if momentum != 0.0:
                velocity[i] = vi


@njit
def _sgd_serial(w, g, velocity, offsets, sizes, scales, clipvalue, wd_lr, lr, momentum, nesterov):
    _sgd_range(0, w.size, w, g, velocity, offsets, sizes, scales, clipvalue, wd_lr, lr, momentum, nesterov)


@njit(parallel=True)
def _sgd_parallel(w, g, velocity, offsets, sizes, scales, clipvalue, wd_lr, lr, momentum, nesterov):
    for c in prange((w.size + CHUNK - 1) // CHUNK):
        _sgd_range(c * CHUNK, min((c + 1) * CHUNK, w.size), w, g, velocity, offsets, sizes, scales,
                   clipvalue, wd_lr, lr, momentum, nesterov)


sgd_update = _dispatch(
    _sgd_serial, _sgd_parallel, "sgd_update",
    """sgd_update(w, g, <slots>, offsets, sizes, scales, clipvalue, wd_lr, <hyper...>)

    One SGD step over the flat buffer, in place (``velocity`` empty when ``momentum == 0``).""")


@njit
def _adam_range(lo, hi, w, g, m, v, v_hat, offsets, sizes, scales, clipvalue, wd_lr, alpha, beta_1,
                beta_2, epsilon, amsgrad):
    for s in range(offsets.size):
        scale = scales[s]
        for i in range(max(offsets[s], lo), min(offsets[s] + sizes[s], hi)):
            gi = _clip(g[i], scale, clipvalue)
            wi = _decay(w[i], wd_lr)
            vh = v_hat[i] if amsgrad else 0.0
            wi, mi, vi, vh = _adam(wi, gi, m[i], v[i], vh, alpha, beta_1, beta_2, epsilon, amsgrad)
            w[i] = wi
            m[i] = mi
            v[i] = vi
            if amsgrad:
                v_hat[i] = vh


@njit
def _adam_serial(w, g, m, v, v_hat, offsets, sizes, scales, clipvalue, wd_lr, alpha, beta_1, beta_2,
                 epsilon, amsgrad):
    _adam_range(0, w.size, w, g, m, v, v_hat, offsets, sizes, scales, clipvalue, wd_lr, alpha, beta_1,
                beta_2, epsilon, amsgrad)


@njit(parallel=True)
def _adam_parallel(w, g, m, v, v_hat, offsets, sizes, scales, clipvalue, wd_lr, alpha, beta_1, beta_2,
                   epsilon, amsgrad):
    for c in prange((w.size + CHUNK - 1) // CHUNK):
        _adam_range(c * CHUNK, min((c + 1) * CHUNK, w.size), w, g, m, v, v_hat, offsets, sizes, scales,
                    clipvalue, wd_lr, alpha, beta_1, beta_2, epsilon, amsgrad)


adam_update = _dispatch(
    _adam_serial, _adam_parallel, "adam_update",
    """adam_update(w, g, <slots>, offsets, sizes, scales, clipvalue, wd_lr, <hyper...>)

    One Adam step over the flat buffer, in place (``v_hat`` empty without AMSGrad;
    ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``).""")


@njit
def _adadelta_range(lo, hi, w, g, acc_grad, acc_delta, offsets, sizes, scales, clipvalue, wd_lr, lr, rho,
                    epsilon):
    for s in range(offsets.size):
        scale = scales[s]
        for i in range(max(offsets[s], lo), min(offsets[s] + sizes[s], hi)):
            gi = _clip(g[i], scale, clipvalue)
            wi = _decay(w[i], wd_lr)
            wi, ag, ad = _adadelta(wi, gi, acc_grad[i], acc_delta[i], lr, rho, epsilon)
            w[i] = wi
            acc_grad[i] = ag
            acc_delta[i] = ad


@njit
def _adadelta_serial(w, g, acc_grad, acc_delta, offsets, sizes, scales, clipvalue, wd_lr, lr, rho, epsilon):
    _adadelta_range(0, w.size, w, g, acc_grad, acc_delta, offsets, sizes, scales, clipvalue, wd_lr, lr, rho,
                    epsilon)


@njit(parallel=True)
def _adadelta_parallel(w, g, acc_grad, acc_delta, offsets, sizes, scales, clipvalue, wd_lr, lr, rho,
                       epsilon):
    for c in prange((w.size + CHUNK - 1) // CHUNK):
        _adadelta_range(c * CHUNK, min((c + 1) * CHUNK, w.size), w, g, acc_grad, acc_delta, offsets, sizes,
                        scales, clipvalue, wd_lr, lr, rho, epsilon)


adadelta_update = _dispatch(
    _adadelta_serial, _adadelta_parallel, "adadelta_update",
    """adadelta_update(w, g, <slots>, offsets, sizes, scales, clipvalue, wd_lr, <hyper...>)

    One Adadelta step over the flat buffer, in place.""")


@njit
def _adagrad_range(lo, hi, w, g, accumulator, offsets, sizes, scales, clipvalue, wd_lr, lr, epsilon):
    for s in range(offsets.size):
        scale = scales[s]
        for i in range(max(offsets[s], lo), min(offsets[s] + sizes[s], hi)):
            gi = _clip(g[i], scale, clipvalue)
            wi = _decay(w[i], wd_lr)
            wi, ai = _adagrad(wi, gi, accumulator[i], lr, epsilon)
            w[i] = wi
            accumulator[i] = ai


@njit
def _adagrad_serial(w, g, accumulator, offsets, sizes, scales, clipvalue, wd_lr, lr, epsilon):
    _adagrad_range(0, w.size, w, g, accumulator, offsets, sizes, scales, clipvalue, wd_lr, lr, epsilon)


@njit(parallel=True)
def _adagrad_parallel(w, g, accumulator, offsets, sizes, scales, clipvalue, wd_lr, lr, epsilon):
    for c in prange((w.size + CHUNK - 1) // CHUNK):
        _adagrad_range(c * CHUNK, min((c + 1) * CHUNK, w.size), w, g, accumulator, offsets, sizes, scales,
                       clipvalue, wd_lr, lr, epsilon)


adagrad_update = _dispatch(
    _adagrad_serial, _adagrad_parallel, "adagrad_update",
    """adagrad_update(w, g, <slots>, offsets, sizes, scales, clipvalue, wd_lr, <hyper...>)

    One Adagrad step over the flat buffer, in place.""")


@njit
def _rmsprop_range(lo, hi, w, g, velocity, average_gradient, momentum_buffer, offsets, sizes, scales,
                   clipvalue, wd_lr, lr, rho, momentum, epsilon, centered):
    for s in range(offsets.size):
        scale = scales[s]
        for i in range(max(offsets[s], lo), min(offsets[s] + sizes[s], hi)):
            gi = _clip(g[i], scale, clipvalue)
            wi = _decay(w[i], wd_lr)
            ai = average_gradient[i] if centered else 0.0
            bi = momentum_buffer[i] if momentum > 0.0 else 0.0
            wi, vi, ai, bi = _rmsprop(wi, gi, velocity[i], ai, bi, lr, rho, momentum, epsilon, centered)
            w[i] = wi
            velocity[i] = vi
            if centered:
                average_gradient[i] = ai
            if momentum > 0.0:
                momentum_buffer[i] = bi


@njit
def _rmsprop_serial(w, g, velocity, average_gradient, momentum_buffer, offsets, sizes, scales, clipvalue,
                    wd_lr, lr, rho, momentum, epsilon, centered):
    _rmsprop_range(0, w.size, w, g, velocity, average_gradient, momentum_buffer, offsets, sizes, scales,
                   clipvalue, wd_lr, lr, rho, momentum, epsilon, centered)


@njit(parallel=True)
def _rmsprop_parallel(w, g, velocity, average_gradient, momentum_buffer, offsets, sizes, scales, clipvalue,
                      wd_lr, lr, rho, momentum, epsilon, centered):
    for c in prange((w.size + CHUNK - 1) // CHUNK):
        _rmsprop_range(c * CHUNK, min((c + 1) * CHUNK, w.size), w, g, velocity, average_gradient,
                       momentum_buffer, offsets, sizes, scales, clipvalue, wd_lr, lr, rho, momentum, epsilon,
                       centered)


rmsprop_update = _dispatch(
    _rmsprop_serial, _rmsprop_parallel, "rmsprop_update",
    """rmsprop_update(w, g, <slots>, offsets, sizes, scales, clipvalue, wd_lr, <hyper...>)

    One RMSprop step over the flat buffer, in place (``average_gradient`` empty unless centered,
    ``momentum_buffer`` empty unless ``momentum > 0``).""")
