"""``ModelCheckpoint``: save the model or its weights during training (Keras 3's
``keras/src/callbacks/model_checkpoint.py``).

* ``filepath`` may hold ``str.format`` placeholders filled with ``epoch`` (from **1**), the epoch's logs
  and, with an integer ``save_freq``, ``batch`` (from 1): ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.
  A placeholder missing from the logs raises ``KeyError`` naming the path.
* ``save_weights_only=True`` calls ``model.save_weights(path)``; the path must end in ``.weights.h5``
  (Keras' HDF5 layout) or, microgradx's addition that needs no h5py, ``.npz``. Otherwise
  ``model.save(path)`` and the path must end in ``.keras``. Both are checked when the callback is created.
* ``save_best_only``: save only when ``monitor`` improves on the best so far (a tie is not an
  improvement; the best starts at ``initial_value_threshold``); a missing monitor warns and saves.
* ``save_freq="epoch"`` saves at each epoch end; an integer ``N`` saves after every ``N`` batches, counted
  across epochs.

Writes are atomic (the model's savers replace the file in one step).
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral
from typing import Any

from .callback import Logs
from .monitor_callback import MonitorCallback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Args: ``filepath``, ``monitor="val_loss"``, ``verbose=0``, ``save_best_only=False``,
    ``save_weights_only=False``, ``mode="auto"``, ``save_freq="epoch"``, ``initial_value_threshold=None``
    (see the module docstring)."""

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, Integral)
                                     or save_freq <= 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or "
                             f"positive integer values")
        self.save_freq = save_freq
        if self.save_weights_only:
            if not self.filepath.endswith((".weights.h5", ".npz")):
                raise ValueError(f"When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                                 f"provided must end in `.weights.h5` (Keras weights format) or `.npz` "
                                 f"(microgradx's). Received: filepath={self.filepath}")
        elif not self.filepath.endswith(".keras"):
            raise ValueError(f"The filepath provided must end in `.keras` (Keras model format). Received: "
                             f"filepath={self.filepath}")
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1                     # a new epoch: batches count from 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _file_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        fields: dict[str, Any] = {"epoch": epoch + 1, **logs}
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}') from None

    def _should_save(self, epoch: int, logs: Logs, path: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: Logs | None) -> None:
        logs = logs or {}
        path = self._file_path(epoch, batch, logs)
        if os.path.isdir(path):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {path}")
        if not self._should_save(epoch, logs, path):
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {path}")
