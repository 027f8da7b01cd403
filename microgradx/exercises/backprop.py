"""Exercises of tutorial 3 (backpropagation): a gradient as a product of local derivatives, gradients that
add up where a node is used twice, and gradients that accumulate across backward passes.

Oracles: central differences of the network written with :mod:`math`; the sum rule for a node used twice;
the accumulation rule of leaves (each ``backward()`` adds its gradient once more).
"""

from __future__ import annotations

import math
from typing import Any

from .result import Result, as_number, call, diagnose, passed

__all__ = ["CHAIN", "check_chain_rule", "check_reused_node", "check_two_backward_passes"]

#: exercise 3.1: z1 = tanh(w1 x), ŷ = w2 z1, J = (ŷ − y)²
CHAIN = {"x": 2.0, "w1": 0.5, "w2": -1.0, "y": 0.5}


def _chain_loss(w1: float) -> float:
    z1 = math.tanh(w1 * CHAIN["x"])
    return (CHAIN["w2"] * z1 - CHAIN["y"]) ** 2


def check_chain_rule(answer: Any) -> Result:
    """Exercise 3.1: ∂J/∂w1 = ∂J/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂w1 for :data:`CHAIN`."""
    def check() -> Result:
        value = as_number(answer)
        h, w1 = 1e-6, CHAIN["w1"]
        expected = (_chain_loss(w1 + h) - _chain_loss(w1 - h)) / (2 * h)
        if math.isclose(value, expected, rel_tol=1e-4):
            return passed("3.1", "three local derivatives, multiplied along the path from w1 to J.")
        x, w2, y = CHAIN["x"], CHAIN["w2"], CHAIN["y"]
        z1 = math.tanh(w1 * x)
        dj_dyhat, dyhat_dz1, dz1_dw1 = 2 * (w2 * z1 - y), w2, (1 - z1 * z1) * x
        return diagnose("3.1", value, {
            "no_tanh_slope": (dj_dyhat * dyhat_dz1 * x, "the path passes through tanh: multiply by its local "
                                                         "derivative 1 − z1² as well."),
            "no_x": (dj_dyhat * dyhat_dz1 * (1 - z1 * z1), "∂(w1 x)/∂w1 = x: the input is the last factor."),
            "sign": (-expected, "check the signs: w2 and ŷ − y are both negative here."),
            "last_layer_only": (dj_dyhat * dyhat_dz1, "that is ∂J/∂z1: continue down the path to w1."),
            "no_upstream": (dyhat_dz1 * dz1_dw1, "∂J/∂ŷ = 2(ŷ − y) is the first factor of every path."),
        }, "write z1, ŷ and J first, then multiply 2(ŷ − y), ∂ŷ/∂z1 and ∂z1/∂w1.", rel=1e-3)
    return call("3.1", check)


#: exercise 3.2: b = a * a at this a
REUSED_A = 3.0


def check_reused_node(answer: Any) -> Result:
    """Exercise 3.2: ``a.grad`` after ``(a * a).backward()`` at ``a = 3``: both edges from ``a`` contribute."""
    def check() -> Result:
        value = as_number(answer)
        a = REUSED_A
        per_edge = a                     # d(a*b)/da = b, with b = a
        if math.isclose(value, 2 * per_edge):
            return passed("3.2", "a reaches b along two edges and their contributions add: grad += ..., "
                                 "never grad = ... .")
        return diagnose("3.2", value, {
            "assignment": (per_edge, "that is one edge's contribution: a is both inputs of the product, so both "
                                     "edges push a gradient into it and the two add (+=)."),
            "value": (a * a, "that is b's value; the question is ∂b/∂a."),
        }, "d(a·a)/da: count what each of the two edges into a contributes.")
    return call("3.2", check)


#: exercise 3.3: L = 3 w, backward() called this many times without resetting the gradients
BACKWARD_CALLS = 2


def check_two_backward_passes(answer: Any) -> Result:
    """Exercise 3.3: ``w.grad`` after calling ``(3 * w).backward()`` twice without ``zero_grad``."""
    def check() -> Result:
        value = as_number(answer)
        slope = 3.0
        if math.isclose(value, BACKWARD_CALLS * slope):
            return passed("3.3", "leaf gradients accumulate: reset them (zero_grad) before each training step.")
        return diagnose("3.3", value, {
            "reset": (slope, "backward() does not reset the leaves: the second pass adds its gradient to the "
                             "first one (that is why a training loop calls zero_grad every step)."),
            "squared": (slope ** BACKWARD_CALLS, "the passes add their gradients, they do not multiply them."),
        }, "each backward() adds dL/dw to w.grad once more.")
    return call("3.3", check)
