"""The Keras 3 callback protocol, ``History``, ``EarlyStopping``, ``LambdaCallback``, ``ProgbarLogger``.

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

import sys
import time
import warnings
from typing import Any, Callable, Iterable

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "LambdaCallback", "ProgbarLogger"]

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


class ProgbarLogger(Callback):
    """Keras-like progress output: ``verbose=1`` a bar per epoch redrawn with carriage returns (works in
    terminals and Jupyter), ``verbose=2`` one line per epoch."""

    BAR_WIDTH = 20

    def __init__(self, verbose: int = 1, stream: Any = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._start = 0.0
        self._epochs = 0
        self._last_width = 0

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(text)
        stream.flush()

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._epochs = self.params.get("epochs", 0)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._start = time.perf_counter()
        self._write(f"Epoch {epoch + 1}/{self._epochs}\n")

    @staticmethod
    def _format_logs(logs: Logs) -> str:
        return "".join(f" - {key}: {value:.4f}" if isinstance(value, float) else f" - {key}: {value}"
                       for key, value in logs.items())

    def _line(self, done: int, logs: Logs, final: bool) -> str:
        steps = self.params.get("steps") or done or 1
        elapsed = time.perf_counter() - self._start
        per_step = elapsed / max(done, 1)
        if self.verbose == 2:
            return f"{done}/{steps} - {elapsed:.0f}s - {per_step * 1e3:.0f}ms/step{self._format_logs(logs)}"
        filled = int(round(self.BAR_WIDTH * done / steps))
        bar = "━" * filled + " " * (self.BAR_WIDTH - filled)  # the bar Keras 3 draws
        timing = f"{elapsed:.0f}s {per_step * 1e3:.0f}ms/step" if final else f"{per_step * 1e3:.0f}ms/step"
        return f"{done}/{steps} {bar} {timing}{self._format_logs(logs)}"

    def _redraw(self, line: str, end: str = "") -> None:
        # pad with spaces so a shorter line fully covers the previous one after the carriage return
        self._write("\r" + line.ljust(self._last_width) + end)
        self._last_width = 0 if end else len(line)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.verbose == 1:
            self._redraw(self._line(batch + 1, logs or {}, final=False))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        line = self._line(self.params.get("steps") or 1, logs or {}, final=True)
        if self.verbose == 1:
            self._redraw(line, end="\n")
        else:
            self._write(line + "\n")


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


def _less(a: float, b: float) -> bool:
    return a < b


def _greater(a: float, b: float) -> bool:
    return a > b


class EarlyStopping(Callback):
    """Stop training when a monitored quantity stops improving (Keras 3.15.1, exactly).

    Args:
        monitor: the log key to watch (``"val_loss"``).
        min_delta: an improvement must beat the best by more than ``|min_delta|`` (its sign is ignored).
        patience: stop after this many epochs without improvement (counted as below).
        verbose: 1 prints "Epoch N: early stopping" and the restore message.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``loss`` -> min; a compiled metric -> its direction;
            anything else raises ``ValueError`` at the first epoch end). Unknown -> warning, auto.
        baseline: ``wait`` is only reset by epochs that also beat ``baseline`` by ``min_delta``.
        restore_best_weights: at ``on_train_end`` set the weights of the best epoch, also when training
            ran to the last epoch (Keras 3; tf.keras 2 restored only after an early stop).
        start_from_epoch: epochs before this (absolute) index are ignored entirely.

    Per epoch: ``wait += 1`` *before* the test; an improving epoch (``current - min_delta`` strictly
    better than ``best``; ``best is None`` always improves, NaN never does) never stops; otherwise stop
    when ``wait >= patience`` (and ``epoch > 0``). Note the 3.15.1 baseline quirk: an improvement that
    does not beat ``baseline`` leaves ``wait`` growing (golden scenario B).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.monitor_op: Callable[[float, float], bool] | None = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: list | None = None
        self.best_epoch = 0

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = _less
            for metric in getattr(self.model, "metrics", None) or []:
                if getattr(metric, "name", None) == name and getattr(metric, "_direction", None):
                    self.monitor_op = _greater if metric._direction == "up" else _less
        if self.monitor_op is None:
            raise ValueError(
                f"EarlyStopping callback received monitor={self.monitor}, but Keras isn't able to "
                f"automatically determine whether that metric should be maximized or minimized. Pass "
                f"`mode='max'` in order to monitor based on the highest metric value, or pass "
                f"`mode='min'` in order to use the lowest value.")
        if self.monitor_op is _less:
            self.min_delta *= -1

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        assert self.monitor_op is not None
        return bool(self.monitor_op(value - self.min_delta, reference))  # NaN compares False

    def get_monitor_value(self, logs: Logs | None) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs.keys())}", stacklevel=2)
        return value

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
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


class LambdaCallback(Callback):
    """A callback built from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None,
                 on_train_batch_end: Callable | None = None) -> None:
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin, "on_train_batch_end": on_train_batch_end}
        for hook, fn in given.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"Invalid value received for argument `{hook}`: {fn!r}. Expected a callable.")
                setattr(self, hook, fn)
