"""The :class:`Loss` base class: the call path every loss shares (dtype, rank alignment, validation,
sample weights, reduction); a subclass only writes its per-sample formula."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import prepare_pred, prepare_true, require_same_shape, squeeze_or_expand_to_same_rank
from .ops import NumpyOps, Ops
from .reduction import reduce_weighted_values, standardize_reduction


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> reduced loss.

    Subclasses set ``kind`` (the stable name the engines dispatch on) and implement :meth:`call`,
    which maps aligned ``y_true``/``y_pred`` to per-sample losses. Everything else (dtype, rank
    alignment, validation, sample weights, reduction) happens here, the same way for every loss.

    A subclass validates its inputs in two halves, each extending ``super()``'s:

    * :meth:`_check_labels` ``(y_true, y_pred_shape)``: the labels alone and against the predictions'
      shape (shapes, domain, integer class indices, ranges). A call and :meth:`check` run it; the model
      runs it once per ``fit``/``evaluate`` on all its labels, so :meth:`unchecked` skips it.
    * :meth:`_check_predictions` ``(y_pred)``: the predictions alone (e.g. probabilities >= 0 when not
      ``from_logits``), run after the labels' half by every call, :meth:`unchecked` included.
    """

    kind: str = ""
    #: whether the labels are class indices (cast to int64 rather than to the predictions' dtype)
    integer_labels: bool = False

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        self.reduction = standardize_reduction(reduction) if reduction is not None else None
        self.name = name if name is not None else self.kind

    # ---- hooks for subclasses
    def call(self, y_true: np.ndarray, y_pred: np.ndarray, ops: Ops = NumpyOps,
             dtype: type = np.float64) -> np.ndarray:
        """Per-sample losses of aligned, validated inputs (float arrays, or Value object arrays)."""
        raise NotImplementedError

    def _check_labels(self, y_true: np.ndarray, y_pred_shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` for aligned labels this loss cannot take with predictions of ``y_pred_shape``."""
        require_same_shape(y_true.shape, y_pred_shape, type(self).__name__)

    def _check_predictions(self, y_pred: np.ndarray) -> None:
        """Raise ``ValueError`` for aligned predictions this loss cannot take (non-finite ones are refused
        for every loss before)."""

    def _mask(self, y_true: np.ndarray) -> np.ndarray | None:
        return None

    def _prepare_labels(self, y_true: Any, dtype: type) -> np.ndarray:
        return prepare_true(y_true, dtype)

    # ---- the shared call path
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        true, pred, ops, dtype = self._checked_inputs(y_true, y_pred)
        values = self.call(true, pred, ops, dtype)
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64).astype(dtype)
            if not np.all(np.isfinite(weight)):
                raise ValueError("sample_weight contains non-finite values")
        return reduce_weighted_values(values, weight, self._mask(true), self.reduction, ops, dtype)

    def check(self, y_true: Any, y_pred: Any) -> None:
        """Raise the error ``self(y_true, y_pred)`` would raise for these labels and predictions, without
        computing the loss (the model checks all its labels once this way, against a constant prediction)."""
        self._checked_inputs(y_true, y_pred)

    def _checked_inputs(self, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, Ops, type]:
        """``(labels, predictions, ops, dtype)`` prepared, aligned and validated: the checks of a call."""
        pred, ops, dtype = prepare_pred(y_pred)
        true, pred = self._align(self._prepare_labels(y_true, dtype), pred)
        self._check_labels(true, pred.shape)
        self._check_predictions(pred)
        return true, pred, ops, dtype

    def unchecked(self, y_true: np.ndarray, y_pred: Any, sample_weight: np.ndarray | None = None) -> Any:
        """``self(y_true, y_pred, sample_weight)`` for labels and weights already checked by a call on the
        same data (``fit``/``evaluate`` check them once, up front): the labels are only cast, the
        predictions checked as in a call (:meth:`_check_predictions`)."""
        pred, ops, dtype = prepare_pred(y_pred)
        true, pred = self._align(np.asarray(y_true).astype(np.int64 if self.integer_labels else dtype), pred)
        self._check_predictions(pred)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).astype(dtype)
        return reduce_weighted_values(self.call(true, pred, ops, dtype), weight, self._mask(true), self.reduction,
                                      ops, dtype)

    def _align(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return squeeze_or_expand_to_same_rank(y_true, y_pred)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
