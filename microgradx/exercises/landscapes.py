"""Exercises of tutorial 6 (loss landscapes): filter normalisation of a direction, and the barrier on the
line between two minima.

Oracles: the defining properties (each column of the result has the norm of the kernel's column and points
along the direction's column); the definition of the barrier, max along the line minus the higher end.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .result import Result, StudentError, as_number, call, diagnose, passed, run_student, wrong

__all__ = ["check_filter_normalize", "check_barrier"]


def check_filter_normalize(normalize: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Result:
    """Exercise 6.1: ``normalize(direction, kernel)`` rescales each column of ``direction`` (one neuron's
    incoming weights of a Dense kernel of shape ``(inputs, units)``) to the norm of the kernel's column."""
    def check() -> Result:
        rng = np.random.default_rng(6)
        for shape in ((3, 4), (5, 2), (1, 3)):
            direction = rng.normal(size=shape)
            kernel = rng.normal(size=shape) * rng.uniform(0.1, 5.0, size=shape[1])
            got = run_student(normalize, direction.copy(), kernel.copy())
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                raise StudentError from TypeError("normalize must return an array")
            if got.shape != shape:
                return wrong("6.1", "shape", "return an array of the direction's shape (inputs, units).")
            norms = np.linalg.norm(got, axis=0)
            kernel_norms = np.linalg.norm(kernel, axis=0)
            cosines = np.sum(got * direction, axis=0) / (norms * np.linalg.norm(direction, axis=0) + 1e-300)
            if np.allclose(norms, kernel_norms, rtol=1e-9) and np.allclose(cosines, 1.0, atol=1e-9):
                continue
            if np.allclose(cosines, 1.0, atol=1e-9):
                if np.allclose(norms, 1.0):
                    return wrong("6.1", "unit_norm", "each column should be as long as the kernel's column, "
                                                     "not of length 1.")
                whole = direction * np.linalg.norm(kernel) / np.linalg.norm(direction)
                if np.allclose(got, whole):
                    return wrong("6.1", "whole_matrix", "normalise neuron by neuron (column by column), not the "
                                                        "whole matrix at once.")
            if shape[0] > 1 and np.allclose(np.linalg.norm(got, axis=1), np.linalg.norm(kernel, axis=1)):
                return wrong("6.1", "rows", "a neuron's weights are a column of the (inputs, units) kernel: use "
                                            "axis=0.")
            return wrong("6.1", "generic", "column j of the result: direction[:, j] / ‖direction[:, j]‖ × "
                                           "‖kernel[:, j]‖.")
        return passed("6.1", "α = 1 now moves every neuron by its own size.")
    return call("6.1", check)


#: exercise 6.2: the losses along a line from minimum A (first) to minimum B (last)
BARRIER_CASES = ((0.10, 0.35, 0.80, 0.55, 0.20), (0.30, 0.31, 0.32, 0.31, 0.05), (0.2, 0.1, 0.05, 0.1, 0.2))


def check_barrier(barrier: Callable[[Sequence[float]], float]) -> Result:
    """Exercise 6.2: ``barrier(losses)``, the height of the hill between the two ends of a line of losses
    above the higher end (0 when the line never rises above both ends)."""
    def check() -> Result:
        for losses in BARRIER_CASES:
            got = as_number(run_student(barrier, list(losses)))
            expected = max(0.0, max(losses) - max(losses[0], losses[-1]))
            if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
                continue
            return diagnose("6.2", got, {
                "lower_end": (max(losses) - min(losses[0], losses[-1]), "measure from the higher of the two ends: "
                                                                        "that is the hill both runs must climb."),
                "no_ends": (max(losses), "subtract the loss at the higher end: the barrier is a height above it."),
                "negative": (max(losses) - max(losses[0], losses[-1]) if expected == 0 else math.nan,
                             "a line that never rises above its ends has no barrier: 0."),
                "from_minimum": (max(losses) - min(losses), "measure from the ends of the line, not from its lowest "
                                                             "point."),
            }, "max(losses) − max(first, last), and never below 0.")
        return passed("6.2", "a barrier above 0 means the two minima are separated: the loss is not convex.")
    return call("6.2", check)
