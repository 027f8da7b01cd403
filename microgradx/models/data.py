"""The data checks of a model: every array is validated once, with errors that name the argument.

``x`` must be a finite 2-D float array of the model's input width; ``y`` has one entry per sample and
the loss validates its domain once, up front (:func:`check_targets`); sample weights are finite, one
per sample. The engine then receives the arrays cast once to its dtype (:func:`engine_arrays`), the
labels and weights as the plan's :class:`~microgradx.engines.base.Targets` (:func:`engine_targets`),
which the engine does not check again; values beyond the range of the engine's dtype are refused by name
as they are cast (:func:`within_dtype`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral
from typing import Any

import numpy as np

from .. import metrics as metrics_module
from ..engines.base import Targets

__all__ = ["DEFAULT_BATCH_SIZE", "as_float_array", "check_finite", "check_x", "check_xy", "check_targets",
           "within_dtype", "engine_arrays", "engine_targets", "build_metrics", "check_batch_size", "check_verbose"]

DEFAULT_BATCH_SIZE = 32


def as_float_array(value: Any, argument: str) -> np.ndarray:
    """``value`` as a float array: float32/float64 data is kept as it is (no copy), anything else becomes
    float64. The engine casts once to its own dtype afterwards (:func:`engine_arrays`)."""
    try:
        array = np.asarray(value)
        if not np.issubdtype(array.dtype, np.floating):
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Invalid value received for argument `{argument}`: expected a numeric array, got "
                        f"{type(value).__name__} ({error})") from None
    return array


def check_finite(array: np.ndarray, argument: str) -> None:
    """Raise a ``ValueError`` naming ``argument`` and the first non-finite entry when ``array`` holds NaN/inf.

    A NaN in the data would otherwise come back as a NaN prediction or a NaN loss that looks like a
    divergence of the optimizer. The common case costs one pass and no copy: a sum of finite numbers is
    finite unless it overflows, and only a non-finite sum (a NaN or inf, or an overflow) is searched
    element by element."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(array)):
            return
    bad = ~np.isfinite(array)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Invalid value received for argument `{argument}`: expected finite numbers, got "
                         f"{array[index]} at index {index} ({int(bad.sum())} non-finite value(s) in all).")


def check_x(model: Any, x: Any, argument: str = "x") -> np.ndarray:
    if not model.layers:
        raise ValueError(f"Model {model.name!r} has no layers: it cannot compute anything from "
                         f"`{argument}`. Add at least one layer (e.g. Dense) first.")
    array = as_float_array(x, argument)
    if array.ndim != 2:
        raise ValueError(f"Invalid value received for argument `{argument}`: expected a 2-D array "
                         f"(samples, features), got shape {array.shape}.")
    if model.input_dim is None:
        model.input_dim = array.shape[1]
    model._ensure_built()
    if array.shape[1] != model.input_dim:
        first = model.layers[0].name if model.layers else model.name
        raise ValueError(f"Input 0 of layer {first!r} is incompatible with the layer: expected axis -1 "
                         f"of input shape to have value {model.input_dim}, but received input with shape "
                         f"{array.shape} (argument `{argument}`).")
    check_finite(array, argument)
    return array


def check_xy(model: Any, x: Any, y: Any, sample_weight: Any, prefix: str = "") -> tuple[np.ndarray, ...]:
    x = check_x(model, x, f"{prefix}x")
    if y is None:
        raise ValueError(f"Invalid value received for argument `{prefix}y`: None. Expected labels with "
                         f"one entry per sample of `{prefix}x`.")
    y = as_float_array(y, f"{prefix}y")
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"Invalid value received for argument `{prefix}y`: expected shape (samples,) or "
                         f"(samples, outputs), got {y.shape}.")
    if len(y) != len(x):
        raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                         f"samples. '{prefix}x' sizes: {len(x)} '{prefix}y' sizes: {len(y)}")
    if len(x) == 0:
        raise ValueError(f"Invalid value received for argument `{prefix}x`: no samples.")
    if sample_weight is not None:
        sample_weight = as_float_array(sample_weight, f"{prefix}sample_weight")
        if sample_weight.shape != (len(x),):
            raise ValueError(f"Invalid value received for argument `{prefix}sample_weight`: expected shape "
                             f"({len(x)},), one weight per sample, got {sample_weight.shape}.")
        check_finite(sample_weight, f"{prefix}sample_weight")
    return x, y, sample_weight


