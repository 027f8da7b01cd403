"""``CallbackList``: calls a list of callbacks in order, as Keras' ``fit`` does."""

from __future__ import annotations

from typing import Any, Iterable

from .callback import Callback, Logs
from .history import History
from .progbar_logger import ProgbarLogger

__all__ = ["CallbackList"]


class CallbackList:
    """Calls a list of callbacks in order; adds ``History`` (and ``ProgbarLogger``) like Keras' ``fit``."""

    def __init__(self, callbacks: Iterable[Callback] | None = None, *, add_history: bool = False,
                 add_progbar: bool = False, verbose: int = 0, model: Any = None,
                 params: dict[str, Any] | None = None) -> None:
        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Invalid value received for argument `callbacks`: {cb!r} of type "
                                f"{type(cb).__name__}. Expected microgradx.callbacks.Callback instances.")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if progbar is None and add_progbar:
            self.callbacks.append(ProgbarLogger(verbose=verbose))
        if model is not None:
            for cb in self.callbacks:
                cb.set_model(model)
        if params is not None:
            for cb in self.callbacks:
                cb.set_params(params)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs: Logs | None = None) -> None: self._call("on_train_begin", logs)
    def on_train_end(self, logs: Logs | None = None) -> None: self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs: Logs | None = None) -> None: self._call("on_test_begin", logs)
    def on_test_end(self, logs: Logs | None = None) -> None: self._call("on_test_end", logs)
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs: Logs | None = None) -> None: self._call("on_predict_begin", logs)
    def on_predict_end(self, logs: Logs | None = None) -> None: self._call("on_predict_end", logs)

    def __iter__(self):
        return iter(self.callbacks)
