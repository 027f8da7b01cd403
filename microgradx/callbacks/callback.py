"""The Keras 3 callback protocol: ``Callback``, every hook a no-op.

``fit`` calls, in this order (Keras 3's training loop)::

    on_train_begin
    for each epoch:  on_epoch_begin(epoch)
                     for each batch: on_train_batch_begin(b) -> step -> on_train_batch_end(b, logs)
                     (validation: on_test_begin / on_test_batch_* / on_test_end)
                     on_epoch_end(epoch, logs)         # one logs dict shared by every callback
                     stop if model.stop_training
    on_train_end(logs)

User callbacks run first, in list order; ``History`` (and ``ProgbarLogger`` when ``verbose != 0``)
are appended after them, so an earlier callback can change the logs a later one sees. Callbacks
reach the model only through ``get_weights``, ``set_weights``, ``stop_training`` (and, for
``EarlyStopping(mode="auto")``, the compiled metrics' directions).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Callback", "Logs"]

Logs = dict[str, Any]


class Callback:
    """Base class: every hook is a no-op. ``self.model`` and ``self.params`` are set by ``fit``."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
