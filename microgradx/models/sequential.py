"""``Sequential``: the model's structure (layers, build, weights) and its public methods.

``compile`` lives in :mod:`.compiling`, ``predict``/``compute_gradients``/``to_graph`` in
:mod:`.inference`, training and evaluation in :mod:`.training` (inside the one loop of
:mod:`microgradx.training`), the data checks in :mod:`.data`, the weights file in :mod:`.weights_file`,
the summary table in :mod:`.summary`, the refusal of NaN/inf weights in :mod:`.finite_weights`; the
methods here hand over to them.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from numbers import Integral
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .. import metrics as metrics_module
from .. import utils
from ..callbacks import Callback, History
from ..engine import Value
from ..engines.base import Engine
from ..layers import Input, Layer
from . import compiling, data, inference, training, weights_file
from .finite_weights import refuse_non_finite_weights
from .summary import summary as print_summary

__all__ = ["Sequential", "load_model"]


class Sequential:
    """A linear stack of layers (Keras 3 ``keras.Sequential``).

    Args:
        layers: the layers, optionally starting with :class:`~microgradx.layers.Input`.
        name: the model's name (default ``sequential``, ``sequential_1``, ...).

    The input width is fixed by an ``Input(shape=(n,))`` first entry, by ``input_shape=(n,)`` on the
    first layer, or by the first data the model sees (``fit``/``predict``/``build``). As in Keras, a
    model whose input width is known is built at construction (and each later ``add`` builds its
    layer), so initial weights are drawn from the global generator in model-creation order; a model
    without one is built lazily, by the first call that sees data.
    """

    def __init__(self, layers: Sequence[Layer | Input] | None = None, name: str | None = None) -> None:
        self.name = name or utils.unique_name("sequential")
        self.layers: list[Layer] = []
        self.input_dim: int | None = None
        self.built = False
        self.stop_training = False
        self.history: History | None = None
        self.optimizer: Any = None
        self.loss: Any = None
        self.compiled = False
        self._metric_ids: list[Any] = []
        self.metrics: list[metrics_module.Metric] = []
        self._engine_class: type[Engine] | None = None
        self._engine_name: str | None = None
        self._dtype: object = None
        self._engine: Engine | None = None
        self._grown_after_optimizer_built = False  # layers added after the optimizer made its state
        self._host_weights: list[np.ndarray] = []
        self._training_lock = threading.RLock()  # fit / compute_gradients: one thread at a time
        for layer in layers or []:
            self.add(layer)

    # --------------------------------------------------------------- structure
    def add(self, layer: Layer | Input) -> None:
        """Append a layer (an ``Input`` only as the first entry); built at once when the input width is known."""
        if isinstance(layer, Input):
            if self.layers or self.input_dim is not None:
                raise ValueError("An Input can only be the first entry of a Sequential model.")
            self.input_dim = layer.shape[0]
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Only instances of microgradx.layers.Layer can be added to a Sequential model. "
                            f"Received: {layer!r} (of type {type(layer).__name__})")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"{layer.name!r} is already the name of a layer in this model. Update the "
                             f"`name` argument to pass a unique name.")
        if layer._model is not None and layer._model is not self:
            raise ValueError(f"Layer {layer.name!r} already belongs to model {layer._model.name!r}.")
        if not self.layers and self.input_dim is None and layer.input_shape_hint is not None:
            self.input_dim = layer.input_shape_hint[0]
        layer._model = self
        self.layers.append(layer)
        if self.input_dim is not None:
            # Like Keras: a layer whose input shape is known is built (its weights drawn) when it is
            # added, so weights are drawn in model-creation order. Otherwise it waits for the data.
            self._build_new_layers()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove the last layer and return it (Keras 3's ``Sequential.pop``); its weights leave the model.

        A compiled model gets an engine for the shorter weight list; if its optimizer already holds state
        for the old weights, ``fit`` asks for ``compile()`` again (as after :meth:`add`). ``rebuild`` is
        accepted for Keras compatibility: the model is always rebuilt when its input width is known."""
        if not self.layers:
            raise ValueError(f"There are no layers in model {self.name!r} to pop.")
        weights = self.get_weights() if self.built else []
        layer = self.layers.pop()
        count = len(layer.weight_shapes()) if layer.built else 0
        layer._model = None
        if self.built:
            self._host_weights = weights[:len(weights) - count]
            if self._engine is not None:
                self._engine = None
                if count and getattr(self.optimizer, "built", False):
                    self._grown_after_optimizer_built = True
            self.built = bool(self.layers)
            self._make_engine()
        return layer

    def build(self, input_shape: tuple[int | None, ...] | int | None = None) -> None:
        """Fix the input width (``build((None, 2))`` or ``build(2)``) and draw the initial weights."""
        if input_shape is not None:
            width = input_shape if isinstance(input_shape, (int, np.integer)) else input_shape[-1]
            if isinstance(width, bool) or not isinstance(width, Integral) or width <= 0:
                raise ValueError(f"Invalid value received for argument `input_shape`: {input_shape!r}. "
                                 f"Expected (None, features) with a positive number of features.")
            if self.input_dim is not None and self.input_dim != width:
                raise ValueError(f"Model {self.name!r} expects {self.input_dim} input features, but "
                                 f"build() received input_shape={input_shape!r}.")
            self.input_dim = int(width)
        if self.built:
            return
        if self.input_dim is None:
            raise ValueError(f"Model {self.name!r} has no input shape yet: start it with "
                             f"Input(shape=(features,)), pass input_shape= to the first layer, or call "
                             f"fit/predict/build with data.")
        if not self.layers:
            raise ValueError(f"Model {self.name!r} has no layers.")
        self._build_new_layers()

    def _build_new_layers(self) -> None:
        """Build the layers not built yet, in order, and draw their initial weights after the others'."""
        width = self.input_dim
        drawn = []
        for layer in self.layers:
            if not layer.built:
                layer.build(width)
                drawn.extend(layer.initial_weights())
            width = layer.output_dim(width)
        if self._engine is not None:  # a compiled model grew: a new engine takes the longer weight list
            self._host_weights = self._engine.get_weights()
            self._engine = None
            if drawn and getattr(self.optimizer, "built", False):
                self._grown_after_optimizer_built = True
        self._host_weights = self._host_weights + drawn
        self.built = True
        self._make_engine()

    def _ensure_built(self) -> None:
        if not self.built and self.input_dim is not None and self.layers:
            self.build()

    @property
    def output_dim(self) -> int:
        """Number of output features (the last layer's width)."""
        self._ensure_built()
        width = self.input_dim
        for layer in self.layers:
            width = layer.output_dim(width)
        return int(width)

    # ----------------------------------------------------------------- weights
    def _weight_names(self) -> list[str]:
        return [name for layer in self.layers for name in layer.weight_names()]

    def _weight_shapes(self) -> list[tuple[int, ...]]:
        return [shape for layer in self.layers for shape in layer.weight_shapes()]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights in Keras order: per Dense, kernel ``(in, out)`` then bias ``(out,)``."""
        self._ensure_built()
        if not self.built:
            return []
        if self._engine is not None:
            return self._engine.get_weights()
        return [w.copy() for w in self._host_weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set all weights from a list like :meth:`get_weights` (lengths and shapes are checked)."""
        self._ensure_built()
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built, so it has no weights to set yet.")
        weights = list(weights)
        shapes = self._weight_shapes()
        if len(weights) != len(shapes):
            raise ValueError(f"You called `set_weights(weights)` on model {self.name!r} with a weight list of "
                             f"length {len(weights)}, but the model was expecting {len(shapes)} weights.")
        arrays = []
        for i, (name, shape, value) in enumerate(zip(self._weight_names(), shapes, weights)):
            array = data.as_float_array(value, "weights")
            if array.shape != shape:
                raise ValueError(f"Weight {name} has shape {shape}, which is not compatible with the provided "
                                 f"weight shape {array.shape}.")
            data.check_finite(array, f"weights[{i}] ({name})")
            arrays.append(array.copy())
        if self._engine is not None:
            self._engine.set_weights(arrays)
        else:
            self._host_weights = arrays

    def _layer_weights(self, layer: Layer) -> list[np.ndarray]:
        weights = self.get_weights()
        position = 0
        for each in self.layers:
            count = len(each.weight_shapes())
            if each is layer:
                return weights[position:position + count]
            position += count
        raise ValueError(f"Layer {layer.name!r} is not in model {self.name!r}.")

    @property
    def weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays (copies), Keras order."""
        return self.get_weights()

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """Every weight is trainable here: same as :attr:`weights`."""
        return self.get_weights()

    def count_params(self) -> int:
        """Total number of weights."""
        self._ensure_built()
        return int(sum(math.prod(shape) for shape in self._weight_shapes())) if self.built else 0

    # ----------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Sequence[Any] | None = None,
                engine: str = "auto", dtype: object = None) -> None:
        """Choose the optimizer, loss, metrics and engine (Keras' ``compile`` plus ``engine``/``dtype``).

        ``dtype`` (``"float32"`` default, or ``"float64"``) is the array dtype of the CPU/CUDA engines;
        the scalar engine always computes in float64. Compiling again (e.g. with another engine) keeps
        the current weights and starts a fresh optimizer state when a new optimizer is given.

        A loss with ``reduction="none"`` (per-sample losses) is trained on, and reported as, the **sum**
        of the per-sample losses of each batch on every engine (:func:`microgradx.losses.training_loss`),
        which is the gradient ``tf.keras`` takes of a non-scalar loss.
        """
        compiling.compile_model(self, optimizer, loss, metrics, engine, dtype)

    def _make_engine(self) -> None:
        compiling.make_engine(self)

    @property
    def engine(self) -> Engine | None:
        """The engine computing for this model (``None`` before ``compile`` and build)."""
        return self._engine

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{method}()`.")
        if self.loss is None and method in ("fit", "evaluate", "compute_gradients"):
            raise ValueError(f"`{method}()` needs a loss: call `compile(loss=...)` first.")
        if method == "fit" and self._grown_after_optimizer_built:
            raise ValueError(f"Layers were added to (or popped from) model {self.name!r} after its optimizer "
                             f"was built for the "
                             f"old weights: call `compile()` again before `fit()`.")

    # ------------------------------------------------------------ train, evaluate
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = data.DEFAULT_BATCH_SIZE, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: tuple | None = None, shuffle: bool = True,
            class_weight: dict | None = None, sample_weight: Any = None, initial_epoch: int = 0,
            validation_freq: int | list[int] = 1) -> History:
        """Train for ``epochs`` epochs; return the :class:`~microgradx.callbacks.History`.

        ``validation_split`` takes the *last* fraction of ``x``/``y`` (before shuffling), like Keras;
        ``validation_data=(x_val, y_val[, sample_weight_val])`` overrides it. Shuffling draws from a
        generator of this ``fit`` call, seeded once from the global one
        (:func:`microgradx.utils.set_random_seed`) when ``fit`` starts, so fits running in other
        threads do not change this one's batches. A non-finite batch loss, or an update that would make
        a weight non-finite (NaN or inf), stops training with a ``RuntimeWarning``: the update of that
        batch is skipped (the weights are the last finite ones; the optimizer's slots are not rolled
        back); the history so far, including that epoch, is kept. The loop: :mod:`.training`.

        ``class_weight={label: weight}`` weighs each training sample by its class (1.0 for a class not in
        the dict), like a ``sample_weight``; ``validation_freq=N`` validates only after epochs whose
        1-based number is a multiple of ``N`` (:mod:`microgradx.fit_options`). As in Keras, the metrics of
        ``compile(metrics=...)`` are computed without sample or class weights.
        """
        with self._exclusive("fit"):
            return training.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                                validation_data, shuffle, sample_weight, initial_epoch, class_weight,
                                validation_freq)

    @contextmanager
    def _exclusive(self, method: str) -> Iterator[None]:
        """Hold the model's training lock for ``method``; another thread already holding it is an error."""
        if not self._training_lock.acquire(blocking=False):
            raise RuntimeError(f"Model {self.name!r} is already being trained (fit or compute_gradients) in "
                               f"another thread; `{method}()` cannot run on it at the same time. Train one "
                               f"model per thread, or wait for the other call to finish.")
        try:
            yield
        finally:
            self._training_lock.release()

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, return_dict: bool = False) -> "float | list[float] | dict[str, float]":
        """Loss (and metrics) on ``x``/``y`` with ``training=False``.

        Returns the loss alone when no metrics were compiled, else ``[loss, *metrics]`` in compile order,
        or the dict of logs with ``return_dict=True`` (Keras).
        """
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto") -> np.ndarray:
        """The model's outputs for ``x`` (``training=False``: Dropout is the identity).

        Raises ``ValueError`` when a weight is NaN or inf (the outputs would be), naming the weight."""
        return inference.predict(self, x, batch_size, verbose)

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        """``model(x)``: the NumPy reference forward pass at the current weights (float64)."""
        x = data.check_x(self, x)
        return self._reference_forward(x, training=training)

    def _reference_forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return inference.reference_forward(self, x, training)

    # ------------------------------------------------------ gradients, graph
    def compute_gradients(self, x: Any, y: Any, sample_weight: Any = None,
                          training: bool = True) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` of one batch on the compiled engine, grads in :meth:`get_weights` order.

        The weights and the optimizer are not changed. With ``training=True`` Dropout is active with
        the mask of step ``optimizer.iterations`` (the mask the next ``fit`` batch would use).
        """
        return inference.compute_gradients(self, x, y, sample_weight, training)

    def to_graph(self, x: Any, y: Any, sample_weight: Any = None, training: bool = False) -> Value:
        """The loss of a (small) batch as a scalar :class:`~microgradx.engine.Value` graph.

        Its leaves are the current weights, labelled ``dense/kernel[0,3]``, ``dense/bias[2]``, and the
        inputs ``x[i,j]``; it works whatever the compiled engine (it always uses the scalar engine's
        code on a float64 copy of the weights). Call ``.backward()`` on it to get every gradient.
        """
        return inference.loss_graph(self, x, y, sample_weight, training)

    # ------------------------------------------------------------ summary, files
    def summary(self, print_fn: Callable[[str], None] | None = None) -> None:
        """Print a Keras-like table of the layers with ``print_fn`` (default ``print``); returns ``None``
        like Keras (pass ``print_fn=lines.append`` for the text). See :mod:`.summary`."""
        print_summary(self, print_fn)

    def save(self, filepath: str | os.PathLike) -> None:
        """Write the model to a ``.keras`` file: architecture, compile configuration, weights and optimizer
        state (Keras 3's format, :mod:`microgradx.saving.model_io`); read it back with :func:`load_model`
        here or ``keras.saving.load_model`` in Keras (which needs the weights as HDF5: install h5py)."""
        from ..saving import model_io
        refuse_non_finite_weights(self, filepath)
        model_io.save_model(self, filepath)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write the weights to ``path`` atomically: ``*.weights.h5`` in Keras 3's HDF5 layout (with the
        optimizer's variables, as Keras; needs h5py), any other name as ``.npz`` (a JSON header + one array
        per weight; :mod:`.weights_file`). A NaN or inf weight is refused (``ValueError`` naming it):
        :meth:`load_weights` would refuse the file."""
        if os.fspath(path).endswith(".weights.h5"):
            from ..saving import model_io
            refuse_non_finite_weights(self, path)
            model_io.save_weights_h5(self, path)
            return
        weights_file.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load weights written by :meth:`save_weights` (never unpickles; names and shapes checked before
        any array is read; :mod:`.weights_file`). A ``*.weights.h5`` file (Keras 3's layout, from
        microgradx or Keras) is matched by Keras' layer groups and shapes."""
        if os.fspath(path).endswith(".weights.h5"):
            from ..saving import model_io
            model_io.load_weights_h5(self, path)
            return
        weights_file.load_weights(self, path)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, layers={[layer.name for layer in self.layers]}>"


def load_model(filepath: str | os.PathLike, compile: bool = True) -> Sequential:
    """The model of a ``.keras`` file saved by :meth:`Sequential.save` or by Keras 3 (a Sequential of
    Input/Dense/Dropout), with its weights and, if ``compile``, its compile configuration and optimizer
    state. Never unpickles; anything microgradx does not have raises ``ValueError`` naming it."""
    from ..saving import model_io
    return model_io.load_model(filepath, compile=compile)
