"""Learning-rate schedules (Keras 3: ``keras/src/optimizers/schedules/learning_rate_schedule.py``).

A schedule is called as ``schedule(step)`` with the optimizer's raw step counter ``r`` (0 for the first
update) and returns a Python float. Pass one as ``learning_rate`` to any optimizer.

PyTorch's ``torch.optim.lr_scheduler`` objects instead mutate the optimizer's ``lr`` once per
``scheduler.step()`` (usually per epoch); Keras schedules are pure functions of the step.

Unlike Keras, arguments that would give a negative or non-finite rate are refused at construction
(a negative initial or end rate, a negative ``decay_rate``, ``CosineDecay(alpha < 0)``,
``PolynomialDecay(power < 0)``); a rate that only goes wrong at some step (``ExponentialDecay`` whose
``decay_rate ** p`` overflows) is a ``ValueError`` at that step, naming ``learning_rate`` and the step
(:meth:`microgradx.optimizers.Optimizer.learning_rate_at`).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Sequence

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
    "CosineDecay", "PolynomialDecay", "serialize", "deserialize",
]


def _real(value: object, argument: str, *, positive: bool = False, non_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"Argument `{argument}` must be a finite number, received {argument}={value!r}")
    value = float(value)
    if positive and value <= 0:
        raise ValueError(f"Argument `{argument}` must be > 0, received {argument}={value!r}")
    if non_negative and value < 0:
        raise ValueError(f"Argument `{argument}` must be >= 0, received {argument}={value!r}")
    return value


def _step(step: object) -> float:
    if isinstance(step, bool) or not isinstance(step, Real) or step < 0:
        raise ValueError(f"a schedule's step must be a number >= 0, got {step!r}")
    return float(step)


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class _DecayOverSteps(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: ``lr0``, ``decay_steps``, ``decay_rate``,
    ``staircase`` and the progress ``p = step / decay_steps`` (floored with ``staircase``).

    ``decay_rate`` must be >= 0 (a negative base has no real power; a growing rate, ``decay_rate > 1``,
    is allowed)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool, name: str) -> None:
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", non_negative=True)
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _real(decay_rate, "decay_rate", non_negative=True)
        self.staircase = bool(staircase)
        self.name = name

    def progress(self, step: int) -> float:
        """``p = step / decay_steps``, floored when ``staircase``."""
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayOverSteps):
    """``lr0 * decay_rate ** (step / decay_steps)``; with ``staircase`` the exponent is floored."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** self.progress(step)


class InverseTimeDecay(_DecayOverSteps):
    """``lr0 / (1 + decay_rate * step / decay_steps)``; with ``staircase`` the ratio is floored."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self.progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str = "PiecewiseConstant") -> None:
        if len(boundaries) + 1 != len(values):
            raise ValueError("The length of boundaries should be 1 less than the length of values. "
                             f"Received: boundaries={list(boundaries)} of length {len(boundaries)}, and "
                             f"values={list(values)} of length {len(values)}.")
        self.boundaries = [_real(b, "boundaries") for b in boundaries]
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must be strictly increasing, received {self.boundaries}")
        self.values = [_real(v, "values", non_negative=True) for v in values]
        self.name = name

    def __call__(self, step: int) -> float:
        r = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if r <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``lr0`` to ``warmup_target`` over ``warmup_steps``, then
    ``start * ((1 - alpha) * (1 + cos(pi * min(s, D) / D)) / 2 + alpha)`` with ``s`` the steps after the
    warmup, ``D = decay_steps`` and ``start`` the warmup target (or ``lr0`` without warmup)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", non_negative=True)
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.alpha = _real(alpha, "alpha", non_negative=True)
        self.name = name
        self.warmup_target = None if warmup_target is None else _real(warmup_target, "warmup_target",
                                                                      non_negative=True)
        self.warmup_steps = _real(warmup_steps, "warmup_steps", non_negative=True)

    def __call__(self, step: int) -> float:
        r = _step(step)
        if self.warmup_target is not None and r < self.warmup_steps:
            completed = r / self.warmup_steps
            return self.initial_learning_rate + completed * (self.warmup_target - self.initial_learning_rate)
        start = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        done = min(r - (self.warmup_steps if self.warmup_target is not None else 0.0), self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * done / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class PolynomialDecay(LearningRateSchedule):
    """``(lr0 - end) * (1 - min(step, D) / D) ** power + end``. With ``cycle``, ``D`` grows to
    ``D * ceil(step / D)`` (``D`` at step 0), so the rate restarts from a lower peak."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", non_negative=True)
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.end_learning_rate = _real(end_learning_rate, "end_learning_rate", non_negative=True)
        self.power = _real(power, "power", non_negative=True)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step: int) -> float:
        r = _step(step)
        d = self.decay_steps
        if self.cycle:
            d = d * (1.0 if r == 0 else math.ceil(r / d))
        else:
            r = min(r, d)
        fraction = 1.0 - r / d
        return (self.initial_learning_rate - self.end_learning_rate) * fraction ** self.power \
            + self.end_learning_rate

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                            CosineDecay, PolynomialDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}`` of a schedule (Keras' layout)."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The inverse of :func:`serialize`."""
    name = config.get("class_name")
    if name not in _SCHEDULES:
        raise ValueError(f"Unknown learning-rate schedule {name!r}; known: {sorted(_SCHEDULES)}")
    return _SCHEDULES[name](**config.get("config", {}))

