"""The array plan: what the array engines compute, described once from the layers and the loss.

:class:`ArrayPlan` turns the model's built layers and compiled loss into the description both array
engines (Numba CPU and CUDA) execute, and holds the host-side checks of their inputs, so that the two
engines share them without one building the other. The model makes it
(:func:`~microgradx.engines.base.describe`, with the engine's ``plan_class``) and hands it over:

* the steps: one :class:`DenseStep` (weight offsets, activation code, regularizer factors) or
  :class:`DropoutStep` (rate, seed, noise shape) per layer, recognised by ``layer.kind``, and the
  regularizers' element rules (``penalty_rules``, ``Regularizer.rules``) that the engines compile;
* the flat weight layout (``segments``: ``(offset, size)`` per weight, Keras order) and ``shapes``;
* the loss spec: the kernel code, ``from_logits``, ``label_smoothing``, ``reduction``, ``ignore_class``,
  the clip bounds in the model dtype, and whether the last activation is fused with the loss;
* the input checks and the targets: ``x`` (:meth:`check_x`); the labels as
  :class:`~microgradx.engines.base.Targets`, a target array of ``target_width`` columns (class indices
  as floats for the sparse loss) with the sample weights and the ``ignore_class`` mask, laid out once
  (:meth:`layout`, for labels the model checked) or checked and laid out (:meth:`targets`, for an engine
  called directly); and the per-sample coefficients ``coef[i] = d total / d loss_i`` of a batch that carry
  the reduction and sample weights (:meth:`coefficients`), derived here once for both engines.

The optimizer part of the plan is the optimizer's own rule (``optimizer.rule``, ``rule_slots``,
``rule_arguments``): the engines compile it (:mod:`microgradx.kernels.optimizers`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from microgradx.kernels.activations import ACTIVATION_CODES, LINEAR, SIGMOID, SOFTMAX
from microgradx.kernels.losses import (BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, HINGE, LOSS_CODES,
                                      SPARSE_CATEGORICAL_CROSSENTROPY)
from .base import Plan, Targets

__all__ = ["ArrayPlan", "DenseStep", "DropoutStep", "EPSILON"]

#: Keras' fuzz factor, the value of ``microgradx.losses.EPSILON`` (engines do not import the loss layer):
#: the clip bounds ``[eps, 1 - eps]`` and the ignore_class rescale ``n / (valid + eps)``.
EPSILON = 1e-7
_EPSILON = EPSILON


def _factors(regularizer: Any) -> tuple[float, float] | None:
    return None if regularizer is None else (float(regularizer.l1), float(regularizer.l2))


def _regularizers(layer: Any) -> list:
    options = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
    return [reg for reg in (getattr(layer, option, None) for option in options) if reg is not None]


class DenseStep:
    """One Dense layer of the plan: weight offsets in the flat buffer and the activation code.

    :meth:`bind` attaches the layer's views of the flat buffers (``w``, ``b``, ``dw``, ``db``; an empty
    ``b``/``db`` without bias), so that a training step slices nothing.
    """

    def __init__(self, layer: Any, kernel: tuple[int, int], bias: tuple[int, int] | None) -> None:
        self.name = layer.name
        self.n_in, self.n_out = int(layer.input_dim), int(layer.units)
        self.code = ACTIVATION_CODES[layer.activation]
        self.kernel, self.bias = kernel, bias
        # (l1, l2) of each regularizer (microgradx.regularizers), None without one
        self.kernel_reg = _factors(getattr(layer, "kernel_regularizer", None))
        self.bias_reg = _factors(getattr(layer, "bias_regularizer", None)) if bias is not None else None
        self.activity_reg = _factors(getattr(layer, "activity_regularizer", None))

    def bind(self, params: np.ndarray, grads: np.ndarray, empty: np.ndarray) -> None:
        """Keep this layer's views of the flat ``params`` and ``grads`` (``empty`` stands for no bias)."""
        (o, size), shape = self.kernel, (self.n_in, self.n_out)
        self.w, self.dw = params[o:o + size].reshape(shape), grads[o:o + size].reshape(shape)
        self.b = self.db = empty
        if self.bias is not None:
            o, size = self.bias
            self.b, self.db = params[o:o + size], grads[o:o + size]


