"""Two of ``fit``'s options, as Keras 3 defines them.

* ``class_weight`` (``keras/src/trainers/data_adapters/data_adapter_utils.py``,
  ``class_weight_to_sample_weights``): each training sample gets the weight of its class, and a class
  missing from the dict weighs 1.0. The class of a sample is its label for ``(n,)`` or ``(n, 1)`` targets
  (rounded to an int) and ``argmax`` for one-hot ``(n, k)`` targets. The weights then act exactly as a
  ``sample_weight``: with the default reduction the loss is ``sum_i w_i l_i / batch size``. Passing both
  raises ``ValueError``. Validation data is not weighted, and neither are the metrics given to
  ``compile(metrics=...)`` (Keras computes those without any sample weight).
* ``validation_freq=N`` (``keras/src/trainers/trainer.py``, ``_should_eval``): validation runs after
  epochs whose 1-based number is a multiple of ``N`` (or, for a list, is in the list); ``val_*`` logs
  exist only for those epochs.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["class_weight_to_sample_weights", "check_validation_freq", "should_validate"]


def class_weight_to_sample_weights(y: np.ndarray, class_weight: Any) -> np.ndarray:
    """The float64 per-sample weights of ``class_weight`` for targets ``y`` (see the module docstring)."""
    if not hasattr(class_weight, "items") or not hasattr(class_weight, "get"):
        raise ValueError(f"`class_weight` must be a dict-like mapping of class indices to weights. Received: "
                         f"class_weight={class_weight!r} of type {type(class_weight).__name__}.")
    cleaned: dict[int, float] = {}
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (Integral, np.integer)):
            raise ValueError(f"`class_weight` must be a dictionary with integer keys representing class indices. "
                             f"Received an invalid key: {key!r} of type {type(key).__name__}.")
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"`class_weight` values must be finite numbers; class {key} has weight {value!r}.")
        cleaned[int(key)] = float(value)
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    labels = np.round(y).astype(np.int64)
    return np.array([cleaned.get(int(label), 1.0) for label in labels], dtype=np.float64)


def check_validation_freq(validation_freq: Any) -> int | list[int]:
    """An int >= 1 or a list of epoch numbers (1-based), else ``ValueError`` naming the value."""
    if isinstance(validation_freq, (list, tuple)) and all(
            isinstance(e, Integral) and not isinstance(e, bool) for e in validation_freq):
        return [int(e) for e in validation_freq]
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, Integral) or validation_freq < 1:
        raise ValueError(f"Expected `validation_freq` to be a list or int >= 1. Received: "
                         f"validation_freq={validation_freq!r} of the type {type(validation_freq).__name__}.")
    return int(validation_freq)


def should_validate(epoch: int, validation_freq: int | list[int]) -> bool:
    """Whether to validate after ``epoch`` (0-based): its 1-based number is a multiple of / in the list."""
    if isinstance(validation_freq, list):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0
