"""Weight and activity penalties, Keras 3's ``keras.regularizers`` (``keras/src/regularizers/``).

A regularizer maps a tensor ``x`` (a layer's kernel, its bias, or its output for a batch) to one number
that is added to the training loss::

    L1(l1)        penalty = l1 * sum |x|
    L2(l2)        penalty = l2 * sum x**2          (no 1/2: d/dx = 2 * l2 * x)
    L1L2(l1, l2)  penalty = l1 * sum |x| + l2 * sum x**2

micrograd's own demo regularises the same way: its loss adds ``alpha * sum(p * p for p in parameters)``,
which is ``L2(alpha)`` over every weight and bias.

The penalty of a tensor is Keras' formula (:meth:`Regularizer.__call__`) over the element-wise namespaces
of :mod:`microgradx.losses`: on a float array it gives the penalty as a number, and on an object array of
:class:`~microgradx.Value` it builds the graph (one ``abs`` or ``**2`` node per element, one ``sum`` node,
and one ``*`` node with the factor, a constant leaf labelled ``l1``/``l2``), so ``backward()`` shows
``d penalty / d w = l1 * sign(w) + 2 * l2 * w``::

    >>> import numpy as np, microgradx as mgx
    >>> float(L2(2.0)(np.ones((5, 5))))                  # Keras' docstring example
    50.0
    >>> w = np.array([mgx.Value(0.5), mgx.Value(-1.0)], dtype=object)
    >>> penalty = L1L2(l1=0.1, l2=0.01)(w)
    >>> round(penalty.data, 6)                           # 0.1 * 1.5 + 0.01 * 1.25
    0.1625
    >>> _ = penalty.backward()
    >>> round(w[0].grad, 6), round(w[1].grad, 6)         # 0.1 * sign(w) + 2 * 0.01 * w
    (0.11, -0.12)

The compiled engines add a penalty and its gradient in one pass over a tensor, element by element: that
rule is written once here, next to the classes, as plain scalar maths (:func:`penalty_rule`,
:func:`penalty_gradient_rule`, the pair :data:`PENALTY_RULES` = ``Regularizer.rules``), and the kernels
compile it for the CPU (:func:`microgradx.kernels.regularizers.penalty_pass`, and the optimizers' fused
update) and for CUDA (:func:`microgradx.kernels.cuda.regularizers.penalty_kernels`); the plan hands it to
the engines (``plan.penalty_rules``), which never import this module.

How a model uses them (``Dense(kernel_regularizer=..., bias_regularizer=..., activity_regularizer=...)``),
as in Keras 3 (``keras/src/layers/layer.py``, ``keras/src/trainers/trainer.py``): every batch's training
loss is the compiled loss **plus** each weight penalty **plus** each activity penalty divided by the
batch size (``activity_regularizer(output) / batch``), so the weighting of weight and activity penalties
does not change with the batch size.

Keras details matched on purpose (each tested against Keras 3.15.1):

* Defaults: ``L1(l1=0.01)``, ``L2(l2=0.01)``, ``L1L2(l1=0.0, l2=0.0)`` (so ``get("l1l2")`` penalises
  nothing); ``None`` means the default.
* :func:`get` accepts ``"l1"``, ``"l2"``, ``"l1l2"`` and the class names; ``"l1_l2"`` is rejected, as in
  Keras 3.15.1, although ``keras.regularizers.l1_l2`` is a name of the class.

Differences, on purpose: a factor must be a real number (``bool`` is refused; Keras reads ``True`` as 1);
factors stay Python floats, as the optimizers' learning rates do (Keras' ``L1`` keeps its factor in a
tensor of ``floatx``, so under the default float32 ``L1(0.1)`` multiplies by 0.10000000149011612);
and :func:`get` refuses Keras regularizers that microgradx does not have (``OrthogonalRegularizer``) and
arbitrary callables, with a message naming them, because the engines compute the penalty in their
kernels from the two factors. Penalties of float arrays accumulate in float64 and are returned in the
array's dtype.
"""

from __future__ import annotations

import inspect
import math
from numbers import Real
from typing import Any, Callable, NamedTuple

import numpy as np

from .engine import Value
from .losses.ops import NumpyOps, ValueOps, is_value_array

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize",
           "weight_penalties", "activity_penalty", "model_penalty", "penalty_rule", "penalty_gradient_rule",
           "PenaltyRules", "PENALTY_RULES"]


