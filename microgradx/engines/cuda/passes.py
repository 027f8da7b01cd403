"""The launches of one training step on the device: forward, loss, backward, update.

:class:`CudaPasses` runs the plan's steps over a :class:`DeviceWorkspace` (the device buffers of one
batch size) with the kernels of :mod:`microgradx.kernels.cuda`; the order of the launches is drawn in the
docstring of :mod:`microgradx.engines.cuda.engine`, whose ``CudaEngine`` holds the buffers the passes read
and write (``params``, ``grads``, the optimizer's device slots).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradx.kernels.activations import LINEAR, SOFTMAX
from ..base import resolve_noise_shape
from ..plan import DenseStep

__all__ = ["CudaPasses", "DeviceWorkspace"]


class DeviceWorkspace:
    """The device buffers one batch size needs: per plan step its output and d loss / d output."""

    def __init__(self, engine: Any, n: int) -> None:
        cuda = engine._cuda
        dtype = engine.dtype
        self.n = n
        self.x = cuda.device_array((n, engine.input_dim), dtype)
        self.outputs = []
        self.grads = []
        for step in engine.plan.steps:
            width = step.n_out if isinstance(step, DenseStep) else step.width
            self.outputs.append(cuda.device_array((n, width), dtype))
            self.grads.append(cuda.device_array((n, width), dtype))
        self.y = cuda.device_array((n, engine.target_width), dtype)
        self.coef = cuda.device_array(n, np.float64)


class CudaPasses:
    """Forward, loss, backward and update launches of :class:`~microgradx.engines.cuda.engine.CudaEngine`
    (a base class of it), over the engine's flat device buffers and the plan's steps."""

    def _forward(self, ws: DeviceWorkspace, x, training: bool, step: int, probabilities: bool = True):
        """Run the plan on device rows ``x``; returns the list of each step's current output array.

        With ``probabilities=False`` a final softmax fused with the loss is left as logits (the loss
        kernel takes the softmax on the fly).
        """
        k = self._k
        current = []
        a = x
        last = len(self.plan.steps) - 1
        for i, s in enumerate(self.plan.steps):
            if isinstance(s, DenseStep):
                w, b, _, _ = self._dense_views[i]
                out = ws.outputs[i]
                code = s.code if s.code != SOFTMAX else LINEAR
                k.gemm.matmul(a, w, out, bias=b, activation=code)
                if s.code == SOFTMAX and (probabilities or i != last or not self.plan.fused):
                    k.elementwise.softmax_rows(out, out)
                a = out
            elif training and s.rate > 0.0:
                out = ws.outputs[i]
                mask = resolve_noise_shape(s.noise_shape, (ws.n, s.width))
                k.elementwise.dropout_forward(a, out, s.seed, step, s.rate, mask)
                a = out
            current.append(a)
        return current

    def _active_before(self, i: int, training: bool) -> int:
        """The nearest step before ``i`` that changes its input (Dense, or Dropout in training); -1: x."""
        j = i - 1
        while j >= 0:
            s = self.plan.steps[j]
            if isinstance(s, DenseStep) or (training and s.rate > 0.0):
                return j
            j -= 1
        return -1

    def _fused_code(self, j: int) -> int:
        """The activation derivative a gradient producer fuses for the output of step ``j``."""
        if j < 0:
            return LINEAR
        s = self.plan.steps[j]
        if isinstance(s, DenseStep) and s.code != SOFTMAX:
            return s.code
        return LINEAR

    def _finish_gradient(self, j: int, ws: DeviceWorkspace, current, totals, slot: int) -> None:
        """A softmax Dense output's gradient, written as d/dy, becomes d/dz (the row-wise Jacobian);
        its activity penalty joins d/dy first, since the Jacobian is not elementwise."""
        s = self.plan.steps[j]
        if isinstance(s, DenseStep) and s.code == SOFTMAX:
            if s.activity_reg is not None:
                self._activity_penalty(s, j, ws, current, totals, slot, LINEAR)
            self._k.elementwise.softmax_backward(current[j], ws.grads[j], ws.grads[j])

    def _loss(self, ws: DeviceWorkspace, current, training: bool, slot: int, totals, binary: bool,
              probabilities: bool, y=None, coef=None) -> None:
        """Loss of the batch into ``totals[slot]``; d total / d (last output) into the last gradient buffer.

        The gradient is d/dz of the last Dense layer whenever the last step is (an inactive Dropout
        after) a Dense layer: its activation derivative is fused, or the loss is fused with it.
        """
        plan = self.plan
        last = len(self.plan.steps) - 1
        final = self.plan.steps[last]
        active = isinstance(final, DenseStep) or (training and final.rate > 0)
        producer = last if active else self._active_before(last, training)
        pred = current[last]
        fused = plan.fused and producer == last
        # without probabilities, _forward left a softmax fused with the loss as logits
        softmax_logits = fused and self.plan.steps[last].code == SOFTMAX and not probabilities
        activation = LINEAR if fused else self._fused_code(producer)
        grad = ws.grads[producer] if producer >= 0 else ws.grads[last]
        self._k.losses.loss_forward_backward(
            plan.loss_code, ws.y if y is None else y, pred, ws.coef if coef is None else coef, grad, totals,
            slot, self._halted, from_logits=plan.from_logits, label_smoothing=plan.label_smoothing,
            lo=plan.clip_low, hi=plan.clip_high, fused=fused, softmax_logits=softmax_logits,
            binary_labels=binary, activation=activation)
        if not fused and producer >= 0:
            self._finish_gradient(producer, ws, current, totals, slot)
        self._loss_producer = producer

    def _activity_penalty(self, s: Any, i: int, ws: DeviceWorkspace, current, totals, slot: int,
                          activation: int) -> None:
        """Dense step ``i``'s activity penalty into the loss total and its gradient into ``ws.grads[i]``,
        carried through ``activation`` (:mod:`microgradx.kernels.cuda.regularizers`)."""
        y, g = current[i], ws.grads[i]
        self._k.regularizers.penalty_and_gradient(self.plan.penalty_rules, y.reshape(y.size), g.reshape(g.size),
                                                  *s.activity_reg, float(ws.n), totals, slot, self._halted,
                                                  activation=activation)

    def _backward(self, ws: DeviceWorkspace, x, current, training: bool, step: int, totals, slot: int) -> None:
        """From the gradient left by :meth:`_loss`, fill the flat gradient buffer (activity penalties are
        added to ``totals[slot]``, the batch's loss, on the way; :meth:`_gradients` adds the weights')."""
        k = self._k
        i = self._loss_producer
        while i >= 0:
            s = self.plan.steps[i]
            p = self._active_before(i, training)
            g = ws.grads[i]
            if isinstance(s, DenseStep):
                w, _, dw, db = self._dense_views[i]
                x_in = current[p] if p >= 0 else x
                if s.activity_reg is not None and s.code != SOFTMAX:   # a softmax's: _finish_gradient
                    self._activity_penalty(s, i, ws, current, totals, slot, s.code)
                k.gemm.matmul(x_in, g, dw, trans_a=True, colsum=db)
                if i == self.plan.first_dense or p < 0:
                    return
                prev = self.plan.steps[p]
                if isinstance(prev, DenseStep) and prev.code != SOFTMAX:
                    k.gemm.matmul(g, w, ws.grads[p], trans_b=True, activation=prev.code,
                                  activation_grad_of=current[p])
                else:
                    k.gemm.matmul(g, w, ws.grads[p], trans_b=True)
            else:
                if p < 0 or i < self.plan.first_dense:
                    return
                mask = resolve_noise_shape(s.noise_shape, (ws.n, s.width))
                code = self._fused_code(p)
                k.elementwise.dropout_backward(g, ws.grads[p], s.seed, step, s.rate, mask, activation=code,
                                               activation_output=current[p] if code != LINEAR else None)
            self._finish_gradient(p, ws, current, totals, slot)
            i = p

    def _update(self, step: int, totals, slot: int, lr: float | None = None) -> None:
        """One optimizer step on the device, for the update at raw iteration ``step`` (learning rate
        ``lr``, or the optimizer's at that step), then the guard that undoes it when it made a weight
        non-finite (setting ``totals[slot + 1]``, next to the batch's loss in ``totals[slot]``)."""
        opt = self.optimizer
        k = self._k.optimizers
        lr = opt.learning_rate_at(step) if lr is None else lr
        clipvalue = opt.clipvalue or 0.0
        if opt.clipnorm:
            mode, clipnorm = k.CLIP_NORM, opt.clipnorm
        elif opt.global_clipnorm:
            mode, clipnorm = k.CLIP_GLOBAL_NORM, opt.global_clipnorm
        else:
            mode, clipnorm = k.CLIP_NONE, 0.0
        if mode != k.CLIP_NONE:
            k.squared_norms(self.grads, self._offsets, self._squares)
        slots = [self._slots.get(name) for name in opt.rule_slots]
        k.update(opt.rule, opt.slots_present(), opt.step_rules, self._halted, self.params, self.grads, slots,
                 self._offsets, self._squares, mode, clipnorm, clipvalue, opt.weight_decay or 0.0, lr,
                 opt.rule_arguments(lr, step + 1))
        k.guard_update(self._halted, self.params, self._committed, totals, slot + 1)

    def _gradients(self, ws: DeviceWorkspace, x, training: bool, step: int, slot: int, totals,
                   binary: bool, probabilities: bool, y=None, coef=None):
        current = self._forward(ws, x, training, step, probabilities)
        self._loss(ws, current, training, slot, totals, binary, probabilities, y, coef)
        self._backward(ws, x, current, training, step, totals, slot)
        if self._weight_factors is not None:   # after every weight gradient is written
            self._k.regularizers.weight_penalties_and_gradients(self.plan.penalty_rules, self.params, self.grads,
                                                                self._offsets, self._weight_factors, totals, slot,
                                                                self._halted)
        return current
