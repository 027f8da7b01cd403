"""Layers: plain configuration objects that the engines read (Keras 3 names, defaults and errors).

A layer here does not own live weights: the model's engine does (see ``docs/design.md``). A layer
knows its configuration, the shapes of its weights, how to draw their initial values, and a NumPy
reference forward pass (``layer.forward``) that the engines are checked against.

* :class:`Input` declares the input shape of a :class:`~microgradx.models.Sequential` model.
* :class:`Dense`: ``activation(x @ kernel + bias)``, kernel ``(in, out)``, bias ``(out,)``.
* :class:`Dropout`: inverted dropout, only in training: ``where(keep, x / (1 - rate), 0)`` with
  ``keep = hash_uniform(seed, step, i) >= rate`` drawn at the resolved ``noise_shape`` and broadcast.

Names follow Keras: ``dense``, ``dense_1``, ... ``dropout``, ``dropout_1`` (unique in a session, see
:func:`microgradx.utils.clear_session`).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import activations, initializers, regularizers, utils
from .engines.base import dropout_scale

if TYPE_CHECKING:  # pragma: no cover
    from .models import Sequential

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Dropout"]


def _check_input_shape(shape: object, argument: str = "shape") -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) != 1:
        raise ValueError(f"Invalid value received for argument `{argument}`: {shape!r}. Expected a tuple "
                         f"with one positive integer, the number of features, e.g. (2,): microgradx "
                         f"models take 2-D inputs (batch, features).")
    width = shape[0]
    if isinstance(width, bool) or not isinstance(width, Integral) or width <= 0:
        raise ValueError(f"Invalid value received for argument `{argument}`: {tuple(shape)!r}. Expected "
                         f"a positive integer number of features.")
    return (int(width),)


class Input:
    """The model's input: ``Input(shape=(features,))``, as the first entry of ``Sequential([...])``.

    (In Keras ``Input`` returns a symbolic tensor; here it is a marker that carries the shape.)
    """

    def __init__(self, shape: tuple[int, ...] | int, name: str | None = None) -> None:
        self.shape = _check_input_shape(shape)
        self.name = name or utils.unique_name("input_layer")

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"


InputLayer = Input


class Layer:
    """Base class: a name, an optional ``input_shape`` hint, and the build protocol."""

    base_name = "layer"
    kind = "layer"

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid value received for argument `name`: {name!r}. Expected a string.")
        self.name = name or utils.unique_name(self.base_name)
        self.input_shape_hint = None if input_shape is None else _check_input_shape(input_shape, "input_shape")
        self.input_dim: int | None = None
        self.built = False
        self._model: "Sequential | None" = None

    def build(self, input_dim: int) -> None:
        """Fix the number of input features (called by the model)."""
        self.input_dim = int(input_dim)
        self.built = True

    def output_dim(self, input_dim: int) -> int:
        """The number of output features for ``input_dim`` input features."""
        return input_dim

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of this layer's weights in Keras order (empty for weightless layers)."""
        return []

    def weight_names(self) -> list[str]:
        """Labels of the weights (``"dense/kernel"``), one per entry of :meth:`weight_shapes`."""
        return []

    def initial_weights(self) -> list[np.ndarray]:
        """Freshly initialised weights (float64), one array per entry of :meth:`weight_shapes`."""
        return []

    def get_weights(self) -> list[np.ndarray]:
        """This layer's current weights (read from the model it belongs to)."""
        if self._model is None:
            if self.weight_shapes():
                raise ValueError(f"Layer {self.name!r} is not part of a built model, so it has no weights yet.")
            return []
        return self._model._layer_weights(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Dense(Layer):
    """A fully connected layer: ``output = activation(x @ kernel + bias)``.

    Args:
        units: number of outputs (a positive int).
        activation: ``"linear"`` (or ``None``), ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softmax"``.
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: names (``"glorot_uniform"``, ``"zeros"``, ...) or
            :mod:`microgradx.initializers` instances.
        kernel_regularizer, bias_regularizer: a penalty on the kernel / bias added to the training loss
            (:mod:`microgradx.regularizers`: ``"l1"``, ``"l2"``, ``"l1l2"``, an ``L1``/``L2``/``L1L2``).
        activity_regularizer: a penalty on the layer's output, divided by the batch size (Keras 3).
        input_shape: ``(features,)``, accepted on the first layer like Keras.
        name: the layer's name (default ``dense``, ``dense_1``, ...).

    The kernel has shape ``(in, out)`` (Keras), the transpose of PyTorch's ``nn.Linear.weight``.
    """

    base_name = "dense"
    #: what the engines read to recognise the layer (like ``loss.kind``)
    kind = "dense"

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: "str | initializers.Initializer" = "glorot_uniform",
                 bias_initializer: "str | initializers.Initializer" = "zeros",
                 kernel_regularizer: "str | regularizers.Regularizer | None" = None,
                 bias_regularizer: "str | regularizers.Regularizer | None" = None,
                 activity_regularizer: "str | regularizers.Regularizer | None" = None,
                 input_shape: tuple[int, ...] | None = None, name: str | None = None) -> None:
        if isinstance(units, bool) or not isinstance(units, Integral) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        super().__init__(name=name, input_shape=input_shape)

    def output_dim(self, input_dim: int) -> int:
        return self.units

    def weight_shapes(self) -> list[tuple[int, ...]]:
        if self.input_dim is None:
            raise ValueError(f"Layer {self.name!r} is not built: its input size is unknown.")
        shapes: list[tuple[int, ...]] = [(self.input_dim, self.units)]
        if self.use_bias:
            shapes.append((self.units,))
        return shapes

    def weight_names(self) -> list[str]:
        """``["dense/kernel", "dense/bias"]``: the labels of the weights (Keras' variable paths)."""
        return [f"{self.name}/kernel"] + ([f"{self.name}/bias"] if self.use_bias else [])

    def initial_weights(self) -> list[np.ndarray]:
        shapes = self.weight_shapes()
        weights = [self.kernel_initializer(shapes[0])]
        if self.use_bias:
            weights.append(self.bias_initializer(shapes[1]))
        return weights

    def forward(self, x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        """NumPy reference: ``activation(x @ kernel + bias)``."""
        z = np.asarray(x) @ kernel
        if bias is not None:
            z = z + bias
        return activations.forward(self.activation, z)

    def __repr__(self) -> str:
        return f"<Dense name={self.name} units={self.units} activation={self.activation}>"


def _check_rate(rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, Real) or not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 "
                         f"and 1. Received: rate={rate!r}")
    return float(rate)


