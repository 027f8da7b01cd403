"""Numba kernels that run a flattened scalar graph (a *tape*) forward and backward.

A tape is a scalar :class:`~microgradx.engine.Value` graph written as arrays, one row per node in
topological order (every operand before the node that uses it):

* ``op[i]`` (int32): what node ``i`` computes, one of the ``OP_*`` codes below;
* ``arg[i, 0]``, ``arg[i, 1]`` (int32): the rows of its operands, ``-1`` when unused. For a leaf
  (``op[i] <= OP_PARAM``) ``arg[i, 0]`` is instead the input's column (``OP_INPUT``), the
  parameter's index (``OP_PARAM``) or ``-1`` (``OP_CONST``);
* ``const[i, 0]``, ``const[i, 1]`` (float64): numbers baked into the node: a constant leaf's value,
  the exponent of ``a ** 2``, the bounds of ``clip``.

The forward pass fills two work rows per sample: ``vals[i]`` (the node's value) and ``loc[i, k]``
(its local derivative with respect to operand ``k``), computed with exactly the formulas of
:class:`~microgradx.engine.Value`. The backward pass is the engine's chain rule,

    grad[root] = 1;   for i = n-1 ... 0:   grad[arg[i, k]] += loc[i, k] * grad[i]     (k = 0, 1)

in the same order, so the tape reproduces the interpreted graph up to the last bit of libm.

:func:`run_chunks` is the only compiled entry point (one float64 specialization; the helpers are
inlined into it): it runs a range of fixed-size chunks of samples and releases the GIL, so the caller
runs disjoint chunk ranges in parallel threads and adds the per-chunk partial sums in chunk order.

Domain errors are never turned into NaN: a kernel stops at the first offending node and returns an
``ERR_*`` code and the node's row; the Python side (:mod:`microgradx.tape`) raises the engine's error.
Kernels are array-in/array-out and never import the model layer.
"""

from __future__ import annotations

import math
import sys

from .jit import njit

__all__ = [
    "OP_CONST", "OP_INPUT", "OP_PARAM", "OP_ADD", "OP_SUB", "OP_MUL", "OP_DIV", "OP_POW_CONST",
    "OP_POW", "OP_NEG", "OP_EXP", "OP_LOG", "OP_LOG1P", "OP_SQRT", "OP_TANH", "OP_SIGMOID", "OP_RELU",
    "OP_ABS", "OP_SOFTPLUS", "OP_CLIP",
    "OK", "ERR_DIV_ZERO", "ERR_POW_ZERO_NEGATIVE", "ERR_POW_NEGATIVE_BASE", "ERR_POW_OVERFLOW",
    "ERR_POW_LOG_BASE", "ERR_EXP_OVERFLOW", "ERR_LOG_DOMAIN", "ERR_LOG1P_DOMAIN", "ERR_SQRT_NEGATIVE",
    "ERR_SQRT_ZERO", "ERR_NONFINITE_VALUE", "ERR_NONFINITE_GRAD", "EXP_MAX",
    "forward_sample", "backward_sample", "run_chunks",
]

# ---------------------------------------------------------------- op codes
OP_CONST = 0       # leaf: const[i, 0]
OP_INPUT = 1       # leaf: x[arg[i, 0]]
OP_PARAM = 2       # leaf: p[arg[i, 0]]
OP_ADD = 3         # a + b
OP_SUB = 4         # a - b
OP_MUL = 5         # a * b
OP_DIV = 6         # a / b
OP_POW_CONST = 7   # a ** const[i, 0]
OP_POW = 8         # a ** b  (b a node)
OP_NEG = 9         # -a
OP_EXP = 10
OP_LOG = 11
OP_LOG1P = 12
OP_SQRT = 13
OP_TANH = 14
OP_SIGMOID = 15
OP_RELU = 16
OP_ABS = 17
OP_SOFTPLUS = 18
OP_CLIP = 19       # min(max(a, const[i, 0]), const[i, 1])

# -------------------------------------------------------------- error codes
OK = 0
ERR_DIV_ZERO = 1            # a / 0
ERR_POW_ZERO_NEGATIVE = 2   # 0 ** negative
ERR_POW_NEGATIVE_BASE = 3   # negative ** non-integer
ERR_POW_OVERFLOW = 4        # a ** b overflows
ERR_POW_LOG_BASE = 5        # d(a**b)/db = a**b ln(a) with a <= 0
ERR_EXP_OVERFLOW = 6
ERR_LOG_DOMAIN = 7          # log(a <= 0)
ERR_LOG1P_DOMAIN = 8        # log1p(a <= -1)
ERR_SQRT_NEGATIVE = 9
ERR_SQRT_ZERO = 10          # d sqrt(a)/da infinite at 0
ERR_NONFINITE_VALUE = 11    # +, -, *, / overflowed to inf
ERR_NONFINITE_GRAD = 12     # a gradient overflowed

