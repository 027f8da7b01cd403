"""Exercises of tutorial 5 (adaptive learning rates): one Adam step with bias correction, Adagrad's growing
sum, RMSprop's first step.

Oracles: Algorithm 1 of Kingma & Ba (2015) written out here with the bias-corrected estimates m̂ and v̂;
the sum of squared gradients; RMSprop's first step from its definition.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .result import Result, StudentError, as_number, call, diagnose, passed, run_student, wrong

__all__ = ["ADAGRAD_GRADIENTS", "ADAGRAD_INITIAL", "RMSPROP_GRADIENT", "check_adam_step", "check_adagrad_sum",
           "check_rmsprop_first_step"]

_ADAM = {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}


def _adam_reference(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    """Kingma & Ba, Algorithm 1 (one step, t counted from 1)."""
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    m_hat = m / (1 - beta_1 ** t)
    v_hat = v / (1 - beta_2 ** t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def check_adam_step(adam_step: Callable[..., tuple]) -> Result:
    """Exercise 5.1: ``adam_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon)`` returns the new
    ``(w, m, v)``; checked on the first ten steps of a run (from the reference state at each step)."""
    def check() -> Result:
        rng = np.random.default_rng(5)
        w, m, v = rng.normal(size=4), np.zeros(4), np.zeros(4)
        for t in range(1, 11):
            g = rng.normal(size=4) * 10.0 ** rng.integers(-2, 3, size=4)
            got = run_student(adam_step, w.copy(), g.copy(), m.copy(), v.copy(), t, *_ADAM.values())
            try:
                got_w, got_m, got_v = (np.asarray(part, dtype=float) for part in got)
            except (TypeError, ValueError):
                raise StudentError from TypeError("adam_step must return three arrays (w, m, v)")
            new_w, new_m, new_v = _adam_reference(w, g, m, v, t, *_ADAM.values())
            if not (np.allclose(got_m, new_m, rtol=1e-9) and np.allclose(got_v, new_v, rtol=1e-9)):
                if np.allclose(got_m, m) and np.allclose(got_v, v):
                    return wrong("5.1", "state_not_updated", "return the updated running averages m and v "
                                                             "too: the next step starts from them.")
                if np.allclose(got_m, g) or np.allclose(got_v, g * g):
                    return wrong("5.1", "not_averaged", "m and v are running averages: m ← β₁m + (1 − β₁)g, "
                                                        "v ← β₂v + (1 − β₂)g².")
                return wrong("5.1", "moments", "check the running averages m ← β₁m + (1 − β₁)g and "
                                               "v ← β₂v + (1 − β₂)g².")
            if np.allclose(got_w, new_w, rtol=1e-5, atol=1e-12):
                w, m, v = new_w, new_m, new_v
                continue
            lr, b1, b2, eps = _ADAM.values()

            def step_with(m_used, v_used):
                return w - lr * m_used / (np.sqrt(v_used) + eps)

            m_hat, v_hat = new_m / (1 - b1 ** t), new_v / (1 - b2 ** t)
            for hint_id, candidate, message in (
                    ("no_bias_correction", step_with(new_m, new_v),
                     "m and v start at 0, so early on they are too small: divide by (1 − β₁ᵗ) and (1 − β₂ᵗ) to get "
                     "m̂ and v̂ before the step."),
                    ("only_m_corrected", step_with(m_hat, new_v), "correct v as well: v̂ = v / (1 − β₂ᵗ)."),
                    ("only_v_corrected", step_with(new_m, v_hat), "correct m as well: m̂ = m / (1 − β₁ᵗ)."),
                    ("no_sqrt", w - lr * m_hat / (v_hat + eps), "divide by the square root of v̂: v̂ estimates g², "
                                                                "and the step should not depend on g's scale."),
                    ("uphill", w + lr * m_hat / (np.sqrt(v_hat) + eps), "the step goes against m̂: w ← w − η ..."),
                    ("old_moments", step_with(m / (1 - b1 ** t), v / (1 - b2 ** t)),
                     "update m and v with this step's gradient first, then step with the new ones."),
                    ("t_off_by_one", w - lr * (new_m / (1 - b1 ** (t + 1))) / (np.sqrt(new_v / (1 - b2 ** (t + 1)))
                                                                               + eps),
                     "t counts steps from 1: the first step divides by 1 − β₁ and 1 − β₂.")):
                if np.allclose(got_w, candidate, rtol=1e-5, atol=1e-12):
                    return wrong("5.1", hint_id, message)
            return wrong("5.1", "generic", "w ← w − η m̂ / (√v̂ + ε), with m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ).")
        return passed("5.1", "m̂ and v̂ undo the pull towards 0 of averages that start at 0.")
    return call("5.1", check)


#: exercise 5.2: Adagrad's accumulator after these gradients, from this initial value (Keras' default)
ADAGRAD_GRADIENTS, ADAGRAD_INITIAL = (1.0, -2.0, 3.0), 0.1


def check_adagrad_sum(answer: Any) -> Result:
    """Exercise 5.2: Adagrad's accumulator ``a`` after three steps with the gradients above."""
    def check() -> Result:
        value = as_number(answer)
        total = ADAGRAD_INITIAL
        for g in ADAGRAD_GRADIENTS:
            total += g * g
        if math.isclose(value, total, rel_tol=1e-9):
            return passed("5.2", "a never forgets: it only grows, so Adagrad's steps only shrink.")
        squares = [g * g for g in ADAGRAD_GRADIENTS]
        ema = ADAGRAD_INITIAL
        for s in squares:
            ema = 0.9 * ema + 0.1 * s
        return diagnose("5.2", value, {
            "running_average": (sum(squares) / len(squares), "Adagrad does not average: it adds every g² to a "
                                                              "growing sum (that is the difference to RMSprop)."),
            "decayed": (ema, "a decaying average is RMSprop's; Adagrad's accumulator is a plain sum."),
            "no_initial": (sum(squares), "the accumulator starts at initial_accumulator_value, not at 0."),
            "not_squared": (ADAGRAD_INITIAL + sum(ADAGRAD_GRADIENTS), "add the squares of the gradients."),
            "absolute": (ADAGRAD_INITIAL + sum(abs(g) for g in ADAGRAD_GRADIENTS), "add g², not |g|."),
        }, "a ← a + g², starting from initial_accumulator_value.")
    return call("5.2", check)


