"""``Sequential``: a Keras-style model whose forward and backward pass run on a chosen engine.

The model holds the layers (configuration), the compiled loss, optimizer and metrics, and an
*engine* (``compile(engine="scalar" | "cpu" | "cuda" | "auto")``) that owns the live weights and
computes. The training loop, the logs and the callbacks are the same for every engine and follow
Keras 3 (see ``shared/reference/keras-semantics.md`` §4)::

    >>> from microgradx import Sequential, datasets, layers
    >>> x, y = datasets.moons(40, noise=0.1, seed=0)
    >>> model = Sequential([layers.Input(shape=(2,)), layers.Dense(8, activation="relu"),
    ...                     layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
    ...               engine="scalar")                      # or "cpu", "cuda", "auto"
    >>> history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['accuracy', 'loss', 'val_accuracy', 'val_loss'], 2)

Logged values are Keras': the epoch ``loss`` is the mean of the batch losses weighted by batch size,
a metric is the mean of its per-sample values over the epoch (computed on the training-mode outputs
of each batch, before its update), and ``val_*`` come from an evaluation after the epoch.

Weights file format (:meth:`Sequential.save_weights`): a NumPy ``.npz`` archive, read with
``allow_pickle=False``, holding ``header`` (UTF-8 JSON as a uint8 array:
``{"format": "microgradx.weights", "version": 1, "names": [...], "shapes": [...], "dtypes": [...]}``)
and one array ``w0``, ``w1``, ... per weight in ``get_weights()`` order.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
import zipfile
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import fit_options, regularizers, utils
from .callbacks import Callback, CallbackList, History
from .engine import Value
from .engines import get_engine
from .engines.base import Engine, resolve_dtype
from .engines.scalar import build_loss_graph
from .layers import Dense, Input, Layer

__all__ = ["Sequential", "WEIGHTS_FORMAT", "load_model"]

#: the ``format`` tag in the header of a weights file.
WEIGHTS_FORMAT = "microgradx.weights"
WEIGHTS_VERSION = 1
DEFAULT_BATCH_SIZE = 32


class _Mean:
    """A running weighted mean (Keras' ``Mean`` metric): ``sum(w * v) / sum(w)``."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update(self, values: np.ndarray | float, weights: np.ndarray | float = 1.0) -> None:
        values = np.asarray(values, dtype=np.float64)
        weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), values.shape)
        self.total += float(np.sum(values * weights))
        self.count += float(np.sum(weights))

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def _as_float_array(value: Any, argument: str) -> np.ndarray:
    """``value`` as a float array: float32/float64 data is kept as it is (no copy), anything else becomes
    float64. The engine casts once to its own dtype afterwards (``_engine_arrays``)."""
    try:
        array = np.asarray(value)
        if not np.issubdtype(array.dtype, np.floating):
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Invalid value received for argument `{argument}`: expected a numeric array, got "
                        f"{type(value).__name__} ({error})") from None
    return array


