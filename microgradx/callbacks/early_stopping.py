"""``EarlyStopping``: stop training when a monitored quantity stops improving (Keras 3.15.1)."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

from .callback import Logs
from .monitor_callback import MonitorCallback

__all__ = ["EarlyStopping"]


def _invalid(argument: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"Invalid value received for argument `{argument}`: {value!r} of type "
                      f"{type(value).__name__}. Expected {expected}.")


def _count(value: Any, argument: str) -> int:
    """An epoch count (``patience``, ``start_from_epoch``): an int >= 0, not a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise _invalid(argument, value, "an integer >= 0")
    return int(value)


def _finite(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise _invalid(argument, value, "a finite number")
    return float(value)


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored quantity stops improving (Keras 3.15.1, exactly).

    Args:
        monitor: the log key to watch (``"val_loss"``).
        min_delta: an improvement must beat the best by more than ``|min_delta|`` (its sign is ignored).
        patience: stop after this many epochs without improvement (counted as below).
        verbose: 1 prints "Epoch N: early stopping" and the restore message.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``loss`` -> min; a compiled metric -> its direction;
            anything else raises ``ValueError`` at the first epoch that logs the monitor). Unknown ->
            warning, auto.
        baseline: ``wait`` is only reset by epochs that also beat ``baseline`` by ``min_delta``.
        restore_best_weights: at ``on_train_end`` set the weights of the best epoch, also when training
            ran to the last epoch (Keras 3; tf.keras 2 restored only after an early stop).
        start_from_epoch: epochs before this (absolute) index are ignored entirely.

    Per epoch: ``wait += 1`` *before* the test; an improving epoch (``current - min_delta`` strictly
    better than ``best``; ``best is None`` always improves, NaN never does) never stops; otherwise stop
    when ``wait >= patience`` (and ``epoch > 0``). Note the 3.15.1 baseline quirk: an improvement that
    does not beat ``baseline`` leaves ``wait`` growing (golden scenario B).

    One deliberate difference: a ``monitor`` missing from an epoch's logs always gets Keras's warning
    naming the logged keys (a misspelt ``"val_acc"``), where Keras 3.15.1 in ``mode="auto"`` first
    raises its error about the mode. The arguments are checked at construction (Keras checks none).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise _invalid("monitor", monitor, "the name of a logged quantity such as 'val_loss'")
        super().__init__(monitor, mode, min_delta=_finite(min_delta, "min_delta"))
        self.patience = _count(patience, "patience")
        self.verbose = verbose
        self.baseline = None if baseline is None else _finite(baseline, "baseline")
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = _count(start_from_epoch, "start_from_epoch")
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: list | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def get_monitor_value(self, logs: Logs | None) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs.keys())}", stacklevel=2)
        return value

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None:  # warned, naming the logged keys: a misspelt monitor is the likely cause
            return
        if self.monitor_op is None:
            self._set_monitor_op()
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # the first monitored epoch's weights
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