#: the largest a with a finite exp(a): ln(largest float64) (Python's math.exp raises above it)
EXP_MAX = math.log(sys.float_info.max)


@njit(inline="always")
def _power(a: float, b: float) -> tuple:
    """``(a ** b, error code)`` with the checks of ``Value._power``."""
    if a == 0.0 and b < 0.0:
        return 0.0, ERR_POW_ZERO_NEGATIVE
    if a < 0.0 and b != math.floor(b):
        return 0.0, ERR_POW_NEGATIVE_BASE
    out = a ** b
    if math.isinf(out):
        return 0.0, ERR_POW_OVERFLOW
    return out, OK


@njit(inline="always")
def forward_sample(op, arg, const, x, p, vals, loc) -> tuple:
    """Fill ``vals`` (node values) and ``loc`` (local derivatives) for one sample ``x``.

    Returns ``(error code, row)``: ``(OK, -1)``, or the first node whose operation is undefined.
    Each branch states the forward value and its local derivatives, as in ``Value``.
    """
    n = op.shape[0]
    for i in range(n):
        code = op[i]
        loc[i, 0] = 0.0
        loc[i, 1] = 0.0
        if code == OP_CONST:
            vals[i] = const[i, 0]
            continue
        if code == OP_INPUT:
            vals[i] = x[arg[i, 0]]
            continue
        if code == OP_PARAM:
            vals[i] = p[arg[i, 0]]
            continue
        a = vals[arg[i, 0]]
        b = vals[arg[i, 1]] if arg[i, 1] >= 0 else 0.0
        err = OK
        if code == OP_ADD:                      # d/da = 1, d/db = 1
            out = a + b
            loc[i, 0] = 1.0
            loc[i, 1] = 1.0
        elif code == OP_SUB:                    # d/da = 1, d/db = -1
            out = a - b
            loc[i, 0] = 1.0
            loc[i, 1] = -1.0
        elif code == OP_MUL:                    # d/da = b, d/db = a
            out = a * b
            loc[i, 0] = b
            loc[i, 1] = a
        elif code == OP_DIV:                    # d/da = 1/b, d/db = -a/b**2 = -out/b
            if b == 0.0:
                return ERR_DIV_ZERO, i
            out = a / b
            loc[i, 0] = 1.0 / b
            loc[i, 1] = -out / b
        elif code == OP_POW_CONST:              # d/da = c a**(c-1)
            c = const[i, 0]
            out, err = _power(a, c)
            if err == OK and c != 0.0:
                da, err = _power(a, c - 1.0)
                loc[i, 0] = c * da
        elif code == OP_POW:                    # d/da = b a**(b-1), d/db = a**b ln(a)
            out, err = _power(a, b)
            if err == OK:
                if a > 0.0:
                    loc[i, 1] = out * math.log(a)
                elif not (a == 0.0 and b > 0.0):
                    err = ERR_POW_LOG_BASE
            if err == OK and b != 0.0:
                da, err = _power(a, b - 1.0)
                loc[i, 0] = b * da
        elif code == OP_NEG:                    # d/da = -1
            out = -a
            loc[i, 0] = -1.0
        elif code == OP_EXP:                    # d/da = exp(a)
            if a > EXP_MAX:
                return ERR_EXP_OVERFLOW, i
            out = math.exp(a)
            loc[i, 0] = out
        elif code == OP_LOG:                    # d/da = 1/a
            if a <= 0.0:
                return ERR_LOG_DOMAIN, i
            out = math.log(a)
            loc[i, 0] = 1.0 / a
        elif code == OP_LOG1P:                  # d/da = 1/(1+a)
            if a <= -1.0:
                return ERR_LOG1P_DOMAIN, i
            out = math.log1p(a)
            loc[i, 0] = 1.0 / (1.0 + a)
        elif code == OP_SQRT:                   # d/da = 1/(2 sqrt(a))
            if a < 0.0:
                return ERR_SQRT_NEGATIVE, i
            if a == 0.0:
                return ERR_SQRT_ZERO, i
            out = math.sqrt(a)
            loc[i, 0] = 0.5 / out
        elif code == OP_TANH:                   # d/da = 1 - tanh(a)**2
            out = math.tanh(a)
            loc[i, 0] = 1.0 - out * out
        elif code == OP_SIGMOID:                # d/da = s (1 - s)
            out = _sigmoid(a)
            loc[i, 0] = out * (1.0 - out)
        elif code == OP_RELU:                   # d/da = 1 if a > 0 else 0
            if a > 0.0:
                out = a
                loc[i, 0] = 1.0
            else:
                out = 0.0
        elif code == OP_ABS:                    # d/da = sign(a), 0 at 0
            out = abs(a)
            loc[i, 0] = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)
        elif code == OP_SOFTPLUS:               # max(a, 0) + log1p(exp(-|a|)); d/da = sigmoid(a)
            out = max(a, 0.0) + math.log1p(math.exp(-abs(a)))
            loc[i, 0] = _sigmoid(a)
        else:                                   # OP_CLIP: d/da = 1 inside [low, high], else 0
            low = const[i, 0]
            high = const[i, 1]
            out = min(max(a, low), high)
            loc[i, 0] = 1.0 if low <= a <= high else 0.0
        if err != OK:
            return err, i
        if not math.isfinite(out):
            return ERR_NONFINITE_VALUE, i
        vals[i] = out
    return OK, -1


