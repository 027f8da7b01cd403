"""The Numba CPU engine: the same model, trained by compiled batched kernels.

The engine translates the layer stack into a short *plan* once, at compile time, and keeps

* every weight in **one flat buffer** (``float32`` by default, ``float64`` selectable), with one
  C-contiguous view per weight in Keras order (kernel ``(in, out)``, then bias); the gradients in a
  second flat buffer of the same layout, so a fused optimizer updates everything in one call
  (``optimizer.apply_flat(grads, params, segments, out=spare)``, the new weights written to a second
  buffer that becomes the live one when they are all finite);
* one set of **workspaces per batch size** (layer outputs, dropout masks, gradient buffers), made on
  first use and reused, so a training step allocates nothing; the last, smaller batch of an epoch
  gets its own set.

A training step is a handful of compiled calls::

    for each layer:            dense_forward (BLAS + bias + activation)  |  dropout_forward
    loss_forward_backward      (per-sample losses, reduction and d loss / d output in one pass;
                                softmax + cross-entropy and sigmoid + BCE fused: p - y)
    for each layer, reversed:  dense_backward (activation', dW, db, dX)  |  dropout_backward
    optimizer.apply_flat       (or optimizer.apply over the per-weight views)

The matrix products run in NumPy's BLAS (with its threads); every other kernel is serial and
deterministic, and dropout draws from a hash of (seed, step, element), so results do not depend on
``numba.set_num_threads``. (Numba threads are kept out of the step on purpose: an OpenMP region next
to multi-threaded BLAS calls leaves threads spinning on the cores BLAS needs.) Inputs are validated
on the host before any kernel runs: shapes, label domains, sample weights
(``train_epoch`` checks the whole epoch's labels and weights once, before its first step).

Not supported here (a clear error at compile time): layers other than Dense/Dropout, losses over an
axis other than the last. ``reduction="none"`` trains on the sum of the per-sample losses.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ..kernels.activations import ACTIVATION_CODES, LINEAR, SIGMOID, SOFTMAX
from ..kernels.dense import dense_backward, dense_forward
from ..kernels.dropout import dropout_backward, dropout_forward
from ..kernels.losses import (BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, HINGE, LOSS_CODES,
                              SPARSE_CATEGORICAL_CROSSENTROPY, loss_forward_backward)
from ..kernels.optimizers import all_finite
from ..kernels.regularizers import penalty_and_gradient
from .base import Engine, WorkspaceCache, resolve_noise_shape

__all__ = ["CpuEngine"]

#: How many batch sizes keep their workspaces (training uses two: full batches and the last one).
WORKSPACE_CACHE_SIZE = 4
#: ``predict`` runs in chunks of at most this many rows (bounded workspace memory).
PREDICT_CHUNK = 4096
#: Keras' fuzz factor, the value of ``microgradx.losses.EPSILON`` (engines do not import the loss layer):
#: the clip bounds ``[eps, 1 - eps]`` and the ignore_class rescale ``n / (valid + eps)``.
_EPSILON = 1e-7


def _factors(regularizer: Any) -> tuple[float, float] | None:
    return None if regularizer is None else (float(regularizer.l1), float(regularizer.l2))


class _DenseStep:
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


class _DropoutStep:
    """One Dropout layer of the plan."""

    def __init__(self, layer: Any, width: int) -> None:
        self.name = layer.name
        self.rate, self.seed, self.noise_shape = float(layer.rate), int(layer.seed), layer.noise_shape
        self.width = width


class _Workspace:
    """Every buffer one batch size needs, allocated once."""

    def __init__(self, engine: "CpuEngine", n: int) -> None:
        dtype = engine.dtype
        self.n = n
        self.x = np.empty((n, engine.input_dim), dtype)
        self.outputs: list[np.ndarray] = []    # per step: its output (n, width)
        self.grads: list[np.ndarray] = []      # per step: d loss / d its output, same shape
        self.scales: list[np.ndarray | None] = []
        for step in engine.plan:
            width = step.n_out if isinstance(step, _DenseStep) else step.width
            self.outputs.append(np.empty((n, width), dtype))
            self.grads.append(np.empty((n, width), dtype))
            self.scales.append(np.empty((n, width), dtype) if isinstance(step, _DropoutStep) else None)
        self.y = np.empty((n, engine.target_width), dtype)
        self.coef = np.empty(n, np.float64)
        self.per_sample = np.empty(n, np.float64)
        self.current: list[np.ndarray] = list(self.outputs)


class _Targets:
    """The checked targets of ``n`` rows (a whole epoch): what :meth:`CpuEngine._fill_targets` fills."""

    def __init__(self, n: int, width: int, dtype: np.dtype) -> None:
        self.n = n
        self.y = np.empty((n, width), dtype)


class CpuEngine(Engine):
    """Numba CPU kernels over a flat weight buffer (see the module docstring).

    Args:
        layers, loss, optimizer: as for every :class:`~microgradx.engines.base.Engine`.
        dtype: ``"float32"`` (default) or ``"float64"``.
    """

    name = "cpu"

    def __init__(self, layers: Sequence[Any], loss: Any, optimizer: Any, dtype: object = None) -> None:
        super().__init__(layers, loss, optimizer, dtype)
        self.plan: list[_DenseStep | _DropoutStep] = []
        self.segments: list[tuple[int, int]] = []   # (offset, size) of each weight, Keras order
        offset = 0
        width: int | None = None
        for layer in self.layers:
            if hasattr(layer, "units"):
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
                self.plan.append(_DenseStep(layer, kernel, bias))
                width = n_out
            elif hasattr(layer, "rate"):
                if width is None:
                    raise ValueError(f"engine='cpu' needs a Dense layer before Dropout {layer.name!r} (the "
                                     f"input width is unknown)")
                if layer.noise_shape is not None and len(layer.noise_shape) != 2:
                    raise ValueError(f"Dropout {layer.name!r}: noise_shape={layer.noise_shape} must have 2 "
                                     f"entries for (batch, features) inputs")
                self.plan.append(_DropoutStep(layer, width))
            else:
                raise TypeError(f"engine='cpu' does not support layer {layer!r}")
        dense = [s for s in self.plan if isinstance(s, _DenseStep)]
        if not dense:
            raise ValueError("engine='cpu' needs at least one Dense layer")
        self._first_dense = next(i for i, s in enumerate(self.plan) if isinstance(s, _DenseStep))
        self.input_dim = dense[0].n_in
        self.output_dim = dense[-1].n_out
        self.grads = np.zeros(offset, self.dtype)
        # per-weight views in Keras order and shapes: what set_weights / optimizer.apply see
        layout = list(zip(self.segments, self.shapes))
        self.grad_views = [self.grads[o:o + n].reshape(shape) for (o, n), shape in layout]
        self._empty = np.zeros(0, self.dtype)
        # Two weight buffers: the fused update reads the live one and writes the spare, which becomes
        # live only when every new weight is finite (so an overflowing update is undone for free).
        self._views: dict[int, tuple[list[np.ndarray], list[tuple[_DenseStep, np.ndarray, np.ndarray]]]] = {}
        buffers = (np.zeros(offset, self.dtype), np.zeros(offset, self.dtype))
        for buffer in buffers:
            for s in dense:
                s.bind(buffer, self.grads, self._empty)
            self._views[id(buffer)] = ([buffer[o:o + n].reshape(shape) for (o, n), shape in layout],
                                       [(s, s.w, s.b) for s in dense])
        self._spare = buffers[1]
        self._make_live(buffers[0])
        self._workspace = WorkspaceCache(lambda n: _Workspace(self, n), WORKSPACE_CACHE_SIZE)
        self._use_flat = True
        self._configure_loss(loss)

    # ------------------------------------------------------------------ loss configuration
    def _configure_loss(self, loss: Any) -> None:
        kind = getattr(loss, "kind", None)
        if kind not in LOSS_CODES:
            raise ValueError(f"engine='cpu' does not support the loss {loss!r} (kind={kind!r}); supported "
                             f"kinds: {sorted(LOSS_CODES)}")
        self.loss_code = LOSS_CODES[kind]
        self.target_width = 1 if self.loss_code == SPARSE_CATEGORICAL_CROSSENTROPY else self.output_dim
        self.from_logits = bool(getattr(loss, "from_logits", False))
        self.label_smoothing = float(getattr(loss, "label_smoothing", 0.0) or 0.0)
        self.reduction = getattr(loss, "reduction", "sum_over_batch_size") or "none"
        self.ignore_class = getattr(loss, "ignore_class", None)
        axis = getattr(loss, "axis", -1)
        if axis not in (-1, 1):
            raise ValueError(f"engine='cpu' supports losses over the last axis only, got axis={axis!r}")
        t = self.dtype.type
        self.clip_low, self.clip_high = float(t(_EPSILON)), float(t(1) - t(_EPSILON))
        last = self.plan[-1]
        last_code = last.code if isinstance(last, _DenseStep) else LINEAR
        # the loss kernel returns d loss / d z (pre-activation) where the composition is fused
        # an activity penalty on the last layer needs d loss / d output, which the fused kernel skips
        last_activity = isinstance(last, _DenseStep) and last.activity_reg is not None
        self.fused = not self.from_logits and not last_activity and (
            (self.loss_code == BINARY_CROSSENTROPY and last_code == SIGMOID)
            or (self.loss_code in (CATEGORICAL_CROSSENTROPY, SPARSE_CATEGORICAL_CROSSENTROPY)
                and last_code == SOFTMAX))

    # ------------------------------------------------------------------ weights
    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        if len(weights) != len(self.shapes):
            raise ValueError(f"set_weights expected {len(self.shapes)} arrays, got {len(weights)}")
        for view, w, shape in zip(self.weight_views, weights, self.shapes):
            w = np.asarray(w)
            if w.shape != tuple(shape):
                raise ValueError(f"set_weights: expected an array of shape {tuple(shape)}, got {w.shape}")
            view[...] = w

    def get_weights(self) -> list[np.ndarray]:
        return [v.copy() for v in self.weight_views]

    def weights_finite(self) -> bool:
        return all_finite(self.params)

    # ------------------------------------------------------------------ validation
    def _check_x(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_dim or x.shape[0] == 0:
            raise ValueError(f"engine='cpu': x must have shape (batch, {self.input_dim}) with batch >= 1, "
                             f"got {x.shape}")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
            raise TypeError(f"engine='cpu': x must hold real numbers, got dtype {x.dtype}")
        return x

    def _load_targets(self, ws: _Workspace, y: Any, sample_weight: Any) -> None:
        """Validate labels and weights; fill ``ws.y`` and the coefficients ``ws.coef``.

        ``ws`` needs ``n``, ``y`` (n, target_width) and ``coef`` (n,) (the CUDA engine passes a
        namespace with these fields)."""
        mask = self._fill_targets(ws, y)
        self._coefficients(ws, self._check_sample_weight(sample_weight, ws.n), mask)

    def _fill_targets(self, ws: Any, y: Any) -> np.ndarray | None:
        """Validate the labels of ``ws.n`` rows into ``ws.y`` (the class indices as floats in ``ws.y[:, 0]``
        for the sparse loss, whose ``target_width`` is 1).

        Returns the mask of rows not equal to ``ignore_class`` (``None`` without ignore_class)."""
        n, k = ws.n, self.output_dim
        y = np.asarray(y)
        mask = None
        if self.loss_code == SPARSE_CATEGORICAL_CROSSENTROPY:
            if y.shape not in ((n,), (n, 1)):
                raise ValueError(f"SparseCategoricalCrossentropy: y must have shape ({n},) or ({n}, 1) for "
                                 f"outputs of shape ({n}, {k}), got {y.shape}")
            labels = y.reshape(n)
            if not np.issubdtype(labels.dtype, np.integer):
                if not np.all(labels == np.round(labels)):
                    raise ValueError("SparseCategoricalCrossentropy: y must hold integer class indices, "
                                     f"got {labels[labels != np.round(labels)][:3].tolist()}")
            labels = labels.astype(np.int64)
            if self.ignore_class is not None:
                mask = labels != self.ignore_class
                labels = np.where(mask, labels, 0)
            if labels.min() < 0 or labels.max() >= k:
                raise ValueError(f"SparseCategoricalCrossentropy: labels must be in [0, {k}) for {k} classes, "
                                 f"got values from {labels.min()} to {labels.max()}")
            ws.y[:, 0] = labels
        else:
            if y.ndim == 1 and k == 1:
                y = y[:, None]
            if y.shape != (n, k):
                raise ValueError(f"{type(self.loss).__name__}: y must have shape ({n}, {k}) like the model's "
                                 f"output (or ({n},) for one output), got {y.shape}")
            if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
                raise TypeError(f"y must hold numbers, got dtype {y.dtype}")
            np.copyto(ws.y, y, casting="unsafe")
            self._check_label_domain(ws.y)
        return mask

    def _check_label_domain(self, y: np.ndarray) -> None:
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
    def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
        """``sample_weight`` as a float64 vector of length n (``None`` stays ``None``)."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape not in ((n,), (n, 1)):
            raise ValueError(f"sample_weight must have shape ({n},) (one weight per sample), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("sample_weight contains non-finite values")
        return w.reshape(n)

    def _coefficients(self, ws: Any, sample_weight: np.ndarray | None, mask: np.ndarray | None) -> None:
        """``coef[i] = d total / d loss_i`` for the reduction (Keras' reduce_weighted_values), from
        checked weights (:meth:`_check_sample_weight`)."""
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

    # ------------------------------------------------------------------ passes
    def _forward(self, ws: _Workspace, training: bool, step: int) -> np.ndarray:
        """Run the plan on ``ws.x``; ``ws.current[i]`` is the array holding step i's output."""
        a = ws.x
        for i, s in enumerate(self.plan):
            out = ws.outputs[i]
            if isinstance(s, _DenseStep):
                dense_forward(a, s.w, s.b, s.code, out)
                a = out
            elif training and s.rate > 0.0:
                rows, cols = resolve_noise_shape(s.noise_shape, (ws.n, s.width))
                dropout_forward(a, s.seed, step, s.rate, rows, cols, ws.scales[i], out)
                a = out
            ws.current[i] = a  # an inactive Dropout passes its input array through
        return a

    def _backward(self, ws: _Workspace, training: bool) -> float:
        """Backpropagate ``ws.grads[-1]`` (d loss / d output, or / d z when fused) into ``self.grads``.

        Regularizers join on the way (:mod:`microgradx.kernels.regularizers`, one pass each): an activity
        penalty adds ``(l1 sign(Y) + 2 l2 Y) / batch`` to d loss / d Y before the layer's backward, a
        weight penalty adds ``l1 sign(W) + 2 l2 W`` to dW after it. Returns the sum of the penalties."""
        plan = self.plan
        g = ws.grads[-1]
        total = 0.0
        for i in range(len(plan) - 1, -1, -1):
            s = plan[i]
            if isinstance(s, _DenseStep):
                if s.activity_reg is not None:
                    total += penalty_and_gradient(ws.current[i].reshape(-1), g.reshape(-1), *s.activity_reg,
                                                  float(ws.n))
                x_in = ws.current[i - 1] if i > 0 else ws.x
                code = LINEAR if (self.fused and i == len(plan) - 1) else s.code
                need_dx = i > self._first_dense
                dx = ws.grads[i - 1] if need_dx else g
                dense_backward(x_in, s.w, ws.current[i], g, code, s.dw, s.db, dx, need_dx)
                if s.kernel_reg is not None:
                    total += penalty_and_gradient(s.w.reshape(-1), s.dw.reshape(-1), *s.kernel_reg, 1.0)
                if s.bias_reg is not None:
                    total += penalty_and_gradient(s.b, s.db, *s.bias_reg, 1.0)
                if not need_dx:
                    return total
                g = dx
            elif training and s.rate > 0.0:
                dropout_backward(g, ws.scales[i], g)   # in place; an inactive Dropout passes g on
        return total

    def _loss_and_gradients(self, ws: _Workspace, training: bool, step: int) -> float:
        pred = self._forward(ws, training, step)
        return loss_forward_backward(self.loss_code, ws.y, pred, ws.coef, self.from_logits,
                                     self.label_smoothing, self.clip_low, self.clip_high, self.fused,
                                     ws.per_sample, ws.grads[-1])

    def _prepare(self, x: Any, y: Any, sample_weight: Any) -> _Workspace:
        x = self._check_x(x)
        ws = self._workspace(x.shape[0])
        self._load_targets(ws, y, sample_weight)   # every check before any kernel runs
        np.copyto(ws.x, x, casting="unsafe")
        return ws

    # ------------------------------------------------------------------ the engine seam
    def predict(self, x: np.ndarray) -> np.ndarray:
        x = self._check_x(x)
        out = np.empty((x.shape[0], self.output_dim), self.dtype)
        for start in range(0, x.shape[0], PREDICT_CHUNK):
            chunk = x[start:start + PREDICT_CHUNK]
            ws = self._workspace(chunk.shape[0])
            np.copyto(ws.x, chunk, casting="unsafe")
            out[start:start + chunk.shape[0]] = self._forward(ws, False, 0)
        return out

    def compute_gradients(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                          *, training: bool = True, step: int = 0) -> tuple[float, list[np.ndarray]]:
        ws = self._prepare(x, y, sample_weight)
        loss = self._loss_and_gradients(ws, training, step)
        loss += self._backward(ws, training)
        return float(loss), [g.copy() for g in self.grad_views]

    def _make_live(self, buffer: np.ndarray) -> None:
        """Make ``buffer`` (one of the two weight buffers) the live weights: ``params``, ``weight_views``
        and every Dense step's ``w``/``b`` point into it."""
        self.params = buffer
        self.weight_views, bound = self._views[id(buffer)]
        for s, w, b in bound:
            s.w, s.b = w, b

    def train_step(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                   *, step: int, outputs: bool = False) -> "float | tuple[float, np.ndarray]":
        ws = self._prepare(x, y, sample_weight)
        self.rejected_update = False
        return self._step(ws, step, outputs)

    def _checked_update(self) -> None:
        """One optimizer step, undone (weights and step counter as before it) when it would make a weight
        non-finite (:attr:`rejected_update`).

        The fused ``apply_flat`` writes the new weights into the spare buffer and reports their
        finiteness from the same pass; the spare becomes live only then. The reference
        ``optimizer.apply`` (for options only it supports) updates in place after a copy, and refuses a
        non-finite gradient: that step is skipped here, as the fused path's would be undone."""
        opt = self.optimizer
        raw_iterations = opt._raw_iterations
        if self._use_flat and hasattr(opt, "apply_flat"):
            if not getattr(opt, "built", True) and hasattr(opt, "build_flat"):
                opt.build_flat(self.segments, self.params.size, self.dtype, shapes=self.shapes)
            try:
                finite = opt.apply_flat(self.grads, self.params, self.segments, out=self._spare)
            except NotImplementedError:   # an option only the reference rule supports
                self._use_flat = False
            else:
                if finite:
                    live, self._spare = self._spare, self.params
                    self._make_live(live)
                else:
                    opt._raw_iterations = raw_iterations
                    self.rejected_update = True
                return
        if not all_finite(self.grads):
            self.rejected_update = True
            return
        np.copyto(self._spare, self.params)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is undone just below
            opt.apply(self.grad_views, self.weight_views)
        if not all_finite(self.params):
            np.copyto(self.params, self._spare)
            opt._raw_iterations = raw_iterations
            self.rejected_update = True

    def _step(self, ws: _Workspace, step: int, outputs: bool) -> "float | tuple[float, np.ndarray]":
        loss = self._loss_and_gradients(ws, True, step)
        if math.isfinite(loss):
            loss += self._backward(ws, True)
            self._checked_update()
        if outputs:
            return float(loss), ws.current[-1].copy()
        return float(loss)

    def train_epoch(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
                    batches: Sequence[np.ndarray], on_batch_end: Callable | None = None,
                    *, outputs: bool = False, should_stop: Callable[[], bool] | None = None,
                    on_batch_begin: Callable[[int], None] | None = None) -> np.ndarray:
        """Every batch of an epoch; the rows of each batch are gathered straight into the workspace.

        Labels and sample weights are checked once, for the whole epoch, before the first step."""
        x = self._check_x(x)
        n = x.shape[0]
        targets = _Targets(n, self.target_width, self.dtype)
        mask = self._fill_targets(targets, y)
        weights = self._check_sample_weight(sample_weight, n)
        losses: list[float] = []
        self.rejected_update = False
        for i, index in enumerate(batches):
            if on_batch_begin is not None:
                on_batch_begin(i)
            ws = self._workspace(len(index))
            np.take(targets.y, index, axis=0, out=ws.y)
            self._coefficients(ws, None if weights is None else weights[index],
                               None if mask is None else mask[index])
            if x.dtype == self.dtype:
                np.take(x, index, axis=0, out=ws.x)
            else:
                np.copyto(ws.x, x[index], casting="unsafe")
            result = self._step(ws, int(self.optimizer.iterations), outputs)
            loss, y_pred = result if outputs else (result, None)
            losses.append(loss)
            if on_batch_end is not None:
                on_batch_end(i, loss, y_pred)
            if not np.isfinite(loss) or self.rejected_update or (should_stop is not None and should_stop()):
                break
        return np.asarray(losses, dtype=np.float64)
