"""The CUDA engine: the same model, trained by numba-cuda kernels with the data kept on the GPU.

It executes the same :class:`~microgradx.engines.plan.ArrayPlan` as the CPU engine (steps, flat layout, loss
spec, input checks; neither engine imports the other): every weight lives in **one flat device buffer** (Keras order, kernel ``(in, out)``
then bias), the gradients in a second one of the same layout, and the optimizer's slots in flat
device buffers named like ``optimizer.slot_buffers``. A training step is a short list of launches
(:mod:`microgradx.kernels.cuda`)::

    per Dense:     Y = f(X W + b)                          one tiled matmul, bias and f fused
    per Dropout:   Y = X * mask                            hash RNG, the CPU engine's mask bit for bit
    loss:          total and d total / d z of the last layer   one block (softmax + CE fused)
    per Dense, reversed:
                   dW = X^T dZ, db = colsum dZ             one matmul, the column sums fused
                   dX = dZ W^T * f_prev'(Y_prev)           one matmul, the previous derivative fused
    optimizer:     [squared norms] + one fused update      clip, weight decay, the optimizer's rule

At batch 64 a step is about ten launches and the GPU waits for the host, so every launch goes
through :func:`microgradx.kernels.cuda.launch.launch` (numba-cuda's typing and argument marshalling
done once per kernel and array, not per call: 0.32 ms a step on an H100 instead of 2 ms) and a
product is split along its inner dimension only when that is long (``gemm.SPLIT_K_MIN_INNER``).

``train_epoch`` uploads x, y and the per-sample loss coefficients of the whole epoch once, gathers
them into batch order on the device, runs every batch there (each batch's rows passed as row windows
of the epoch arrays, not slices) and copies the per-batch losses back once at the end. Only when
the caller asks for per-batch feedback (``on_batch_end``, ``should_stop``, ``outputs``) does it read
each batch's loss as the batch finishes (one float).
A batch whose loss is not finite sets a device flag that makes the optimizer kernels skip the
update, so the weights are those before that batch, as with the CPU engine. After each update two
small launches (:func:`microgradx.kernels.cuda.optimizers.guard_update`) undo an update that made a
weight non-finite (the weights before it are kept in a device buffer) and set the same flag; the
batch's loss and that flag share one slot pair of the epoch's totals, so reading a batch's loss reads
the flag with it.

Threads: every call that launches kernels holds the engine's lock (the GPU runs one stream anyway,
and Numba's CUDA simulator cannot run two kernels at once), so ``predict`` from several threads is
safe; it waits while another thread's ``train_epoch`` runs.

Availability: :mod:`microgradx.engines.cuda.device`. The launches of one step:
:mod:`microgradx.engines.cuda.passes`.

Not supported on this engine (a clear error at compile time): ``use_ema``,
``gradient_accumulation_steps``, ``loss_scale_factor``, and ``exclude_from_weight_decay`` with
``weight_decay``; use ``engine="cpu"`` for those.
"""

from __future__ import annotations

import functools
import math
import threading
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from microgradx.kernels.losses import HINGE
from ..base import Engine, Targets, WorkspaceCache
from ..plan import ArrayPlan, DenseStep
from .device import require_cuda, simulator_active
from .passes import CudaPasses, DeviceWorkspace

__all__ = ["CudaEngine"]

#: How many batch sizes keep their device workspaces (training uses two: full batches and the last one).
WORKSPACE_CACHE_SIZE = 4
#: ``predict`` runs in chunks of at most this many rows.
PREDICT_CHUNK = 65536


