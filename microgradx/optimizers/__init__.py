"""Keras 3 optimizers: SGD, Adam, Adadelta, Adagrad, RMSprop, and learning-rate schedules.

Each update rule is written once, as plain scalar maths next to its class (``adam_rule`` in
:mod:`~microgradx.optimizers.adam`, ...): :meth:`Optimizer.update_step` runs it on NumPy arrays and
the kernels compile it for the CPU and CUDA engines. Clipping and weight decay are written once in
:mod:`~microgradx.optimizers.rules`; the shared options (EMA, gradient accumulation, loss scaling) and
the order of one step live in :class:`~microgradx.optimizers.base.Optimizer`.

    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = Adam(learning_rate=0.1)
    >>> opt.apply([2 * w], [w])        # w is updated in place
    >>> opt.iterations
    1
    >>> opt.get_slot(0, "m")           # (1 - beta_1) g
    array([ 0.2, -0.4])
"""

from __future__ import annotations

from typing import Any

from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .base import Optimizer
from .rmsprop import RMSprop
from .schedules import (CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
                        PiecewiseConstantDecay, PolynomialDecay)
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "Adadelta", "Adagrad", "RMSprop", "schedules", "LearningRateSchedule",
    "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "CosineDecay", "PolynomialDecay",
    "get",
]

_BY_NAME = {"sgd": SGD, "adam": Adam, "adadelta": Adadelta, "adagrad": Adagrad, "rmsprop": RMSprop}


def get(identifier: Any) -> Optimizer:
    """Resolve an optimizer: an :class:`Optimizer` is returned as is; a name (``"sgd"``, ``"adam"``,
    ``"adadelta"``, ``"adagrad"``, ``"rmsprop"``, any case) gives one with Keras' defaults; a dict
    ``{"class_name": "Adam", "config": {...}}`` gives a configured one."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _lookup(str(identifier.get("class_name", "")))
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(f"Could not interpret optimizer identifier {identifier!r} of type "
                    f"{type(identifier).__name__}: pass a name, an Optimizer or a config dict")


def _lookup(name: str) -> type[Optimizer]:
    if name.lower() not in _BY_NAME:
        raise ValueError(f"Unknown optimizer {name!r}. Known names: {sorted(_BY_NAME)}")
    return _BY_NAME[name.lower()]