#: exercise 5.3: the gradient of RMSprop's first step (rho = 0.9, epsilon = 1e-7)
RMSPROP_GRADIENT, _RHO, _EPSILON = 0.5, 0.9, 1e-7


def check_rmsprop_first_step(answer: Any) -> Result:
    """Exercise 5.3: the size of RMSprop's first step in units of the learning rate, |Δw| / η."""
    def check() -> Result:
        value = as_number(answer)
        g = RMSPROP_GRADIENT
        v = _RHO * 0.0 + (1 - _RHO) * g * g
        expected = abs(g) / math.sqrt(v + _EPSILON)
        if math.isclose(value, expected, rel_tol=1e-3):
            return passed("5.3", "no bias correction: v starts at 0, so RMSprop's first steps are larger than η.")
        return diagnose("5.3", value, {
            "bias_corrected": (1.0, "that would be Adam's first step: RMSprop does not correct v for starting at 0."),
            "no_sqrt": (abs(g) / (v + _EPSILON), "divide by the square root of v."),
            "rho_swapped": (abs(g) / math.sqrt(_RHO * g * g), "the new g² enters with weight 1 − ρ, the old v with ρ."),
            "plain_sgd": (abs(g), "that is SGD's step: RMSprop divides g by √v."),
        }, "v = ρ·0 + (1 − ρ)g² after one step; the step is η g / √(v + ε).", rel=1e-3)
    return call("5.3", check)
