"""Stochastic gradient descent with optional (Nesterov) momentum (Keras 3 ``keras.optimizers.SGD``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer

__all__ = ["SGD", "sgd_rule"]


def sgd_rule(w, g, velocity, learning_rate, momentum, nesterov):
    """One element of Keras' SGD::

        momentum == 0:   w <- w - lr g
        momentum  > 0:   v <- momentum v - lr g
                         w <- w + v                       (nesterov=False)
                         w <- w + momentum v - lr g       (nesterov=True, with the new v)

    Returns ``(w, velocity)``."""
    if momentum == 0.0:
        return w - g * learning_rate, velocity
    velocity = velocity * momentum - g * learning_rate
    if nesterov:
        return w + (velocity * momentum - g * learning_rate), velocity
    return w + velocity, velocity


class SGD(Optimizer):
    """Gradient descent, Keras' formulation (:func:`sgd_rule`); the velocity is the slot
    ``"momentum"`` (starts at 0; only when ``momentum > 0``).

    ``momentum`` must be a float in [0, 1] (an int such as ``momentum=0`` is rejected, as in Keras).

    PyTorch's ``torch.optim.SGD`` keeps the learning rate *outside* the buffer
    (``b <- momentum b + g``; ``w <- w - lr b``): the same trajectory for a constant learning rate,
    different once the learning rate changes. Its default ``lr`` is 1e-3; Keras' is 0.01.
    """

    rule, rule_slots = staticmethod(sgd_rule), ("momentum",)
    default_name = "SGD"

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "SGD", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        if not isinstance(momentum, (float, np.floating)) or not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1]."
                             f" Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    @property
    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0} if self.momentum != 0 else {}

    def rule_arguments(self, learning_rate, step):
        """``(lr, momentum, nesterov)``."""
        return (learning_rate, self.momentum, self.nesterov)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
