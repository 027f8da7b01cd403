"""The optimizer step on a flat parameter buffer, fused into one Numba driver (the engines' fast path).

:meth:`FlatStep.apply_flat` takes the same step as :meth:`Optimizer.apply
<microgradx.optimizers.base.Optimizer.apply>`, in the same order (the module docstring of
:mod:`~microgradx.optimizers.base`), on one contiguous buffer of all the weights: the optimizer's rule,
clipping, weight decay and the weight penalties are compiled together by
:func:`microgradx.kernels.optimizers.flat_update`, and the kernel reports whether every new weight is finite.

:meth:`FlatStep.apply_flat` checks its arguments on every call (it is public); the engines call
:meth:`FlatStep.step_flat` every step with the same buffers, which checks them on its first call only. What
one layout needs (offsets, sizes, the slot buffers, the compiled drivers) is made once, in a
:class:`_FlatLayout` (at batch size 1 a step is about 0.6 ms, so a few microseconds of Python count).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .variables import FLOAT_DTYPES

__all__ = ["FlatStep"]


class FlatStep:
    """The fused flat-buffer step of :class:`~microgradx.optimizers.base.Optimizer` (a base class of it).

    Uses the optimizer's options (``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``,
    ``loss_scale_factor``, ``gradient_accumulation_steps``, ``use_ema``), its rule (``rule``,
    ``rule_slots``, ``rule_arguments``, ``step_rules``), its state (:class:`~microgradx.optimizers.state.SlotState`)
    and the steps :meth:`apply` shares with it (learning rate of the call, accumulation, clip scales, EMA)."""

    clipnorm: float | None
    clipvalue: float | None
    global_clipnorm: float | None
    weight_decay: float | None
    loss_scale_factor: float | None
    gradient_accumulation_steps: int | None
    use_ema: bool
    rule: Any
    rule_slots: tuple[str, ...]
    _flat_layout: "_FlatLayout | None" = None

    def apply_flat(self, grads_flat: np.ndarray, vars_flat: np.ndarray,
                   segments: Sequence[tuple[int, int]], out: np.ndarray | None = None, *,
                   factors: np.ndarray | None = None, penalties: np.ndarray | None = None) -> bool:
        """The fast path: one Keras step on a flat parameter buffer, in place, with fused Numba kernels.

        ``vars_flat`` and ``grads_flat`` are 1-D, C-contiguous, of one float dtype; variable ``i`` is
        ``[offset_i, offset_i + size_i)`` for ``segments[i] = (offset_i, size_i)``. The result equals
        :meth:`apply` on the variables (within rounding: the kernels compute in float64 registers).

        With ``out`` (a buffer like ``vars_flat``) the new weights go there and ``vars_flat`` keeps the
        old ones (the engines' double buffer: an update can be undone for free). Returns whether every
        new weight is finite (checked in the same kernel pass); the gradients are not scanned.

        With ``factors`` (float64, ``(len(segments), 2)``: each variable's weight regularizer ``(l1, l2)``,
        zeros for none) the penalties' gradients join ``grads_flat`` and ``penalties`` (float64,
        ``len(segments)``) receives each variable's penalty of the weights before the update: in the
        update's own pass, or (with ``loss_scale_factor`` or gradient accumulation, whose driver does not
        see the raw gradient) added into ``grads_flat`` by one pass first."""
        w, g = vars_flat, grads_flat
        if out is None:
            out = w
        elif not isinstance(out, np.ndarray) or out.shape != w.shape or out.dtype != w.dtype \
                or not out.flags.c_contiguous:
            raise ValueError("out must be a 1-D C-contiguous array like vars_flat")
        for argument, a in (("vars_flat", w), ("grads_flat", g)):
            if not isinstance(a, np.ndarray) or a.ndim != 1 or not a.flags.c_contiguous \
                    or a.dtype not in FLOAT_DTYPES:
                raise ValueError(f"{argument} must be a 1-D C-contiguous float32/float64 array")
        if g.shape != w.shape or g.dtype != w.dtype:
            raise ValueError(f"grads_flat (shape {g.shape}, {g.dtype}) must match vars_flat "
                             f"(shape {w.shape}, {w.dtype})")
        checked = segments
        segments = [(int(o), int(s)) for o, s in segments]
        if not self.built:
            self.build_flat(segments, w.size, w.dtype)
        elif segments != self.segments or w.dtype != self.dtype or \
                (self.slot_buffers and next(iter(self.slot_buffers.values())).size != w.size):
            raise ValueError("apply_flat: segments/dtype/size differ from the layout this optimizer "
                             f"was built for ({self.segments}, {self.dtype})")
        if factors is not None:
            if not isinstance(penalties, np.ndarray) or penalties.shape != (len(segments),) \
                    or np.shape(factors) != (len(segments), 2):
                raise ValueError(f"apply_flat: factors must have shape ({len(segments)}, 2) and penalties "
                                 f"({len(segments)},), got {np.shape(factors)} and {np.shape(penalties)}")
            factors = np.ascontiguousarray(factors, dtype=np.float64)
        layout = self._flat_layout
        if layout is None or layout.segments is not self.segments or layout.shape != w.shape:
            layout = self._flat_layout = _FlatLayout(self, w)
        layout.checked = checked
        return self._flat_step(layout, g, w, out, factors, penalties)

    def step_flat(self, grads_flat: np.ndarray, vars_flat: np.ndarray, segments: Sequence[tuple[int, int]],
                  out: np.ndarray, factors: np.ndarray | None = None, penalties: np.ndarray | None = None) -> bool:
        """:meth:`apply_flat` for the engines, which call it every step with the same ``segments`` object
        and buffers of one shape: the arguments are checked (by :meth:`apply_flat`) on the first call, again
        after the optimizer is rebuilt or when ``segments`` is another object, and otherwise only their
        shapes are compared with the checked layout's (so no kernel can write outside a buffer)."""
        layout = self._flat_layout
        if layout is None or layout.checked is not segments or layout.segments is not self.segments \
                or grads_flat.shape != layout.shape or vars_flat.shape != layout.shape \
                or out.shape != layout.shape or (factors is not None and (factors.shape != layout.factors_shape
                                                                        or penalties.shape != layout.offsets.shape)):
            return self.apply_flat(grads_flat, vars_flat, segments, out, factors=factors, penalties=penalties)
        return self._flat_step(layout, grads_flat, vars_flat, out, factors, penalties)

    def _flat_step(self, layout: "_FlatLayout", g: np.ndarray, w: np.ndarray, out: np.ndarray,
                   factors: np.ndarray | None, penalties: np.ndarray | None) -> bool:
        """The step of :meth:`apply_flat` on checked arguments (``out`` is ``w`` for an update in place)."""
        fused_penalties = factors is not None and self.loss_scale_factor is None \
            and not self.gradient_accumulation_steps
        if factors is not None and not fused_penalties:
            from microgradx.kernels.regularizers import weight_penalties_and_gradients
            rules = self.step_rules
            weight_penalties_and_gradients((rules.penalty, rules.penalty_gradient), w, g, self.segments, factors,
                                           penalties)
        if self.loss_scale_factor is not None:
            g = g / w.dtype.type(self.loss_scale_factor)
        lr = self._learning_rate_of_this_call()  # checked before the accumulator changes
        step_now = self._accumulate([g], [self._accumulator])
        finite = True
        if step_now is None and out is not w:   # an accumulate-only call: the weights stay
            np.copyto(out, w)
        if step_now is not None:
            g = np.ascontiguousarray(step_now[0])
            scales = layout.ones
            if self.clipnorm or self.global_clipnorm:
                scales = np.array(self._clip_scales(
                    layout.penalised_squared_norms(self.step_rules.penalty_gradient)(g, w, layout.offsets,
                                                                                     layout.sizes, factors)
                    if fused_penalties else layout.squared_norms(g, layout.offsets, layout.sizes)), np.float64)
            if self._excluded and self.weight_decay:
                raise NotImplementedError("apply_flat decays every variable; exclude_from_weight_decay "
                                          "is supported by apply() only")
            arguments, options = layout.split_arguments(self.rule_arguments(lr, self.iterations + 1), layout.scalar)
            key = (out is w, fused_penalties, options)
            update = layout.drivers.get(key)
            if update is None:
                update = layout.drivers[key] = layout.flat_update(self.rule, layout.present, self.step_rules, *key)
            finite = update(w, layout.empty if out is w else out, g, layout.slots, layout.offsets, layout.sizes,
                            scales, self.clipvalue or 0.0, self.weight_decay or 0.0, lr, arguments,
                            factors if fused_penalties else _NO_FACTORS,
                            penalties if fused_penalties else _NO_PENALTIES)
        if self.use_ema:
            self._update_ema([out], [self._ema])
            finite = finite and bool(np.all(np.isfinite(out)))
        self._raw_iterations += 1
        return bool(finite)