def _check_finite(array: np.ndarray, argument: str) -> None:
    """Raise a ``ValueError`` naming ``argument`` and the first non-finite entry when ``array`` holds NaN/inf.

    A NaN in the data would otherwise come back as a NaN prediction or a NaN loss that looks like a
    divergence of the optimizer."""
    bad = ~np.isfinite(array)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Invalid value received for argument `{argument}`: expected finite numbers, got "
                         f"{array[index]} at index {index} ({int(bad.sum())} non-finite value(s) in all).")


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

    def _first_non_finite_weight(self, weights: Sequence[np.ndarray]) -> str | None:
        """``"dense/kernel[0, 3] = nan"`` for the first NaN/inf entry of ``weights`` (model order), else None."""
        for name, w in zip(self._weight_names(), weights):
            bad = ~np.isfinite(w)
            if np.any(bad):
                index = tuple(int(i) for i in np.argwhere(bad)[0])
                return f"{name}{list(index)} = {w[index]} ({int(bad.sum())} non-finite value(s) in it)"
        return None

    def _refuse_non_finite_weights(self, path: str | os.PathLike) -> None:
        """Saving a NaN/inf weight is refused (the file would not load: ``set_weights`` refuses it)."""
        where = self._first_non_finite_weight(self.get_weights()) if self.built else None
        if where is not None:
            raise ValueError(f"Cannot save the weights of model {self.name!r} to {os.fspath(path)!r}: a weight "
                             f"is not finite (NaN or inf): {where}.")

    def _check_weights_finite(self, method: str) -> None:
        if self._engine is not None and self._engine.weights_finite():
            return
        where = self._first_non_finite_weight(self.get_weights())
        if where is not None:
            raise ValueError(f"Model {self.name!r} has a non-finite weight (NaN or inf): {where}. `{method}()` "
                             f"would return NaN/inf. Set finite weights (set_weights / load_weights) or "
                             f"build and train the model again with a lower learning rate.")

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
            array = _as_float_array(value, "weights")
            if array.shape != shape:
                raise ValueError(f"Weight {name} has shape {shape}, which is not compatible with the provided "
                                 f"weight shape {array.shape}.")
            _check_finite(array, f"weights[{i}] ({name})")
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

        current = self.get_weights() if self.built else None
        self.optimizer = resolved_optimizer
        self.loss = resolved_loss
        self._metric_ids = list(metrics or [])
        self.metrics = []
        self._engine_class = engine_class
        self._engine_name = engine
        self._dtype = dtype
        self.compiled = True
        self._grown_after_optimizer_built = False
        self._engine = None
        if current is not None:
            self._host_weights = current
        self._make_engine()

    def _make_engine(self) -> None:
        if not (self.compiled and self.built) or self._engine is not None:
            return
        assert self._engine_class is not None
        engine = self._engine_class(self.layers, self.loss, self.optimizer, self._dtype)
        engine.set_weights(self._host_weights)
        self._engine = engine

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

    # ------------------------------------------------------------ data checks
    def _check_x(self, x: Any, argument: str = "x") -> np.ndarray:
        if not self.layers:
            raise ValueError(f"Model {self.name!r} has no layers: it cannot compute anything from "
                             f"`{argument}`. Add at least one layer (e.g. Dense) first.")
        array = _as_float_array(x, argument)
        if array.ndim != 2:
            raise ValueError(f"Invalid value received for argument `{argument}`: expected a 2-D array "
                             f"(samples, features), got shape {array.shape}.")
        if self.input_dim is None:
            self.input_dim = array.shape[1]
        self._ensure_built()
        if array.shape[1] != self.input_dim:
            first = self.layers[0].name if self.layers else self.name
            raise ValueError(f"Input 0 of layer {first!r} is incompatible with the layer: expected axis -1 "
                             f"of input shape to have value {self.input_dim}, but received input with shape "
                             f"{array.shape} (argument `{argument}`).")
        _check_finite(array, argument)
        return array

    def _check_xy(self, x: Any, y: Any, sample_weight: Any, prefix: str = "") -> tuple[np.ndarray, ...]:
        x = self._check_x(x, f"{prefix}x")
        if y is None:
            raise ValueError(f"Invalid value received for argument `{prefix}y`: None. Expected labels with "
                             f"one entry per sample of `{prefix}x`.")
        y = _as_float_array(y, f"{prefix}y")
        if y.ndim == 0 or y.ndim > 2:
            raise ValueError(f"Invalid value received for argument `{prefix}y`: expected shape (samples,) or "
                             f"(samples, outputs), got {y.shape}.")
        if len(y) != len(x):
            raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                             f"samples. '{prefix}x' sizes: {len(x)} '{prefix}y' sizes: {len(y)}")
        if len(x) == 0:
            raise ValueError(f"Invalid value received for argument `{prefix}x`: no samples.")
        if sample_weight is not None:
            sample_weight = _as_float_array(sample_weight, f"{prefix}sample_weight")
            if sample_weight.shape != (len(x),):
                raise ValueError(f"Invalid value received for argument `{prefix}sample_weight`: expected shape "
                                 f"({len(x)},), one weight per sample, got {sample_weight.shape}.")
            _check_finite(sample_weight, f"{prefix}sample_weight")
        return x, y, sample_weight

    def _check_targets(self, y: np.ndarray, argument: str = "y") -> None:
        """Let the loss validate all labels once, up front (domain, shape), whatever the engine.

        The loss is evaluated against a constant prediction of the model's output shape, so a bad
        label raises the loss's own clear ``ValueError`` before any training step runs.
        """
        if self.loss is None:
            return
        width = self.output_dim
        probe = np.full((len(y), width), 1.0 / width)
        try:
            self.loss(y, probe)
        except ValueError as error:
            raise ValueError(f"Invalid value received for argument `{argument}` (shape {y.shape}) for loss "
                             f"{type(self.loss).__name__} and a model with {width} output(s): {error}") from None

    def _engine_arrays(self, *arrays: np.ndarray | None) -> list[np.ndarray | None]:
        """Cast data once to the engine's dtype (the scalar engine: float64)."""
        assert self._engine is not None
        dtype = self._engine.dtype
        return [None if a is None else np.ascontiguousarray(a, dtype=dtype) for a in arrays]

    def _build_metrics(self, y: np.ndarray) -> None:
        if self.metrics or not self._metric_ids:
            return
        example_pred = np.zeros((1, self.output_dim))
        self.metrics = [metrics_module.get(identifier, y[:1], example_pred) for identifier in self._metric_ids]

    @staticmethod
    def _check_batch_size(batch_size: Any) -> int:
        if batch_size is None:
            return DEFAULT_BATCH_SIZE
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size <= 0:
            raise ValueError(f"Invalid value received for argument `batch_size`: {batch_size!r}. "
                             f"Expected a positive integer.")
        return int(batch_size)

    @staticmethod
    def _check_verbose(verbose: Any) -> int:
        if verbose == "auto":
            return 1
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"Invalid value received for argument `verbose`: {verbose!r}. "
                             f"Expected 0, 1, 2 or 'auto'.")
        return int(verbose)

    # --------------------------------------------------------------------- fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = DEFAULT_BATCH_SIZE, epochs: int = 1,
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
        back); the history so far, including that epoch, is kept.

        ``class_weight={label: weight}`` weighs each training sample by its class (1.0 for a class not in
        the dict), like a ``sample_weight``; ``validation_freq=N`` validates only after epochs whose
        1-based number is a multiple of ``N`` (:mod:`microgradx.fit_options`). As in Keras, the metrics of
        ``compile(metrics=...)`` are computed without sample or class weights.
        """
        with self._exclusive("fit"):
            return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                             shuffle, sample_weight, initial_epoch, class_weight, validation_freq)

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

    def _fit(self, x: Any, y: Any, batch_size: int | None, epochs: int, verbose: int | str,
             callbacks: Sequence[Callback] | None, validation_split: float, validation_data: tuple | None,
             shuffle: bool, sample_weight: Any, initial_epoch: int, class_weight: dict | None = None,
             validation_freq: int | list[int] = 1) -> History:
        self._assert_compiled("fit")
        validation_freq = fit_options.check_validation_freq(validation_freq)
        if class_weight is not None and sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        batch_size = self._check_batch_size(batch_size)
        verbose = self._check_verbose(verbose)
        for argument, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"Invalid value received for argument `{argument}`: {value!r}. "
                                 f"Expected a non-negative integer.")
        if isinstance(validation_split, bool) or not isinstance(validation_split, Real) \
                or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"Invalid value received for argument `validation_split`: {validation_split!r}. "
                             f"Expected a float in [0, 1).")
        x, y, sample_weight = self._check_xy(x, y, sample_weight)

        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("Invalid value received for argument `validation_data`: expected a tuple "
                                 "(x_val, y_val) or (x_val, y_val, sample_weight_val).")
            val = self._check_xy(validation_data[0], validation_data[1],
                                 validation_data[2] if len(validation_data) == 3 else None, prefix="val_")
        elif validation_split:
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))
            if split_at == 0 or split_at == len(x):
                raise ValueError(f"validation_split={validation_split} leaves no samples for "
                                 f"{'training' if split_at == 0 else 'validation'} out of {len(x)}.")
            val = (x[split_at:], y[split_at:], None if sample_weight is None else sample_weight[split_at:])
            x, y = x[:split_at], y[:split_at]
            sample_weight = None if sample_weight is None else sample_weight[:split_at]

        self._check_targets(y)
        if class_weight is not None:
            sample_weight = fit_options.class_weight_to_sample_weights(y, class_weight)
        if val is not None:
            self._check_targets(val[1], "validation y")
        self._build_metrics(y)
        x, y, sample_weight = self._engine_arrays(x, y, sample_weight)
        if val is not None:
            val = tuple(self._engine_arrays(*val))

        steps = math.ceil(len(x) / batch_size)
        rng = np.random.default_rng(utils.draw_seed()) if shuffle else None
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                                     model=self, params={"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        self.history = callback_list.history
        callback_list.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
            batches = [order[start:start + batch_size] for start in range(0, len(x), batch_size)]
            callback_list.on_epoch_begin(epoch)
            train_logs, bad_batch, what = self._train_epoch(x, y, sample_weight, batches, callback_list)
            logs = dict(sorted(train_logs.items()))
            if bad_batch >= 0:
                warnings.warn(
                    f"fit stopped: {what} became non-finite (NaN or inf) in epoch {epoch + 1}, batch "
                    f"{bad_batch + 1}; the update of that batch was skipped (the weights are the last finite "
                    f"ones). The learning rate is probably too large for this model and data (optimizer "
                    f"{type(self.optimizer).__name__}); lower it or scale the inputs.", RuntimeWarning,
                    stacklevel=3)
                self.stop_training = True
            if val is not None and fit_options.should_validate(epoch, validation_freq):
                val_logs = self._evaluate_arrays(*val, batch_size=batch_size, callback_list=callback_list)
                logs.update({f"val_{key}": value for key, value in sorted(val_logs.items())})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end(logs)
        return self.history

    def _train_epoch(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
                     batches: list[np.ndarray], callback_list: CallbackList) -> tuple[dict[str, float], int, str]:
        """Run one epoch; returns the logs, the index of the batch that stopped it (-1: none) and what
        became non-finite there (``"the loss"`` or ``"the updated weights"``)."""
        assert self._engine is not None
        loss_mean = _Mean()
        metric_means = [_Mean() for _ in self.metrics]
        state = {"bad": -1}

        def batch_logs() -> dict[str, float]:
            logs = {"loss": loss_mean.result()}
            logs.update({m.name: mean.result() for m, mean in zip(self.metrics, metric_means)})
            return dict(sorted(logs.items()))

        def on_batch_begin(i: int) -> None:
            callback_list.on_train_batch_begin(i)

        def on_batch_end(i: int, loss: float, y_pred: np.ndarray | None) -> None:
            index = batches[i]
            loss_mean.update(loss, len(index))
            if y_pred is not None and np.all(np.isfinite(y_pred)):
                for metric, mean in zip(self.metrics, metric_means):   # unweighted, as Keras' compiled metrics
                    mean.update(metric(y[index], y_pred))
            if not math.isfinite(loss) and state["bad"] < 0:
                state["bad"] = i
            callback_list.on_train_batch_end(i, batch_logs())

        losses = self._engine.train_epoch(x, y, sample_weight, batches, on_batch_end,
                                          on_batch_begin=on_batch_begin, outputs=bool(self.metrics),
                                          should_stop=lambda: self.stop_training)
        if state["bad"] < 0 and self._engine.rejected_update:
            return batch_logs(), len(losses) - 1, "the updated weights"
        return batch_logs(), state["bad"], "the loss"

    # --------------------------------------------------------------- evaluate
    def _evaluate_arrays(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, *,
                         batch_size: int, callback_list: CallbackList | None = None) -> dict[str, float]:
        assert self._engine is not None
        loss_mean = _Mean()
        metric_means = [_Mean() for _ in self.metrics]
        # Keras' evaluate reports the compiled loss plus the regularization penalties (activity ones of the
        # inference-mode outputs, per batch); the weights are fixed during evaluation
        penalized = any(getattr(layer, option, None) is not None for layer in self.layers
                        for option in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"))
        weights = self.get_weights() if penalized else []
        if callback_list is not None:
            callback_list.on_test_begin()
        for i, start in enumerate(range(0, len(x), batch_size)):
            if callback_list is not None:
                callback_list.on_test_batch_begin(i)
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            swb = None if sample_weight is None else sample_weight[start:start + batch_size]
            y_pred = self._engine.predict(xb)
            if np.all(np.isfinite(y_pred)):
                loss = float(losses_module.training_loss(self.loss(yb, y_pred, swb)))
                if penalized:
                    loss += regularizers.model_penalty(self.layers, weights, xb)
                loss_mean.update(loss, len(xb))
                for metric, mean in zip(self.metrics, metric_means):
                    mean.update(metric(yb, y_pred))   # unweighted, as Keras' compiled metrics
            else:
                loss_mean.update(math.nan, len(xb))
            if callback_list is not None:
                callback_list.on_test_batch_end(i, {"loss": loss_mean.result()})
        logs = {"loss": loss_mean.result()}
        logs.update({m.name: mean.result() for m, mean in zip(self.metrics, metric_means)})
        if callback_list is not None:
            callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, return_dict: bool = False) -> "float | list[float] | dict[str, float]":
        """Loss (and metrics) on ``x``/``y`` with ``training=False``.

        Returns the loss alone when no metrics were compiled, else ``[loss, *metrics]`` in compile order,
        or the dict of logs with ``return_dict=True`` (Keras).
        """
        self._assert_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size)
        self._check_verbose(verbose)
        x, y, sample_weight = self._check_xy(x, y, sample_weight)
        self._check_targets(y)
        self._build_metrics(y)
        x, y, sample_weight = self._engine_arrays(x, y, sample_weight)
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size=batch_size)
        if return_dict:
            return dict(sorted(logs.items()))
        if not self.metrics:
            return logs["loss"]
        return [logs["loss"]] + [logs[m.name] for m in self.metrics]

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto") -> np.ndarray:
        """The model's outputs for ``x`` (``training=False``: Dropout is the identity).

        Raises ``ValueError`` when a weight is NaN or inf (the outputs would be), naming the weight."""
        batch_size = self._check_batch_size(batch_size)
        self._check_verbose(verbose)
        x = self._check_x(x)
        if len(x) == 0:
            raise ValueError(f"Invalid value received for argument `x`: no samples (shape {x.shape}). "
                             f"Expected at least one row to predict.")
        self._check_weights_finite("predict")
        if self._engine is None:
            return self._reference_forward(x)
        (x,) = self._engine_arrays(x)
        outputs = [self._engine.predict(x[start:start + batch_size]) for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs, axis=0)

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        """``model(x)``: the NumPy reference forward pass at the current weights (float64)."""
        x = self._check_x(x)
        return self._reference_forward(x, training=training)

    def _reference_forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        weights = self.get_weights()
        out = np.asarray(x, dtype=np.float64)
        position = 0
        step = int(getattr(self.optimizer, "iterations", 0)) if training else 0
        for layer in self.layers:
            if isinstance(layer, Dense):
                count = len(layer.weight_shapes())
                kernel = np.asarray(weights[position], dtype=np.float64)
                bias = np.asarray(weights[position + 1], dtype=np.float64) if layer.use_bias else None
                position += count
                out = layer.forward(out, kernel, bias)
            else:
                out = layer.forward(out, training=training, step=step)
        return out

    # ------------------------------------------------------ gradients, graph
    def compute_gradients(self, x: Any, y: Any, sample_weight: Any = None,
                          training: bool = True) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` of one batch on the compiled engine, grads in :meth:`get_weights` order.

        The weights and the optimizer are not changed. With ``training=True`` Dropout is active with
        the mask of step ``optimizer.iterations`` (the mask the next ``fit`` batch would use).
        """
        self._assert_compiled("compute_gradients")
        with self._exclusive("compute_gradients"):
            x, y, sample_weight = self._check_xy(x, y, sample_weight)
            x, y, sample_weight = self._engine_arrays(x, y, sample_weight)
            assert self._engine is not None
            step = int(self.optimizer.iterations)
            loss, grads = self._engine.compute_gradients(x, y, sample_weight, training=training, step=step)
        return float(loss), list(grads)

    def to_graph(self, x: Any, y: Any, sample_weight: Any = None, training: bool = False) -> Value:
        """The loss of a (small) batch as a scalar :class:`~microgradx.engine.Value` graph.

        Its leaves are the current weights, labelled ``dense/kernel[0,3]``, ``dense/bias[2]``, and the
        inputs ``x[i,j]``; it works whatever the compiled engine (it always uses the scalar engine's
        code on a float64 copy of the weights). Call ``.backward()`` on it to get every gradient.
        """
        if self.loss is None:
            raise ValueError("`to_graph()` needs a loss: call `compile(loss=...)` first.")
        x, y, sample_weight = self._check_xy(x, y, sample_weight)
        weights = [np.asarray(w, dtype=np.float64) for w in self.get_weights()]
        step = int(getattr(self.optimizer, "iterations", 0)) if training else 0
        return build_loss_graph(self.layers, self.loss, weights, x, y, sample_weight,
                                training=training, step=step)[0]

    # --------------------------------------------------------------- summary
    def summary(self, print_fn: Callable[[str], None] | None = None) -> None:
        """Print a Keras-like table of the layers with ``print_fn`` (default ``print``).

        Like Keras it returns ``None`` (so a notebook does not show it twice); to get the text, pass
        ``print_fn=lines.append``.
        """
        self._ensure_built()
        rows = []
        for layer in self.layers:
            shape = f"(None, {layer.output_dim(layer.input_dim)})" if layer.built else "?"
            params = sum(math.prod(s) for s in layer.weight_shapes()) if layer.built else 0
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, str(params)))
        widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in
                  enumerate(("Layer (type)", "Output Shape", "Param #"))] if rows else [14, 14, 9]
        widths = [max(w, m) for w, m in zip(widths, (31, 22, 13))]

        def line(left: str, mid: str, right: str, fill: str) -> str:
            return left + mid.join(fill * w for w in widths) + right

        def cells(values: Sequence[str], bar: str) -> str:
            return bar + bar.join((f" {v:<{w - 2}} " if i < 2 else f" {v:>{w - 2}} ")
                                  for i, (v, w) in enumerate(zip(values, widths))) + bar

        total = self.count_params()
        size = total * (self._engine.dtype.itemsize if self._engine is not None else 8)
        text = [f'Model: "{self.name}"', line("┏", "┳", "┓", "━"),
                cells(("Layer (type)", "Output Shape", "Param #"), "┃"), line("┡", "╇", "┩", "━")]
        for i, row in enumerate(rows):
            text.append(cells(row, "│"))
            text.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
        text += [f" Total params: {total} ({_bytes(size)})", f" Trainable params: {total} ({_bytes(size)})",
                 " Non-trainable params: 0 (0.00 B)"]
        if self._engine is not None:
            text.append(f" Engine: {self._engine.name} ({self._engine.dtype.name})")
        (print_fn or print)("\n".join(text))

    # ------------------------------------------------------------ save / load
    def save(self, filepath: str | os.PathLike) -> None:
        """Write the model to a ``.keras`` file: architecture, compile configuration, weights and optimizer
        state (Keras 3's format, :mod:`microgradx.saving.model_io`); read it back with :func:`load_model`
        here or ``keras.saving.load_model`` in Keras (which needs the weights as HDF5: install h5py)."""
        from .saving import model_io
        self._refuse_non_finite_weights(filepath)
        model_io.save_model(self, filepath)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write the weights to ``path`` atomically: ``*.weights.h5`` in Keras 3's HDF5 layout (with the
        optimizer's variables, as Keras; needs h5py), any other name as ``.npz`` (a JSON header + one array
        per weight; :func:`microgradx.utils.atomic_write`). A NaN or inf weight is refused (``ValueError``
        naming it): :meth:`load_weights` would refuse the file."""
        self._refuse_non_finite_weights(path)
        if os.fspath(path).endswith(".weights.h5"):
            from .saving import model_io
            model_io.save_weights_h5(self, path)
            return
        self._ensure_built()
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built: there are no weights to save.")
        weights = self.get_weights()
        header = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "model": self.name,
                  "names": self._weight_names(), "shapes": [list(w.shape) for w in weights],
                  "dtypes": [w.dtype.name for w in weights]}
        arrays = {f"w{i}": w for i, w in enumerate(weights)}
        arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        utils.atomic_write(path, write)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load weights written by :meth:`save_weights` (never unpickles; checks names and shapes).

        The JSON header is checked against the model before any weight array is read, and each array's
        own shape and dtype (from its ``.npy`` header) before its data is: a file that promises
        arrays other than the model's is refused without allocating them. A ``*.weights.h5`` file (Keras 3's
        layout, from microgradx or Keras) is matched by Keras' layer groups and shapes."""
        path = os.fspath(path)
        if path.endswith(".weights.h5"):
            from .saving import model_io
            model_io.load_weights_h5(self, path)
            return
        try:
            archive = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise
        except Exception as error:
            raise ValueError(f"Cannot read weights file {path!r}: it is not a microgradx weights file or it is "
                             f"corrupted ({type(error).__name__}: {error}).") from None
        with archive:
            header = _read_weights_header(archive, path)
            shapes = header["shapes"]
            if not self.built and self.input_dim is None:
                if not shapes or len(shapes[0]) != 2 or shapes[0][0] == 0:
                    raise ValueError(f"Weights file {path!r} does not match model {self.name!r}: the model is not "
                                     f"built and the file's first weight, of shape "
                                     f"{shapes[0] if shapes else None}, is not a kernel (inputs, units).")
                self.input_dim = shapes[0][0]
            self._ensure_built()
            expected = self._weight_shapes()
            if shapes != expected:
                raise ValueError(f"Weights file {path!r} does not match model {self.name!r}: the file holds "
                                 f"{len(shapes)} weights with shapes {shapes} ({header['names']}), the model "
                                 f"has {len(expected)} weights with shapes {expected} ({self._weight_names()}).")
            weights = [_read_weights_array(archive, path, f"w{i}", shape) for i, shape in enumerate(shapes)]
        self.set_weights(weights)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, layers={[layer.name for layer in self.layers]}>"