def validate_float_arg(value: Any, name: str) -> float:
    """A penalty factor: a finite real number >= 0 (Keras' ``validate_float_arg``), as a float."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


# --------------------------------------------------------------- the element rule the kernels compile
def penalty_rule(x, l1, l2):
    """One element's penalty, ``l1 |x| + l2 x**2``; a tensor's penalty is the sum over its elements."""
    return l1 * abs(x) + l2 * x * x


def penalty_gradient_rule(x, l1, two_l2):
    """Its derivative, ``d/dx (l1 |x| + l2 x**2) = l1 sign(x) + 2 l2 x`` with ``sign(0) = 0`` (``two_l2``
    is ``2 l2``, computed once by the caller, so that a float32 loop stays float32)."""
    d = two_l2 * x
    if x > 0.0:
        d = d + l1
    elif x < 0.0:
        d = d - l1
    return d


class PenaltyRules(NamedTuple):
    """A regularizer's element rules, handed to the kernel factories (through the engines' plan)."""

    penalty: Callable
    gradient: Callable


PENALTY_RULES = PenaltyRules(penalty_rule, penalty_gradient_rule)


class Regularizer:
    """Base class: ``penalty(x) = l1 * sum|x| + l2 * sum x**2`` with the factors ``l1`` and ``l2``.

    Subclasses set ``l1`` and ``l2`` and write :meth:`get_config`. A term whose factor is 0 is left
    out (Keras does the same), so ``L2`` builds no ``abs`` nodes. ``rules`` is the same penalty one
    element at a time (:data:`PENALTY_RULES`), which the compiled engines run.
    """

    l1: float = 0.0
    l2: float = 0.0
    rules = PENALTY_RULES

    def __call__(self, x: Any) -> Any:
        """The penalty of ``x``: a number for a float array, a ``Value`` for an array of Values."""
        if is_value_array(x):
            arr, ops, dtype = np.asarray(x, dtype=object).reshape(-1), ValueOps, None
            factor = lambda number, label: Value(number, label=label)  # noqa: E731 - a labelled constant
        else:
            arr = np.asarray(x)
            if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
                raise TypeError(f"A regularizer takes an array of numbers or of microgradx.Value, "
                                f"got dtype {arr.dtype}")
            dtype = arr.dtype.type if arr.dtype in (np.float32, np.float64) else np.float64
            arr, ops = arr.astype(np.float64).reshape(-1), NumpyOps
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{type(self).__name__}: the array holds non-finite values "
                                 f"({arr[~np.isfinite(arr)][:3].tolist()}...); its penalty would be NaN/inf")
            factor = lambda number, label: number  # noqa: E731
        terms = []
        if self.l1 != 0.0:
            terms.append(factor(self.l1, "l1") * ops.total(ops.abs(arr)))      # l1 * sum |x|
        if self.l2 != 0.0:
            terms.append(factor(self.l2, "l2") * ops.total(arr ** 2))          # l2 * sum x**2
        if dtype is None:
            return terms[0] + terms[1] if len(terms) == 2 else (terms[0] if terms else Value(0.0))
        return dtype(sum(terms))

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        """The regularizer ``cls(**config)``; unknown keys raise ``ValueError`` naming them."""
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config expects a dict, got {type(config).__name__}")
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"Unrecognized argument(s) for {cls.__name__}: {unknown}; "
                             f"expected some of {sorted(allowed)}")
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and (self.l1, self.l2) == (other.l1, other.l2)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.l1, self.l2))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """Both penalties: ``l1 * sum|x| + l2 * sum x**2``. Defaults ``l1=0.0, l2=0.0`` (Keras keeps them 0
    for backward compatibility, so ``L1L2(l2=0.1)`` has no L1 term)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, "l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, "l2")

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum|x|`` (default ``l1=0.01``); its gradient is ``l1 * sign(x)`` (0 at 0)."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = validate_float_arg(0.01 if l1 is None else l1, "l1")

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum x**2`` (default ``l2=0.01``); its gradient is ``2 * l2 * x`` (weight decay of the
    gradient, unlike the optimizers' decoupled ``weight_decay``)."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, "l2")

    def get_config(self) -> dict:
        return {"l2": self.l2}


# Keras' lower-case names of the classes (keras.regularizers.l1 is L1, l1_l2 is L1L2).
l1 = L1
l2 = L2
l1_l2 = L1L2

_CLASSES = {cls.__name__: cls for cls in (L1, L2, L1L2)}
#: The strings :func:`get` accepts: the class names and their snake case (Keras' ALL_OBJECTS_DICT).
IDENTIFIERS = {**_CLASSES, "l1": L1, "l2": L2, "l1l2": L1L2}
#: Keras 3 regularizers that microgradx does not have (named in the error instead of "unknown").
_NOT_AVAILABLE = ("OrthogonalRegularizer", "orthogonal_regularizer", "Regularizer", "regularizer")


def _not_available(name: str) -> ValueError:
    return ValueError(f"Regularizer {name!r} exists in Keras but not in microgradx, whose engines "
                      f"compute L1, L2 and L1L2 penalties only; use one of {sorted(IDENTIFIERS)}")


def serialize(regularizer: Regularizer) -> dict:
    """Keras 3's serialized form: ``{"module": "keras.regularizers", "class_name": "L2",
    "config": {"l2": 0.01}, "registered_name": None}``."""
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"serialize expects a microgradx regularizer, got {regularizer!r}")
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config: dict) -> Regularizer:
    """The regularizer of a :func:`serialize` dict (also ``{"class_name": ..., "config": ...}``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret regularizer config: {config!r}; expected a dict with "
                         f"'class_name' and 'config'")
    name = config["class_name"]
    module = config.get("module", "keras.regularizers")
    if name in _NOT_AVAILABLE:
        raise _not_available(name)
    if name not in IDENTIFIERS or module not in (None, "keras.regularizers"):
        raise ValueError(f"Could not interpret regularizer config: class_name={name!r} "
                         f"(module={module!r}); expected one of {sorted(_CLASSES)}")
    return IDENTIFIERS[name].from_config(config.get("config") or {})


def get(identifier: Any) -> Regularizer | None:
    """A regularizer from ``None`` (none), a name (``"l1"``, ``"l2"``, ``"l1l2"``, ``"L1"``, ...), an
    instance, a class, or a config dict (:func:`serialize`'s form). Names use the defaults."""
    if identifier is None:
        return None
    if isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _NOT_AVAILABLE:
            raise _not_available(identifier)
        if identifier not in IDENTIFIERS:
            raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}; expected one "
                             f"of {sorted(IDENTIFIERS)} (Keras 3 does not accept 'l1_l2' as a string)")
        return IDENTIFIERS[identifier]()
    if inspect.isclass(identifier) and issubclass(identifier, Regularizer) and identifier is not Regularizer:
        return identifier()
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}. microgradx takes "
                     f"L1, L2 or L1L2 (an instance, a class, a name or a config), not arbitrary callables, "
                     f"because its engines compute the penalty from the l1 and l2 factors.")


