"""Sample weights, masks and the reduction of per-sample losses (Keras' ``reduce_weighted_values``),
and :func:`training_loss`, the number every engine minimises."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Value, sum_values
from .inputs import squeeze_or_expand_to_same_rank
from .ops import EPSILON, NumpyOps, Ops

#: The reductions Keras 3 accepts (``None`` is the same as ``"none"``).
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str:
    if reduction is None:
        return "none"
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def reduce_weighted_values(values: np.ndarray, sample_weight: np.ndarray | None = None,
                           mask: np.ndarray | None = None,
                           reduction: str | None = "sum_over_batch_size", ops: Ops = NumpyOps,
                           dtype: type = np.float64) -> Any:
    """Apply ``mask`` and ``sample_weight`` to per-sample ``values`` and reduce them (Keras'
    ``reduce_weighted_values``).

    * ``mask`` (0/1) is merged into the weights; for ``"mean"``/``"sum_over_batch_size"`` it is
      rescaled by ``total / (valid + EPSILON)`` so that the mean divides by the valid count.
    * ``w`` is aligned with :func:`squeeze_or_expand_to_same_rank` and multiplied with broadcasting.
    * ``"sum"``: ``sum L``; ``"sum_over_batch_size"``/``"mean"``: ``sum L / L.size`` (the weights do not
      enter the divisor); ``"mean_with_sample_weight"``: ``sum L / sum w``; ``"none"``: ``L``.
      Divisions are *divide-no-nan* (``0 / 0 = 0``). A scalar or empty ``L`` is returned unchanged.
    """
    reduction = standardize_reduction(reduction)
    values = _as_loss_array(values, dtype)
    if mask is not None:
        mask = np.asarray(mask, dtype=dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            mask = mask * dtype(mask.size / (np.sum(mask, dtype=np.float64) + EPSILON))
        if sample_weight is not None:
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
            sample_weight = sample_weight * mask
        else:
            sample_weight = mask
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            values = _as_loss_array(values * sample_weight, dtype)
        except ValueError:
            raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} cannot be broadcast to "
                             f"the per-sample losses of shape {values.shape}") from None
    if reduction == "none" or values.ndim == 0 or values.size == 0:
        return values[()] if values.ndim == 0 else values      # a 0-d array becomes its scalar
    total = ops.total(values)
    if reduction == "sum":
        return ops.cast(total, dtype)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(sample_weight, dtype=np.float64))
    else:
        divisor = float(values.size)
    return ops.cast(total / divisor if divisor != 0.0 else total * 0.0, dtype)   # divide-no-nan


def _as_loss_array(values: Any, dtype: type) -> np.ndarray:
    """One sample's loss comes back from NumPy as a bare ``Value`` or number: make it a 0-d array."""
    if isinstance(values, np.ndarray):
        return values
    return np.array(values, dtype=object if isinstance(values, Value) else dtype)


def training_loss(value: Any) -> Any:
    """The number training minimises for a loss result: a reduced loss unchanged, and for
    ``reduction="none"`` (per-sample losses ``L``) their **sum**, ``sum_i L_i``.

    This is what ``tf.keras`` does with a non-scalar loss in ``compile`` (its ``GradientTape``
    differentiates the sum), and what every microgradx engine does in ``fit``, ``evaluate``,
    ``compute_gradients`` and ``to_graph``: the reported batch loss is that sum too. Float arrays are
    summed in float64; an object array of ``Value`` becomes one ``sum`` node.
    """
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.dtype == object:
            return sum_values(value.ravel().tolist())
        return float(np.sum(value, dtype=np.float64))
    return value
