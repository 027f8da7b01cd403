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
on the host before any kernel runs: shapes, label domains, sample weights (``train_epoch`` checks the
whole epoch's labels and weights once, before its first step); labels that come as a
:class:`~microgradx.engines.base.Targets` (``fit`` makes them once) are not checked again.

Not supported here (a clear error at compile time): layers other than Dense/Dropout, losses over an
axis other than the last. ``reduction="none"`` trains on the sum of the per-sample losses.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from microgradx.kernels.activations import LINEAR
from microgradx.kernels.dense import dense_backward, dense_forward
from microgradx.kernels.dropout import dropout_backward, dropout_forward
from microgradx.kernels.losses import loss_forward_backward
from microgradx.kernels.optimizers import all_finite
from microgradx.kernels.regularizers import penalty_pass, weight_penalties_and_gradients
from .base import Engine, WorkspaceCache, resolve_noise_shape
from .plan import ArrayPlan, DenseStep, DropoutStep

__all__ = ["CpuEngine"]

#: How many batch sizes keep their workspaces (training uses two: full batches and the last one).
WORKSPACE_CACHE_SIZE = 4
#: ``predict`` runs in chunks of at most this many rows (bounded workspace memory).
PREDICT_CHUNK = 4096
class _Workspace:
    """Every buffer one batch size needs, allocated once."""

    def __init__(self, engine: "CpuEngine", n: int) -> None:
        dtype = engine.dtype
        self.n = n
        self.x = np.empty((n, engine.plan.input_dim), dtype)
        self.outputs: list[np.ndarray] = []    # per step: its output (n, width)
        self.grads: list[np.ndarray] = []      # per step: d loss / d its output, same shape
        self.scales: list[np.ndarray | None] = []
        for step in engine.plan.steps:
            width = step.n_out if isinstance(step, DenseStep) else step.width
            self.outputs.append(np.empty((n, width), dtype))
            self.grads.append(np.empty((n, width), dtype))
            self.scales.append(np.empty((n, width), dtype) if isinstance(step, DropoutStep) else None)
        self.y = np.empty((n, engine.plan.target_width), dtype)
        self.coef = np.empty(n, np.float64)
        self.per_sample = np.empty(n, np.float64)
        self.current: list[np.ndarray] = list(self.outputs)


class CpuEngine(Engine):
    """Numba CPU kernels over a flat weight buffer (see the module docstring).

    Args:
        plan: the model's :class:`~microgradx.engines.plan.ArrayPlan` (its dtype ``float32`` or ``float64``).
        optimizer: as for every :class:`~microgradx.engines.base.Engine`.
    """

    name = "cpu"
    plan_class = ArrayPlan

    def __init__(self, plan: ArrayPlan, optimizer: Any) -> None:
        super().__init__(plan, optimizer)
        offset = plan.size
        dense = [s for s in plan.steps if isinstance(s, DenseStep)]
        self.grads = np.zeros(offset, self.dtype)
        # per-weight views in Keras order and shapes: what set_weights / optimizer.apply see
        layout = list(zip(plan.segments, self.shapes))
        self.grad_views = [self.grads[o:o + n].reshape(shape) for (o, n), shape in layout]
        self._empty = np.zeros(0, self.dtype)
        # the activity penalties' pass, compiled from the regularizers' rules (looked up once, here)
        self._penalty_pass = penalty_pass(*plan.penalty_rules) if plan.penalty_rules else None
        # Two weight buffers: the fused update reads the live one and writes the spare, which becomes
        # live only when every new weight is finite (so an overflowing update is undone for free).
        self._views: dict[int, tuple[list[np.ndarray], list[tuple[DenseStep, np.ndarray, np.ndarray]]]] = {}
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

    # ------------------------------------------------------------------ weights
    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self.plan.write_weights(self.weight_views, weights)

    def get_weights(self) -> list[np.ndarray]:
        return [v.copy() for v in self.weight_views]

    def weights_finite(self) -> bool:
        return all_finite(self.params)

    # ------------------------------------------------------------------ passes
    def _forward(self, ws: _Workspace, training: bool, step: int) -> np.ndarray:
        """Run the plan on ``ws.x``; ``ws.current[i]`` is the array holding step i's output."""
        a = ws.x
        for i, s in enumerate(self.plan.steps):
            out = ws.outputs[i]
            if isinstance(s, DenseStep):
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

        An activity penalty joins on the way (:mod:`microgradx.kernels.regularizers`, one pass each): it
        adds ``(l1 sign(Y) + 2 l2 Y) / batch`` to d loss / d Y before the layer's backward. Returns the sum
        of the activity penalties. (The weight penalties join in :meth:`_checked_update`'s fused update, or
        in :meth:`compute_gradients`.)"""
        plan = self.plan.steps
        g = ws.grads[-1]
        total = 0.0
        for i in range(len(plan) - 1, -1, -1):
            s = plan[i]
            if isinstance(s, DenseStep):
                if s.activity_reg is not None:
                    total += self._penalty_pass(ws.current[i].reshape(-1), g.reshape(-1), *s.activity_reg,
                                                float(ws.n))
                x_in = ws.current[i - 1] if i > 0 else ws.x
                code = LINEAR if (self.plan.fused and i == len(plan) - 1) else s.code
                need_dx = i > self.plan.first_dense
                dx = ws.grads[i - 1] if need_dx else g
                dense_backward(x_in, s.w, ws.current[i], g, code, s.dw, s.db, dx, need_dx)
                if not need_dx:
                    return total
                g = dx
            elif training and s.rate > 0.0:
                dropout_backward(g, ws.scales[i], g)   # in place; an inactive Dropout passes g on
        return total

    def _loss_and_gradients(self, ws: _Workspace, training: bool, step: int) -> float:
        pred = self._forward(ws, training, step)
        plan = self.plan
        return loss_forward_backward(plan.loss_code, ws.y, pred, ws.coef, plan.from_logits, plan.label_smoothing,
                                     plan.clip_low, plan.clip_high, plan.fused,
                                     ws.per_sample, ws.grads[-1])

    def _prepare(self, x: Any, y: Any, sample_weight: Any) -> _Workspace:
        x = self.plan.check_x(x)
        targets = self.checked_targets(y, sample_weight, x.shape[0])   # every check before any kernel runs
        ws = self._workspace(x.shape[0])
        np.copyto(ws.y, targets.y)
        self.plan.coefficients(ws, targets.sample_weight, targets.mask)
        np.copyto(ws.x, x, casting="unsafe")
        return ws

    # ------------------------------------------------------------------ the engine seam
    def predict(self, x: np.ndarray) -> np.ndarray:
        x = self.plan.check_x(x)
        out = np.empty((x.shape[0], self.plan.output_dim), self.dtype)
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
        if self.plan.weight_factors is not None:   # one pass per regularised weight
            penalties = np.zeros(len(self.plan.segments))
            weight_penalties_and_gradients(self.plan.penalty_rules, self.params, self.grads, self.plan.segments,
                                           self.plan.weight_factors, penalties)
            loss += float(penalties.sum())
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

    def _checked_update(self) -> float:
        """One optimizer step, undone (weights and step counter as before it) when it would make a weight
        non-finite (:attr:`rejected_update`). Returns the weight penalties of the weights before it.

        The fused ``apply_flat`` writes the new weights into the spare buffer and reports their
        finiteness from the same pass; the spare becomes live only then. It also adds the weight
        regularizers' gradients and computes their penalties in that call (``factors``). The reference
        ``optimizer.apply`` (for options only it supports) gets them from one pass per regularised weight
        first; it updates in place after a copy, and refuses a non-finite gradient: that step is skipped
        here, as the fused path's would be undone."""
        opt = self.optimizer
        raw_iterations = opt._raw_iterations
        factors = self.plan.weight_factors
        penalties = None if factors is None else np.zeros(len(self.plan.segments))
        if self._use_flat and hasattr(opt, "step_flat"):
            if not getattr(opt, "built", True) and hasattr(opt, "build_flat"):
                opt.build_flat(self.plan.segments, self.params.size, self.dtype, shapes=self.shapes)
            try:   # checked on the first step only: the buffers and segments stay the same
                finite = opt.step_flat(self.grads, self.params, self.plan.segments, self._spare, factors, penalties)
            except NotImplementedError:   # an option only the reference rule supports
                self._use_flat = False
            else:
                if finite:
                    live, self._spare = self._spare, self.params
                    self._make_live(live)
                else:
                    opt._raw_iterations = raw_iterations
                    self.rejected_update = True
                return 0.0 if penalties is None else float(penalties.sum())
        if factors is not None:
            weight_penalties_and_gradients(self.plan.penalty_rules, self.params, self.grads, self.plan.segments,
                                           factors, penalties)
        total = 0.0 if penalties is None else float(penalties.sum())
        if not all_finite(self.grads):
            self.rejected_update = True
            return total
        np.copyto(self._spare, self.params)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is undone just below
            opt.apply(self.grad_views, self.weight_views)
        if not all_finite(self.params):
            np.copyto(self.params, self._spare)
            opt._raw_iterations = raw_iterations
            self.rejected_update = True
        return total

    def _step(self, ws: _Workspace, step: int, outputs: bool) -> "float | tuple[float, np.ndarray]":
        loss = self._loss_and_gradients(ws, True, step)
        if math.isfinite(loss):
            loss += self._backward(ws, True)
            loss += self._checked_update()
        if outputs:
            return float(loss), ws.current[-1].copy()
        return float(loss)

    def train_epoch(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
                    batches: Sequence[np.ndarray], on_batch_end: Callable | None = None,
                    *, outputs: bool = False, should_stop: Callable[[], bool] | None = None,
                    on_batch_begin: Callable[[int], None] | None = None) -> np.ndarray:
        """Every batch of an epoch; the rows of each batch are gathered straight into the workspace.

        Raw labels and sample weights are checked once, for the whole epoch, before the first step; a
        :class:`~microgradx.engines.base.Targets` (what ``fit`` passes) is used as it is."""
        x = self.plan.check_x(x)
        targets = self.checked_targets(y, sample_weight, x.shape[0])
        weights, mask = targets.sample_weight, targets.mask
        losses: list[float] = []
        self.rejected_update = False
        for i, index in enumerate(batches):
            if on_batch_begin is not None:
                on_batch_begin(i)
            ws = self._workspace(len(index))
            np.take(targets.y, index, axis=0, out=ws.y)
            self.plan.coefficients(ws, None if weights is None else weights[index],
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
