"""The learning rate of an optimizer: Keras' accepted forms, and its value at one step.

An optimizer's ``learning_rate`` is a Python float, a
:class:`~microgradx.optimizers.schedules.LearningRateSchedule` (called with the raw step) or a
zero-argument callable (called at each update). :func:`check_learning_rate` checks the constructor
argument; :func:`learning_rate_value` evaluates it for one update and checks what it gives.
"""

from __future__ import annotations

import inspect
import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from .schedules import LearningRateSchedule

__all__ = ["check_learning_rate", "learning_rate_value"]


def check_learning_rate(learning_rate: Any) -> Any:
    """Keras' rule: a Python float, a LearningRateSchedule or a zero-argument callable. An ``int``
    (``learning_rate=1``) is rejected, exactly as in Keras; write ``1.0``."""
    if isinstance(learning_rate, LearningRateSchedule):
        return learning_rate
    if callable(learning_rate):
        try:
            signature = inspect.signature(learning_rate)
        except (TypeError, ValueError):  # some builtins have none: checked when called
            return learning_rate
        try:
            signature.bind()
        except TypeError:
            raise ValueError(f"Argument `learning_rate` is a callable that needs arguments {signature}; expected a "
                             f"callable that takes no arguments and returns the learning rate (or a "
                             f"LearningRateSchedule, which is called with the step). Received: "
                             f"learning_rate={learning_rate!r}") from None
        return learning_rate
    if not isinstance(learning_rate, (float, np.floating)):
        raise ValueError(
            "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a "
            "callable (that takes in the current iteration value and returns the corresponding learning "
            f"rate value). Received instead: learning_rate={learning_rate!r}"
            + (" (write it as a float, e.g. 1.0)" if isinstance(learning_rate, Integral) else ""))
    learning_rate = float(learning_rate)
    if not math.isfinite(learning_rate) or learning_rate < 0:
        raise ValueError(f"Argument `learning_rate` must be a finite float >= 0. "
                         f"Received: learning_rate={learning_rate!r}")
    return learning_rate


def learning_rate_value(lr: Any, step: int) -> float:
    """The learning rate ``lr`` (a float, a schedule or a callable) gives the update at raw step
    ``step`` (a schedule sees ``step``).

    A schedule or callable whose value at ``step`` is not a finite number >= 0 (or that fails)
    raises ``ValueError`` naming ``learning_rate`` and the step, before any variable changes."""
    if not callable(lr):
        return lr
    try:
        value = lr(step) if isinstance(lr, LearningRateSchedule) else lr()
    except (TypeError, ValueError, ArithmeticError) as error:
        raise ValueError(f"`learning_rate` ({lr!r}) failed at step {step}: {type(error).__name__}: {error}. "
                         f"Expected a LearningRateSchedule, or a callable that takes no arguments, "
                         f"returning a finite float >= 0.") from error
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"`learning_rate` ({lr!r}) gave {value!r} at step {step}; expected a finite "
                         f"number >= 0. The update was not applied.")
    return float(value)