def _check_noise_shape(noise_shape: object) -> tuple[int | None, ...] | None:
    if noise_shape is None:
        return None
    if not isinstance(noise_shape, (tuple, list)):
        raise ValueError(f"Invalid value received for argument `noise_shape`. Expected a tuple or list of "
                         f"integers. Received: noise_shape={noise_shape}")
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, Integral):
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all elements to be "
                             f"integers or None. Received element at index {i}: {dim} "
                             f"(type: {type(dim).__name__})")
        if dim <= 0:
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all dimensions to "
                             f"be positive integers or None. Received negative or zero value at index "
                             f"{i}: {dim}")
    return tuple(None if d is None else int(d) for d in noise_shape)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the rest.

        output = where(keep, x / (1 - rate), 0)    keep = hash_uniform(seed, step, i) >= rate

    Args:
        rate: fraction of units to drop, in [0, 1]. ``rate=1`` outputs zeros in training (Keras 3).
        noise_shape: shape of the mask, broadcast to the input; ``None`` entries are taken from the
            input (``(None, 1)`` drops whole rows of a ``(batch, features)`` input).
        seed: the mask's seed; ``None`` draws one from the global generator when the layer is built.

    Outside training (``training=False``, the default of a direct call, and in ``predict``/``evaluate``)
    the layer is the identity. PyTorch's ``nn.Dropout`` uses the same scaling but follows
    ``module.train()`` instead of a ``training`` argument.
    """

    base_name = "dropout"
    kind = "dropout"

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        self.rate = _check_rate(rate)
        self.noise_shape = _check_noise_shape(noise_shape)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
            raise ValueError(f"Invalid value received for argument `seed`: {seed!r}. "
                             f"Expected a non-negative integer or None.")
        self.seed: int | None = None if seed is None else int(seed)
        super().__init__(name=name, input_shape=input_shape)

    def build(self, input_dim: int) -> None:
        if self.seed is None:
            self.seed = utils.draw_seed()
        super().build(input_dim)

    def scale(self, input_shape: tuple[int, ...], step: int = 0) -> np.ndarray:
        """The float64 multiplier (0 or ``1/(1-rate)``) at the resolved noise shape for this step."""
        if self.seed is None:
            self.seed = utils.draw_seed()
        return dropout_scale(self.rate, self.seed, step, self.noise_shape, tuple(input_shape))

    def forward(self, x: np.ndarray, training: bool = False, step: int = 0) -> np.ndarray:
        """NumPy reference: identity unless ``training``; then ``x * scale`` (mask broadcast)."""
        x = np.asarray(x)
        if not training or self.rate == 0.0:
            return x
        return (x * self.scale(x.shape, step)).astype(x.dtype, copy=False)

    def __call__(self, x: np.ndarray, training: bool = False, step: int = 0) -> np.ndarray:
        """Apply the layer to an array, like calling a Keras layer (identity unless ``training=True``).

        The mask is a pure function of ``(seed, step)`` (a counter-based RNG, the same on every engine),
        so repeated calls with the same ``step`` give the same mask; Keras' stateful generator gives a
        new mask per call. Pass ``step=`` to draw another one.
        """
        return self.forward(x, training=training, step=step)

    def __repr__(self) -> str:
        return f"<Dropout name={self.name} rate={self.rate}>"
