"""``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when a monitored quantity stops
improving (Keras 3's ``keras/src/callbacks/reduce_lr_on_plateau.py``).

At each epoch end (``epoch`` from 0)::

    logs["learning_rate"] = optimizer.learning_rate        # the rate this epoch trained with
    if in cooldown: cooldown_counter -= 1; wait = 0         # before the test
    if improves(current, best): best = current; wait = 0
    elif not in cooldown:
        wait += 1
        if wait >= patience and lr > float32(min_lr):
            optimizer.learning_rate = max(lr * factor, min_lr)
            cooldown_counter = cooldown; wait = 0

so ``cooldown=1`` does not block the next epoch's cut (the counter is spent before the test), and the
logged ``learning_rate`` is the one *before* a cut. An improvement must beat ``best`` by more than
``min_delta`` (strictly); ``mode`` as in :class:`~microgradx.callbacks.monitor_callback.MonitorCallback`.
The new rate reaches every engine at its next step: each step reads ``optimizer.learning_rate``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np

from .callback import Logs
from .monitor_callback import MonitorCallback

__all__ = ["ReduceLROnPlateau"]


def _number(value: Any, argument: str, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < low:
        raise ValueError(f"Invalid value received for argument `{argument}`: {value!r}. Expected a finite "
                         f"number >= {low:g}.")
    return float(value)


def _count(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"Invalid value received for argument `{argument}`: {value!r}. Expected an integer >= 0.")
    return int(value)


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: the log key to watch (``"val_loss"``).
        factor: new rate = rate * factor; must be < 1 (``ValueError`` otherwise, as in Keras).
        patience: non-improving epochs (outside cooldown) before a cut.
        verbose: 1 prints "Epoch N: ReduceLROnPlateau reducing learning rate to X."
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: an improvement must beat the best by more than this.
        cooldown: epochs to wait after a cut before counting again.
        min_lr: the rate never goes below this.

    The arguments are also checked for type and range (Keras checks only ``factor``).
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"Invalid value received for argument `monitor`: {monitor!r}. Expected the name "
                             f"of a logged quantity such as 'val_loss'.")
        super().__init__(monitor, mode, min_delta=_number(min_delta, "min_delta", -math.inf))
        factor = _number(factor, "factor")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = _number(min_lr, "min_lr")
        self.patience = _count(patience, "patience")
        self.cooldown = _count(cooldown, "cooldown")
        self.verbose = verbose
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs.keys())}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):       # Keras compares with the float32 min_lr
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
