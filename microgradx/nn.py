"""A tiny neural-network library on scalar ``Value``s, micrograd-compatible.

``Module`` (``parameters()``, ``zero_grad()``), ``Neuron``, ``Layer`` and ``MLP`` behave like micrograd's
(``MLP(2, [16, 16, 1])`` has 337 parameters, the last layer is linear, a one-neuron layer returns a bare
``Value``, the reprs read ``MLP of [Layer of [ReLUNeuron(2), ...]]``), with three additions:

* a choice of nonlinearity (``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"linear"``);
* seeded weight initialisation, drawn with ``np.random.default_rng(seed)`` (see :func:`init_weights`);
* every parameter is labelled ``L<layer>.N<neuron>.w<input>`` / ``L<layer>.N<neuron>.b`` (0-based), so
  traces, explanations and drawings name them.

A neuron computes ``act(b + w0*x0 + w1*x1 + ...)`` as one n-ary ``sum`` node over the products
(:func:`~microgradx.engine.weighted_sum`): the same number as micrograd's chain of ``+`` nodes (the additions
run left to right), with half the nodes.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .engine import Value, weighted_sum

__all__ = ["Module", "Neuron", "Layer", "MLP", "init_weights", "ACTIVATIONS", "INITIALIZERS"]

#: activation name -> the name micrograd-style reprs use
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}
#: accepted ``init`` names (see :func:`init_weights`)
INITIALIZERS = ("normal", "uniform", "glorot", "he")


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    return activation


def _check_size(value: object, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{argument} must be a positive int, got {value!r}")
    return int(value)


def init_weights(rng: np.random.Generator, nin: int, nout: int, init: str = "normal",
                 sigma: float | None = None) -> np.ndarray:
    """Draw an ``(nout, nin)`` weight matrix (row i: the weights of neuron i).

    * ``"normal"``: w ~ N(0, sigma**2), sigma defaults to 1 (the lecture's step 1).
    * ``"uniform"``: w ~ U(-sigma, sigma), sigma defaults to 1 (micrograd's ``uniform(-1, 1)``).
    * ``"glorot"``: w ~ U(-l, l) with l = sqrt(6 / (nin + nout)) (Keras' default ``glorot_uniform``).
    * ``"he"``: w ~ N(0, 2 / nin) (He normal; Keras' ``he_normal`` truncates at 2 std, this does not).
    """
    if init not in INITIALIZERS:
        raise ValueError(f"init must be one of {list(INITIALIZERS)}, got {init!r}")
    if init in ("glorot", "he"):
        if sigma is not None:
            raise ValueError(f"sigma={sigma!r} is only used by init='normal' or 'uniform', "
                             f"not init={init!r} (its scale comes from the layer's fan-in/fan-out)")
        if init == "glorot":
            limit = math.sqrt(6.0 / (nin + nout))
            return rng.uniform(-limit, limit, size=(nout, nin))
        return rng.normal(0.0, math.sqrt(2.0 / nin), size=(nout, nin))
    scale = 1.0 if sigma is None else sigma
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    if init == "normal":
        return rng.normal(0.0, scale, size=(nout, nin))
    return rng.uniform(-scale, scale, size=(nout, nin))


class Module:
    """Base class: something with parameters (``Value`` leaves with ``requires_grad=True``)."""

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (gradients accumulate across ``backward()`` calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    """``act(b + sum_i w_i x_i)``.

    Args:
        nin: number of inputs.
        activation: ``"relu"`` (default), ``"tanh"``, ``"sigmoid"`` or ``"linear"``.
        nonlin: micrograd's flag; ``nonlin=False`` means ``activation="linear"``.
        weights: the ``nin`` initial weights; default: drawn from U(-1, 1) with ``rng``, like micrograd.
        bias: the initial bias (default 0, like micrograd).
        rng: a ``np.random.Generator`` for the default weights (default ``np.random.default_rng()``).
        name: label prefix of the parameters (``"L0.N3"`` gives ``L0.N3.w0`` ... ``L0.N3.b``).
    """

    def __init__(self, nin: int, activation: str = "relu", *, nonlin: bool | None = None,
                 weights: Sequence[float] | None = None, bias: float = 0.0,
                 rng: np.random.Generator | None = None, name: str = "N") -> None:
        nin = _check_size(nin, "nin")
        if nonlin is not None:
            activation = activation if nonlin else "linear"
        self.activation = _check_activation(activation)
        if weights is None:
            weights = (rng if rng is not None else np.random.default_rng()).uniform(-1.0, 1.0, nin)
        if len(weights) != nin:
            raise ValueError(f"weights must hold nin={nin} numbers, got {len(weights)}")
        self.w = [Value(float(wi), label=f"{name}.w{i}", requires_grad=True) for i, wi in enumerate(weights)]
        self.b = Value(float(bias), label=f"{name}.b", requires_grad=True)

    @property
    def nonlin(self) -> bool:
        """micrograd's attribute: whether an activation follows the sum."""
        return self.activation != "linear"

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        act = weighted_sum(self.w, x, self.b)  # the graph of sum_values([b, w0 * x0, w1 * x1, ...])
        if self.activation == "relu":
            return act.relu()
        if self.activation == "linear":
            return act
        return getattr(act, self.activation)()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{ACTIVATIONS[self.activation]}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs. Returns a list, or a bare ``Value`` if ``nout == 1``."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", *, nonlin: bool | None = None,
                 weights: np.ndarray | None = None, rng: np.random.Generator | None = None,
                 name: str = "L") -> None:
        nin, nout = _check_size(nin, "nin"), _check_size(nout, "nout")
        if weights is None:
            weights = init_weights(rng if rng is not None else np.random.default_rng(), nin, nout, "uniform")
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (nout, nin):
            raise ValueError(f"weights must have shape (nout, nin)={(nout, nin)}, got {weights.shape}")
        self.neurons = [Neuron(nin, activation, nonlin=nonlin, weights=weights[i].tolist(),
                               name=f"{name}.N{i}") for i in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``len(nouts)`` layers, all with ``activation`` except the last (linear).

    Args:
        nin: number of inputs.
        nouts: the sizes of the layers (``[16, 16, 1]``).
        activation: the hidden layers' nonlinearity (``"relu"``, ``"tanh"``, ``"sigmoid"``).
        init: ``"normal"`` (N(0, sigma**2), default), ``"uniform"`` (U(-sigma, sigma)), ``"glorot"``
            or ``"he"``; see :func:`init_weights`. Biases start at 0.
        sigma: the scale of ``"normal"``/``"uniform"`` (default 1).
        seed: seeds ``np.random.default_rng``; the same seed gives the same weights.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu", init: str = "normal",
                 sigma: float | None = None, seed: int | None = None) -> None:
        nin = _check_size(nin, "nin")
        if isinstance(nouts, (int, str)) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [nin] + [_check_size(n, "nouts[i]") for n in nouts]
        _check_activation(activation)
        rng = np.random.default_rng(seed)
        self.layers = []
        for i in range(len(nouts)):
            weights = init_weights(rng, sizes[i], sizes[i + 1], init, sigma)
            last = i == len(nouts) - 1
            self.layers.append(Layer(sizes[i], sizes[i + 1], "linear" if last else activation,
                                     weights=weights, name=f"L{i}"))

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
