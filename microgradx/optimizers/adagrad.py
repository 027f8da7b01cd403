"""Adagrad (Duchi et al. 2011), Keras 3 ``keras.optimizers.Adagrad``."""

from __future__ import annotations

import math
from typing import Any

from .arguments import check_range
from .base import Optimizer

__all__ = ["Adagrad", "adagrad_rule"]


def adagrad_rule(w, g, accumulator, learning_rate, epsilon):
    """One element of Keras' Adagrad::

        a <- a + g^2
        w <- w - lr g / sqrt(a + epsilon)      (epsilon INSIDE the square root)

    Returns ``(w, a)``."""
    accumulator = accumulator + g * g
    return w - (learning_rate * g) / math.sqrt(accumulator + epsilon), accumulator


class Adagrad(Optimizer):
    """Adagrad, Keras' formulation (:func:`adagrad_rule`); the slot ``"accumulator"`` starts at
    ``initial_accumulator_value``.

    PyTorch puts eps outside (``g / (sqrt(a) + eps)``), starts the accumulator at 0, defaults to
    lr 1e-2 and eps 1e-10, and has ``lr_decay`` (use a schedule in Keras).
    """

    rule, rule_slots = staticmethod(adagrad_rule), ("accumulator",)
    default_name = "adagrad"

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "adagrad",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.initial_accumulator_value = check_range(initial_accumulator_value,
                                                     "initial_accumulator_value", 0.0, math.inf,
                                                     high_open=True)
        self.epsilon = check_range(epsilon, "epsilon", 0.0, math.inf, high_open=True)
        if self.initial_accumulator_value == 0 and self.epsilon == 0:
            raise ValueError("`epsilon` must be > 0 when `initial_accumulator_value` is 0 "
                             "(the first step would divide by sqrt(0) for a zero gradient)")

    @property
    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value}

    def rule_arguments(self, learning_rate, step):
        """``(lr, epsilon)``."""
        return (learning_rate, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
