"""The optimizer base class: Keras 3's shared options and the order of one update.

One call of :meth:`Optimizer.apply` (Keras' ``apply``/``apply_gradients``) runs, in this order:

1. ``None`` gradients are dropped (with a warning); all ``None`` raises ``ValueError``. A NaN or inf
   gradient raises ``ValueError`` naming ``grads[i]`` before any variable (or accumulator) changes:
   Keras would write the NaN into the variable (its ``LossScaleOptimizer`` skips such steps). The fused
   :meth:`Optimizer.apply_flat` does not scan the gradients (an extra pass per step); the engines
   instead check the weights after each update and undo an update that made one non-finite.
2. ``loss_scale_factor = s``: ``g <- g / s``.
3. ``gradient_accumulation_steps = N``: on calls where ``(r + 1) % N != 0`` (``r`` = raw call counter)
   the gradient is only added to an accumulator and *no* variable changes; otherwise
   ``g <- (g + acc) / N`` and the accumulator is reset after the update.
4. Clipping: ``clipnorm`` (per variable), ``global_clipnorm`` or ``clipvalue`` (at most one).
5. Decoupled weight decay ``w <- w - w * weight_decay * lr_t`` (before the update, never added to g).
6. The optimizer's own rule (:meth:`update_step`: ``adam_rule``, ...).
7. ``use_ema``: ``avg <- mu avg + (1 - mu) w`` with ``mu = 0`` at ``iterations == 0`` (so the first
   average is ``w``), and ``w <- avg`` every ``ema_overwrite_frequency`` steps.
8. The raw counter ``r`` goes up by one (also on accumulation-only calls).

Schedules see ``r``; the step ``t = iterations + 1`` of the update rules (Adam's bias correction) uses
``iterations = r // N`` when accumulating, else ``r``.

**Where the rest lives.** The flat-buffer state (``slot_buffers``, ``slots``, ``get_slot``) in
:mod:`~microgradx.optimizers.state`; the learning rate's forms and value at a step in
:mod:`~microgradx.optimizers.learning_rate`; the hyper-parameter checks in
:mod:`~microgradx.optimizers.arguments`; the variables it accepts (arrays, ``Value``s) in
:mod:`~microgradx.optimizers.variables`; clipping and weight decay in :mod:`~microgradx.optimizers.rules`.
The fast engines update a flat parameter buffer with one fused kernel (:meth:`apply_flat`, in
:mod:`~microgradx.optimizers.flat_step`); :meth:`apply` updates a list of arrays with the readable NumPy
rules.

Differences from Keras (documented and tested): an ``int`` learning rate or SGD momentum is rejected
exactly as in Keras (``SGD(learning_rate=1)`` raises; the message suggests ``1.0``; numpy floats are
accepted); a float learning rate is kept as a Python float
(Keras stores it in a float32 variable, so ``SGD().get_config()["learning_rate"]`` is 0.0099999998
there and exactly 0.01 here); negative hyper-parameters raise ``ValueError`` (Keras accepts some);
``exclude_from_weight_decay`` takes variable *indices* (our variables have no names).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral
from typing import Any, Iterable, Sequence

import numpy as np

from .arguments import (check_accumulation_steps, check_ema, check_loss_scale_factor,
                        optional_positive)
from .learning_rate import check_learning_rate, learning_rate_value
from .rules import STEP_RULES, clip_gradient, clipnorm_scale, decay_weight, global_clipnorm_scale, on_arrays
from .schedules import LearningRateSchedule, deserialize, serialize
from .flat_step import FlatStep
from .state import SlotState
from .variables import as_array, numbers, write_back

__all__ = ["Optimizer"]


class Optimizer(SlotState, FlatStep):
    """Base class of every optimizer (Keras 3 constructor arguments and semantics).

    Args:
        learning_rate: a float, a :class:`~microgradx.optimizers.schedules.LearningRateSchedule`, or a
            zero-argument callable.
        weight_decay: decoupled weight decay ``w <- w - w * weight_decay * lr`` before each update.
        clipnorm: clip each variable's gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm (no +1e-6).
        use_ema, ema_momentum, ema_overwrite_frequency: exponential moving average of the weights.
        loss_scale_factor: gradients are divided by it (``scale_loss(loss)`` multiplies the loss).
        gradient_accumulation_steps: update only every N calls, with the mean of the N gradients.
        name: a name (``"sgd"``, ``"adam"``, ...).

    Subclasses define their :attr:`rule` (one element's update, plain scalar maths, see
    :mod:`microgradx.optimizers.rules`), the slots it takes (:attr:`rule_slots`), the scalar arguments
    that follow them (:meth:`rule_arguments`) and :attr:`slot_initial_values`. That one rule runs on
    NumPy arrays (:meth:`update_step`), in the CPU flat-buffer kernel (:meth:`apply_flat`) and in the
    CUDA engine's update kernel.
    """

    #: the default name of the subclass (Keras': "SGD" -> "sgd")
    default_name = "optimizer"

    def __init__(self, learning_rate: Any, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else self.default_name
        self.weight_decay = optional_positive(weight_decay, "weight_decay")
        self.clipnorm = optional_positive(clipnorm, "clipnorm")
        self.clipvalue = optional_positive(clipvalue, "clipvalue")
        self.global_clipnorm = optional_positive(global_clipnorm, "global_clipnorm")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.gradient_accumulation_steps = check_accumulation_steps(gradient_accumulation_steps)
        self.use_ema = bool(use_ema)
        if self.use_ema:
            check_ema(ema_momentum, ema_overwrite_frequency)
        self.ema_momentum = float(ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency or None
        self.loss_scale_factor = check_loss_scale_factor(loss_scale_factor)
        self._learning_rate = check_learning_rate(learning_rate)
        self._raw_iterations = 0
        self._excluded: set[int] = set()
        self._init_state()

    # ------------------------------------------------------------------ subclass interface
    @property
    def slot_initial_values(self) -> dict[str, float]:
        """``{slot name: initial value}`` for the current options (e.g. Adam: ``{"m": 0, "v": 0}``)."""
        return {}

    #: one element's update ``rule(w, g, *slots, *arguments) -> (w, *slots)`` (a plain function)
    rule: Any = None
    #: the slots the rule takes, in its argument order (one an option switches off is passed as 0)
    rule_slots: tuple[str, ...] = ()
    #: clipping and weight decay, the rules every optimizer shares (:mod:`~microgradx.optimizers.rules`)
    step_rules = STEP_RULES

    def rule_arguments(self, learning_rate: float, step: int) -> tuple:
        """The scalar arguments that follow the slots in :attr:`rule`, for one step with
        ``learning_rate`` at ``t = step``."""
        raise NotImplementedError

    def slots_present(self) -> tuple[bool, ...]:
        """Which of :attr:`rule_slots` the current options use (the kernels skip the others)."""
        return tuple(name in self.slot_initial_values for name in self.rule_slots)

    def update_step(self, gradient: np.ndarray, variable: np.ndarray, learning_rate: float,
                    slots: dict[str, np.ndarray], step: int) -> None:
        """:attr:`rule` on NumPy arrays: update ``variable`` and its ``slots`` in place.

        ``gradient`` is already scaled, accumulated and clipped; ``variable`` already decayed;
        ``step`` is ``t = iterations + 1``."""
        values = [slots.get(name, 0.0) for name in self.rule_slots]
        w, *new = on_arrays(self.rule)(variable, gradient, *values, *self.rule_arguments(learning_rate, step))
        variable[...] = w
        for name, value in zip(self.rule_slots, new):
            if name in slots:
                slots[name][...] = value

    def get_config(self) -> dict:
        """Keras' configuration keys (a schedule is serialized as ``{"class_name", "config"}``)."""
        lr = self._learning_rate
        return {
            "name": self.name,
            "learning_rate": serialize(lr) if isinstance(lr, LearningRateSchedule) else lr,
            "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
            "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, name={self.name!r})"

    # ------------------------------------------------------------------ learning rate and steps
    @property
    def iterations(self) -> int:
        """Completed optimizer steps: raw calls, divided by N when accumulating gradients."""
        n = self.gradient_accumulation_steps
        return self._raw_iterations // n if n else self._raw_iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise ValueError(f"iterations must be an int >= 0, got {value!r}")
        self._raw_iterations = int(value) * (self.gradient_accumulation_steps or 1)

    def learning_rate_at(self, step: int) -> float:
        """The learning rate used by the update at raw step ``step`` (a schedule sees ``step``;
        :func:`~microgradx.optimizers.learning_rate.learning_rate_value`)."""
        return learning_rate_value(self._learning_rate, step)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update."""
        return self.learning_rate_at(self._raw_iterations)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not "
                            "settable. If you need the learning rate to be settable, you should "
                            "instantiate the optimizer with a float `learning_rate` argument.")
        self._learning_rate = check_learning_rate(value)

    def scale_loss(self, loss: Any) -> Any:
        """``loss * loss_scale_factor`` (unchanged without a factor)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def exclude_from_weight_decay(self, indices: Iterable[int]) -> None:
        """Exempt the variables at these positions (e.g. biases) from weight decay."""
        self._excluded.update(int(i) for i in indices)

    # ------------------------------------------------------------------------- the updates
    def apply(self, grads: Sequence[Any], variables: Sequence[Any]) -> None:
        """One Keras step on ``variables`` in place (NumPy arrays of float32/float64, ``Value``s or
        object arrays of ``Value``s, whose ``.data`` is updated), in Keras' order (module docstring).

        ``grads[i]`` is the gradient of ``variables[i]`` (same shape) or ``None``."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"got {len(grads)} gradients for {len(variables)} variables")
        if all(g is None for g in grads):
            raise ValueError("No gradients provided for any variable.")
        if not self.built:
            self.build(variables)
        elif len(variables) != len(self.shapes):
            raise ValueError(f"this optimizer was built for {len(self.shapes)} variables, "
                             f"got {len(variables)}")
        missing = [i for i, g in enumerate(grads) if g is None]
        if missing:
            warnings.warn(f"Gradients do not exist for variables at positions {missing} when "
                          "minimizing the loss.", stacklevel=2)
        work = [as_array(v, f"variables[{i}]") for i, v in enumerate(variables)]
        for i, w in enumerate(work):
            if w.shape != self.shapes[i] or w.dtype != self.dtype:
                raise ValueError(f"variables[{i}] has shape {w.shape} and dtype {w.dtype}; the optimizer "
                                 f"was built for {self.shapes[i]} and {self.dtype}")
        active = [i for i, g in enumerate(grads) if g is not None]
        gradients = [self._gradient_array(grads[i], work[i], i) for i in active]
        for i, g in zip(active, gradients):                                      # 1b. finite gradients
            bad = ~np.isfinite(g)
            if np.any(bad):
                index = tuple(int(k) for k in np.argwhere(bad)[0])
                raise ValueError(f"grads[{i}] (the gradient of variables[{i}], shape {g.shape}) holds a non-finite "
                                 f"value: {g[index]} at index {index} ({int(bad.sum())} in all). The update was not "
                                 f"applied: no variable changed. Lower the learning rate or scale the inputs, "
                                 f"or clip the gradients before calling apply().")
        if self.loss_scale_factor is not None:                                   # 2. loss scale
            gradients = [g / self.dtype.type(self.loss_scale_factor) for g in gradients]
        lr = self._learning_rate_of_this_call()  # checked before the accumulators change
        gradients = self._accumulate(gradients, [self._view(self._accumulator, i) for i in active])  # 3.
        if gradients is not None:
            t = self.iterations + 1
            gradients = self._clip(dict(zip(active, gradients)))                 # 4. clipping
            for i in active:
                w = work[i]
                if self.weight_decay and i not in self._excluded:                # 5. decoupled decay
                    w[...] = decay_weight(w, self.weight_decay, lr)
                self.update_step(gradients[i], w, lr, self.slots[i], t)          # 6. the rule
        self._update_ema(work, [self._view(self._ema, i) for i in range(len(work))])   # 7. EMA
        self._raw_iterations += 1                                                # 8. the counter
        for v, w in zip(variables, work):
            write_back(v, w)

    def _gradient_array(self, gradient: Any, variable: np.ndarray, index: int) -> np.ndarray:
        g = np.asarray(numbers(gradient), dtype=self.dtype)
        if g.shape != variable.shape:
            raise ValueError(f"grads[{index}] has shape {g.shape}, expected {variable.shape} "
                             "(the shape of its variable)")
        return g

    def step(self, parameters: Iterable[Any]) -> None:
        """micrograd/PyTorch style: ``apply([p.grad for p in parameters], parameters)``."""
        parameters = list(parameters)
        for i, p in enumerate(parameters):
            if not hasattr(p, "grad"):
                raise TypeError(f"parameters[{i}] of type {type(p).__name__} has no .grad")
        self.apply([p.grad for p in parameters], parameters)

    def finalize_variable_values(self, variables: Sequence[Any]) -> None:
        """With ``use_ema``, copy the moving averages into ``variables`` (``fit`` does it at the end)."""
        if not self.use_ema:
            return
        for i, v in enumerate(variables):
            w = as_array(v, f"variables[{i}]")
            w[...] = self.moving_average(i)
            write_back(v, w)

    # ------------------------------------------------------------------------------ helpers
    def _learning_rate_of_this_call(self) -> float | None:
        """The learning rate of the update this call makes (``None`` on an accumulate-only call)."""
        n = self.gradient_accumulation_steps
        if n and (self._raw_iterations + 1) % n != 0:
            return None
        return self.learning_rate_at(self._raw_iterations)

    def _accumulate(self, grads: list[np.ndarray], accumulators: list[np.ndarray | None]):
        """Gradient accumulation: ``None`` on an accumulate-only call, else the gradients to apply."""
        n = self.gradient_accumulation_steps
        if not n:
            return grads
        if (self._raw_iterations + 1) % n != 0:
            for g, acc in zip(grads, accumulators):
                acc += g
            return None
        out = [(g + acc) / self.dtype.type(n) for g, acc in zip(grads, accumulators)]
        for acc in accumulators:
            acc[...] = 0
        return out

    def _clip_scales(self, squared_norms: Any) -> list[float]:
        """Keras' clipnorm / global_clipnorm factor of each gradient, from float64 squared norms."""
        if self.clipnorm:
            return [clipnorm_scale(math.sqrt(sq), self.clipnorm) for sq in squared_norms]
        if self.global_clipnorm:
            scale = global_clipnorm_scale(math.sqrt(sum(squared_norms)), self.global_clipnorm)
            return [scale] * len(squared_norms)
        return [1.0] * len(squared_norms)

    def _clip(self, grads: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Keras' clipping (:func:`~microgradx.optimizers.rules.clip_gradient`), norms in float64."""
        if not (self.clipnorm or self.global_clipnorm or self.clipvalue):
            return grads
        scales = self._clip_scales([float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()])
        clip = on_arrays(clip_gradient)
        return {i: np.asarray(clip(g, scale, self.clipvalue or 0.0), dtype=self.dtype)
                for (i, g), scale in zip(grads.items(), scales)}

    def _update_ema(self, variables: list[np.ndarray], averages: list[np.ndarray | None]) -> None:
        if not self.use_ema:
            return
        k = self.iterations
        mu = 0.0 if k == 0 else self.ema_momentum
        overwrite = bool(self.ema_overwrite_frequency) and (k + 1) % self.ema_overwrite_frequency == 0
        for w, avg in zip(variables, averages):
            avg[...] = mu * avg + (1.0 - mu) * w
            if overwrite:
                w[...] = avg

