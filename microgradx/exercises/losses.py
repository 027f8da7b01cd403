"""Exercises of tutorial 2 (quantifying loss): binary cross-entropy and mean squared error by hand, and the
gradient of the lecture's BCE with respect to one prediction.

Oracles: the per-sample definitions written out here (``-log p`` for a label 1, ``-log(1 - p)`` for a
label 0; the squared difference), and central differences for the gradient.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from .result import Result, as_number, call, diagnose, passed, run_student

__all__ = ["LECTURE_BCE", "check_bce", "check_bce_gradient", "check_mse"]

#: the lecture's slide: predictions f(x) and labels y
LECTURE_BCE = {"y_true": (1.0, 0.0, 1.0), "y_pred": (0.1, 0.8, 0.6)}

_BCE_CASES = (LECTURE_BCE["y_true"], LECTURE_BCE["y_pred"]), ((0.0, 1.0), (0.3, 0.9)), \
    ((1.0, 1.0, 0.0, 0.0), (0.7, 0.2, 0.4, 0.05))
_MSE_CASES = ((90.0, 20.0, 85.0), (30.0, 80.0, 85.0)), ((1.0, -2.0), (0.5, 0.0)), \
    ((3.0, 3.0, 3.0, 0.0), (1.0, 4.0, 3.0, 2.0))


def _bce(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """The mean over samples of -log p (label 1) or -log(1 - p) (label 0)."""
    return sum(-math.log(p) if y == 1 else -math.log(1 - p) for y, p in zip(y_true, y_pred)) / len(y_true)


def check_bce(bce: Callable[[Sequence[float], Sequence[float]], float]) -> Result:
    """Exercise 2.1: ``bce(y_true, y_pred)``, the lecture's binary cross-entropy J(W), on plain numbers."""
    def check() -> Result:
        for y_true, y_pred in _BCE_CASES:
            answer = as_number(run_student(bce, list(y_true), list(y_pred)))
            expected = _bce(y_true, y_pred)
            if math.isclose(answer, expected, rel_tol=1e-6):
                continue
            n = len(y_true)
            swapped = _bce([1 - y for y in y_true], y_pred)
            only_ones = -sum(y * math.log(p) for y, p in zip(y_true, y_pred)) / n
            return diagnose("2.1", answer, {
                "positive_sign": (-expected, "the logs of probabilities are negative: J has a minus in front, so "
                                             "that the loss is positive."),
                "sum": (n * expected, "J is the empirical loss, the mean over the n samples: divide the sum by n."),
                "log10": (expected / math.log(10), "use the natural logarithm (math.log), not log10."),
                "swapped": (swapped, "the two terms are swapped: a label 1 costs −log f(x), a label 0 costs "
                                     "−log(1 − f(x))."),
                "only_label_one": (only_ones, "the (1 − y) log(1 − f(x)) term is missing: samples with label 0 "
                                              "cost something too."),
            }, "write the per-sample loss −[y log p + (1 − y) log(1 − p)] and average it over the samples.")
        return passed("2.1", "J(W) = −(1/n) Σ [y log f(x) + (1 − y) log(1 − f(x))].")
    return call("2.1", check)


def check_bce_gradient(answer: Any) -> Result:
    """Exercise 2.2: ∂J/∂p₁ for the lecture's three predictions, by the chain rule."""
    def check() -> Result:
        value = as_number(answer)
        y_true, y_pred = LECTURE_BCE["y_true"], LECTURE_BCE["y_pred"]
        h = 1e-7
        def loss_of_p1(p1: float) -> float:
            return _bce(y_true, (p1,) + y_pred[1:])

        expected = (loss_of_p1(y_pred[0] + h) - loss_of_p1(y_pred[0] - h)) / (2 * h)
        if math.isclose(value, expected, rel_tol=1e-4):
            return passed("2.2", "only the label-1 term depends on p₁ here: ∂J/∂p₁ = −(1/n)(1/p₁).")
        n, p1 = len(y_true), y_pred[0]
        return diagnose("2.2", value, {
            "no_mean": (-1 / p1, "J averages over n samples, so each prediction's derivative carries 1/n."),
            "sign": (1 / (n * p1), "check the sign: raising p₁ towards its label 1 lowers the loss."),
            "bare_log": (1 / p1, "1/p is the derivative of log p; J also has −1/n in front."),
            "loss_value": (-math.log(p1) / n, "that is the sample's share of the loss, not its derivative."),
        }, "differentiate −(1/n) y₁ log p₁: the other terms do not contain p₁.", rel=1e-3)
    return call("2.2", check)


def check_mse(mse: Callable[[Sequence[float], Sequence[float]], float]) -> Result:
    """Exercise 2.3: ``mse(y_true, y_pred)``, the lecture's mean squared error."""
    def check() -> Result:
        for y_true, y_pred in _MSE_CASES:
            answer = as_number(run_student(mse, list(y_true), list(y_pred)))
            diffs = [y - p for y, p in zip(y_true, y_pred)]
            n = len(diffs)
            expected = sum(d * d for d in diffs) / n
            if math.isclose(answer, expected, rel_tol=1e-9):
                continue
            return diagnose("2.3", answer, {
                "sum": (n * expected, "the empirical loss is a mean: divide by n."),
                "rmse": (math.sqrt(expected), "no square root: that would be the RMSE."),
                "absolute": (sum(abs(d) for d in diffs) / n, "square the differences; the mean of |y − f(x)| is "
                                                             "the mean absolute error."),
                "square_of_mean": ((sum(diffs) / n) ** 2, "square each difference first, then average: the mean "
                                                          "of the differences can be 0 while every sample is "
                                                          "wrong."),
            }, "average (y − f(x))² over the samples.")
        return passed("2.3", "J(W) = (1/n) Σ (y − f(x))².")
    return call("2.3", check)