# ------------------------------------------------------------------------ a model's penalties
def weight_penalties(layers: Any, weights: Any) -> list[tuple[str, Regularizer, int]]:
    """``(label, regularizer, index into weights)`` for every regularised weight of ``layers`` (Keras order:
    per Dense, the kernel then the bias), e.g. ``("dense/kernel", L2(0.01), 0)``."""
    out = []
    position = 0
    for layer in layers:
        count = len(layer.weight_shapes())
        kernel, bias = getattr(layer, "kernel_regularizer", None), getattr(layer, "bias_regularizer", None)
        if kernel is not None:
            out.append((f"{layer.name}/kernel", kernel, position))
        if bias is not None and getattr(layer, "use_bias", False):
            out.append((f"{layer.name}/bias", bias, position + 1))
        position += count
    return out


def activity_penalty(regularizer: Regularizer, output: Any) -> Any:
    """Keras' activity penalty of a batch's layer output: ``regularizer(output) / batch size``."""
    return regularizer(output) / len(output)


def model_penalty(layers: Any, weights: Any, x: Any = None) -> float:
    """Every penalty of a model as a float64 number: the weight penalties at ``weights`` plus, for a batch
    ``x``, each activity penalty of the layer outputs in inference mode (what ``evaluate`` adds per batch)."""
    total = 0.0
    for _, reg, index in weight_penalties(layers, weights):
        total += float(reg(np.asarray(weights[index], dtype=np.float64)))
    if x is not None and any(getattr(layer, "activity_regularizer", None) is not None for layer in layers):
        out = np.asarray(x, dtype=np.float64)
        position = 0
        for layer in layers:
            count = len(layer.weight_shapes())
            if layer.kind == "dense":
                out = layer.forward(out, *[np.asarray(w, dtype=np.float64) for w in weights[position:position + count]])
                if layer.activity_regularizer is not None:
                    total += float(activity_penalty(layer.activity_regularizer, out))
            position += count
    return total
