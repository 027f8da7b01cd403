"""The function table every engine's op tests share (minitorch-style).

Each :class:`OpCase` pairs a function written on ``Value``s (``value_fn``) with the same function on
plain floats (``float_fn``, the forward oracle, written with :mod:`math` only), and says how to move the
sampled inputs away from singularities and kinks (``shift``, added to each argument before calling
either function). Gradients are checked against central differences of ``float_fn``.

Other engines reuse the table: ``float_fn`` also accepts numpy float64 scalars, and
:func:`sample_inputs` gives the (shifted) points to test at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from microgradx.engine import sum_values

__all__ = ["OpCase", "ONE_ARG", "TWO_ARG", "ALL_CASES", "SCALAR_ONLY", "ALL_SCALAR_CASES", "POINTS",
           "sample_inputs", "central_difference"]

#: 20 points in [-2.95, 2.75] with step 0.3: none within 0.05 of 0, so kinks at 0 are never straddled
POINTS = tuple(round(-2.95 + 0.3 * k, 10) for k in range(20))


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


@dataclass(frozen=True)
class OpCase:
    """One row of the table.

    Attributes:
        name: the test id.
        value_fn: the function on ``Value``s (may also use numbers as constants).
        float_fn: the same function on floats (the oracle).
        shift: added to each argument (one entry per argument) to stay inside the domain.
    """

    name: str
    value_fn: Callable
    float_fn: Callable
    shift: tuple[float, ...] = (0.0,)

    @property
    def arity(self) -> int:
        return len(self.shift)


ONE_ARG = [
    OpCase("neg", lambda a: -a, lambda a: -a),
    OpCase("add_const", lambda a: a + 5.0, lambda a: a + 5.0),
    OpCase("radd_const", lambda a: 5.0 + a, lambda a: 5.0 + a),
    OpCase("sub_const", lambda a: a - 5.0, lambda a: a - 5.0),
    OpCase("rsub_const", lambda a: 5.0 - a, lambda a: 5.0 - a),
    OpCase("mul_const", lambda a: a * 5.0, lambda a: a * 5.0),
    OpCase("rmul_const", lambda a: 5.0 * a, lambda a: 5.0 * a),
    OpCase("div_const", lambda a: a / 5.0, lambda a: a / 5.0),
    OpCase("rdiv_const", lambda a: 2.0 / a, lambda a: 2.0 / a, (3.5,)),
    OpCase("square", lambda a: a * a, lambda a: a * a),
    OpCase("pow2", lambda a: a ** 2, lambda a: a ** 2),
    OpCase("cube", lambda a: a * a * a, lambda a: a * a * a),
    OpCase("pow_neg1", lambda a: a ** -1, lambda a: a ** -1, (3.5,)),
    OpCase("pow_half", lambda a: a ** 0.5, lambda a: a ** 0.5, (3.5,)),
    OpCase("rpow_const", lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    OpCase("exp", lambda a: a.exp(), math.exp),
    OpCase("log", lambda a: a.log(), math.log, (3.5,)),
    OpCase("log1p", lambda a: a.log1p(), math.log1p, (2.5,)),
    OpCase("sqrt", lambda a: a.sqrt(), math.sqrt, (3.5,)),
    OpCase("tanh", lambda a: a.tanh(), math.tanh),
    OpCase("sigmoid", lambda a: a.sigmoid(), _sigmoid),
    OpCase("relu", lambda a: a.relu(), lambda a: max(a, 0.0)),
    OpCase("abs", lambda a: abs(a), abs),
    OpCase("softplus", lambda a: a.softplus(), lambda a: math.log(1.0 + math.exp(a))),
    OpCase("clip", lambda a: a.clip(-1.0, 1.0), lambda a: min(max(a, -1.0), 1.0)),
    OpCase("explog", lambda a: (a.log() + a.exp()).tanh(), lambda a: math.tanh(math.log(a) + math.exp(a)),
           (3.5,)),
    OpCase("complex", lambda a: ((((a * 10 + 7).relu() * 6 + 5).relu() * 10).sigmoid().log() / 50),
           lambda a: math.log(_sigmoid(max(max(a * 10 + 7, 0.0) * 6 + 5, 0.0) * 10)) / 50),
]

TWO_ARG = [
    OpCase("add2", lambda a, b: a + b, lambda a, b: a + b, (0.0, 0.0)),
    OpCase("sub2", lambda a, b: a - b, lambda a, b: a - b, (0.0, 0.0)),
    OpCase("mul2", lambda a, b: a * b, lambda a, b: a * b, (0.0, 0.0)),
    OpCase("div2", lambda a, b: a / b, lambda a, b: a / b, (0.0, 3.5)),
    OpCase("pow2_value_exponent", lambda a, b: a ** b, lambda a, b: a ** b, (3.5, 0.0)),
    OpCase("same_input_twice", lambda a, b: a * a + b * a, lambda a, b: a * a + b * a, (0.0, 0.0)),
    OpCase("diamond", lambda a, b: (a * b).tanh() * (a * b).sigmoid(),
           lambda a, b: math.tanh(a * b) * _sigmoid(a * b), (0.0, 0.0)),
]

ALL_CASES = ONE_ARG + TWO_ARG

#: rows that use scalar-engine functions (not methods), so only the ``Value`` engine runs them
SCALAR_ONLY = [
    OpCase("nary_sum", lambda a, b: sum_values([a, b, a * b, 2.0]), lambda a, b: a + b + a * b + 2.0, (0.0, 0.0)),
]
ALL_SCALAR_CASES = ALL_CASES + SCALAR_ONLY


def sample_inputs(case: OpCase) -> list[tuple[float, ...]]:
    """The shifted points to test ``case`` at: ``POINTS`` for one argument, a 20-pair walk for two."""
    if case.arity == 1:
        return [(p + case.shift[0],) for p in POINTS]
    n = len(POINTS)
    return [(POINTS[i] + case.shift[0], POINTS[(7 * i + 3) % n] + case.shift[1]) for i in range(n)]


def central_difference(f: Callable[..., float], args: tuple[float, ...], index: int,
                       eps: float = 1e-6) -> float:
    """(f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2 eps) on the float function."""
    plus = list(args)
    minus = list(args)
    plus[index] += eps
    minus[index] -= eps
    return (f(*plus) - f(*minus)) / (2.0 * eps)
