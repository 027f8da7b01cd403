"""``History``: the per-epoch logs of a ``fit`` call, as ``model.history.history``."""

from __future__ import annotations

from .callback import Callback, Logs

__all__ = ["History"]


class History(Callback):
    """Records the epoch logs: ``history.history[key]`` is a list with one float per epoch run.

    ``fit`` adds a fresh one to every call (also ``model.history``); a ``History`` passed in by the
    user is reused and keeps appending (only ``epoch`` is reset at ``on_train_begin``, as in Keras).
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
