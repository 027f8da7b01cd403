"""The engine seam: what every engine (scalar, Numba CPU, CUDA) implements.

An engine is created by ``model.compile`` and owns the *live* weights of the model. The model, the
losses, the optimizers and the callbacks only talk to it through the methods of :class:`Engine`:

========================================  =============================================================
``set_weights(ws)`` / ``get_weights()``   host copies, Keras order (kernel ``(in, out)``, bias ``(out,)``)
``predict(x)``                            forward pass with ``training=False``
``compute_gradients(x, y, sw, ...)``      ``(loss, grads)`` of one batch; weights unchanged
``train_step(x, y, sw, step=...)``        one optimizer update; returns the batch loss
``train_epoch(x, y, sw, batches, ...)``   every batch of an epoch (default: a loop over ``train_step``)
``optimizer_state()``                     the optimizer's per-variable slot arrays (host copies)
========================================  =============================================================

``y`` is either the raw labels (with ``sw``), which the engine checks with its plan's checks
(:meth:`Plan.targets`), or a :class:`Targets` the model made once per ``fit``/``evaluate`` call from
labels it already checked (:meth:`Plan.layout`), which the engine uses as it is.

The helpers below are shared by every engine and are not kernels: the list of weight shapes of a
stack of layers, the resolution of a Dropout layer's ``noise_shape`` against a batch, the dropout
scale mask drawn from the counter-based hash RNG (:mod:`microgradx.kernels.rng`), dtype checking and
batch validation. An engine that computes dropout on a device must draw *the same* mask
(``keep = hash_uniform(seed, step, flat_index) >= rate``, kept units scaled by ``1 / (1 - rate)``).
"""

from __future__ import annotations

import abc
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Generic, Sequence, TypeVar

import numpy as np

from microgradx.kernels.rng import keep_mask

if TYPE_CHECKING:  # pragma: no cover
    from ..layers import Layer

__all__ = [
    "WorkspaceCache", "Plan", "Targets", "describe",
    "Engine", "BatchEnd", "weight_shapes", "resolve_noise_shape", "dropout_scale",
    "resolve_dtype", "FLOAT_DTYPES",
]

#: dtypes the array engines accept in ``compile(dtype=...)``.
FLOAT_DTYPES = ("float32", "float64")

#: ``on_batch_end(batch_index, loss, y_pred_or_None)`` called by :meth:`Engine.train_epoch` after each batch.
BatchEnd = Callable[[int, float, "np.ndarray | None"], None]


def resolve_dtype(dtype: object, default: str = "float32") -> np.dtype:
    """``None`` -> ``default``; ``"float32"``/``"float64"`` (or the numpy types) -> that ``np.dtype``."""
    if dtype is None:
        dtype = default
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"Invalid value received for argument `dtype`: {dtype!r}. "
                         f"Expected one of {list(FLOAT_DTYPES)}.")
    return resolved


def weight_shapes(layers: Sequence["Layer"]) -> list[tuple[int, ...]]:
    """Shapes of the weights of built ``layers`` in Keras order: per Dense, kernel ``(in, out)`` then bias."""
    shapes: list[tuple[int, ...]] = []
    for layer in layers:
        shapes.extend(layer.weight_shapes())
    return shapes