@njit(inline="always")
def _sigmoid(a: float) -> float:
    """The numerically stable logistic function of ``microgradx.engine._sigmoid``."""
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@njit(inline="always")
def backward_sample(op, arg, loc, grad) -> tuple:
    """The chain rule in reverse tape order: ``grad[arg[i, k]] += loc[i, k] * grad[i]``.

    ``grad`` is overwritten (the root, the last row, gets 1). Leaves push nothing (their
    ``arg[i, 0]`` is an input column or parameter index, not an operand).
    Returns ``(OK, -1)`` or ``(ERR_NONFINITE_GRAD, row)``.
    """
    n = arg.shape[0]
    for i in range(n):
        grad[i] = 0.0
    grad[n - 1] = 1.0
    for i in range(n - 1, -1, -1):
        g = grad[i]
        if not math.isfinite(g):
            return ERR_NONFINITE_GRAD, i
        if op[i] <= OP_PARAM:
            continue
        grad[arg[i, 0]] += loc[i, 0] * g
        j = arg[i, 1]
        if j >= 0:
            grad[j] += loc[i, 1] * g
    return OK, -1


@njit(nogil=True)
def run_chunks(op, arg, const, x, p, chunk, first, last, with_grad, input_rows, param_rows,
               outputs, input_grads, partial_grads, partial_loss, errors, vals, loc, grad) -> None:
    """Run the tape for the samples (rows of ``x``) of chunks ``first ... last - 1``.

    Chunk ``c`` holds samples ``c * chunk ... (c + 1) * chunk - 1``; its results go to row ``c`` of
    the partial sums, in sample order, so callers may run disjoint chunk ranges in parallel threads
    (the kernel releases the GIL) and add the partials in chunk order afterwards: the result never
    depends on the number of threads. ``vals``, ``loc``, ``grad`` are the caller's work rows (one set
    per thread); after the call they hold the last sample's values, local derivatives and gradients.
    Fills:

    * ``outputs[s]``: the root's value for sample ``s``; ``partial_loss[c]``: their sum over chunk ``c``;
    * ``input_grads[s, j]``: d root / d input ``j`` of sample ``s`` (if ``with_grad``);
    * ``partial_grads[c, j]``: sum over chunk ``c`` of d root / d parameter ``j`` (if ``with_grad``);
    * ``errors[c] = (sample, row, code)``: the first domain error of chunk ``c``; the chunk stops there.
    """
    n = op.shape[0]
    n_samples = x.shape[0]
    for c in range(first, last):
        start = c * chunk
        stop = min(start + chunk, n_samples)
        for s in range(start, stop):
            err, row = forward_sample(op, arg, const, x[s], p, vals, loc)
            if err == OK and with_grad:
                err, row = backward_sample(op, arg, loc, grad)
            if err != OK:
                errors[c, 0] = s
                errors[c, 1] = row
                errors[c, 2] = err
                break
            outputs[s] = vals[n - 1]
            partial_loss[c] += vals[n - 1]
            if with_grad:  # rows of -1: inputs / parameters the graph does not use (gradient 0)
                for j in range(input_rows.shape[0]):
                    if input_rows[j] >= 0:
                        input_grads[s, j] = grad[input_rows[j]]
                for j in range(param_rows.shape[0]):
                    if param_rows[j] >= 0:
                        partial_grads[c, j] += grad[param_rows[j]]
