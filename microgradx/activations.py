"""Activation functions, each written twice with one formula: on float arrays and on ``Value`` arrays.

=========  =================================================  ==========================================
name       forward                                            derivative (what backprop multiplies by)
=========  =================================================  ==========================================
linear     a(z) = z                                           1
relu       a(z) = max(z, 0)                                   1 if z > 0 else 0
tanh       a(z) = tanh(z)                                     1 - a**2
sigmoid    a(z) = 1 / (1 + exp(-z))                           a (1 - a)
softmax    a_k = exp(z_k - m) / sum_j exp(z_j - m),           a_k (delta_kj - a_j)
           m = max_j z_j (subtracted for stability; it
           cancels, so the value is unchanged)
=========  =================================================  ==========================================

``forward(name, z)`` works on float arrays (the reference the engines are checked against);
``value_forward(name, z)`` works on 2-D object arrays of :class:`~microgradx.engine.Value` and builds
the graph (softmax over the last axis, row by row).
"""

from __future__ import annotations

import numpy as np

from .engine import Value, sum_values

__all__ = ["ACTIVATIONS", "get", "forward", "value_forward"]

#: the activation names Dense accepts (``None`` means ``"linear"``).
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "softmax")


def get(name: str | None) -> str:
    """Validate an activation name; ``None`` -> ``"linear"``."""
    if name is None:
        return "linear"
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(f"Invalid value received for argument `activation`: {name!r}. "
                         f"Expected one of {list(ACTIVATIONS)} or None.")
    return name.lower()


def forward(name: str, z: np.ndarray) -> np.ndarray:
    """The activation ``name`` applied to a float array ``z`` (softmax over the last axis)."""
    name = get(name)
    z = np.asarray(z)
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0.0).astype(z.dtype, copy=False)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        # stable: 1/(1+exp(-z)) for z >= 0, exp(z)/(1+exp(z)) for z < 0
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_row(row: np.ndarray) -> list[Value]:
    m = max(v.data for v in row)  # a constant: subtracting it changes nothing but the float range
    exps = [(v - m).exp() for v in row]
    total = sum_values(exps)
    return [e / total for e in exps]


def value_forward(name: str, z: np.ndarray) -> np.ndarray:
    """The activation ``name`` on a 2-D object array of ``Value`` (one graph node per element)."""
    name = get(name)
    if name == "linear":
        return z
    if name == "softmax":
        return np.array([_softmax_row(row) for row in z], dtype=object).reshape(z.shape)
    op = {"relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid}[name]
    out = np.empty(z.shape, dtype=object)
    out.flat = [op(v) for v in z.flat]
    return out
