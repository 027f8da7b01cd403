"""RMSprop (Hinton's lecture 6e), Keras 3 ``keras.optimizers.RMSprop``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Optimizer, check_range

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, Keras' formulation::

        v <- rho v + (1 - rho) g^2                          (slot "velocity")
        centered: gbar <- rho gbar + (1 - rho) g ;  den = v - gbar^2 + epsilon   (slot "average_gradient")
        else:     den = v + epsilon                           (epsilon INSIDE the square root)
        inc = lr g / sqrt(den)
        momentum > 0: b <- momentum b + inc ; w <- w - b      (slot "momentum")
        else:         w <- w - inc

    No bias correction: the first step is about ``lr sqrt(1 / (1 - rho))`` = 3.16 lr at rho = 0.9.
    PyTorch puts eps outside the square root, keeps lr outside the momentum buffer, and defaults to
    lr 1e-2, alpha (rho) 0.99, eps 1e-8.
    """

    element_function, flat_kernel = "rmsprop_element", "rmsprop_update"
    element_slots = ("velocity", "average_gradient", "momentum")
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

    def update_step(self, gradient, variable, learning_rate, slots, step):
        f = variable.dtype.type
        rho = f(self.rho)
        velocity = slots["velocity"]
        velocity[...] = rho * velocity + (f(1) - rho) * np.square(gradient)
        if self.centered:
            average = slots["average_gradient"]
            average[...] = rho * average + (f(1) - rho) * gradient
            denominator = velocity - np.square(average) + f(self.epsilon)
        else:
            denominator = velocity + f(self.epsilon)
        increment = (f(learning_rate) * gradient) / np.sqrt(denominator)
        if self.momentum > 0:
            buffer = slots["momentum"]
            buffer[...] = f(self.momentum) * buffer + increment
            variable -= buffer
        else:
            variable -= increment

    def element_arguments(self, learning_rate, step):
        """``(lr, rho, momentum, epsilon, centered)``."""
        return (learning_rate, self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
