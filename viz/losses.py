"""Binary cross-entropy and mean squared error as functions of the prediction, with the lecture's numbers.

The lecture ("Quantifying Loss") scores three predictions of a classifier and of a regressor:

* BCE: predictions ``f(x) = 0.1, 0.8, 0.6`` against labels ``y = 1, 0, 1``;
* MSE: predictions ``f(x) = 30, 80, 85`` against targets ``y = 90, 20, 85``.

Per sample, ``L_BCE(p, y) = -(y log p + (1 - y) log(1 - p))`` and ``L_MSE(f, y) = (y - f)^2``; the empirical
loss is their mean ``J(W) = (1/n) sum_i L_i``. The figures draw each sample's loss curve against the
prediction and mark where the lecture's prediction sits on it, so the student sees *why* a confident wrong
answer (0.1 for a 1) costs far more than a hesitant right one (0.6 for a 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "LECTURE_BCE", "LECTURE_MSE", "BCE_EPSILON", "binary_crossentropy_per_sample",
    "squared_error_per_sample", "plot_bce", "plot_mse", "plot_losses", "MARGIN",
]

#: the lecture's classifier example: predictions and labels.
LECTURE_BCE = {"y_pred": (0.1, 0.8, 0.6), "y_true": (1.0, 0.0, 1.0)}
#: the lecture's regression example: predictions and targets.
LECTURE_MSE = {"y_pred": (30.0, 80.0, 85.0), "y_true": (90.0, 20.0, 85.0)}
#: the room left below a loss of 0, as a fraction of the axis height (a dot at L = 0 stays whole).
MARGIN = 0.05
#: Keras clips probabilities to ``[epsilon, 1 - epsilon]`` before the logarithm (``keras.config.epsilon()``).
BCE_EPSILON = 1e-7


def _as_pair(y_true: Sequence[float], y_pred: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"{what}: y_true and y_pred must be non-empty and of the same length, got "
                         f"{t.size} labels and {p.size} predictions")
    return t, p


def binary_crossentropy_per_sample(y_true: Sequence[float], y_pred: Sequence[float],
                                   epsilon: float = BCE_EPSILON) -> np.ndarray:
    """``-(y log p + (1 - y) log(1 - p))`` per sample, with ``p`` clipped to ``[epsilon, 1 - epsilon]`` (Keras)."""
    t, p = _as_pair(y_true, y_pred, "binary_crossentropy_per_sample")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"binary_crossentropy_per_sample: y_pred must be probabilities in [0, 1], got {p.tolist()}")
    p = np.clip(p, epsilon, 1.0 - epsilon)
    return -(t * np.log(p) + (1.0 - t) * np.log1p(-p))


def squared_error_per_sample(y_true: Sequence[float], y_pred: Sequence[float]) -> np.ndarray:
    """``(y - f)^2`` per sample."""
    t, p = _as_pair(y_true, y_pred, "squared_error_per_sample")
    return (t - p) ** 2


def _bce_axes(ax, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    grid = np.linspace(0.001, 0.999, 400)
    ax.plot(grid, binary_crossentropy_per_sample(np.ones_like(grid), grid), color="tab:blue",
            label="label y = 1:  L = -log p")
    ax.plot(grid, binary_crossentropy_per_sample(np.zeros_like(grid), grid), color="tab:orange",
            label="label y = 0:  L = -log(1 - p)")
    losses = binary_crossentropy_per_sample(y_true, y_pred)
    for t, p, loss in zip(y_true, y_pred, losses):
        right = (p >= 0.5) == (t >= 0.5)
        ax.plot([p], [loss], marker="o", markersize=8, color="tab:blue" if t >= 0.5 else "tab:orange",
                markeredgecolor="black", linestyle="none")
        ax.annotate(f"f(x)={p:g}, y={t:g}\nL={loss:.3f} {'right' if right else 'wrong'}", (p, loss),
                    textcoords="offset points", xytext=(8, 6), fontsize=8)
    mean = float(losses.mean())
    ax.set_ylim(-MARGIN * 5, 5)
    label(ax, "prediction f(x) = p (probability of class 1)", "loss of one sample L(f(x), y)",
          f"Binary cross-entropy: J = mean = {mean:.4f}")
    ax.legend(loc="upper center", fontsize=8)
    ax.grid(alpha=0.3)
    return mean


def _mse_axes(ax, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    losses = squared_error_per_sample(y_true, y_pred)
    low = min(y_true.min(), y_pred.min()) - 20
    high = max(y_true.max(), y_pred.max()) + 20
    grid = np.linspace(low, high, 400)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for i, (t, p, loss) in enumerate(zip(y_true, y_pred, losses)):
        color = colors[i % len(colors)]
        ax.plot(grid, (t - grid) ** 2, color=color, label=f"target y = {t:g}:  L = (y - f)^2")
        ax.plot([p], [loss], marker="o", markersize=8, color=color, markeredgecolor="black", linestyle="none")
        ax.annotate(f"f(x)={p:g}\nL={loss:g}", (p, loss), textcoords="offset points", xytext=(8, 4), fontsize=8)
    mean = float(losses.mean())
    top = max(losses.max() * 1.7, 1.0)
    ax.set_ylim(-MARGIN * top, top)  # below 0 too, so that a dot at L = 0 is drawn whole
    label(ax, "prediction f(x)", "loss of one sample L(f(x), y)", f"Mean squared error: J = mean = {mean:g}")
    ax.legend(loc="upper center", fontsize=8)
    ax.grid(alpha=0.3)
    return mean


def plot_bce(y_pred: Sequence[float] = LECTURE_BCE["y_pred"], y_true: Sequence[float] = LECTURE_BCE["y_true"],
             *, save: PathLike | None = None) -> "Figure":
    """BCE of one sample against the prediction ``p`` (one curve per label), the given samples marked.

    ``J = -(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]``; the lecture's numbers give ``J = 1.4743``.
    """
    t, p = _as_pair(y_true, y_pred, "plot_bce")
    fig, axes = new_figure(1, 1, figsize=(6.0, 4.2))
    _bce_axes(axes[0, 0], t, p)
    return finish(fig, save, title="A confident wrong answer costs the most")


def plot_mse(y_pred: Sequence[float] = LECTURE_MSE["y_pred"], y_true: Sequence[float] = LECTURE_MSE["y_true"],
             *, save: PathLike | None = None) -> "Figure":
    """Squared error of one sample against the prediction (a parabola per target), the samples marked.

    ``J = (1/n) sum_i (y_i - f(x_i))^2``; the lecture's numbers give ``J = (3600 + 3600 + 0) / 3 = 2400``.
    """
    t, p = _as_pair(y_true, y_pred, "plot_mse")
    fig, axes = new_figure(1, 1, figsize=(6.0, 4.2))
    _mse_axes(axes[0, 0], t, p)
    return finish(fig, save, title="The error grows with the square of the distance")


def plot_losses(*, save: PathLike | None = None) -> "Figure":
    """The lecture's two examples side by side: BCE (classification) and MSE (regression)."""
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.4))
    _bce_axes(axes[0, 0], np.asarray(LECTURE_BCE["y_true"]), np.asarray(LECTURE_BCE["y_pred"]))
    _mse_axes(axes[0, 1], np.asarray(LECTURE_MSE["y_true"]), np.asarray(LECTURE_MSE["y_pred"]))
    return finish(fig, save, title="Quantifying loss: each dot is one sample of the lecture; J is their mean")
