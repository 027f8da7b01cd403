"""Adadelta (Zeiler 2012), Keras 3 ``keras.optimizers.Adadelta``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Optimizer, check_range

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, Keras' formulation::

        E[g^2]  <- rho E[g^2] + (1 - rho) g^2                        (slot "accumulated_grad")
        delta   =  -sqrt(E[dx^2] + epsilon) / sqrt(E[g^2] + epsilon) g  (the OLD E[dx^2])
        E[dx^2] <- rho E[dx^2] + (1 - rho) delta^2                    (slot "accumulated_delta_var")
        w       <- w + lr delta

    The paper has no learning rate (it is 1.0: "use 1.0 to match the paper"); at Keras' default 0.001
    a step is about 1.4e-6. PyTorch's defaults are lr 1.0, rho 0.9, eps 1e-6; the formula is the same.
    """

    element_function, flat_kernel = "adadelta_element", "adadelta_update"
    element_slots = ("accumulated_grad", "accumulated_delta_var")
    default_name = "adadelta"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "adadelta",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.rho = check_range(rho, "rho", 0.0, 1.0)
        self.epsilon = check_range(epsilon, "epsilon", 0.0, math.inf, low_open=True, high_open=True)

    @property
    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def update_step(self, gradient, variable, learning_rate, slots, step):
        f = variable.dtype.type
        rho, eps = f(self.rho), f(self.epsilon)
        acc_grad, acc_delta = slots["accumulated_grad"], slots["accumulated_delta_var"]
        acc_grad[...] = rho * acc_grad + (f(1) - rho) * np.square(gradient)
        delta = -(np.sqrt(acc_delta + eps) * gradient) / np.sqrt(acc_grad + eps)
        acc_delta[...] = rho * acc_delta + (f(1) - rho) * np.square(delta)
        variable += f(learning_rate) * delta

    def element_arguments(self, learning_rate, step):
        """``(lr, rho, epsilon)``."""
        return (learning_rate, self.rho, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
