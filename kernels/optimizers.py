"""Fused optimizer updates over one flat parameter buffer (Numba CPU).

The per-element maths of every rule is written as a plain scalar function (``sgd_element``,
``adam_element``, ...), in Keras' form. The CUDA engine compiles these functions with
``cuda.jit(device=True)`` (:mod:`microgradx.kernels.cuda.optimizers`). The readable reference of every
rule is ``microgradx.optimizers.<Name>.update_step`` (NumPy, per variable);
``tests/test_kernels_optimizers.py`` checks the element functions and the drivers below against it.

Layout: the parameters of all variables lie in one flat array ``w``; variable ``s`` occupies
``w[offsets[s] : offsets[s] + sizes[s]]``; ``g`` and every slot buffer (``m``, ``v``, ...) use the same
layout. One driver call (``adam_update``, ...) performs Keras' whole step for every element::

    g <- clip_gradient(g, scale[s], clipvalue)     # clipnorm / global_clipnorm give scale[s]
    w <- decay_weight(w, wd * lr)                   # decoupled weight decay, before the update
    w, slots <- <optimizer>_element(w, g, slots, hyper-parameters)

``scale`` comes from :func:`gradient_scales` (norms accumulated in float64). A slot that an option
switches off (Adam's ``v_hat`` without AMSGrad, ...) is passed as an empty array and never read.
Kernels take arrays and floats only (never optimizer objects); only float32 and float64 buffers are
used, so each driver has at most two specializations.

**Speed.** A driver is one serial loop per variable that LLVM vectorises:

* it computes in the buffer's dtype, like the NumPy reference: the constants of the rule
  (``1 - beta_1``, ``alpha``, ``epsilon``, ...) are cast to that dtype once per call. The element
  functions cannot be inlined as they stand for float32 (their ``1.0 - beta_1`` is a float64
  literal, which would promote the whole float32 loop to float64: 2x slower, measured), so each
  driver spells its rule in this *coefficient form*, next to the element function it equals;
* it is compiled with :data:`FASTMATH`, the fast-math flags that keep NaN and infinity semantics;
* it is single-threaded on purpose: the engines give the cores to BLAS for the matrix products, and
  an OpenMP (``prange``) region between two BLAS calls leaves its threads spinning on the cores that
  BLAS needs next (a 784-256-256-10 Adam step went from 7.5 ms to 66 ms on the 2-core build machine).
  The vectorised update takes about 0.2 ms for 269k float32 parameters, so threads gain little.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit

__all__ = [
    "clip_gradient", "decay_weight", "sgd_element", "adam_element", "adadelta_element",
    "adagrad_element", "rmsprop_element", "gradient_scales", "sgd_update", "adam_update",
    "adadelta_update", "adagrad_update", "rmsprop_update", "all_finite", "FASTMATH",
]

#: LLVM fast-math flags of the update loops: reassociation (vectorised reductions), contraction (FMA),
#: reciprocal and approximate-function rewrites, no signed zeros. ``nnan`` and ``ninf`` are left out,
#: so NaN and infinity propagate (``fastmath=True`` would fold ``isnan`` to False).
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

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
_adagrad = njit(inline="always")(adagrad_element)


# --------------------------------------------------------------------------------- clipping
@njit(fastmath=set(FASTMATH))
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
        gs = g[offsets[s]:offsets[s] + sizes[s]]
        for i in range(gs.size):
            gi = np.float64(gs[i])
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
# Each driver: ``t`` is the buffer's scalar type; every constant is cast to it once; the inner loop
# runs over one variable's slices (``w[lo:hi]``, ...) from index 0 and has loop-invariant branches
# only, so LLVM unswitches and vectorises it. (Indexing the whole buffer with ``range(lo, hi)`` made
# numba emit negative-index wraparound code that blocks vectorisation: 0.63 ms instead of 0.19 ms for
# a 269k-parameter float32 Adam step.)

@njit(fastmath=set(FASTMATH))
def sgd_update(w, g, velocity, offsets, sizes, scales, clipvalue, wd_lr, lr, momentum, nesterov):
    """One SGD step over the flat buffer, in place: :func:`sgd_element` per element (``velocity``
    empty when ``momentum == 0``)."""
    t = w.dtype.type
    clip, decay, lr_t, mu = t(clipvalue), t(wd_lr), t(lr), t(momentum)
    for s in range(offsets.size):
        scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
        ws, gs, vs = w[lo:hi], g[lo:hi], velocity[lo:hi]
        for i in range(ws.size):
            gi = _clip(gs[i], scale, clip)
            wi = _decay(ws[i], decay)
            if momentum == 0.0:
                ws[i] = wi - gi * lr_t
            else:
                ws[i], vs[i] = _sgd(wi, gi, vs[i], lr_t, mu, nesterov)


@njit(fastmath=set(FASTMATH))
def adam_update(w, g, m, v, v_hat, offsets, sizes, scales, clipvalue, wd_lr, alpha, beta_1, beta_2, epsilon,
                amsgrad):
    """One Adam step over the flat buffer, in place: :func:`adam_element` per element, in coefficient
    form (``v_hat`` empty without AMSGrad; ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``)::

        m <- m + (g - m) c1        v <- v + (g^2 - v) c2        (c1 = 1 - beta_1, c2 = 1 - beta_2)
        w <- w - m alpha / (sqrt(v, or v_hat <- max(v_hat, v)) + epsilon)
    """
    t = w.dtype.type
    clip, decay = t(clipvalue), t(wd_lr)
    a, c1, c2, eps = t(alpha), t(1.0 - beta_1), t(1.0 - beta_2), t(epsilon)
    for s in range(offsets.size):
        scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
        ws, gs, ms, vs, hs = w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], v_hat[lo:hi]
        for i in range(ws.size):
            gi = _clip(gs[i], scale, clip)
            wi = _decay(ws[i], decay)
            mi = ms[i] + (gi - ms[i]) * c1
            vi = vs[i] + (gi * gi - vs[i]) * c2
            ms[i] = mi
            vs[i] = vi
            if amsgrad:
                vi = max(hs[i], vi)
                hs[i] = vi
            ws[i] = wi - (mi * a) / (math.sqrt(vi) + eps)


@njit(fastmath=set(FASTMATH))
def adadelta_update(w, g, acc_grad, acc_delta, offsets, sizes, scales, clipvalue, wd_lr, lr, rho, epsilon):
    """One Adadelta step over the flat buffer, in place: :func:`adadelta_element` per element, in
    coefficient form (``c = 1 - rho``)::

        A <- rho A + c g^2     d = -sqrt(D + eps) g / sqrt(A + eps)     D <- rho D + c d^2     w <- w + lr d
    """
    t = w.dtype.type
    clip, decay = t(clipvalue), t(wd_lr)
    lr_t, rho_t, c, eps = t(lr), t(rho), t(1.0 - rho), t(epsilon)
    for s in range(offsets.size):
        scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
        ws, gs, ags, ads = w[lo:hi], g[lo:hi], acc_grad[lo:hi], acc_delta[lo:hi]
        for i in range(ws.size):
            gi = _clip(gs[i], scale, clip)
            wi = _decay(ws[i], decay)
            ag = rho_t * ags[i] + c * (gi * gi)
            delta = -(math.sqrt(ads[i] + eps) * gi) / math.sqrt(ag + eps)
            ags[i] = ag
            ads[i] = rho_t * ads[i] + c * (delta * delta)
            ws[i] = wi + lr_t * delta


@njit(fastmath=set(FASTMATH))
def adagrad_update(w, g, accumulator, offsets, sizes, scales, clipvalue, wd_lr, lr, epsilon):
    """One Adagrad step over the flat buffer, in place: :func:`adagrad_element` per element."""
    t = w.dtype.type
    clip, decay, lr_t, eps = t(clipvalue), t(wd_lr), t(lr), t(epsilon)
    for s in range(offsets.size):
        scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
        ws, gs, acs = w[lo:hi], g[lo:hi], accumulator[lo:hi]
        for i in range(ws.size):
            gi = _clip(gs[i], scale, clip)
            wi = _decay(ws[i], decay)
            ws[i], acs[i] = _adagrad(wi, gi, acs[i], lr_t, eps)


@njit(fastmath=set(FASTMATH))
def rmsprop_update(w, g, velocity, average_gradient, momentum_buffer, offsets, sizes, scales, clipvalue,
                   wd_lr, lr, rho, momentum, epsilon, centered):
    """One RMSprop step over the flat buffer, in place: :func:`rmsprop_element` per element, in
    coefficient form (``c = 1 - rho``; ``average_gradient`` empty unless centered,
    ``momentum_buffer`` empty unless ``momentum > 0``)::

        v <- rho v + c g^2     [gbar <- rho gbar + c g]     inc = lr g / sqrt(v [- gbar^2] + eps)
        w <- w - inc,   or with momentum:  b <- momentum b + inc,  w <- w - b
    """
    t = w.dtype.type
    clip, decay = t(clipvalue), t(wd_lr)
    lr_t, rho_t, c, mu, eps = t(lr), t(rho), t(1.0 - rho), t(momentum), t(epsilon)
    for s in range(offsets.size):
        scale, lo, hi = t(scales[s]), offsets[s], offsets[s] + sizes[s]
        ws, gs, vs = w[lo:hi], g[lo:hi], velocity[lo:hi]
        avs, bs = average_gradient[lo:hi], momentum_buffer[lo:hi]
        for i in range(ws.size):
            gi = _clip(gs[i], scale, clip)
            wi = _decay(ws[i], decay)
            vi = rho_t * vs[i] + c * (gi * gi)
            vs[i] = vi
            if centered:
                ai = rho_t * avs[i] + c * gi
                avs[i] = ai
                denominator = vi - ai * ai + eps
            else:
                denominator = vi + eps
            increment = (lr_t * gi) / math.sqrt(denominator)
            if momentum > 0.0:
                bi = mu * bs[i] + increment
                bs[i] = bi
                ws[i] = wi - bi
            else:
                ws[i] = wi - increment


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
