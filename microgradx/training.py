"""The one training loop: epochs, callbacks, validation and stopping, for every trainable thing.

``Sequential.fit`` (an epoch of mini-batches on an engine) and ``Tape.fit`` (one full-batch step per
epoch) differ only in what one epoch does; the loop around it is this one, in Keras 3's order::

    on_train_begin
    for epoch in epochs:
        on_epoch_begin(epoch)
        logs = run_epoch(epoch)                 # the batches, their callbacks and progress
        logs |= validate(epoch)                 # "val_loss", ... (nothing on epochs without validation)
        on_epoch_end(epoch, logs)               # History, EarlyStopping, ... (may set stop_training)
        if owner.stop_training: break
    on_train_end(logs)

The owner is the object the callbacks see as ``callback.model`` (``get_weights``, ``set_weights`` and
``stop_training``); progress is a callback (:class:`~microgradx.callbacks.ProgbarLogger`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["Mean", "fit_loop"]


class Mean:
    """A running weighted mean (Keras' ``Mean`` metric): ``sum(w * v) / sum(w)``."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update(self, values: np.ndarray | float, weights: np.ndarray | float = 1.0) -> None:
        if isinstance(values, float) and isinstance(weights, (int, float)):   # a batch loss: no arrays
            self.total += values * weights
            self.count += weights
            return
        values = np.asarray(values, dtype=np.float64)
        weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), values.shape)
        self.total += float(np.sum(values * weights))
        self.count += float(np.sum(weights))

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def fit_loop(owner: Any, callbacks: Any, epochs: Iterable[int], run_epoch: Callable[[int], dict[str, float]],
             validate: Callable[[int], dict[str, float]] | None = None) -> dict[str, float]:
    """Run ``run_epoch`` for each epoch between the callbacks' hooks (module docstring); returns the
    last epoch's logs. ``callbacks`` is a :class:`~microgradx.callbacks.CallbackList`."""
    owner.stop_training = False
    callbacks.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in epochs:
        callbacks.on_epoch_begin(epoch)
        logs = dict(run_epoch(epoch))
        if validate is not None:
            logs.update(validate(epoch))
        callbacks.on_epoch_end(epoch, logs)
        if owner.stop_training:
            break
    callbacks.on_train_end(logs)
    return logs
