"""``LearningRateScheduler``: set the learning rate from ``schedule(epoch, lr)`` at each epoch's start
(Keras 3's ``keras/src/callbacks/learning_rate_scheduler.py``).

At ``on_epoch_begin(epoch)`` (``epoch`` from 0, counting ``initial_epoch``) it calls
``schedule(epoch, lr)`` with the current rate as a Python float (or ``schedule(epoch)`` when the function
takes one argument, Keras' old API) and assigns the result, which must be a float (a Python float or
a NumPy float32/float64: an ``int`` raises ``ValueError``, as in Keras). At ``on_epoch_end`` it writes
the rate into ``logs["learning_rate"]``. Every engine reads the new rate at its next step.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .callback import Callback, Logs

__all__ = ["LearningRateScheduler"]


def _takes_two_arguments(schedule: Callable) -> bool:
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):          # builtins without a signature: try the new API
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


class LearningRateScheduler(Callback):
    """Args:
        schedule: ``schedule(epoch, lr) -> float`` (or ``schedule(epoch) -> float``).
        verbose: 1 prints "Epoch N: LearningRateScheduler setting learning rate to X."

    Keras tells the two APIs apart by calling ``schedule(epoch, lr)`` and falling back to
    ``schedule(epoch)`` on *any* ``TypeError``, which also hides a ``TypeError`` raised inside a
    two-argument schedule; here the number of parameters decides, so such an error surfaces.
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"Invalid value received for argument `schedule`: {schedule!r}. Expected a "
                             f"function schedule(epoch, lr) -> float.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if _takes_two_arguments(self.schedule):
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