def _locked(method: Callable) -> Callable:
    """Run ``method`` holding the engine's lock (see the module docstring)."""
    @functools.wraps(method)
    def locked(self: "CudaEngine", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class CudaEngine(CudaPasses, Engine):
    """numba-cuda kernels over flat device buffers (see the module docstring).

    Args:
        plan: the model's :class:`~microgradx.engines.plan.ArrayPlan` (its dtype ``float32`` or ``float64``).
        optimizer: as for every :class:`~microgradx.engines.base.Engine`.

    Raises:
        RuntimeError: no usable GPU (the message gives numba's reason and how to use the simulator).
        NotImplementedError: an optimizer option this engine does not run on the device.
    """

    name = "cuda"
    plan_class = ArrayPlan

    def __init__(self, plan: ArrayPlan, optimizer: Any) -> None:
        super().__init__(plan, optimizer)
        require_cuda()
        self._check_optimizer(optimizer)
        from numba import cuda

        from microgradx.kernels.cuda import elementwise, gemm, launch, losses, optimizers, regularizers
        self._cuda = cuda
        self._k = SimpleNamespace(gemm=gemm, elementwise=elementwise, losses=losses, optimizers=optimizers,
                                  launch=launch, regularizers=regularizers)
        # the plan (steps, flat layout, loss spec, input checks) the CPU engine executes too
        self.segments = plan.segments
        self.input_dim, self.output_dim = plan.input_dim, plan.output_dim
        self.target_width = plan.target_width
        total = plan.size
        self._host_params = np.zeros(total, self.dtype)   # the host mirror set_weights / get_weights use
        self._host_views = [self._host_params[o:o + n].reshape(s) for (o, n), s in zip(self.segments, self.shapes)]
        self.params = cuda.to_device(np.zeros(total, self.dtype))
        self.grads = cuda.to_device(np.zeros(total, self.dtype))
        self.weight_views = [self.params[o:o + n].reshape(s) for (o, n), s in zip(self.segments, self.shapes)]
        self.grad_views = [self.grads[o:o + n].reshape(s) for (o, n), s in zip(self.segments, self.shapes)]
        self._dense_views = {}
        for i, s in enumerate(self.plan.steps):
            if isinstance(s, DenseStep):
                o, size = s.kernel
                w = self.params[o:o + size].reshape(s.n_in, s.n_out)
                dw = self.grads[o:o + size].reshape(s.n_in, s.n_out)
                b = db = None
                if s.bias:
                    b = self.params[s.bias[0]:s.bias[0] + s.bias[1]]
                    db = self.grads[s.bias[0]:s.bias[0] + s.bias[1]]
                self._dense_views[i] = (w, b, dw, db)
        self._offsets = cuda.to_device(np.array([o for o, _ in self.segments] + [total], dtype=np.int64))
        factors = plan.weight_factors   # (l1, l2) per segment: the weight penalties, one launch per step
        self._weight_factors = None if factors is None else cuda.to_device(factors)
        self._squares = cuda.device_array(max(1, len(self.segments)), np.float64)
        self._halted = cuda.to_device(np.zeros(1, np.int32))
        self._committed = cuda.device_array(total, self.dtype)   # the weights an undone update restores
        self._totals = cuda.device_array(2, np.float64)          # (loss, update undone) of one step
        self._lock = threading.RLock()
        self._slots: dict[str, Any] = {}
        self._loss_producer = -1     # the plan step whose output gradient the last loss launch wrote
        self._workspace = WorkspaceCache(lambda n: DeviceWorkspace(self, n), WORKSPACE_CACHE_SIZE)

    # ------------------------------------------------------------------ configuration
    @staticmethod
    def _check_optimizer(optimizer: Any) -> None:
        unsupported = [name for name, on in (
            ("use_ema", getattr(optimizer, "use_ema", False)),
            ("gradient_accumulation_steps", getattr(optimizer, "gradient_accumulation_steps", None)),
            ("loss_scale_factor", getattr(optimizer, "loss_scale_factor", None)),
            ("exclude_from_weight_decay", getattr(optimizer, "_excluded", None)
             and getattr(optimizer, "weight_decay", None)),
        ) if on]
        if unsupported:
            raise NotImplementedError(f"engine='cuda' does not support the optimizer option(s) "
                                      f"{unsupported} of {optimizer!r}; use engine='cpu'")
        if getattr(optimizer, "rule", None) is None:
            raise NotImplementedError(f"engine='cuda' runs optimizers that expose their scalar rule "
                                      f"(SGD, Adam, Adadelta, Adagrad, RMSprop); got {optimizer!r}")

    def _sync_slots_to_device(self) -> None:
        """Build the optimizer for the flat layout if needed and upload its slots (the host copy is
        the reference between calls: another engine may have trained with the same optimizer)."""
        opt = self.optimizer
        total = self.params.shape[0]
        if not opt.built:
            opt.build_flat(self.segments, total, self.dtype, self.shapes)
        if opt.segments != self.segments or opt.dtype != self.dtype:
            raise ValueError(f"the optimizer was built for another layout ({opt.segments}, {opt.dtype}) "
                             f"than this model's ({self.segments}, {self.dtype})")
        self._slots = {name: self._cuda.to_device(buf) for name, buf in opt.slot_buffers.items()}

    def _sync_slots_to_host(self) -> None:
        """Copy the device slots into the optimizer's own flat buffers (its per-variable views follow)."""
        for name, d_buf in self._slots.items():
            d_buf.copy_to_host(self.optimizer.slot_buffers[name])

    # ------------------------------------------------------------------ weights
    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self.plan.write_weights(self._host_views, weights)    # the plan's checks, into the host mirror
        with self._lock:
            self.params.copy_to_device(self._host_params)
            self._committed.copy_to_device(self._host_params)

    def get_weights(self) -> list[np.ndarray]:
        with self._lock:
            self.params.copy_to_host(self._host_params)
        return [v.copy() for v in self._host_views]

    def weights_finite(self) -> bool:
        """One launch and a copy of one float per weight: ``sum(w_i^2)`` is finite for finite float32
        weights; a float64 weight beyond 1e154 squares to inf, so a non-finite sum is confirmed on the host."""
        with self._lock:
            self._k.optimizers.squared_norms(self.params, self._offsets, self._squares)
            if np.all(np.isfinite(self._squares.copy_to_host())):
                return True
        return super().weights_finite()

    def optimizer_state(self) -> list[dict[str, np.ndarray]]:
        if self._slots:
            self._sync_slots_to_host()
        return super().optimizer_state()

    # ------------------------------------------------------------------ workspaces and inputs
    def _host_targets(self, targets: Targets) -> tuple[np.ndarray, np.ndarray, bool]:
        """One batch's checked targets as ``(y (n, width) in the model dtype, coef (n,), binary)``: the
        per-sample coefficients are the plan's; ``binary`` is the hinge loss's "every label is 0 or 1"
        for the batch."""
        n = len(targets)
        coef = np.empty(n, np.float64)
        self.plan.coefficients(SimpleNamespace(n=n, coef=coef), targets.sample_weight, targets.mask)
        y = targets.y
        binary = bool(np.all((y == 0) | (y == 1))) if self.plan.loss_code == HINGE else True
        return y, coef, binary

    def _epoch_targets(self, targets: Targets, batches: list[np.ndarray],
                       order: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """The checked targets and coefficients of every batch, in batch order.

        Without sample weights or an ignored class (and for any loss but hinge, whose label mapping
        is decided per batch) the targets are gathered in one call and each batch's coefficients come
        from the plan's reduction; otherwise each batch goes through :meth:`_host_targets`.
        """
        plan = self.plan
        if targets.sample_weight is None and targets.mask is None and plan.loss_code != HINGE:
            coefs = np.empty(order.size, np.float64)
            start = 0
            for index in batches:                   # the plan's reduction, batch by batch
                plan.coefficients(SimpleNamespace(n=index.size, coef=coefs[start:start + index.size]), None, None)
                start += index.size
            return np.ascontiguousarray(targets.y[order]), coefs, [True] * len(batches)
        parts = [self._host_targets(targets.rows(index)) for index in batches]
        ys = np.ascontiguousarray(np.concatenate([t for t, _, _ in parts]))
        return ys, np.concatenate([c for _, c, _ in parts]), [b for _, _, b in parts]

    def _upload_batch(self, x: Any, y: Any, sample_weight: Any) -> tuple[DeviceWorkspace, bool]:
        x = self.plan.check_x(x)
        checked = self.checked_targets(y, sample_weight, x.shape[0])   # every check before any launch
        targets, coef, binary = self._host_targets(checked)
        ws = self._workspace(x.shape[0])
        ws.x.copy_to_device(np.ascontiguousarray(x, dtype=self.dtype))
        ws.y.copy_to_device(np.ascontiguousarray(targets))
        ws.coef.copy_to_device(coef)
        return ws, binary

    # ------------------------------------------------------------------ the engine seam
    @_locked
    def predict(self, x: np.ndarray) -> np.ndarray:
        x = self.plan.check_x(x)
        out = np.empty((x.shape[0], self.output_dim), self.dtype)
        for start in range(0, x.shape[0], PREDICT_CHUNK):
            chunk = np.ascontiguousarray(x[start:start + PREDICT_CHUNK], dtype=self.dtype)
            ws = self._workspace(chunk.shape[0])
            ws.x.copy_to_device(chunk)
            current = self._forward(ws, ws.x, False, 0, probabilities=True)
            out[start:start + chunk.shape[0]] = current[-1].copy_to_host()
        return out

    @_locked
    def compute_gradients(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                          *, training: bool = True, step: int = 0) -> tuple[float, list[np.ndarray]]:
        ws, binary = self._upload_batch(x, y, sample_weight)
        self._halted.copy_to_device(np.zeros(1, np.int32))
        self._gradients(ws, ws.x, training, step, 0, self._totals, binary, probabilities=False)
        loss = float(self._totals.copy_to_host()[0])
        return loss, [g.copy_to_host() for g in self.grad_views]

    @_locked
    def train_step(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                   *, step: int, outputs: bool = False) -> "float | tuple[float, np.ndarray]":
        ws, binary = self._upload_batch(x, y, sample_weight)
        self._sync_slots_to_device()
        self._halted.copy_to_device(np.zeros(1, np.int32))
        self._totals.copy_to_device(np.zeros(2))
        current = self._gradients(ws, ws.x, True, step, 0, self._totals, binary, probabilities=outputs)
        self._update(int(self.optimizer.iterations), self._totals, 0)
        loss, undone = self._totals.copy_to_host()
        self.rejected_update = bool(undone)
        if math.isfinite(loss) and not undone:
            self.optimizer.iterations = self.optimizer.iterations + 1
        self._sync_slots_to_host()
        if outputs:
            return float(loss), current[-1].copy_to_host()
        return float(loss)

    @_locked
    def train_epoch(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
                    batches: Sequence[np.ndarray], on_batch_end: Callable | None = None,
                    *, outputs: bool = False, should_stop: Callable[[], bool] | None = None,
                    on_batch_begin: Callable[[int], None] | None = None) -> np.ndarray:
        """Every batch of an epoch on the device (the data uploaded once; see the module docstring)."""
        cuda = self._cuda
        rows = self._k.launch.rows          # a batch's rows of the epoch arrays, without slicing them
        x = self.plan.check_x(x)
        self.rejected_update = False
        batches = [np.asarray(index, dtype=np.int64).reshape(-1) for index in batches]
        if not batches:
            return np.zeros(0, np.float64)
        order = np.concatenate(batches)
        checked = self.checked_targets(y, sample_weight, x.shape[0])
        targets, coefs, flags = self._epoch_targets(checked, batches, order)
        feedback = (on_batch_end is not None or should_stop is not None or outputs
                    or on_batch_begin is not None)
        opt = self.optimizer
        first_step = int(opt.iterations)
        # without feedback no callback runs between batches: every rate is checked before any launch
        rates = [None] * len(batches) if feedback else \
            [opt.learning_rate_at(first_step + i) for i in range(len(batches))]
        d_x = cuda.to_device(np.ascontiguousarray(x, dtype=self.dtype))
        d_order = cuda.to_device(order)
        d_xe = cuda.device_array((order.size, self.input_dim), self.dtype)
        self._k.elementwise.gather_rows(d_x, d_order, d_xe)
        del d_x
        d_ye = cuda.to_device(targets)
        d_coef = cuda.to_device(coefs)
        totals = cuda.to_device(np.zeros(2 * len(batches), np.float64))  # batch i: (loss, update undone)
        self._sync_slots_to_device()
        self._halted.copy_to_device(np.zeros(1, np.int32))
        losses: list[float] = []
        start = 0
        ran = 0
        for i, index in enumerate(batches):
            stop = start + index.size
            if on_batch_begin is not None:
                on_batch_begin(i)
            ws = self._workspace(index.size)
            step = first_step + i
            current = self._gradients(ws, rows(d_xe, start, stop), True, step, 2 * i, totals, flags[i],
                                      probabilities=outputs, y=rows(d_ye, start, stop),
                                      coef=rows(d_coef, start, stop))
            self._update(step, totals, 2 * i, rates[i])
            ran = i + 1
            start = stop
            if feedback:
                loss, undone = totals[2 * i:2 * i + 2].copy_to_host()
                loss = float(loss)
                losses.append(loss)
                self.rejected_update = bool(undone)
                if math.isfinite(loss) and not undone:
                    opt.iterations = opt.iterations + 1
                if on_batch_end is not None:
                    on_batch_end(i, loss, current[-1].copy_to_host() if outputs else None)
                if not math.isfinite(loss) or undone or (should_stop is not None and should_stop()):
                    break
        if not feedback:
            pairs = totals.copy_to_host()[:2 * ran].reshape(ran, 2)
            bad = np.flatnonzero(~np.isfinite(pairs[:, 0]) | (pairs[:, 1] != 0))
            kept = ran if bad.size == 0 else int(bad[0]) + 1
            losses = list(pairs[:kept, 0])
            self.rejected_update = bool(bad.size and pairs[bad[0], 1])
            opt.iterations = first_step + (kept if bad.size == 0 else kept - 1)
        self._sync_slots_to_host()
        return np.asarray(losses, dtype=np.float64)

    def __repr__(self) -> str:
        where = "simulator" if simulator_active() else "gpu"
        return f"{type(self).__name__}(layers={len(self.layers)}, dtype={self.dtype.name}, device={where})"
