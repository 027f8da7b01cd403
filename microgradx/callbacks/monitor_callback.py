"""``MonitorCallback``: the shared rule of the callbacks that watch one logged quantity
(``EarlyStopping``, ``ReduceLROnPlateau``, ``ModelCheckpoint``), as Keras 3's
``keras/src/callbacks/monitor_callback.py``.

* ``mode="min"`` compares with ``<``, ``"max"`` with ``>``; ``"auto"`` (resolved at the first epoch end,
  when the compiled metrics exist) takes ``<`` for ``loss``/``val_loss``, a compiled metric's direction
  (``metric._direction``, ``"up"`` -> ``>``), and otherwise raises ``ValueError`` asking for a mode. An
  unknown mode warns and falls back to ``"auto"``.
* An improvement is ``op(current - min_delta, best)`` with ``min_delta`` stored as ``|min_delta|`` and
  negated for ``<``: strictly better by more than ``|min_delta|``. ``best is None`` always improves; NaN
  never does.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from .callback import Callback

__all__ = ["MonitorCallback"]


def _less(a: float, b: float) -> bool:
    return a < b


def _greater(a: float, b: float) -> bool:
    return a > b


class MonitorCallback(Callback):
    """Base class: ``monitor``, ``mode``, ``best`` (starts at ``baseline``) and ``min_delta``."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best: Any = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[float, float], bool] | None = None

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
                f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able to "
                f"automatically determine whether that metric should be maximized or minimized. Pass "
                f"`mode='max'` in order to monitor based on the highest metric value, or pass "
                f"`mode='min'` in order to use the lowest value.")
        if self.monitor_op is _less:
            self.min_delta *= -1

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        assert self.monitor_op is not None
        return bool(self.monitor_op(value - self.min_delta, reference))  # NaN compares False