class _FlatLayout:
    """What a flat step needs of the layout an optimizer was built for, made once per build: the segments'
    ``offsets`` and ``sizes`` (int64), unit clip ``scales``, the rule's slot buffers (an absent one empty),
    which of them exist, the kernels (imported here: ``import microgradx`` does not import numba) and the
    compiled drivers by ``(in place, penalised, options)``."""

    def __init__(self, optimizer: FlatStep, w: np.ndarray) -> None:
        from microgradx.kernels.optimizers import flat_update, penalised_squared_norms, split_arguments, squared_norms
        self.flat_update, self.split_arguments = flat_update, split_arguments
        self.squared_norms, self.penalised_squared_norms = squared_norms, penalised_squared_norms
        self.segments = optimizer.segments   # the very list: a rebuilt optimizer has another one
        self.checked: Any = None             # the segments object apply_flat last checked
        self.shape = w.shape
        self.scalar = w.dtype.type
        self.offsets = np.array([o for o, _ in self.segments], dtype=np.int64)
        self.sizes = np.array([s for _, s in self.segments], dtype=np.int64)
        self.factors_shape = (len(self.segments), 2)
        self.ones = np.ones(len(self.segments), dtype=np.float64)
        self.empty = np.empty(0, dtype=w.dtype)
        self.slots = tuple(optimizer.slot_buffers.get(name, self.empty) for name in optimizer.rule_slots)
        self.present = tuple(name in optimizer.slot_buffers for name in optimizer.rule_slots)
        self.drivers: dict[tuple, Any] = {}


_NO_FACTORS, _NO_PENALTIES = np.zeros((0, 2)), np.zeros(0)   # what an unpenalised driver is handed
