"""RMSprop (Hinton's lecture 6e), Keras 3 ``keras.optimizers.RMSprop``."""

from __future__ import annotations

import math
from typing import Any

from .arguments import check_range
from .base import Optimizer

__all__ = ["RMSprop", "rmsprop_rule"]


def rmsprop_rule(w, g, velocity, average_gradient, momentum_buffer, learning_rate, rho, one_minus_rho,
                 momentum, epsilon, centered):
    """One element of Keras' RMSprop::

        v <- rho v + (1 - rho) g^2
        centered: gbar <- rho gbar + (1 - rho) g ;  den = v - gbar^2 + epsilon
        else:     den = v + epsilon                            (epsilon INSIDE the square root)
        inc = lr g / sqrt(den)
        momentum > 0: b <- momentum b + inc ;  w <- w - b
        else:         w <- w - inc

    Returns ``(w, v, gbar, b)``."""
    velocity = rho * velocity + one_minus_rho * (g * g)
    if centered:
        average_gradient = rho * average_gradient + one_minus_rho * g
        denominator = velocity - average_gradient * average_gradient + epsilon
    else:
        denominator = velocity + epsilon
    increment = (learning_rate * g) / math.sqrt(denominator)
    if momentum > 0.0:
        momentum_buffer = momentum * momentum_buffer + increment
        return w - momentum_buffer, velocity, average_gradient, momentum_buffer
    return w - increment, velocity, average_gradient, momentum_buffer


class RMSprop(Optimizer):
    """RMSprop, Keras' formulation (:func:`rmsprop_rule`), with the slots ``"velocity"`` (v),
    ``"average_gradient"`` (gbar, centered only) and ``"momentum"`` (b, ``momentum > 0`` only).

    No bias correction: the first step is about ``lr sqrt(1 / (1 - rho))`` = 3.16 lr at rho = 0.9.
    PyTorch puts eps outside the square root, keeps lr outside the momentum buffer, and defaults to
    lr 1e-2, alpha (rho) 0.99, eps 1e-8.
    """

    rule, rule_slots = staticmethod(rmsprop_rule), ("velocity", "average_gradient", "momentum")
    default_name = "rmsprop"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "rmsprop",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.rho = check_range(rho, "rho", 0.0, 1.0)
        self.momentum = check_range(momentum, "momentum", 0.0, 1.0)
        self.epsilon = check_range(epsilon, "epsilon", 0.0, math.inf, low_open=True, high_open=True)
        self.centered = bool(centered)

    @property
    def slot_initial_values(self) -> dict[str, float]:
        slots = {"velocity": 0.0}
        if self.centered:
            slots["average_gradient"] = 0.0
        if self.momentum > 0:
            slots["momentum"] = 0.0
        return slots

    def rule_arguments(self, learning_rate, step):
        """``(lr, rho, 1 - rho, momentum, epsilon, centered)``."""
        return (learning_rate, self.rho, 1.0 - self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