#: the largest JSON header a weights file may have (a header names and shapes a model's weights).
_MAX_HEADER_BYTES = 1 << 20


def _corrupted(path: str, problem: str) -> ValueError:
    return ValueError(f"Cannot read weights file {path!r}: it is not a microgradx weights file or it is "
                      f"corrupted ({problem}).")


def _member_header(archive: zipfile.ZipFile, path: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the array ``name`` of the archive, from its ``.npy`` header alone."""
    try:
        with archive.open(f"{name}.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f".npy format version {version} (expected 1.0 or 2.0)")
            shape, _, dtype = read_header(member)
    except KeyError:
        raise _corrupted(path, f"no array {name!r}") from None
    except Exception as error:
        raise _corrupted(path, f"array {name!r}: {type(error).__name__}: {error}") from None
    return tuple(shape), dtype


def _read_member(archive: zipfile.ZipFile, path: str, name: str) -> np.ndarray:
    try:
        with archive.open(f"{name}.npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except Exception as error:
        raise _corrupted(path, f"array {name!r}: {type(error).__name__}: {error}") from None


def _read_weights_header(archive: zipfile.ZipFile, path: str) -> dict[str, Any]:
    """The JSON header of a weights file, every field checked (``shapes`` as a list of tuples)."""
    shape, dtype = _member_header(archive, path, "header")
    if dtype != np.uint8 or len(shape) != 1 or shape[0] > _MAX_HEADER_BYTES:
        raise _corrupted(path, f"the header is a {dtype} array of shape {shape}, expected UTF-8 bytes "
                               f"(uint8, at most {_MAX_HEADER_BYTES} of them)")
    try:
        header = json.loads(bytes(_read_member(archive, path, "header")).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupted(path, f"the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise _corrupted(path, f"the header is a {type(header).__name__}, expected a JSON object")
    if header.get("format") != WEIGHTS_FORMAT or header.get("version") != WEIGHTS_VERSION:
        raise _corrupted(path, f"unknown format {header.get('format')!r} version {header.get('version')!r}")
    shapes = header.get("shapes")
    if not isinstance(shapes, list) or not all(
            isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in s)
            for s in shapes):
        raise _corrupted(path, f"the header's `shapes` must be a list of shapes (lists of integers >= 0), "
                               f"got {shapes!r}"[:400])
    names = header.get("names", [f"w{i}" for i in range(len(shapes))])
    if not isinstance(names, list) or len(names) != len(shapes) or not all(isinstance(n, str) for n in names):
        raise _corrupted(path, f"the header's `names` must be a list of {len(shapes)} strings, got {names!r}"[:400])
    header["shapes"] = [tuple(s) for s in shapes]
    header["names"] = names
    return header


def _read_weights_array(archive: zipfile.ZipFile, path: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array ``name``, after its ``.npy`` header showed the expected ``shape`` and a float dtype."""
    stored_shape, dtype = _member_header(archive, path, name)
    if stored_shape != shape or dtype.kind != "f":
        raise _corrupted(path, f"array {name!r} is {dtype} of shape {stored_shape}, the header and the model "
                               f"expect floats of shape {shape}")
    return _read_member(archive, path, name)


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def load_model(filepath: str | os.PathLike, compile: bool = True) -> Sequential:
    """The model of a ``.keras`` file saved by :meth:`Sequential.save` or by Keras 3 (a Sequential of
    Input/Dense/Dropout), with its weights and, if ``compile``, its compile configuration and optimizer
    state. Never unpickles; anything microgradx does not have raises ``ValueError`` naming it."""
    from .saving import model_io
    return model_io.load_model(filepath, compile=compile)
