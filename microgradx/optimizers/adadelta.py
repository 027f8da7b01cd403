"""Adadelta (Zeiler 2012), Keras 3 ``keras.optimizers.Adadelta``."""

from __future__ import annotations

import math
from typing import Any

from .arguments import check_range
from .base import Optimizer

__all__ = ["Adadelta", "adadelta_rule"]


def adadelta_rule(w, g, accumulated_grad, accumulated_delta_var, learning_rate, rho, one_minus_rho,
                  epsilon):
    """One element of Keras' Adadelta::

        E[g^2]  <- rho E[g^2] + (1 - rho) g^2
        delta   =  -sqrt(E[dx^2] + epsilon) / sqrt(E[g^2] + epsilon) g     (the OLD E[dx^2])
        E[dx^2] <- rho E[dx^2] + (1 - rho) delta^2
        w       <- w + lr delta

    Returns ``(w, E[g^2], E[dx^2])``."""
    accumulated_grad = rho * accumulated_grad + one_minus_rho * (g * g)
    delta = -(math.sqrt(accumulated_delta_var + epsilon) * g) / math.sqrt(accumulated_grad + epsilon)
    accumulated_delta_var = rho * accumulated_delta_var + one_minus_rho * (delta * delta)
    return w + learning_rate * delta, accumulated_grad, accumulated_delta_var


class Adadelta(Optimizer):
    """Adadelta, Keras' formulation (:func:`adadelta_rule`), with the slots ``"accumulated_grad"``
    (E[g^2]) and ``"accumulated_delta_var"`` (E[dx^2]).

    The paper has no learning rate (it is 1.0: "use 1.0 to match the paper"); at Keras' default 0.001
    a step is about 1.4e-6. PyTorch's defaults are lr 1.0, rho 0.9, eps 1e-6; the formula is the same.
    """

    rule, rule_slots = staticmethod(adadelta_rule), ("accumulated_grad", "accumulated_delta_var")
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

    def rule_arguments(self, learning_rate, step):
        """``(lr, rho, 1 - rho, epsilon)``."""
        return (learning_rate, self.rho, 1.0 - self.rho, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
