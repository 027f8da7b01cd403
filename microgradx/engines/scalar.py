"""The scalar engine: the whole batch as one graph of :class:`~microgradx.engine.Value` nodes.

Every weight element is a leaf labelled like ``dense_1/kernel[0,3]`` or ``dense/bias[2]``, every
input element a constant leaf ``x[i,j]``. A training step is exactly micrograd's loop:

    loss = loss_fn(y, model(x))          # builds the graph, one node per number
    loss.backward()                      # the chain rule, node by node
    optimizer.apply(grads, weights)      # the same update rule the fast engines use

It is slow (Python objects, one per multiply and add) and meant for small models and for seeing
every step: :func:`build_loss_graph` returns the graph of any model's loss on a small batch, which
``model.to_graph`` hands to the drawing and explanation tools. Everything is float64.

Dropout multiplies each unit by the constant ``scale`` from :func:`~microgradx.engines.base.dropout_scale`
(0 or ``1/(1-rate)``), so the graph shows which units were dropped.
"""

from __future__ import annotations

import contextlib
import gc
import math
from typing import Any, Sequence

import numpy as np

from .. import activations
from ..engine import Value, sum_values, weighted_sum
from ..losses import training_loss
from ..regularizers import activity_penalty, weight_penalties
from .base import Engine, Plan, Targets

__all__ = ["ScalarEngine", "build_loss_graph", "dense_values", "forward_values", "weight_leaves"]


