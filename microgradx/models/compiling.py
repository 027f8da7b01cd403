"""``compile``: the model's optimizer, loss, metrics and engine, and the engine made for its layers.

:func:`compile_model` resolves and checks every argument before anything changes, then keeps the
current weights for the new engine. :func:`make_engine` runs once the model is compiled and built
(and again after it grows or shrinks): it describes the computation once
(:func:`~microgradx.engines.base.describe`: the layers, the loss and the dtype, as the plan the chosen
engine executes) and hands that plan to the engine class chosen at ``compile``, then the weights.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..engines import get_engine
from ..engines.base import describe, resolve_dtype

__all__ = ["compile_model", "make_engine"]


def compile_model(model: Any, optimizer: Any, loss: Any, metrics: Sequence[Any] | None, engine: str,
                  dtype: object) -> None:
    """:meth:`Sequential.compile <microgradx.models.sequential.Sequential.compile>` on ``model``."""
    resolved_optimizer = optimizers_module.get(optimizer)
    resolved_loss = losses_module.get(loss)
    if metrics is not None and (isinstance(metrics, (str, dict)) or not isinstance(metrics, (list, tuple))):
        raise TypeError(f"Invalid value received for argument `metrics`: {metrics!r}. Expected a list, "
                        f"e.g. metrics=['accuracy'].")
    for identifier in metrics or []:
        if isinstance(identifier, str) and identifier.lower() not in metrics_module.METRIC_NAMES:
            metrics_module.get(identifier)  # raises the ValueError listing the valid names
    engine_class = get_engine(engine)
    resolve_dtype(dtype)  # validate now, whatever the engine

    current = model.get_weights() if model.built else None
    model.optimizer = resolved_optimizer
    model.loss = resolved_loss
    model._metric_ids = list(metrics or [])
    model.metrics = []
    model._engine_class = engine_class
    model._engine_name = engine
    model._dtype = dtype
    model.compiled = True
    model._grown_after_optimizer_built = False
    model._engine = None
    if current is not None:
        model._host_weights = current
    make_engine(model)


def make_engine(model: Any) -> None:
    """Give a compiled, built ``model`` an engine holding its weights (nothing to do otherwise)."""
    if not (model.compiled and model.built) or model._engine is not None:
        return
    assert model._engine_class is not None
    plan = describe(model._engine_class, model.layers, model.loss, model._dtype)   # the one description
    engine = model._engine_class(plan, model.optimizer)                            # executes it
    engine.set_weights(model._host_weights)
    model._engine = engine