class DropoutStep:
    """One Dropout layer of the plan."""

    def __init__(self, layer: Any, width: int) -> None:
        self.name = layer.name
        self.rate, self.seed, self.noise_shape = float(layer.rate), int(layer.seed), layer.noise_shape
        self.width = width


class ArrayPlan(Plan):
    """The description of one model for the array engines (module docstring), made by the model
    (:func:`~microgradx.engines.base.describe`) and executed by the CPU and CUDA engines.

    Args:
        layers: the model's built layers (``layer.kind`` is ``"dense"`` or ``"dropout"``).
        loss: the compiled loss (``loss.kind`` and its config).
        dtype: the engines' array dtype (an ``np.dtype``).
        engine: the engine's name, for the error messages (``"cpu"``, ``"cuda"``).
    """

    def __init__(self, layers: Sequence[Any], loss: Any, dtype: np.dtype, engine: str) -> None:
        super().__init__(layers, loss, dtype, engine)
        self.steps: list[DenseStep | DropoutStep] = []
        self.segments: list[tuple[int, int]] = []   # (offset, size) of each weight, Keras order
        offset = 0
        width: int | None = None
        for layer in layers:
            kind = getattr(layer, "kind", None)
            if kind == "dense":
                n_in, n_out = int(layer.input_dim), int(layer.units)
                if width is not None and n_in != width:
                    raise ValueError(f"layer {layer.name!r} expects {n_in} inputs but the previous layer "
                                     f"gives {width}")
                kernel = (offset, n_in * n_out)
                offset += n_in * n_out
                bias = None
                if layer.use_bias:
                    bias = (offset, n_out)
                    offset += n_out
                self.segments.extend([kernel] + ([bias] if bias else []))
                self.steps.append(DenseStep(layer, kernel, bias))
                width = n_out
            elif kind == "dropout":
                if width is None:
                    raise ValueError(f"engine={engine!r} needs a Dense layer before Dropout {layer.name!r} "
                                     f"(the input width is unknown)")
                if layer.noise_shape is not None and len(layer.noise_shape) != 2:
                    raise ValueError(f"Dropout {layer.name!r}: noise_shape={layer.noise_shape} must have 2 "
                                     f"entries for (batch, features) inputs")
                self.steps.append(DropoutStep(layer, width))
            else:
                raise TypeError(f"engine={engine!r} does not support layer {layer!r}")
        dense = [s for s in self.steps if isinstance(s, DenseStep)]
        if not dense:
            raise ValueError(f"engine={engine!r} needs at least one Dense layer")
        self.first_dense = next(i for i, s in enumerate(self.steps) if isinstance(s, DenseStep))
        # (l1, l2) of each weight's regularizer, in segment order (zeros for none); None when no weight has one
        factors = dict(zip(self.segments, [(0.0, 0.0)] * len(self.segments)))
        for s in dense:
            factors.update({segment: reg for segment, reg in ((s.kernel, s.kernel_reg), (s.bias, s.bias_reg))
                            if reg is not None})
        self.weight_factors = np.array([factors[segment] for segment in self.segments], np.float64).reshape(-1, 2) \
            if any(s.kernel_reg or s.bias_reg for s in dense) else None
        # (penalty, gradient): the element rules of microgradx's regularizers (one pair, Regularizer.rules)
        rules = list(dict.fromkeys(reg.rules for layer in layers for reg in _regularizers(layer)))
        if len(rules) > 1:
            raise ValueError(f"engine={engine!r} compiles one pair of regularizer rules per model, but the "
                             f"layers' regularizers bring {len(rules)}: "
                             f"{[tuple(f.__name__ for f in pair) for pair in rules]}; use engine='scalar'")
        self.penalty_rules = rules[0] if rules else None
        self.input_dim = dense[0].n_in
        self.size = offset
        kind = getattr(loss, "kind", None)
        if kind not in LOSS_CODES:
            raise ValueError(f"engine={engine!r} does not support the loss {loss!r} (kind={kind!r}); "
                             f"supported kinds: {sorted(LOSS_CODES)}")
        self.loss_code = LOSS_CODES[kind]
        self.target_width = 1 if self.loss_code == SPARSE_CATEGORICAL_CROSSENTROPY else self.output_dim
        self.from_logits = bool(getattr(loss, "from_logits", False))
        self.label_smoothing = float(getattr(loss, "label_smoothing", 0.0) or 0.0)
        self.reduction = getattr(loss, "reduction", "sum_over_batch_size") or "none"
        self.ignore_class = getattr(loss, "ignore_class", None)
        axis = getattr(loss, "axis", -1)
        if axis not in (-1, 1):
            raise ValueError(f"engine={engine!r} supports losses over the last axis only, got axis={axis!r}")
        t = self.dtype.type
        self.clip_low, self.clip_high = float(t(_EPSILON)), float(t(1) - t(_EPSILON))
        last = self.steps[-1]
        last_code = last.code if isinstance(last, DenseStep) else LINEAR
        # the loss kernel returns d loss / d z (pre-activation) where the composition is fused
        # an activity penalty on the last layer needs d loss / d output, which the fused kernel skips
        last_activity = isinstance(last, DenseStep) and last.activity_reg is not None
        self.fused = not self.from_logits and not last_activity and (
            (self.loss_code == BINARY_CROSSENTROPY and last_code == SIGMOID)
            or (self.loss_code in (CATEGORICAL_CROSSENTROPY, SPARSE_CATEGORICAL_CROSSENTROPY)
                and last_code == SOFTMAX))

    def write_weights(self, views: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` (Keras order, shapes checked) into ``views`` of an engine's flat buffer."""
        if len(weights) != len(self.shapes):
            raise ValueError(f"set_weights expected {len(self.shapes)} arrays, got {len(weights)}")
        for view, w, shape in zip(views, weights, self.shapes):
            w = np.asarray(w)
            if w.shape != tuple(shape):
                raise ValueError(f"set_weights: expected an array of shape {tuple(shape)}, got {w.shape}")
            view[...] = w

    # ------------------------------------------------------------------ validation
    def check_x(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_dim or x.shape[0] == 0:
            raise ValueError(f"engine={self.engine!r}: x must have shape (batch, {self.input_dim}) with "
                             f"batch >= 1, "
                             f"got {x.shape}")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
            raise TypeError(f"engine={self.engine!r}: x must hold real numbers, got dtype {x.dtype}")
        if x.dtype.kind == "f" and x.dtype.itemsize > self.dtype.itemsize and x.size:
            # a finite float64 beyond float32's range would become inf in the engine's cast, silently (the
            # model's data path refuses it as it casts; arrays handed to an engine directly are checked here)
            largest = float(np.max(np.abs(x)))
            if math.isfinite(largest) and largest > float(np.finfo(self.dtype).max):
                raise ValueError(f"engine={self.engine!r}: x must hold numbers within the range of the engine's "
                                 f"dtype {self.dtype.name}, got values up to {largest}")
        return x

    def layout(self, y: Any, sample_weight: Any = None) -> Targets:
        """Checked labels as the engines' target array, with no check of its own: ``(n, target_width)`` in
        the plan's dtype (the class indices as floats in column 0 for the sparse loss, ``ignore_class``
        rows as class 0 with ``mask`` false), the weights as float64 ``(n,)``."""
        y = np.asarray(y)
        n = len(y)
        out = np.empty((n, self.target_width), self.dtype)
        mask = None
        if self.loss_code == SPARSE_CATEGORICAL_CROSSENTROPY:
            labels = y.reshape(n).astype(np.int64)
            if self.ignore_class is not None:
                mask = labels != self.ignore_class
                labels = np.where(mask, labels, 0)
            out[:, 0] = labels
        else:
            np.copyto(out, y[:, None] if y.ndim == 1 else y, casting="unsafe")
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(n)
        return Targets(self, out, weights, mask)

    def targets(self, y: Any, sample_weight: Any = None, n: int | None = None) -> Targets:
        """Check the raw labels and weights of ``n`` rows (an engine called directly) and lay them out
        (:meth:`layout`): the shapes, integer class indices in ``[0, classes)`` for the sparse loss, and the
        loss's label domain (:meth:`check_label_domain`) on the values the engine computes with."""
        y = np.asarray(y)
        n = len(y) if n is None else n
        k = self.output_dim
        if self.loss_code == SPARSE_CATEGORICAL_CROSSENTROPY:
            if y.shape not in ((n,), (n, 1)):
                raise ValueError(f"SparseCategoricalCrossentropy: y must have shape ({n},) or ({n}, 1) for "
                                 f"outputs of shape ({n}, {k}), got {y.shape}")
            labels = y.reshape(n)
            if not np.issubdtype(labels.dtype, np.integer) and not np.all(labels == np.round(labels)):
                raise ValueError("SparseCategoricalCrossentropy: y must hold integer class indices, "
                                 f"got {labels[labels != np.round(labels)][:3].tolist()}")
            labels = labels.astype(np.int64)
            if self.ignore_class is not None:
                labels = np.where(labels != self.ignore_class, labels, 0)
            if labels.min() < 0 or labels.max() >= k:
                raise ValueError(f"SparseCategoricalCrossentropy: labels must be in [0, {k}) for {k} classes, "
                                 f"got values from {labels.min()} to {labels.max()}")
        else:
            if y.ndim == 1 and k == 1:
                y = y[:, None]
            if y.shape != (n, k):
                raise ValueError(f"{type(self.loss).__name__}: y must have shape ({n}, {k}) like the model's "
                                 f"output (or ({n},) for one output), got {y.shape}")
            if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
                raise TypeError(f"y must hold numbers, got dtype {y.dtype}")
        targets = self.layout(y)
        if self.loss_code != SPARSE_CATEGORICAL_CROSSENTROPY:
            self.check_label_domain(targets.y)
        targets.sample_weight = self.check_sample_weight(sample_weight, n)
        return targets

    def check_label_domain(self, y: np.ndarray) -> None:
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains non-finite values")
        if self.loss_code in (BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY) and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{type(self.loss).__name__}: y must be in [0, 1], got values from {y.min()} "
                             f"to {y.max()}")
        if self.loss_code == HINGE:
            if not (np.all((y == 0) | (y == 1)) or np.all((y == -1) | (y == 1))):
                raise ValueError(f"Hinge: y must be all in {{0, 1}} or all in {{-1, 1}}, got "
                                 f"{np.unique(y)[:5].tolist()}")

    @staticmethod
    def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
        """``sample_weight`` as a float64 vector of length n (``None`` stays ``None``)."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape not in ((n,), (n, 1)):
            raise ValueError(f"sample_weight must have shape ({n},) (one weight per sample), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("sample_weight contains non-finite values")
        return w.reshape(n)

    def coefficients(self, ws: Any, sample_weight: np.ndarray | None, mask: np.ndarray | None) -> None:
        """``coef[i] = d total / d loss_i`` for the reduction (Keras' reduce_weighted_values), from
        checked weights (:meth:`check_sample_weight`)."""
        n = ws.n
        coef = ws.coef
        if sample_weight is None:
            coef.fill(1.0)
        else:
            coef[...] = sample_weight
        reduction = self.reduction
        if mask is not None:
            valid = float(np.count_nonzero(mask))
            coef *= mask
            if reduction in ("mean", "sum_over_batch_size"):
                coef *= n / (valid + _EPSILON)
        if reduction in ("mean", "sum_over_batch_size"):
            coef /= n
        elif reduction == "mean_with_sample_weight" and (sample_weight is not None or mask is not None):
            total = float(coef.sum())
            coef[...] = coef / total if total != 0.0 else 0.0
        elif reduction == "mean_with_sample_weight":
            coef /= n
        # "sum" (and "none", trained on the sum of the per-sample losses): coef = w