@contextlib.contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a graph is built and differentiated.

    A batch's graph is tens of thousands of new objects. They hold no reference cycles (a node points
    only to its inputs), so reference counting frees them; but every few hundred allocations the
    collector would walk the growing graph again (micrograd's demo batch: forward 72 ms -> 17 ms).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _label(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(str(i) for i in index)}]"


def weight_leaves(layers: Sequence[Any], weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One object array of labelled leaf ``Value``s per weight array (``requires_grad=True``)."""
    names = [name for layer in layers for name in layer.weight_names()]
    leaves = []
    for name, array in zip(names, weights):
        array = np.asarray(array, dtype=np.float64)
        out = np.empty(array.shape, dtype=object)
        for index, number in np.ndenumerate(array):
            out[index] = Value(float(number), label=_label(name, index), requires_grad=True)
        leaves.append(out)
    return leaves


def input_leaves(x: np.ndarray, prefix: str = "x") -> np.ndarray:
    """Constant leaves ``x[i,j]`` for the inputs of a batch."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=object)
    for index, number in np.ndenumerate(x):
        out[index] = Value(float(number), label=_label(prefix, index))
    return out


def dense_values(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``z[i,k] = sum_j x[i,j] * kernel[j,k] + bias[k]`` as one ``sum`` node over the products per unit.

    The same numbers as ``x @ kernel + bias`` (added left to right, bias last), in a graph of
    ``units * (inputs + 1)`` nodes per row instead of a chain of ``+`` nodes.
    """
    columns = [list(kernel[:, k]) for k in range(kernel.shape[1])]
    biases = [None] * len(columns) if bias is None else list(bias)
    z = np.empty((x.shape[0], len(columns)), dtype=object)
    for i, row in enumerate(x):
        row = list(row)
        z[i] = [weighted_sum(column, row, b, bias_last=True) for column, b in zip(columns, biases)]
    return z


def forward_values(layers: Sequence[Any], leaves: Sequence[np.ndarray], x: np.ndarray,
                   *, training: bool = False, step: int = 0, penalties: list | None = None) -> np.ndarray:
    """The model's output as a ``(batch, units)`` object array of ``Value`` (the forward graph).

    Dense: ``z[i,k] = sum_j x[i,j] * kernel[j,k] + bias[k]``, then the activation node(s).
    Dropout (training only): ``out = a * scale`` with the constant mask of ``(seed, step)``.
    ``penalties``: a list that receives each Dense layer's activity penalty node,
    ``activity_regularizer(output) / batch`` (labelled ``"dense activity penalty"``).
    """
    out = input_leaves(x)
    position = 0
    for layer in layers:
        if layer.kind == "dense":
            kernel = leaves[position]
            bias = leaves[position + 1] if layer.use_bias else None
            position += 2 if layer.use_bias else 1
            out = activations.value_forward(layer.activation, dense_values(out, kernel, bias))
            if penalties is not None and getattr(layer, "activity_regularizer", None) is not None:
                penalties.append(_labelled(activity_penalty(layer.activity_regularizer, out),
                                           f"{layer.name} activity penalty"))
        elif training and layer.rate > 0.0:  # Dropout
            scale = np.broadcast_to(layer.scale(out.shape, step), out.shape)
            out = out * scale  # Value * float: a "*" node whose other input is the constant scale
    return out


def _labelled(node: Value, label: str) -> Value:
    node.label = label
    return node


def with_penalties(value: Any, layers: Sequence[Any], leaves: Sequence[np.ndarray], activity: list) -> Any:
    """Keras' training loss: the compiled loss plus the activity penalties plus the weight penalties,
    one ``sum`` node labelled ``loss`` (the compiled loss relabelled ``compiled loss``); ``value`` alone
    when the model has no regularizer. Weight penalty nodes are labelled like ``"dense/kernel penalty"``."""
    terms = activity + [_labelled(reg(leaves[index]), f"{label} penalty")
                        for label, reg, index in weight_penalties(layers, leaves)]
    if not terms:
        return value
    if isinstance(value, Value) and value.label in ("", "loss"):
        value.label = "compiled loss"
    return _labelled(sum_values([value, *terms]), "loss")


@_collector_paused()
def build_loss_graph(layers: Sequence[Any], loss: Any, weights: Sequence[np.ndarray], x: np.ndarray,
                     y: np.ndarray, sample_weight: np.ndarray | None = None, *, training: bool = False,
                     step: int = 0) -> tuple[Value, list[np.ndarray], np.ndarray]:
    """``(loss_value, leaves, y_pred)``: the scalar graph of ``loss(y, model(x))`` at ``weights``."""
    leaves = weight_leaves(layers, weights)
    activity: list = []
    y_pred = forward_values(layers, leaves, x, training=training, step=step, penalties=activity)
    value = training_loss(loss(np.asarray(y, dtype=np.float64), y_pred, sample_weight))
    value = with_penalties(value, layers, leaves, activity)
    if not isinstance(value, Value):
        # a loss that reduces to a plain number (e.g. every term was a constant) still gives a graph root
        value = Value(float(value), label="loss")
    elif not value.label:
        value.label = "loss"
    return value, leaves, y_pred


class ScalarEngine(Engine):
    """Forward and backward through the ``Value`` graph; float64 weights in NumPy arrays.

    It executes the model's :class:`~microgradx.engines.base.Plan` (layers and loss) as it is; the plan's
    ``dtype`` is ignored: the scalar engine always computes in float64.
    """

    name = "scalar"

    def __init__(self, plan: Plan, optimizer: Any) -> None:
        super().__init__(plan, optimizer)
        self.dtype = np.dtype(np.float64)
        self._weights = [np.zeros(shape, dtype=np.float64) for shape in self.shapes]

    # ------------------------------------------------------------------ weights
    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self._weights = [np.array(w, dtype=np.float64, copy=True) for w in weights]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    # ------------------------------------------------------------------ compute
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Forward pass in float64 NumPy (the same formulas as the graph, without building it)."""
        out = np.asarray(x, dtype=np.float64)
        position = 0
        for layer in self.layers:
            if layer.kind == "dense":
                kernel = self._weights[position]
                bias = self._weights[position + 1] if layer.use_bias else None
                position += 2 if layer.use_bias else 1
                out = layer.forward(out, kernel, bias)
        return out

    def to_graph(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                 *, training: bool = False, step: int = 0) -> Value:
        """The loss of the batch as a scalar ``Value`` whose leaves are the (labelled) weights."""
        return build_loss_graph(self.layers, self.loss, self._weights, x, y, sample_weight,
                                training=training, step=step)[0]

    @_collector_paused()
    def _gradients(self, x: np.ndarray, targets: Targets, training: bool,
                   step: int) -> tuple[float, list[np.ndarray], np.ndarray]:
        """``(loss, grads, outputs)`` of checked targets: the loss's unchecked call (``loss.unchecked``)."""
        leaves = weight_leaves(self.layers, self._weights)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite outputs are handled below
                activity: list = []
                y_pred = forward_values(self.layers, leaves, x, training=training, step=step, penalties=activity)
            outputs = np.vectorize(lambda v: v.data, otypes=[np.float64])(y_pred)
        except OverflowError:  # a diverging model: report a non-finite loss instead of crashing
            outputs = np.full((len(x), 1), np.inf)
        nan_result = (math.nan, [np.full(w.shape, math.nan) for w in self._weights], outputs)
        if not np.all(np.isfinite(outputs)):
            return nan_result
        try:
            value = training_loss(self.loss.unchecked(targets.y, y_pred, targets.sample_weight))
            value = with_penalties(value, self.layers, leaves, activity)
        except OverflowError:  # e.g. a squared error beyond the float range
            return nan_result
        if not isinstance(value, Value):
            return float(value), [np.zeros(w.shape) for w in self._weights], outputs
        if not math.isfinite(value.data):
            return nan_result
        try:
            value.backward(record=False)
        except OverflowError:  # a gradient beyond the float range: skip the update like a non-finite loss
            return nan_result
        grads = [np.vectorize(lambda v: v.grad, otypes=[np.float64])(leaf) for leaf in leaves]
        return value.data, grads, outputs

    def compute_gradients(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                          *, training: bool = True, step: int = 0) -> tuple[float, list[np.ndarray]]:
        loss, grads, _ = self._gradients(x, self.checked_targets(y, sample_weight, len(x)), training, step)
        return loss, grads

    def train_step(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                   *, step: int, outputs: bool = False) -> "float | tuple[float, np.ndarray]":
        loss, grads, y_pred = self._gradients(x, self.checked_targets(y, sample_weight, len(x)), True, step)
        self.rejected_update = False
        if np.isfinite(loss) and not all(np.isfinite(g).all() for g in grads):
            self.rejected_update = True  # optimizer.apply refuses a non-finite gradient: skip the update
        elif np.isfinite(loss):
            before, raw_iterations = self.get_weights(), self.optimizer._raw_iterations
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is checked for just below
                self.optimizer.apply(grads, self._weights)
            if not self.weights_finite():  # the update overflowed: undo it (see Engine.train_step)
                self._weights, self.optimizer._raw_iterations = before, raw_iterations
                self.rejected_update = True
        return (loss, y_pred) if outputs else loss
