""":func:`get`: a loss from a name, a class name, a Keras config dict or an instance."""

from __future__ import annotations

from .crossentropy import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from .hinge_losses import Hinge
from .loss import Loss
from .regression import MeanAbsoluteError, MeanSquaredError


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
