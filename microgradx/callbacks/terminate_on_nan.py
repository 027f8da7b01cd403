"""``TerminateOnNaN``: stop training at the first batch whose loss is NaN or infinite (Keras 3's
``keras/src/callbacks/terminate_on_nan.py``).

It reads ``logs["loss"]`` at each ``on_train_batch_end`` (the running mean of the epoch's batch losses,
so one bad batch makes it non-finite) and sets ``model.stop_training``; with ``raise_error=True`` it
raises ``RuntimeError`` instead. (``fit`` itself also stops after a non-finite loss, skipping that update,
with a ``RuntimeWarning``; this callback makes the stop explicit and Keras-compatible.)
"""

from __future__ import annotations

import math

from .callback import Callback, Logs

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   f"Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
