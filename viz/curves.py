"""Training curves: loss and metrics per epoch, train against validation, with early stopping marked.

``fit`` returns a :class:`~microgradx.callbacks.History` whose ``history`` dict maps ``"loss"``,
each metric name and their ``"val_"`` twins to one number per epoch run. An
:class:`~microgradx.callbacks.EarlyStopping` callback remembers where it stopped (``stopped_epoch``, 0 when
training ran to the end) and which epoch was best (``best_epoch``); with ``restore_best_weights=True`` the
model ends with the weights of that best epoch. Epochs are 0-based inside Keras and shown 1-based in the
progress bar (``Epoch 3/20``); the plots use the 1-based numbers the student saw printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_training_curves", "early_stopping_epochs", "epoch_limits", "EDGE_ROOM"]


def early_stopping_epochs(early_stopping: Any) -> dict[str, int | None]:
    """The 1-based epochs to mark for an EarlyStopping callback after ``fit``.

    Returns ``{"stopped": e or None, "best": e or None, "restored": e or None}``: ``stopped`` is
    ``stopped_epoch + 1`` when the callback stopped training (Keras keeps ``stopped_epoch = 0`` otherwise),
    ``best`` is ``best_epoch + 1``, ``restored`` equals ``best`` when ``restore_best_weights`` is set (Keras 3
    restores also when training ran to the end) and no best weights were ever recorded counts as ``None``.
    """
    for attribute in ("stopped_epoch", "best_epoch", "restore_best_weights"):
        if not hasattr(early_stopping, attribute):
            raise TypeError(f"early_stopping must be an EarlyStopping callback (with `{attribute}`), got "
                            f"{early_stopping!r} of type {type(early_stopping).__name__}")
    stopped = int(early_stopping.stopped_epoch)
    best = early_stopping.best_epoch
    best = None if best is None else int(best) + 1
    restored = best if (early_stopping.restore_best_weights
                        and getattr(early_stopping, "best_weights", True) is not None) else None
    return {"stopped": stopped + 1 if stopped > 0 else None, "best": best, "restored": restored}


#: room left after the last epoch, as a fraction of the epochs drawn (at least one epoch): a marker on the
#: last epoch (where early stopping stopped) sits inside the plot, not on its edge.
EDGE_ROOM = 0.06


def epoch_limits(epochs: Sequence[int]) -> tuple[float, float]:
    """x limits for curves over ``epochs`` (1-based): half an epoch before the first, room after the last."""
    first, last = min(epochs), max(epochs)
    return first - 0.5, last + max(1.0, EDGE_ROOM * (last - first + 1))


def _history_dict(history: Any) -> tuple[dict[str, list[float]], list[int]]:
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise TypeError(f"history must be the History returned by fit (or its non-empty `.history` dict), "
                        f"got {history!r}")
    lengths = {len(v) for v in logs.values()}
    if len(lengths) != 1:
        raise ValueError(f"history has lists of different lengths: { {k: len(v) for k, v in logs.items()} }")
    epochs = list(getattr(history, "epoch", None) or range(lengths.pop()))
    return logs, [int(e) + 1 for e in epochs]


def plot_training_curves(history: Any, early_stopping: Any = None, *, metrics: Sequence[str] | None = None,
                         title: str | None = None, save: PathLike | None = None) -> "Figure":
    """One panel per quantity (``loss`` first, then each metric): train solid, validation dashed.

    Args:
        history: the ``History`` returned by ``model.fit`` (or its ``.history`` dict).
        early_stopping: the ``EarlyStopping`` callback used in that ``fit``; marks the epoch training stopped
            at (grey dotted line, artist gid ``"stopped-epoch"``) and the best epoch whose weights were restored
            (green line, gid ``"restored-epoch"``; ``"best-epoch"`` when weights were not restored).
        metrics: quantities to draw (default: every key without ``val_``, ``loss`` first).
        title: the figure title (default: says what to look for).
        save: a path to write the figure to (``.png``, ``.svg``, ``.pdf``).
    """
    logs, epochs = _history_dict(history)
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_")]
        metrics.sort(key=lambda k: k != "loss")
    missing = [m for m in metrics if m not in logs and f"val_{m}" not in logs]
    if missing:
        raise ValueError(f"metrics={list(metrics)!r}: {missing} not in the history (it has {sorted(logs)})")
    marks = early_stopping_epochs(early_stopping) if early_stopping is not None else {}

    fig, axes = new_figure(1, len(metrics), figsize=(5.2 * len(metrics), 4.0))
    for ax, name in zip(axes[0], metrics):
        color = "tab:blue" if name == "loss" else "tab:red"
        if name in logs:
            ax.plot(epochs, logs[name], color=color, marker=".", label=f"train {name}")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], color=color, linestyle="--", marker=".",
                    label=f"validation {name}")
            values = np.asarray(logs[f"val_{name}"], dtype=float)
        else:
            values = np.asarray(logs[name], dtype=float)
        if marks.get("stopped"):
            line = ax.axvline(marks["stopped"], color="grey", linestyle=":", linewidth=2,
                              label=f"training stopped (epoch {marks['stopped']})")
            line.set_gid("stopped-epoch")
        best = marks.get("restored") or marks.get("best")
        if best:
            restored = marks.get("restored") is not None
            line = ax.axvline(best, color="tab:green", linewidth=2, alpha=0.8,
                              label=(f"best epoch {best}: weights restored" if restored else f"best epoch {best}"))
            line.set_gid("restored-epoch" if restored else "best-epoch")
            if best in epochs and np.isfinite(values[epochs.index(best)]):
                ax.plot([best], [values[epochs.index(best)]], marker="*", markersize=14, color="tab:green",
                        markeredgecolor="black", linestyle="none")
        label(ax, "epoch", name, f"{name} per epoch")
        ax.set_xlim(*epoch_limits(epochs))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title is None:
        if marks.get("stopped"):
            title = ("Validation stopped improving: early stopping ended training "
                     f"at epoch {marks['stopped']}" + (f" and restored epoch {marks['restored']}"
                                                       if marks.get("restored") else ""))
        elif "val_loss" in logs:
            title = "Training loss keeps falling; watch the validation loss (dashed) for overfitting"
        else:
            title = "Training curves"
    return finish(fig, save, title=title)
