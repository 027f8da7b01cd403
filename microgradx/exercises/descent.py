"""Exercises of tutorial 4 (gradient descent): one step of the slide's update rule, the critical learning
rate of a quadratic, predict-then-run on the learning rate, and a learning rate picked to converge fast.

Oracles: the update rule applied element by element, the closed form of gradient descent on
J(w) = a w² (each step multiplies w by 1 − 2aη), and a simulated run.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .result import NotAttempted, Result, StudentError, as_number, call, diagnose, is_placeholder, passed, \
    run_student, wrong

__all__ = ["QUADRATIC_A", "check_step", "check_critical_rate", "check_prediction", "check_fast_rate",
           "PREDICTIONS"]

#: J(w) = a w² for exercises 4.2 to 4.4
QUADRATIC_A = 2.5


def check_step(step: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> Result:
    """Exercise 4.1: ``step(w, grad, learning_rate)`` returns the updated weights W − η ∂J/∂W."""
    def check() -> Result:
        rng = np.random.default_rng(4)
        for learning_rate in (0.1, 0.01):
            w, grad = rng.normal(size=3), rng.normal(size=3)
            got = run_student(step, w.copy(), grad.copy(), learning_rate)
            if got is None:
                return wrong("4.1", "returned_none", "return the new weights (it returned None).")
            got = np.asarray(got, dtype=float)
            if got.shape == w.shape and np.allclose(got, w - learning_rate * grad, rtol=1e-12, atol=1e-15):
                continue
            for hint_id, candidate, message in (
                    ("uphill", w + learning_rate * grad, "that step goes uphill: the update moves against the "
                                                         "gradient, W ← W − η ∂J/∂W."),
                    ("no_learning_rate", w - grad, "the gradient is scaled by the learning rate η."),
                    ("step_only", -learning_rate * grad, "that is the change; return the new weights W + change.")):
                if got.shape == w.shape and np.allclose(got, candidate):
                    return wrong("4.1", hint_id, message)
            return wrong("4.1", "generic", "return W − η · ∂J/∂W, element by element.")
        return passed("4.1", "W ← W − η ∂J/∂W.")
    return call("4.1", check)


def _factor(learning_rate: float) -> float:
    """Gradient descent on J(w) = a w²: w ← w − η 2a w = (1 − 2aη) w."""
    return 1.0 - 2.0 * QUADRATIC_A * learning_rate


def check_critical_rate(answer: Any) -> Result:
    """Exercise 4.2: the learning rate above which gradient descent on J(w) = a w² diverges."""
    def check() -> Result:
        value = as_number(answer)
        rates = np.linspace(0.0, 2.0 / QUADRATIC_A, 400001)[1:]
        converging = rates[np.abs([_factor(r) for r in rates]) < 1.0]
        edge = float(converging.max())                 # the largest rate on the grid that still converges
        if math.isclose(value, edge, rel_tol=1e-4):
            return passed("4.2", "each step multiplies w by 1 − 2aη, which shrinks |w| only while η < 2/J''.")
        curvature = 2 * QUADRATIC_A
        return diagnose("4.2", value, {
            "one_step": (1 / curvature, "at that rate gradient descent lands on the minimum in one step; rates "
                                        "above it still converge, overshooting by less each time."),
            "forgot_two": (2 / QUADRATIC_A, "J'(w) = 2aw: the curvature J'' is 2a, not a."),
            "curvature": (curvature, "that is the curvature J''; the critical rate is inversely proportional to it."),
        }, "write one step as w ← (1 − η·J'')·w and find where |1 − η·J''| reaches 1.", rel=1e-3)
    return call("4.2", check)


#: exercise 4.3: the multiple-choice answers
PREDICTIONS = {
    "a": "the loss falls at every step and w keeps its sign",
    "b": "w jumps from side to side of the minimum, closer each time, and the loss falls",
    "c": "w jumps from side to side, further each time: the loss grows",
}


def check_prediction(answer: Any, fraction: float) -> Result:
    """Exercise 4.3: predict what gradient descent on J(w) = a w² does at ``fraction`` × the critical rate."""
    def check() -> Result:
        if is_placeholder(answer):
            raise NotAttempted
        choice = str(answer).strip().lower()
        if choice not in PREDICTIONS:
            raise StudentError from ValueError(f"answer with one of {sorted(PREDICTIONS)}, got {answer!r}")
        factor = _factor(fraction * (1.0 / QUADRATIC_A))      # the critical rate is 1/a
        truth = "a" if 0 <= factor < 1 else "b" if -1 < factor < 0 else "c"
        if choice == truth:
            return passed("4.3", f"each step multiplies w by 1 − 2aη = {factor:+.2f}; run the next cell to see it.")
        hints = {
            "a": ("keeps_sign", "above 1/J'' the factor 1 − η·J'' is negative: every step crosses the minimum."),
            "b": ("oscillates", "look at |1 − η·J''|: it decides whether the jumps shrink or grow."),
            "c": ("diverges", "look at |1 − η·J''|: below the critical rate the jumps shrink."),
        }
        hint_id, message = hints[choice]
        return wrong("4.3", hint_id, message)
    return call("4.3", check)


#: exercise 4.4: reach |w| < TOLERANCE from w = 1 within this many steps
FAST_STEPS, TOLERANCE = 5, 1e-3


def check_fast_rate(answer: Any) -> Result:
    """Exercise 4.4: a learning rate with which gradient descent on J(w) = a w² gets from w = 1 to
    |w| < 1e-3 in at most 5 steps (simulated)."""
    def check() -> Result:
        rate = as_number(answer)
        if rate <= 0:
            return wrong("4.4", "not_positive", "a learning rate is a positive number.")
        w = 1.0
        for _ in range(FAST_STEPS):
            w -= rate * 2 * QUADRATIC_A * w
        if abs(w) < TOLERANCE:
            return passed("4.4", f"|w| = {abs(w):.1e} after {FAST_STEPS} steps.")
        if abs(_factor(rate)) >= 1:
            return wrong("4.4", "diverges", "with this rate w does not shrink at all: stay below the critical "
                                            "rate of exercise 4.2.")
        if _factor(rate) > 0:
            return wrong("4.4", "too_small", "too slow: each step only removes a small share of w. A larger rate "
                                             "removes more.")
        return wrong("4.4", "too_large", "w overshoots to the other side and shrinks slowly: a slightly smaller "
                                         "rate removes more of w per step.")
    return call("4.4", check)