def check_targets(model: Any, y: np.ndarray, argument: str = "y") -> None:
    """Let the loss validate all labels once, up front (domain, shape), whatever the engine.

    The loss is evaluated against a constant prediction of the model's output shape
    (:meth:`Plan.check_labels <microgradx.engines.base.Plan.check_labels>`), so a bad label raises the
    loss's own clear ``ValueError``, named for ``argument``, before any training step runs.
    """
    if model.loss is None:
        return
    try:
        model.engine.plan.check_labels(y)
    except ValueError as error:
        raise ValueError(f"Invalid value received for argument `{argument}` (shape {y.shape}) for loss "
                         f"{type(model.loss).__name__} and a model with {model.output_dim} output(s): "
                         f"{error}") from None


@contextmanager
def within_dtype(array: np.ndarray, dtype: np.dtype, argument: str) -> Iterator[None]:
    """Refuse, naming ``argument``, values of ``array`` beyond the range of ``dtype`` while the block casts
    ``array`` to it (a float64 1e300 would otherwise become a float32 inf, silently). NumPy flags an
    overflowing cast, so the check costs no pass of its own."""
    try:
        with np.errstate(over="raise"):
            yield
    except FloatingPointError:
        raise ValueError(f"Invalid value received for argument `{argument}`: expected numbers within the "
                         f"range of the engine's dtype {np.dtype(dtype).name}, got values up to "
                         f"{np.max(np.abs(array))}.") from None


def engine_arrays(model: Any, prefix: str = "", **arrays: np.ndarray | None) -> list[np.ndarray | None]:
    """Cast data once to the engine's dtype (the scalar engine: float64), each array passed by the name of
    its argument (``x=x, y=y``; ``prefix="val_"`` for validation data), which :func:`within_dtype` names if
    a value does not fit the dtype."""
    assert model._engine is not None
    dtype = model._engine.dtype
    cast: list[np.ndarray | None] = []
    for argument, array in arrays.items():
        with within_dtype(array, dtype, prefix + argument):
            cast.append(None if array is None else np.ascontiguousarray(array, dtype=dtype))
    return cast


def engine_targets(model: Any, y: np.ndarray, sample_weight: np.ndarray | None, argument: str = "y") -> Targets:
    """Labels checked by :func:`check_targets` (and weights by :func:`check_xy`), laid out once for the
    engine (:meth:`Plan.layout <microgradx.engines.base.Plan.layout>`, no second check). Labels that do
    not fit the engine's dtype (beyond float32's range) are refused, naming ``argument`` (:func:`within_dtype`)."""
    with within_dtype(y, model.engine.dtype, argument):
        return model.engine.plan.layout(y, sample_weight)


def build_metrics(model: Any, y: np.ndarray) -> None:
    if model.metrics or not model._metric_ids:
        return
    example_pred = np.zeros((1, model.output_dim))
    model.metrics = [metrics_module.get(identifier, y[:1], example_pred) for identifier in model._metric_ids]


def check_batch_size(batch_size: Any) -> int:
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size <= 0:
        raise ValueError(f"Invalid value received for argument `batch_size`: {batch_size!r}. "
                         f"Expected a positive integer.")
    return int(batch_size)


def check_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"Invalid value received for argument `verbose`: {verbose!r}. "
                         f"Expected 0, 1, 2 or 'auto'.")
    return int(verbose)
