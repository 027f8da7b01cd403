"""The calls that compute with a model's weights: outputs, gradients and the loss graph of a batch.

``predict`` runs on the engine; ``model(x)`` is the NumPy reference forward pass (the layers'
own ``forward``, float64); :func:`compute_gradients` asks the engine for one batch's gradients without
an update; :func:`loss_graph` builds the scalar graph of a batch's loss whatever the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Value
from ..engines.scalar import build_loss_graph
from ..layers import Dense
from . import data
from .finite_weights import check_weights_finite

__all__ = ["predict", "reference_forward", "compute_gradients", "loss_graph"]


def predict(model: Any, x: Any, batch_size: int | None, verbose: int | str) -> np.ndarray:
    """:meth:`Sequential.predict <microgradx.models.sequential.Sequential.predict>`."""
    batch_size = data.check_batch_size(batch_size)
    data.check_verbose(verbose)
    x = data.check_x(model, x)
    if len(x) == 0:
        raise ValueError(f"Invalid value received for argument `x`: no samples (shape {x.shape}). "
                         f"Expected at least one row to predict.")
    check_weights_finite(model, "predict")
    if model._engine is None:
        return reference_forward(model, x)
    (x,) = data.engine_arrays(model, x=x)
    outputs = [model._engine.predict(x[start:start + batch_size]) for start in range(0, len(x), batch_size)]
    return np.concatenate(outputs, axis=0)


def reference_forward(model: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
    """The layers' NumPy ``forward`` at the model's current weights (float64)."""
    weights = model.get_weights()
    out = np.asarray(x, dtype=np.float64)
    position = 0
    step = int(getattr(model.optimizer, "iterations", 0)) if training else 0
    for layer in model.layers:
        if isinstance(layer, Dense):
            count = len(layer.weight_shapes())
            kernel = np.asarray(weights[position], dtype=np.float64)
            bias = np.asarray(weights[position + 1], dtype=np.float64) if layer.use_bias else None
            position += count
            out = layer.forward(out, kernel, bias)
        else:
            out = layer.forward(out, training=training, step=step)
    return out


def compute_gradients(model: Any, x: Any, y: Any, sample_weight: Any,
                      training: bool) -> tuple[float, list[np.ndarray]]:
    """:meth:`Sequential.compute_gradients <microgradx.models.sequential.Sequential.compute_gradients>`."""
    model._assert_compiled("compute_gradients")
    with model._exclusive("compute_gradients"):
        x, y, sample_weight = data.check_xy(model, x, y, sample_weight)
        data.check_targets(model, y)
        x, sample_weight = data.engine_arrays(model, x=x, sample_weight=sample_weight)
        targets = data.engine_targets(model, y, sample_weight)   # checked once: the engine does not again
        step = int(model.optimizer.iterations)
        loss, grads = model.engine.compute_gradients(x, targets, training=training, step=step)
    return float(loss), list(grads)


def loss_graph(model: Any, x: Any, y: Any, sample_weight: Any, training: bool) -> Value:
    """:meth:`Sequential.to_graph <microgradx.models.sequential.Sequential.to_graph>`."""
    if model.loss is None:
        raise ValueError("`to_graph()` needs a loss: call `compile(loss=...)` first.")
    x, y, sample_weight = data.check_xy(model, x, y, sample_weight)
    weights = [np.asarray(w, dtype=np.float64) for w in model.get_weights()]
    step = int(getattr(model.optimizer, "iterations", 0)) if training else 0
    return build_loss_graph(model.layers, model.loss, weights, x, y, sample_weight,
                            training=training, step=step)[0]
