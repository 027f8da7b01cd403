"""Exercises of tutorial 1 (a single neuron): its output by hand, tanh's local derivative, its parameters.

Oracles: the closed form of the neuron, central differences of :func:`math.tanh`, the count of the
lecture's weights and biases edge by edge.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..engine import Value
from .result import NotAttempted, Result, StudentError, as_number, call, diagnose, passed, run_student, wrong

__all__ = ["NEURON", "check_neuron_output", "check_tanh", "check_parameter_count"]

#: exercise 1.1: the inputs, weights and bias of the neuron whose output the student computes
NEURON = {"x": (1.5, -2.0), "w": (0.4, 0.3), "b": 0.2}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def check_neuron_output(answer: Any) -> Result:
    """Exercise 1.1: ŷ = sigmoid(b + w1 x1 + w2 x2) for :data:`NEURON`."""
    def check() -> Result:
        value = as_number(answer)
        weighted = sum(w * x for w, x in zip(NEURON["w"], NEURON["x"]))
        z = NEURON["b"] + weighted
        if math.isclose(value, _sigmoid(z), rel_tol=1e-4):
            return passed("1.1", "ŷ = g(z) with z = w0 + Σ xᵢwᵢ.")
        return diagnose("1.1", value, {
            "no_activation": (z, "that is z, the weighted sum: the neuron still passes it through g = sigmoid."),
            "no_bias": (_sigmoid(weighted), "the bias w0 is part of z: z = w0 + Σ xᵢwᵢ."),
            "tanh": (math.tanh(z), "this neuron's nonlinearity is the sigmoid 1 / (1 + e^(−z)), not tanh."),
        }, "compute z = w0 + x1·w1 + x2·w2 first, then ŷ = 1 / (1 + e^(−z)).")
    return call("1.1", check)


#: where exercise 1.2 evaluates the student's tanh
TANH_POINTS = (-2.0, -0.5, 0.0, 0.7, 1.9)


def _central_difference(f: Callable[[float], float], a: float, h: float = 1e-5) -> float:
    return (f(a + h) - f(a - h)) / (2 * h)


def check_tanh(tanh: Callable[[Value], Value]) -> Result:
    """Exercise 1.2: a ``tanh`` op for :class:`Value` whose local derivative backward() multiplies by.

    The gradient ``backward()`` gives through the student's op is compared with central differences of
    :func:`math.tanh`, alone and composed (``tanh(tanh(a))``, ``tanh(a) * tanh(a)``)."""
    def grad_through(build: Callable[[Value], Value], a: float) -> tuple[Value, float]:
        leaf = Value(a, label="a")
        out = run_student(build, leaf)
        if not isinstance(out, Value):
            raise StudentError from TypeError(f"tanh must return a Value, got {type(out).__name__}")
        if any(local is Ellipsis or local is None for local in out.local_grads):
            raise NotAttempted
        try:
            out.backward(record=False)
        except TypeError as error:
            raise StudentError from TypeError(f"backward() could not use your local derivative: {error}")
        return out, leaf.grad

    def check() -> Result:
        for a in TANH_POINTS:
            out, grad = grad_through(tanh, a)
            t = math.tanh(a)
            if not math.isclose(out.data, t, rel_tol=1e-9, abs_tol=1e-12):
                return wrong("1.2", "forward", "the forward value is off: the output must be math.tanh(a.data).")
            if out.children != () and all(child.data != a for child in out.children):
                return wrong("1.2", "children", "the output's child must be the input a: _children=(a,).")
            if not out.children:
                return wrong("1.2", "no_children", "the output is not connected to a: pass _children=(a,) and "
                                                   "_local_grads=(local,) so that backward() reaches a.")
            if not math.isclose(grad, _central_difference(math.tanh, a), rel_tol=1e-6, abs_tol=1e-8):
                return diagnose("1.2", grad, {
                    "output": (t, "that is tanh itself; the local derivative is its slope d tanh(a)/da."),
                    "input_squared": (1 - a * a, "square the output t = tanh(a), not the input a: "
                                                 "d tanh(a)/da = 1 − tanh(a)²."),
                    "sign": (1 + t * t, "check the sign: tanh flattens out for large |a|, so its slope shrinks "
                                        "as t² grows."),
                    "negated": (-(1 - t * t), "tanh is increasing, so its slope is positive everywhere."),
                    "sigmoid": (t * (1 - t), "t (1 − t) is the sigmoid's derivative; tanh's is written with t²."),
                    "no_square": (1 - t, "close: the output appears squared in tanh's derivative."),
                }, "the local derivative of tanh, written with its output t, is a short formula in t: "
                   "differentiate (e^a − e^−a)/(e^a + e^−a) or look at the slope curve of this notebook.")
        for name, build, reference in (
                ("tanh(tanh(a))", lambda v: tanh(tanh(v)), lambda a: math.tanh(math.tanh(a))),
                ("tanh(a) * tanh(a)", lambda v: tanh(v) * tanh(v), lambda a: math.tanh(a) ** 2)):
            for a in TANH_POINTS:
                _, grad = grad_through(build, a)
                if not math.isclose(grad, _central_difference(reference, a), rel_tol=1e-6, abs_tol=1e-8):
                    return wrong("1.2", "composition", f"your op works alone but not inside {name}: keep the "
                                 "local derivative a number computed from this call's a, nothing global.")
        return passed("1.2", "backward() through your tanh matches central differences, alone and composed.")
    return call("1.2", check)


def check_parameter_count(count: Callable[[int, int, int], int]) -> Result:
    """Exercise 1.3: ``count(inputs, hidden, outputs)``, the weights and biases of the lecture's
    single-hidden-layer network, every input joined to every hidden unit and every hidden unit to every
    output, one bias per unit."""
    def check() -> Result:
        for m, d, n in ((2, 3, 1), (3, 4, 2), (5, 1, 3), (1, 7, 1)):
            got = run_student(count, m, d, n)
            edges, biases = m * d + d * n, d + n
            try:
                got = int(as_number(got))
            except StudentError:
                return wrong("1.3", "not_a_number", "count must return a whole number.")
            if got == edges + biases:
                continue
            known = {
                "no_biases": (edges, "you counted the edges; every hidden and every output unit also has a bias."),
                "one_bias_per_layer": (edges + 2, "there is one bias per unit, not one per layer."),
                "product": (m * d * n, "layers add up, they do not multiply: count the m·d first-layer weights "
                                       "and the d·n second-layer weights separately."),
                "input_biases": (edges + m + d + n, "inputs are data: they have no bias."),
            }
            return diagnose("1.3", got, known, "count one weight per edge between layers and one bias per "
                                               "hidden and output unit.")
        return passed("1.3", "(m + 1)·d + (d + 1)·n: one weight per edge, one bias per unit.")
    return call("1.3", check)
