"""Exercises of tutorial 8 (full-size training): the weights of the digits model, and a validation split
that keeps the test set unseen.

Oracles: the weights and biases of each Dense layer counted from its shape; the properties of a split (sizes,
disjoint, complete, rows kept with their labels).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .result import Result, StudentError, as_number, call, diagnose, passed, run_student, wrong

__all__ = ["LAYERS", "check_weight_count", "check_validation_split"]

#: exercise 8.1: the units of the digits model, input first
LAYERS = (64, 64, 10)


def check_weight_count(answer: Any) -> Result:
    """Exercise 8.1: the number of weights (kernels and biases) of the Dense 64 → 64 → 10 model."""
    def check() -> Result:
        value = as_number(answer)
        pairs = list(zip(LAYERS[:-1], LAYERS[1:]))
        kernels = sum(a * b for a, b in pairs)
        biases = sum(b for _, b in pairs)
        if value == kernels + biases:
            return passed("8.1", "each Dense layer has inputs × units kernel weights and one bias per unit.")
        return diagnose("8.1", value, {
            "no_biases": (kernels, "each unit also has a bias."),
            "input_biases": (kernels + sum(LAYERS), "the inputs (pixels) have no bias."),
            "product": (float(np.prod(LAYERS)), "count each layer's inputs × units and add the layers."),
        }, "sum over the two Dense layers of inputs × units + units.")
    return call("8.1", check)


def check_validation_split(split: Callable[[np.ndarray, np.ndarray, float, int], tuple]) -> Result:
    """Exercise 8.2: ``split(x_train, y_train, fraction, seed)`` returns
    ``(x_fit, y_fit, x_val, y_val)``: about ``fraction`` of the *training* rows held out for validation,
    every row in exactly one part, each row with its own label."""
    def check() -> Result:
        rng = np.random.default_rng(8)
        n = 120
        x = np.column_stack([np.arange(n, dtype=float), rng.normal(size=n)])   # column 0 names the row
        y = (np.arange(n) * 7) % 10
        for fraction in (0.25, 0.1):
            parts = run_student(split, x.copy(), y.copy(), fraction, 0)
            try:
                x_fit, y_fit, x_val, y_val = (np.asarray(p) for p in parts)
            except (TypeError, ValueError):
                raise StudentError from TypeError("split must return four arrays (x_fit, y_fit, x_val, y_val)")
            fit_rows, val_rows = x_fit[:, 0].astype(int), x_val[:, 0].astype(int)
            if abs(len(val_rows) - fraction * n) > 1:
                return wrong("8.2", "size", "hold out about fraction × len(x_train) rows for validation.")
            if set(fit_rows) & set(val_rows):
                return wrong("8.2", "overlap", "a row is in both parts: validation rows must be unseen by fit.")
            if len(fit_rows) + len(val_rows) != n or set(fit_rows) | set(val_rows) != set(range(n)):
                return wrong("8.2", "lost_rows", "every training row goes into exactly one of the two parts.")
            if not (np.array_equal(y_fit, y[fit_rows]) and np.array_equal(y_val, y[val_rows])):
                return wrong("8.2", "misaligned", "shuffle x and y with the same permutation: each row keeps its "
                                                  "label.")
        return passed("8.2", "the test set stays unseen until the very end.")
    return call("8.2", check)
