"""Adam (Kingma & Ba), Keras 3 ``keras.optimizers.Adam``, with the optional AMSGrad variant."""

from __future__ import annotations

import math
from typing import Any

from .arguments import check_range
from .base import Optimizer

__all__ = ["Adam", "adam_rule"]


def adam_rule(w, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon, amsgrad):
    """One element of Keras' Adam, with ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``::

        m <- m + (1 - beta_1)(g - m)
        v <- v + (1 - beta_2)(g^2 - v)
        v_hat <- max(v_hat, v)                          (amsgrad only)
        w <- w - alpha m / (sqrt(v, or v_hat) + epsilon)

    Returns ``(w, m, v, v_hat)``."""
    m = m + (g - m) * one_minus_beta_1
    v = v + (g * g - v) * one_minus_beta_2
    u = v
    if amsgrad:
        v_hat = max(v_hat, v)
        u = v_hat
    return w - (m * alpha) / (math.sqrt(u) + epsilon), m, v, v_hat


class Adam(Optimizer):
    """Adam, Keras' formulation (:func:`adam_rule`), with ``t = iterations + 1`` and the slots
    ``"m"``, ``"v"`` and (``amsgrad=True`` only) ``"v_hat"``.

    ``epsilon`` is the paper's "epsilon hat", added to the *uncorrected* ``sqrt(v)``. PyTorch adds its
    ``eps`` to the bias-corrected ``sqrt(v / (1 - beta_2^t))``, so Keras' epsilon acts like a PyTorch eps
    of ``epsilon / sqrt(1 - beta_2^t)`` (about 31.6 epsilon at t = 1); PyTorch's default eps is 1e-8,
    Keras' 1e-7. First step at lr = 0.1 from w = 1 (g = 1.4): 0.9000002259 here and in Keras.
    """

    rule, rule_slots = staticmethod(adam_rule), ("m", "v", "v_hat")
    default_name = "adam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "adam", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.beta_1 = check_range(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = check_range(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = check_range(epsilon, "epsilon", 0.0, math.inf, low_open=True, high_open=True)
        self.amsgrad = bool(amsgrad)

    @property
    def slot_initial_values(self) -> dict[str, float]:
        slots = {"m": 0.0, "v": 0.0}
        if self.amsgrad:
            slots["v_hat"] = 0.0
        return slots

    def rule_arguments(self, learning_rate, step):
        """``(alpha_t, 1 - beta_1, 1 - beta_2, epsilon, amsgrad)`` with
        ``alpha_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``."""
        alpha = learning_rate * math.sqrt(1.0 - self.beta_2 ** step) / (1.0 - self.beta_1 ** step)
        return (alpha, 1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon, self.amsgrad)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
