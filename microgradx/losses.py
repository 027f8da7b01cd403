"""Keras 3 losses, written once for NumPy arrays and for arrays of :class:`~microgradx.Value`.

Every loss is a formula over a tiny namespace of element-wise operations (``log``, ``exp``, ``clip``,
``relu``, ...). :class:`NumpyOps` evaluates it on float arrays; :class:`ValueOps` evaluates it on NumPy
*object* arrays whose elements are ``Value`` nodes, so the same formula builds the scalar graph and
``loss.backward()`` shows its chain rule::

    >>> import numpy as np, microgradx as mgx
    >>> bce = BinaryCrossentropy()
    >>> round(float(bce(np.array([[1.0], [0.0]]), np.array([[0.8], [0.3]]))), 6)    # a number
    0.289909
    >>> p = np.array([[mgx.Value(0.8)], [mgx.Value(0.3)]], dtype=object)
    >>> out = bce(np.array([[1.0], [0.0]]), p)                                       # a Value graph
    >>> trace = out.backward()
    >>> round(p[0, 0].grad, 6)                                       # d/dp of -log(p) / 2
    -0.625

The call path is Keras' (``keras/src/losses/loss.py``):

1. ``y_pred`` fixes the working dtype (float32 stays float32, float64 stays float64; anything else
   becomes float64); ``y_true`` is cast to it. Labels are constants: a ``Value`` in ``y_true`` is
   read as its number.
2. *Squeeze or expand*: if the ranks differ by one and the bigger array's last dimension is 1, that
   dimension is squeezed (or the smaller rank-1 array expanded), so ``(N, 1)`` and ``(N,)`` align.
3. :meth:`Loss.call` gives **per-sample** losses (the mean over the last axis for element losses).
4. ``sample_weight`` is aligned the same way and multiplied in with NumPy broadcasting.
5. The reduction (:data:`REDUCTIONS`). Sums accumulate in float64 (Value graphs are float64 anyway).

Differences from Keras, on purpose (each tested):

* Bad input raises ``ValueError`` naming the argument and the shapes/values (Keras often broadcasts or
  returns NaN): mismatched shapes after alignment, BCE labels outside [0, 1], hinge labels outside
  {-1, 0, 1}, sparse labels that are not integers in ``[0, num_classes)``, and **non-finite
  predictions** (Keras returns NaN or inf; we refuse, so that training never silently runs on NaN).
* Keras computes float64 losses partly in float32 on its non-TF backends; we compute float64 exactly.

PyTorch differs: ``nn.BCELoss`` clamps ``log`` at -100 instead of clipping probabilities, has no label
smoothing, and its default ``reduction="mean"`` averages over *all elements*, which equals Keras'
mean of per-sample means only when every sample has the same number of elements.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .engine import Value, sum_values

__all__ = [
    "EPSILON", "REDUCTIONS", "Loss", "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge",
    "binary_crossentropy", "mean_squared_error", "mean_absolute_error", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "hinge", "get", "squeeze_or_expand_to_same_rank",
    "reduce_weighted_values", "training_loss",
]

#: Keras' fuzz factor ``keras.config.epsilon()``: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``
#: before ``log`` (BCE, CCE, SCCE), and the ``ignore_class`` mask is rescaled by
#: ``total / (valid + EPSILON)``. The bounds are computed in the working dtype, so in float32
#: ``1 - EPSILON`` rounds to 0.99999988 exactly as in Keras.
EPSILON = 1e-7

#: The reductions Keras 3 accepts (``None`` is the same as ``"none"``).
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# --------------------------------------------------------------------------- element-wise ops
class NumpyOps:
    """The operations a loss formula may use, on float arrays.

    Arithmetic (``+ - * / **``) is plain NumPy in both namespaces: on object arrays NumPy applies the
    Python operators element by element, so only the functions below differ. Sums and means
    accumulate in float64 and return the input's dtype.
    """

    log = staticmethod(np.log)        # log(x)
    exp = staticmethod(np.exp)        # exp(x)
    log1p = staticmethod(np.log1p)    # log(1 + x)
    abs = staticmethod(np.abs)        # |x|

    @staticmethod
    def relu(x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``."""
        return np.maximum(x, x.dtype.type(0))

    @staticmethod
    def clip(x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        """``min(max(x, low), high)``."""
        return np.clip(x, low, high)

    @staticmethod
    def numbers(x: np.ndarray) -> np.ndarray:
        """The float values (for constants such as the softmax shift)."""
        return x

    @staticmethod
    def mean(x: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis, dtype=np.float64).astype(x.dtype)

    @staticmethod
    def sum(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
        return np.sum(x, axis=axis, dtype=np.float64, keepdims=keepdims).astype(x.dtype)

    @staticmethod
    def total(x: np.ndarray) -> Any:
        """The sum of every element, accumulated in float64."""
        return np.sum(x, dtype=np.float64)

    @staticmethod
    def cast(x: Any, dtype: type) -> Any:
        return dtype(x)

    @staticmethod
    def zero(dtype: type) -> Any:
        return dtype(0)


def _each(method: str, *extra: float):
    """Apply ``Value.<method>(*extra)`` to every element of an object array."""
    func = np.frompyfunc(lambda v: getattr(v, method)(*extra), 1, 1)
    return func


class ValueOps:
    """The same operations on object arrays of :class:`~microgradx.Value`: each builds graph nodes
    (``Value.log``, ``Value.clip``, ...), so ``backward()`` runs the chain rule through the loss."""

    log = staticmethod(_each("log"))
    exp = staticmethod(_each("exp"))
    log1p = staticmethod(_each("log1p"))
    abs = staticmethod(_each("abs"))
    relu = staticmethod(_each("relu"))

    @staticmethod
    def clip(x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        return _each("clip", float(low), float(high))(x)

    @staticmethod
    def numbers(x: np.ndarray) -> np.ndarray:
        """The ``.data`` of every Value, as float64 (a constant: no gradient flows through it)."""
        return np.frompyfunc(lambda v: v.data, 1, 1)(x).astype(np.float64)

    @staticmethod
    def mean(x: np.ndarray, axis: int) -> np.ndarray:
        return np.sum(x, axis=axis) / x.shape[axis]

    @staticmethod
    def sum(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def total(x: np.ndarray) -> Any:
        """The sum of every element: one n-ary ``sum`` node (added left to right, like ``np.sum``)."""
        return sum_values(x.ravel().tolist())

    @staticmethod
    def cast(x: Any, dtype: type) -> Any:
        return x

    @staticmethod
    def zero(dtype: type) -> Any:
        return Value(0.0)


Ops = type[NumpyOps] | type[ValueOps]


# ------------------------------------------------------------------------------ input handling
def _is_value_array(x: Any) -> bool:
    return isinstance(x, Value) or (
        isinstance(x, np.ndarray) and x.dtype == object and x.size > 0
        and all(isinstance(v, Value) for v in x.flat))


def _prepare_pred(y_pred: Any) -> tuple[np.ndarray, Ops, type]:
    """Return ``(array, ops, dtype)`` for the predictions: a float array or an object array of Values."""
    if _is_value_array(y_pred):
        arr = np.asarray(y_pred, dtype=object) if not isinstance(y_pred, Value) \
            else np.array(y_pred, dtype=object)
        numbers = ValueOps.numbers(arr)
        ops, dtype = ValueOps, np.float64
    else:
        try:
            arr = np.asarray(y_pred)
        except (TypeError, ValueError) as error:
            raise TypeError(f"y_pred must be an array of numbers or of microgradx.Value, "
                            f"got {type(y_pred).__name__}: {error}") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"y_pred must be an array of numbers or of microgradx.Value, got an array "
                            f"of dtype {arr.dtype} (mixing Values and numbers is not supported)")
        dtype = arr.dtype.type if arr.dtype in (np.float32, np.float64) else np.float64
        arr = arr.astype(dtype, copy=False)
        numbers, ops = arr, NumpyOps
    if arr.ndim == 0:
        raise ValueError("y_pred must have at least one dimension (a batch of samples, or one sample's "
                         f"outputs), got a scalar {float(numbers)!r}; wrap it as [y_pred]")
    if not np.all(np.isfinite(numbers)):
        bad = numbers[~np.isfinite(numbers)].ravel()[:3]
        raise ValueError(f"y_pred contains non-finite values ({bad.tolist()}...); a loss of NaN/inf "
                         f"would silently poison training. Check the learning rate and the inputs.")
    return arr, ops, dtype


def _prepare_true(y_true: Any, dtype: type) -> np.ndarray:
    if isinstance(y_true, Value):
        y_true = y_true.data
    arr = np.asarray(y_true)
    if arr.dtype == object:
        arr = np.vectorize(float, otypes=[np.float64])(arr) if arr.size else arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"y_true must be an array of numbers, got dtype {arr.dtype}")
    arr = arr.astype(dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y_true contains non-finite values: {arr[~np.isfinite(arr)][:3].tolist()}")
    return arr


def squeeze_or_expand_to_same_rank(x1: np.ndarray, x2: np.ndarray,
                                   expand_rank_1: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Keras' rank alignment: if the ranks differ by exactly one and the bigger array's last dimension
    is 1, squeeze it; but if the smaller array has rank 1 (and ``expand_rank_1``), expand that one
    instead. ``(N, 1)`` vs ``(N,)`` becomes ``(N, 1)`` vs ``(N, 1)``; ``(N, 3, 1)`` vs ``(N, 3)`` becomes
    ``(N, 3)`` vs ``(N, 3)``. Anything else is returned unchanged."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _numbers(x: np.ndarray) -> np.ndarray:
    """The float values of a float array or of an object array of Values."""
    return ValueOps.numbers(x) if x.dtype == object else x


def _require_same_shape(y_true: np.ndarray, y_pred: np.ndarray, loss_name: str) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{loss_name}: y_true and y_pred must have the same shape (after aligning a trailing "
            f"dimension of size 1), got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}")


def _check_axis(axis: int, ndim: int, loss_name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, Integral):
        raise TypeError(f"{loss_name}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{loss_name}: axis={axis} is out of range for inputs of rank {ndim}")
    return int(axis) % ndim


def _check_label_smoothing(label_smoothing: float) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, Real) \
            or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def _bounds(dtype: type) -> tuple[Any, Any]:
    """``(EPSILON, 1 - EPSILON)`` computed in ``dtype`` (float32: 1e-7 and 0.99999988)."""
    eps = dtype(EPSILON)
    return eps, dtype(1) - eps


# ------------------------------------------------------------------------- per-sample formulas
def _bce(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type, from_logits: bool,
         label_smoothing: float, axis: int) -> np.ndarray:
    """Per sample, the mean over ``axis`` of ``l(y, p)`` where, after smoothing
    ``y <- y (1 - ls) + ls / 2``,

    * probabilities: ``p <- clip(p, eps, 1 - eps)``, ``l = -[y log p + (1 - y) log(1 - p)]``, with
      ``log(1 - p)`` evaluated as ``log1p(-p)`` (exact for small p; Keras' torch backend does the same)
    * logits x:      ``l = max(x, 0) - x y + log(1 + exp(-|x|))``  (stable, no clipping)
    """
    if label_smoothing:
        y = y * dtype(1 - label_smoothing) + dtype(0.5 * label_smoothing)
    if from_logits:
        elements = ops.relu(p) - p * y + ops.log1p(ops.exp(-ops.abs(p)))
    else:
        low, high = _bounds(dtype)
        p = ops.clip(p, low, high)
        elements = -(y * ops.log(p) + (dtype(1) - y) * ops.log1p(-p))
    return ops.mean(elements, axis)


def _log_probabilities(ops: Ops, p: np.ndarray, dtype: type, from_logits: bool, axis: int) -> np.ndarray:
    """``log softmax(x)`` for logits (``x - m - log sum exp(x - m)`` with the row maximum ``m``,
    a constant), else ``log clip(p / sum p, eps, 1 - eps)`` (Keras renormalises probabilities)."""
    if from_logits:
        shifted = p - np.max(ops.numbers(p), axis=axis, keepdims=True).astype(dtype)
        return shifted - ops.log(ops.sum(ops.exp(shifted), axis, keepdims=True))
    total = ops.sum(p, axis, keepdims=True)
    if np.any(ops.numbers(total) <= 0):
        raise ValueError("y_pred probabilities must have a positive sum over the class axis; "
                         "a row sums to 0 (did you mean from_logits=True?)")
    low, high = _bounds(dtype)
    return ops.log(ops.clip(p / total, low, high))


def _categorical(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type, from_logits: bool,
                 label_smoothing: float, axis: int) -> np.ndarray:
    """Per sample ``-sum_k y_k log q_k`` over the class ``axis``, with ``y <- y (1 - ls) + ls / K``
    and ``log q`` from :func:`_log_probabilities`."""
    if label_smoothing:
        y = y * dtype(1 - label_smoothing) + dtype(label_smoothing / p.shape[axis])
    return -ops.sum(y * _log_probabilities(ops, p, dtype, from_logits, axis), axis)


def _squared_error(ops: Ops, y: np.ndarray, p: np.ndarray, axis: int) -> np.ndarray:
    """Per sample ``mean((y - p)**2)`` over ``axis``."""
    return ops.mean((y - p) ** 2, axis)


def _absolute_error(ops: Ops, y: np.ndarray, p: np.ndarray, axis: int) -> np.ndarray:
    """Per sample ``mean(|y - p|)`` over ``axis``."""
    return ops.mean(ops.abs(y - p), axis)


def _hinge(ops: Ops, y: np.ndarray, p: np.ndarray, dtype: type) -> np.ndarray:
    """Per sample ``mean(max(1 - y p, 0))`` over the last axis, with labels in {0, 1} first mapped to
    {-1, 1} by ``y <- 2 y - 1`` (Keras does this only when *every* label is 0 or 1)."""
    if np.all((y == 0) | (y == 1)):
        y = dtype(2) * y - dtype(1)
    return ops.mean(ops.relu(dtype(1) - y * p), -1)


# ------------------------------------------------------------------------------- reductions
def _standardize_reduction(reduction: str | None) -> str:
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
    reduction = _standardize_reduction(reduction)
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


# ------------------------------------------------------------------------------ loss classes
class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> reduced loss.

    Subclasses set ``kind`` (the stable name the engines dispatch on) and implement :meth:`call`,
    which maps aligned ``y_true``/``y_pred`` to per-sample losses. Everything else (dtype, rank
    alignment, validation, sample weights, reduction) happens here, the same way for every loss.
    """

    kind: str = ""
    #: whether the labels are class indices (cast to int64 rather than to the predictions' dtype)
    integer_labels: bool = False

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        self.reduction = _standardize_reduction(reduction) if reduction is not None else None
        self.name = name if name is not None else self.kind

    # ---- hooks for subclasses
    def call(self, y_true: np.ndarray, y_pred: np.ndarray, ops: Ops = NumpyOps,
             dtype: type = np.float64) -> np.ndarray:
        """Per-sample losses of aligned, validated inputs (float arrays, or Value object arrays)."""
        raise NotImplementedError

    def _validate(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        _require_same_shape(y_true, y_pred, type(self).__name__)

    def _mask(self, y_true: np.ndarray) -> np.ndarray | None:
        return None

    def _prepare_labels(self, y_true: Any, dtype: type) -> np.ndarray:
        return _prepare_true(y_true, dtype)

    # ---- the shared call path
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        pred, ops, dtype = _prepare_pred(y_pred)
        true = self._prepare_labels(y_true, dtype)
        true, pred = self._align(true, pred)
        self._validate(true, pred)
        values = self.call(true, pred, ops, dtype)
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64).astype(dtype)
            if not np.all(np.isfinite(weight)):
                raise ValueError("sample_weight contains non-finite values")
        return reduce_weighted_values(values, weight, self._mask(true), self.reduction, ops, dtype)

    def unchecked(self, y_true: np.ndarray, y_pred: Any, sample_weight: np.ndarray | None = None) -> Any:
        """``self(y_true, y_pred, sample_weight)`` for labels and weights already checked by a call on the
        same data (``fit``/``evaluate`` check them once, up front): the labels are only cast, the
        predictions checked as in a call (``_validate`` sees the first, checked, label in every row)."""
        pred, ops, dtype = _prepare_pred(y_pred)
        true, pred = self._align(np.asarray(y_true).astype(np.int64 if self.integer_labels else dtype), pred)
        self._validate(np.broadcast_to(true[:1], true.shape), pred)
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


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, Keras' ``BinaryCrossentropy``.

    Per element, after label smoothing ``y <- y (1 - ls) + ls / 2``:

    * probabilities (``from_logits=False``): ``p <- clip(p, EPSILON, 1 - EPSILON)``,
      ``l = -[y log p + (1 - y) log(1 - p)]``;
    * logits: ``l = max(x, 0) - x y + log(1 + exp(-|x|))`` (stable, no clipping: logit 50 with
      label 0 costs 50).

    The per-sample loss is the mean of ``l`` over ``axis``, then the reduction applies. Labels must be
    in [0, 1]. PyTorch: ``BCELoss`` clamps ``log`` at -100 instead of clipping ``p``, and neither
    ``BCELoss`` nor ``BCEWithLogitsLoss`` has label smoothing.
    """

    kind = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = axis

    def _validate(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        super()._validate(y_true, y_pred)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"BinaryCrossentropy: y_true must be in [0, 1], got values from "
                             f"{y_true.min()} to {y_true.max()}")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = _check_axis(self.axis, y_pred.ndim, "BinaryCrossentropy")
        return _bce(ops, y_true, y_pred, dtype, self.from_logits, self.label_smoothing, axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class MeanSquaredError(Loss):
    """Mean squared error: per sample ``mean((y_true - y_pred)**2)`` over the last axis.

    ``"sum"`` sums the per-sample *means*, not the raw squared errors (Keras). PyTorch's
    ``MSELoss(reduction="sum")`` sums the raw squared errors.
    """

    kind = "mean_squared_error"

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_squared_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _squared_error(ops, y_true, y_pred, -1)


class MeanAbsoluteError(Loss):
    """Mean absolute error: per sample ``mean(|y_true - y_pred|)`` over the last axis
    (the derivative of ``|d|`` at ``d = 0`` is 0)."""

    kind = "mean_absolute_error"

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_absolute_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _absolute_error(ops, y_true, y_pred, -1)


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy with one-hot (or soft) labels along ``axis``.

    ``y <- y (1 - ls) + ls / K`` (K classes), then per sample ``-sum_k y_k log q_k`` where
    ``log q = log_softmax(x)`` for logits, or ``log clip(p / sum p, EPSILON, 1 - EPSILON)`` for
    probabilities: **Keras renormalises the probabilities first** (``[1, 3, 0]`` means
    ``[0.25, 0.75, 0]``). PyTorch's ``CrossEntropyLoss`` takes logits and class indices (or
    probabilities as targets) and never renormalises predictions.
    """

    kind = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = axis

    def _validate(self, y_true, y_pred):
        super()._validate(y_true, y_pred)
        if y_pred.ndim == 0:
            raise ValueError("CategoricalCrossentropy: y_pred must have a class axis, got a scalar")
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"CategoricalCrossentropy: y_true must hold (one-hot or soft) labels in "
                             f"[0, 1], got values from {y_true.min()} to {y_true.max()}")
        if not self.from_logits and np.any(_numbers(y_pred) < 0):
            raise ValueError("CategoricalCrossentropy: probabilities in y_pred must be >= 0 "
                             "(did you mean from_logits=True?)")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = _check_axis(self.axis, y_pred.ndim, "CategoricalCrossentropy")
        return _categorical(ops, y_true, y_pred, dtype, self.from_logits, self.label_smoothing, axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels: per sample ``-log q[label]`` with
    ``log q`` as in :class:`CategoricalCrossentropy` (no label smoothing, as in Keras).

    Labels have shape ``(N,)`` or ``(N, 1)`` for predictions ``(N, K)`` and must be integers in
    ``[0, K)`` (``ignore_class`` excepted). With ``ignore_class=c`` the samples labelled ``c`` get loss 0
    and are masked out of the mean (the divisor is the number of valid samples, Keras' ``valid +
    EPSILON``). PyTorch's ``CrossEntropyLoss(ignore_index=c)`` does the same for logits.
    """

    kind = "sparse_categorical_crossentropy"
    integer_labels = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, Integral)):
            raise ValueError(f"ignore_class must be an int or None, got {ignore_class!r}")
        self.ignore_class = ignore_class
        self.axis = axis

    def _prepare_labels(self, y_true, dtype):
        labels = _prepare_true(y_true, np.float64)
        if labels.size and not np.all(labels == np.round(labels)):
            raise ValueError(f"SparseCategoricalCrossentropy: y_true must hold integer class indices, "
                             f"got {labels[labels != np.round(labels)][:3].tolist()}")
        return labels.astype(np.int64)

    def _align(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.ndim > 0 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return y_true, y_pred

    def _validate(self, y_true, y_pred):
        axis = _check_axis(self.axis, y_pred.ndim, "SparseCategoricalCrossentropy")
        expected = y_pred.shape[:axis] + y_pred.shape[axis + 1:]
        if y_pred.ndim == 0 or y_true.shape != expected:
            raise ValueError(f"SparseCategoricalCrossentropy: y_true must have shape {expected} (or with a "
                             f"trailing 1) for y_pred.shape={y_pred.shape}, got y_true.shape={y_true.shape}")
        k = y_pred.shape[axis]
        valid = y_true if self.ignore_class is None else y_true[y_true != self.ignore_class]
        if valid.size and (valid.min() < 0 or valid.max() >= k):
            raise ValueError(f"SparseCategoricalCrossentropy: labels must be in [0, {k}) for {k} classes, "
                             f"got values from {valid.min()} to {valid.max()}")
        if not self.from_logits and np.any(_numbers(y_pred) < 0):
            raise ValueError("SparseCategoricalCrossentropy: probabilities in y_pred must be >= 0 "
                             "(did you mean from_logits=True?)")

    def _mask(self, y_true):
        return None if self.ignore_class is None else (y_true != self.ignore_class)

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        axis = _check_axis(self.axis, y_pred.ndim, "SparseCategoricalCrossentropy")
        valid = None if self.ignore_class is None else (y_true != self.ignore_class)
        labels = y_true if valid is None else np.where(valid, y_true, 0)
        log_q = np.moveaxis(_log_probabilities(ops, y_pred, dtype, self.from_logits, axis), axis, -1)
        picked = -np.take_along_axis(log_q, labels[..., None], axis=-1)[..., 0]
        if valid is not None:   # ignored samples contribute an exact 0 (no graph edge)
            picked = np.where(valid, picked, ops.zero(dtype))
            if ops is NumpyOps:
                picked = picked.astype(dtype)
        return picked

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class Hinge(Loss):
    """Hinge loss (micrograd's demo loss): per sample ``mean(max(1 - y * y_pred, 0))`` over the last
    axis, with labels in {-1, 1}. Labels that are all 0 or 1 are first converted by ``2 y - 1``, as in
    Keras. Unlike Keras (which uses any other labels unchanged), labels outside {-1, 0, 1}, or a mix of
    -1 and 0, raise ``ValueError``. PyTorch has ``HingeEmbeddingLoss`` (a different loss) and
    ``MultiMarginLoss``; neither converts 0/1 labels.
    """

    kind = "hinge"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge") -> None:
        super().__init__(reduction, name)

    def _validate(self, y_true, y_pred):
        super()._validate(y_true, y_pred)
        ok = np.all((y_true == 0) | (y_true == 1)) or np.all((y_true == -1) | (y_true == 1))
        if not ok:
            raise ValueError(f"Hinge: y_true must be all in {{0, 1}} or all in {{-1, 1}}, got "
                             f"{np.unique(y_true)[:5].tolist()}")

    def call(self, y_true, y_pred, ops=NumpyOps, dtype=np.float64):
        return _hinge(ops, y_true, y_pred, dtype)


# ------------------------------------------------------------------------------ function forms
def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Any:
    """Per-sample binary cross-entropy (no reduction), Keras' ``keras.losses.binary_crossentropy``."""
    return BinaryCrossentropy(from_logits, label_smoothing, axis, reduction="none")(y_true, y_pred)


def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """Per-sample ``mean((y_true - y_pred)**2)`` over the last axis (no reduction)."""
    return MeanSquaredError(reduction="none")(y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis (no reduction)."""
    return MeanAbsoluteError(reduction="none")(y_true, y_pred)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Any:
    """Per-sample categorical cross-entropy (no reduction)."""
    return CategoricalCrossentropy(from_logits, label_smoothing, axis, reduction="none")(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Any:
    """Per-sample sparse categorical cross-entropy (no reduction; ignored samples give 0)."""
    return SparseCategoricalCrossentropy(from_logits, ignore_class, axis, reduction="none")(y_true, y_pred)


def hinge(y_true: Any, y_pred: Any) -> Any:
    """Per-sample hinge loss ``mean(max(1 - y * y_pred, 0))`` (no reduction)."""
    return Hinge(reduction="none")(y_true, y_pred)


# ------------------------------------------------------------------------------------ lookup
_ALIASES: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "binarycrossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "meansquarederror": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "meanabsoluteerror": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "categoricalcrossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "sparsecategoricalcrossentropy": SparseCategoricalCrossentropy,
    "hinge": Hinge,
}


def get(identifier: str | Loss | dict | None) -> Loss | None:
    """Resolve a loss: a :class:`Loss` is returned as is; a name (``"binary_crossentropy"``, ``"bce"``,
    ``"mse"``, ``"mean_squared_error"``, ``"mae"``, ``"categorical_crossentropy"``,
    ``"sparse_categorical_crossentropy"``, ``"hinge"``, or a class name such as
    ``"BinaryCrossentropy"``) gives a new loss with default arguments; ``{"class_name": ..., "config":
    {...}}`` gives a configured one; ``None`` gives ``None``."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"A loss config dict needs a 'class_name' key, got {sorted(identifier)}")
        cls = _lookup(str(identifier["class_name"]))
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(f"Could not interpret loss identifier {identifier!r} of type "
                    f"{type(identifier).__name__}: pass a name, a Loss instance or a config dict")


def _lookup(name: str) -> type[Loss]:
    key = name.lower()
    if key not in _ALIASES:
        known = sorted(k for k in _ALIASES if "_" in k or len(k) <= 5)
        raise ValueError(f"Unknown loss {name!r}. Known names: {known} "
                         f"(class names such as 'BinaryCrossentropy' work too)")
    return _ALIASES[key]
