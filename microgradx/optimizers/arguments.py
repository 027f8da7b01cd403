"""Checks of an optimizer's scalar hyper-parameters, with Keras' error messages.

Every check names the argument, the value received and what was expected.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["optional_positive", "check_range", "check_accumulation_steps", "check_ema",
           "check_loss_scale_factor"]


def optional_positive(value: Any, argument: str) -> float | None:
    """``None`` or a finite number >= 0 (0 switches the option off, as Keras' truthiness check)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)) \
            or value < 0:
        raise ValueError(f"Argument `{argument}` must be None or a finite number >= 0. "
                         f"Received: {argument}={value!r}")
    return float(value)


def check_range(value: Any, argument: str, low: float, high: float, *, low_open: bool = False,
                high_open: bool = False, require_float: bool = False) -> float:
    """Validate a hyper-parameter: a real number in ``[low, high]`` (ends open where asked).

    ``require_float`` follows Keras' SGD ``momentum`` check, which rejects ints
    (``"`momentum` must be a float between [0, 1]."``)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    if require_float:
        ok_type = isinstance(value, (float, np.floating))
    else:
        ok_type = isinstance(value, Real) and not isinstance(value, bool)
    if ok_type:
        v = float(value)
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        if math.isfinite(v) and above and below:
            return v
    kind = "a float" if require_float else "a number"
    raise ValueError(f"`{argument}` must be {kind} between {left}{low:g}, {high:g}{right}. "
                     f"Received: {argument}={value!r}")


def check_accumulation_steps(steps: Any) -> int | None:
    """``gradient_accumulation_steps``: ``None``/0 (off) or an integer >= 2."""
    if not steps:
        return None
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 2:
        raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                         f"gradient_accumulation_steps={steps}")
    return int(steps)


def check_ema(momentum: Any, overwrite_frequency: Any) -> None:
    """With ``use_ema``: ``ema_momentum`` in [0, 1], ``ema_overwrite_frequency`` None or an integer >= 1."""
    if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum <= 1:
        raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={momentum}")
    if overwrite_frequency and (isinstance(overwrite_frequency, bool) or not isinstance(
            overwrite_frequency, Integral) or overwrite_frequency < 1):
        raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                         f"Received: ema_overwrite_frequency={overwrite_frequency}")


def check_loss_scale_factor(factor: Any) -> float | None:
    """``loss_scale_factor``: ``None`` or a finite number > 0."""
    if factor is None:
        return None
    factor = optional_positive(factor, "loss_scale_factor")
    if factor == 0:
        raise ValueError("Argument `loss_scale_factor` must be > 0. Received: loss_scale_factor=0")
    return factor
