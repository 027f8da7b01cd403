"""``ProgbarLogger``: Keras-like progress output during ``fit``."""

from __future__ import annotations

import sys
import time
from typing import Any

from .callback import Callback, Logs

__all__ = ["ProgbarLogger"]


def format_step_time(seconds: float) -> str:
    """Keras's time per step: ``2s/step``, ``15ms/step`` or ``250us/step`` (never ``0ms/step``)."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Keras-like progress output.

    ``verbose=1``: in a terminal or Jupyter, a bar redrawn with carriage returns after every batch; where
    the output is not a terminal (a log file, a pipe, CI), one line per epoch, as Keras writes there.
    ``verbose=2``: one line per epoch, without the bar.

    Args:
        verbose: 1 or 2, as above.
        stream: where to write (default: ``sys.stdout`` at the time of writing).
        dynamic: redraw the bar in place; ``None`` (default) decides from the stream: a terminal
            (``isatty()``) or a Jupyter kernel's output stream.
    """

    BAR_WIDTH = 20

    def __init__(self, verbose: int = 1, stream: Any = None, dynamic: bool | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self.dynamic = dynamic
        self._start = 0.0
        self._epochs = 0
        self._last_width = 0
        self._redraw_bar = False

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stdout

    def _write(self, text: str) -> None:
        stream = self._out()
        stream.write(text)
        stream.flush()

    def _redraws(self) -> bool:
        if self.dynamic is not None:
            return self.dynamic
        out = self._out()
        isatty = getattr(out, "isatty", None)
        # Jupyter's stream is not a tty but redraws "\r" lines; ipykernel merely being imported is no sign
        return bool(isatty is not None and isatty()) or type(out).__module__.startswith("ipykernel")

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._epochs = self.params.get("epochs", 0)
        self._redraw_bar = self.verbose == 1 and self._redraws()  # asked once per fit, not per batch

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
        per_step = format_step_time(elapsed / max(done, 1))
        if self.verbose == 2:
            return f"{done}/{steps} - {elapsed:.0f}s - {per_step}{self._format_logs(logs)}"
        filled = int(round(self.BAR_WIDTH * done / steps))
        bar = "━" * filled + " " * (self.BAR_WIDTH - filled)  # the bar Keras 3 draws
        timing = f"{elapsed:.0f}s {per_step}" if final else per_step
        return f"{done}/{steps} {bar} {timing}{self._format_logs(logs)}"

    def _redraw(self, line: str, end: str = "") -> None:
        # pad with spaces so a shorter line fully covers the previous one after the carriage return
        self._write("\r" + line.ljust(self._last_width) + end)
        self._last_width = 0 if end else len(line)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._redraw_bar:
            self._redraw(self._line(batch + 1, logs or {}, final=False))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        line = self._line(self.params.get("steps") or 1, logs or {}, final=True)
        if self.verbose == 1 and self._last_width:
            self._redraw(line, end="\n")
        else:
            self._write(line + "\n")
