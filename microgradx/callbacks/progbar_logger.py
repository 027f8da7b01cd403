"""``ProgbarLogger``: Keras-like progress output during ``fit``."""

from __future__ import annotations

import sys
import time
from typing import Any

from .callback import Callback, Logs

__all__ = ["ProgbarLogger"]


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