def resolve_noise_shape(noise_shape: tuple[int | None, ...] | None,
                        input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The concrete mask shape of a Dropout layer for an input of ``input_shape``.

    ``None`` -> the input's shape; ``None`` entries are filled from the input's shape (Keras).
    The mask is then broadcast to the input: ``(None, 1)`` on ``(B, F)`` drops whole rows.
    """
    if noise_shape is None:
        return tuple(int(d) for d in input_shape)
    if len(noise_shape) != len(input_shape):
        raise ValueError(f"Dropout noise_shape={noise_shape} has {len(noise_shape)} dimensions but the "
                         f"input has shape {tuple(input_shape)} ({len(input_shape)} dimensions)")
    resolved = tuple(int(d) if n is None else int(n) for n, d in zip(noise_shape, input_shape))
    for n, d in zip(resolved, input_shape):
        if n not in (1, d):
            raise ValueError(f"Dropout noise_shape={noise_shape} cannot be broadcast to the input shape "
                             f"{tuple(input_shape)}: each entry must be None, 1 or the input's size")
    return resolved


def dropout_scale(rate: float, seed: int, step: int, noise_shape: tuple[int | None, ...] | None,
                  input_shape: tuple[int, ...]) -> np.ndarray:
    """Inverted dropout's multiplier, float64, of the resolved noise shape (broadcastable to the input).

        scale[i] = 1 / (1 - rate)   if hash_uniform(seed, step, i) >= rate   else 0

    ``rate == 1`` gives all zeros (Keras 3 drops everything), ``rate == 0`` all ones.
    """
    shape = resolve_noise_shape(noise_shape, input_shape)
    if rate >= 1.0:
        return np.zeros(shape, dtype=np.float64)
    if rate <= 0.0:
        return np.ones(shape, dtype=np.float64)
    keep = keep_mask(seed, step, shape, rate)
    return np.where(keep, 1.0 / (1.0 - rate), 0.0)


W = TypeVar("W")


class WorkspaceCache(Generic[W]):
    """Preallocated per-batch-size workspaces, the ``size`` most recently used kept, one cache per thread.

    An epoch needs two batch sizes (full batches and the last, smaller one), validation a third:
    ``cache(n)`` returns the calling thread's workspace for ``n`` rows, building it with ``make(n)``
    the first time. Each thread has its own workspaces (dropped when the thread ends), so that
    ``predict`` on one model from several threads never shares a buffer.
    """

    def __init__(self, make: Callable[[int], W], size: int = 4) -> None:
        self._make = make
        self._size = size
        self._local = threading.local()

    @property
    def _items(self) -> "OrderedDict[int, W]":
        items = getattr(self._local, "items", None)
        if items is None:
            items = self._local.items = OrderedDict()
        return items

    def __call__(self, n: int) -> W:
        items = self._items
        item = items.get(n)
        if item is None:
            item = items[n] = self._make(n)
            while len(items) > self._size:
                items.popitem(last=False)
        else:
            items.move_to_end(n)
        return item

    def sizes(self) -> list[int]:
        """Batch sizes held for the calling thread, least recently used first."""
        return list(self._items)


class Plan:
    """What a model asks its engine to compute, described once by the model (:func:`describe`).

    Args:
        layers: the model's built layers in order (:class:`~microgradx.layers.Dense` and
            :class:`~microgradx.layers.Dropout` config objects; every Dense has ``input_dim`` set).
        loss: the compiled loss object (``loss.kind``, its config, ``loss(y_true, y_pred, sample_weight)``).
        dtype: the array dtype of the live weights (an ``np.dtype``).
        engine: the name of the engine it is for, for the error messages (``"scalar"``, ``"cpu"``, ...).

    The scalar engine executes this plan as it is (its graph builder reads the layers and the loss);
    the array engines execute :class:`~microgradx.engines.plan.ArrayPlan`, which adds the steps, the
    flat weight layout, the loss spec and the input checks.
    """

    def __init__(self, layers: Sequence["Layer"], loss: Any, dtype: np.dtype, engine: str) -> None:
        self.engine = engine
        self.layers = list(layers)
        self.loss = loss
        self.dtype = np.dtype(dtype)
        self.shapes = weight_shapes(self.layers)
        #: the model's output width: the units of the last Dense layer (without one, the input width: the
        #: labels are checked against it once, and each batch's loss trusts that check)
        self.output_dim: int | None = next((int(layer.units) for layer in reversed(self.layers)
                                            if getattr(layer, "kind", None) == "dense"),
                                           getattr(self.layers[0], "input_dim", None) if self.layers else None)

    # ------------------------------------------------------------------ labels, checked once
    def check_labels(self, y: Any, sample_weight: Any = None, n: int | None = None) -> None:
        """Let the loss check every label (and weight) once, whatever the engine: the loss's checks
        (``loss.check``, no loss computed) see the labels against a constant prediction of the output's shape
        (``n`` rows, default ``len(y)``), so a bad label raises the loss's own ``ValueError`` before anything
        is computed. What the model checks its data with (:func:`microgradx.models.data.check_targets` names
        the argument)."""
        n = len(y) if n is None else n
        width = self.output_dim or 1
        probe = np.full((n, width), 1.0 / width)
        if sample_weight is None:
            self.loss.check(y, probe)              # the checks of a call, without computing the loss
        else:
            self.loss(y, probe, sample_weight)     # the weights' checks come with the reduction

    def layout(self, y: Any, sample_weight: Any = None) -> "Targets":
        """Checked labels and weights as this plan's :class:`Targets`, with no check of its own (the
        caller checked them: the model with :meth:`check_labels`). The scalar engine takes them as they are."""
        return Targets(self, np.asarray(y), None if sample_weight is None else np.asarray(sample_weight))

    def targets(self, y: Any, sample_weight: Any = None, n: int | None = None) -> "Targets":
        """Raw labels and weights of ``n`` samples, checked (:meth:`check_labels`) and laid out
        (:meth:`layout`): what an engine does with the arrays a direct caller passes."""
        self.check_labels(y, sample_weight, n)
        return self.layout(y, sample_weight)


class Targets:
    """Labels and sample weights checked once, in the layout one plan computes with.

    Made by the plan: :meth:`Plan.targets` checks raw arrays (what an engine does for a direct call),
    :meth:`Plan.layout` takes arrays the caller already checked (the model, once per ``fit``,
    ``evaluate`` or ``compute_gradients``: its loss checked every label). An engine given a ``Targets``
    of its own plan uses it as it is: no second check, no copy per epoch.

    Attributes:
        plan: the plan whose layout ``y`` has.
        y: the labels (the array engines: ``(n, plan.target_width)`` in the plan's dtype, class indices as
            floats for the sparse loss; the scalar engine: as given).
        sample_weight: ``(n,)`` weights (float64 for the array engines) or ``None``.
        mask: the rows whose label is not the loss's ``ignore_class`` (``None`` without one).
    """

    __slots__ = ("plan", "y", "sample_weight", "mask")

    def __init__(self, plan: Plan, y: np.ndarray, sample_weight: np.ndarray | None = None,
                 mask: np.ndarray | None = None) -> None:
        self.plan, self.y, self.sample_weight, self.mask = plan, y, sample_weight, mask

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, index: np.ndarray) -> "Targets":
        """The targets of the rows ``index`` (a batch), still checked."""
        return Targets(self.plan, self.y[index], None if self.sample_weight is None else self.sample_weight[index],
                       None if self.mask is None else self.mask[index])


def describe(engine_class: type["Engine"], layers: Sequence["Layer"], loss: Any, dtype: object = None) -> Plan:
    """The plan of ``layers`` and ``loss`` for ``engine_class`` (its :attr:`Engine.plan_class`), with
    ``dtype`` checked (:func:`resolve_dtype`): what ``model.compile`` hands to the engine it chose."""
    return engine_class.plan_class(layers, loss, resolve_dtype(dtype), engine_class.name)


class Engine(abc.ABC):
    """Base class of the engines. Subclasses implement the abstract methods.

    Args:
        plan: what to compute (:class:`Plan`, or the engine's :attr:`plan_class`), made by the model
            with :func:`describe`: the engine only executes it.
        optimizer: the compiled optimizer object (``apply``, ``iterations``, ``slots``, ...).

    The constructor does not create weights: ``model.compile`` calls :meth:`set_weights` with the
    model's current weights right after construction (so compiling again with another engine keeps them).
    :meth:`for_layers` builds the plan as a model does, for code that drives an engine without a model.
    """

    #: the name ``compile(engine=...)`` uses for this engine.
    name: str = "base"
    #: True after a ``train_step`` / ``train_epoch`` whose last update was undone because it made a
    #: weight non-finite (NaN or inf) although the loss was finite; the weights are those before it.
    rejected_update: bool = False

    #: the kind of plan this engine executes (the array engines: ``ArrayPlan``)
    plan_class: type[Plan] = Plan

    def __init__(self, plan: Plan, optimizer: Any) -> None:
        self.plan = plan
        self.layers = plan.layers
        self.loss = plan.loss
        self.optimizer = optimizer
        self.dtype = plan.dtype
        self.shapes = plan.shapes

    @classmethod
    def for_layers(cls, layers: Sequence["Layer"], loss: Any, optimizer: Any, dtype: object = None) -> "Engine":
        """The engine for ``layers`` and ``loss`` without a model: the plan :func:`describe` makes, then
        the engine (tests and benchmarks drive engines this way)."""
        return cls(describe(cls, layers, loss, dtype), optimizer)

    # ------------------------------------------------------------------ weights
    @abc.abstractmethod
    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Replace the live weights by (copies of) ``weights`` (Keras order and shapes, already checked)."""

    @abc.abstractmethod
    def get_weights(self) -> list[np.ndarray]:
        """Host copies of the live weights, Keras order, in the engine's dtype."""

    def weights_finite(self) -> bool:
        """Whether every live weight is finite (no NaN, no inf)."""
        return all(bool(np.isfinite(w).all()) for w in self.get_weights())

    def checked_targets(self, y: "np.ndarray | Targets", sample_weight: np.ndarray | None, n: int) -> Targets:
        """The targets of ``n`` samples: a :class:`Targets` of this engine's plan as it is (then
        ``sample_weight`` is ``None``: the weights are inside), raw labels and weights checked by the plan."""
        if not isinstance(y, Targets):
            return self.plan.targets(y, sample_weight, n)
        problem = ("they were laid out by another plan (make them with engine.plan.targets)" if y.plan is not self.plan
                   else "sample_weight must be None: the Targets carry the weights" if sample_weight is not None
                   else f"they hold {len(y)} rows but x has {n}" if len(y) != n else None)
        if problem is not None:
            raise ValueError(f"engine={self.name!r}: Invalid value received for argument `y` (Targets): {problem}")
        return y

    # ------------------------------------------------------------------ compute
    @abc.abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's output for ``x`` (2-D, already validated) with ``training=False``.

        Safe to call from several threads at once (each thread computes in its own workspaces)."""

    @abc.abstractmethod
    def compute_gradients(self, x: np.ndarray, y: "np.ndarray | Targets", sample_weight: np.ndarray | None = None,
                          *, training: bool = True, step: int = 0) -> tuple[float, list[np.ndarray]]:
        """``(loss, [d loss / d w for w in weights])`` of one batch; the weights are not changed.

        ``training`` switches dropout on; ``step`` is the dropout RNG's step (``optimizer.iterations``).
        """

    @abc.abstractmethod
    def train_step(self, x: np.ndarray, y: "np.ndarray | Targets", sample_weight: np.ndarray | None = None,
                   *, step: int, outputs: bool = False) -> "float | tuple[float, np.ndarray]":
        """One optimizer update on one batch, with dropout drawn at ``step``.

        Returns the batch loss (computed *before* the update, like Keras). With ``outputs=True``
        returns ``(loss, y_pred)``: the training-mode forward output of the batch, for the metrics.
        When the loss is not finite the engine returns it (NaN/inf) and **skips the update**, so the
        weights stay the last finite ones; ``fit`` then stops with a warning. When the loss is finite
        but the update makes a weight non-finite, the engine restores the weights from before the
        update (and the optimizer's step counter; not its slots) and sets :attr:`rejected_update`.
        """

    def train_epoch(self, x: np.ndarray, y: "np.ndarray | Targets", sample_weight: np.ndarray | None,
                    batches: Sequence[np.ndarray], on_batch_end: BatchEnd | None = None,
                    *, on_batch_begin: Callable[[int], None] | None = None, outputs: bool = False,
                    should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Run every batch of one epoch; return the per-batch losses (float64, one per batch run).

        ``batches`` is a list of index arrays into ``x``. Each batch uses
        ``step = optimizer.iterations`` at that batch. Before each batch ``on_batch_begin(i)`` and after
        it ``on_batch_end(i, loss, y_pred)`` are called (``y_pred`` only with ``outputs=True``, else ``None``); when ``should_stop()``
        becomes true (a callback set ``model.stop_training``), the loss is not finite or an update was
        undone (:attr:`rejected_update`), the loop stops.
        Raw labels are checked once, for the whole epoch, before the first step (:meth:`checked_targets`).
        An engine that keeps data on the device may override this, keeping the same contract.
        """
        targets = self.checked_targets(y, sample_weight, len(x))
        losses: list[float] = []
        self.rejected_update = False
        for i, index in enumerate(batches):
            if on_batch_begin is not None:
                on_batch_begin(i)
            step = int(self.optimizer.iterations)
            result = self.train_step(x[index], targets.rows(index), step=step, outputs=outputs)
            loss, y_pred = result if outputs else (result, None)
            losses.append(float(loss))
            if on_batch_end is not None:
                on_batch_end(i, float(loss), y_pred)
            if not np.isfinite(loss) or self.rejected_update or (should_stop is not None and should_stop()):
                break
        return np.asarray(losses, dtype=np.float64)

    def optimizer_state(self) -> list[dict[str, np.ndarray]]:
        """The optimizer's slots per variable (``[{"m": ..., "v": ...}, ...]`` for Adam), host copies."""
        slots = getattr(self.optimizer, "slots", None) or []
        return [{name: np.array(value, copy=True) for name, value in per_variable.items()}
                for per_variable in slots]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layers={len(self.layers)}, dtype={self.dtype.name})"
