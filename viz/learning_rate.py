"""Setting the learning rate: too small, too large and stable; and "Idea I: try lots of learning rates".

**One weight, three rates.** The loss ``J(w) = w^2/2 + 3 exp(-2 (w - 2)^2)`` has its global minimum near
``w = 0`` and a false local minimum at ``w = 2.78`` behind a bump. Gradient descent
``w <- w - eta dJ/dw`` (the library's :class:`~microgradx.optimizers.SGD`) from ``w = 4.5``:

* a **small** rate (0.05) creeps downhill and gets stuck in the false local minimum;
* a **large** rate (2.2) overshoots: far from the bump ``J`` is ``w^2/2``, so each step multiplies ``w`` by
  ``1 - eta = -1.2`` and the iterates jump from side to side with growing amplitude: it diverges;
* a **stable** rate (0.6) jumps over the bump in its first step and then converges smoothly.

**The sweep.** :func:`learning_rate_sweep` trains the same small network once per learning rate. The
trainings are independent, so they run through any :class:`concurrent.futures.Executor`: a process pool on
one machine (the default), a thread pool, or a Dask cluster (``distributed.Client(...).get_executor()``),
all through ``executor.map``. There is no scheduling code of ours.
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "LECTURE_RATES", "START", "loss_1d", "gradient_1d", "descend", "plot_learning_rates",
    "SweepConfig", "SweepResult", "train_with_learning_rate", "learning_rate_sweep", "plot_learning_rate_sweep",
    "DIVERGED_LOSS", "logistic_loss", "logistic_gradient", "plot_gradient_descent", "SWEEP_COLORS", "sweep_style",
    "logistic_minimum",
]

#: the lecture's three regimes on :func:`loss_1d`, in the order of its slide.
LECTURE_RATES = {"small": 0.05, "large": 2.2, "stable": 0.6}
#: where every run on :func:`loss_1d` starts.
START = 4.5
#: a loss above this (or not finite) counts as diverged.
DIVERGED_LOSS = 1e6


def loss_1d(w: np.ndarray | float) -> np.ndarray:
    """``J(w) = w^2/2 + 3 exp(-2 (w - 2)^2)``: a bowl with a bump that makes a false minimum at ``w ~ 2.78``."""
    w = np.asarray(w, dtype=np.float64)
    return 0.5 * w ** 2 + 3.0 * np.exp(-2.0 * (w - 2.0) ** 2)


def gradient_1d(w: np.ndarray | float) -> np.ndarray:
    """``dJ/dw = w - 12 (w - 2) exp(-2 (w - 2)^2)``."""
    w = np.asarray(w, dtype=np.float64)
    return w - 12.0 * (w - 2.0) * np.exp(-2.0 * (w - 2.0) ** 2)


def descend(learning_rate: float, steps: int = 30, start: float = START) -> np.ndarray:
    """Weights ``w_0 .. w_steps`` of plain gradient descent on :func:`loss_1d` with the library's SGD.

    Each step is ``SGD(learning_rate).apply([dJ/dw], [w])``. After divergence (loss above
    :data:`DIVERGED_LOSS`) the remaining entries are NaN.
    """
    from microgradx.optimizers import SGD

    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate={learning_rate!r} must be a positive number")
    optimizer = SGD(learning_rate=float(learning_rate))
    w = np.array([float(start)])
    path = np.full(int(steps) + 1, np.nan)
    path[0] = w[0]
    for k in range(int(steps)):
        optimizer.apply([gradient_1d(w)], [w])
        if not math.isfinite(w[0]) or loss_1d(w[0]) > DIVERGED_LOSS:
            break
        path[k + 1] = w[0]
    return path


def plot_learning_rates(rates: Mapping[str, float] | None = None, *, steps: int = 30, start: float = START,
                        save: PathLike | None = None) -> "Figure":
    """Top: each rate's steps drawn on the loss curve ``J(w)``. Bottom: ``J`` against step (log scale)."""
    rates = dict(LECTURE_RATES if rates is None else rates)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(rates), 7.6), layout="constrained")
    mosaic = [list(rates), ["loss"] * len(rates)]
    axes = fig.subplot_mosaic(mosaic)
    colors = {"small": "tab:blue", "large": "tab:red", "stable": "tab:green"}
    verdicts = {"small": "converges slowly,\nstuck in a false local minimum",
                "large": "overshoots, becomes\nunstable and diverges",
                "stable": "converges smoothly,\navoids the local minimum"}
    for name, rate in rates.items():
        path = descend(rate, steps, start)
        color = colors.get(name, "black")
        ax = axes[name]
        shown = path[np.isfinite(path) & (np.abs(path) <= 12.0)]  # steps that fly further are off the page
        reach = max(6.0, float(np.abs(shown).max()) * 1.05)
        grid = np.linspace(-reach, reach, 600)
        ax.plot(grid, loss_1d(grid), color="grey", linewidth=1.5, label="loss J(w)")
        ax.plot(shown, loss_1d(shown), color=color, marker="o", markersize=4, linewidth=0.8,
                label=f"steps, learning rate η = {rate:g}")
        ax.plot([start], [loss_1d(start)], marker="s", color="black", linestyle="none", label="start")
        ax.set_ylim(-0.5, max(18.0, float(loss_1d(shown).max()) * 1.1))
        label(ax, "weight w", "loss J(w)", f"{name} (η = {rate:g}): {verdicts.get(name, '')}")
        ax.legend(fontsize=7, loc="upper center")
        losses = loss_1d(path)
        axes["loss"].plot(np.arange(len(path)), losses, color=color, marker=".", label=f"{name}: η = {rate:g}")
    axes["loss"].set_yscale("log")
    axes["loss"].axhline(float(loss_1d(2.779)), color="tab:blue", linestyle=":", label="false local minimum")
    label(axes["loss"], "step", "loss J(w) (log scale)", "Loss against step: flat (stuck), exploding, falling")
    axes["loss"].legend(fontsize=8)
    axes["loss"].grid(alpha=0.3)
    return finish(fig, save, title="Setting the learning rate: W ← W − η dJ/dW")


# --------------------------------------------------------------------------- the sweep (Idea I)
@dataclass(frozen=True)
class SweepConfig:
    """One training of the sweep. Plain data, so that it pickles to another process or machine."""

    learning_rate: float
    dataset: str = "moons"
    n_samples: int = 256
    hidden: tuple[int, ...] = (16,)
    optimizer: str = "sgd"
    epochs: int = 30
    batch_size: int = 32
    engine: str = "cpu"
    seed: int = 0


@dataclass(frozen=True)
class SweepResult:
    """What one training of the sweep returns: its config and its ``history.history`` dict."""

    config: SweepConfig
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def learning_rate(self) -> float:
        return self.config.learning_rate

    @property
    def final_loss(self) -> float:
        """The last validation loss (training loss if there was no validation); ``inf`` when diverged."""
        losses = self.history.get("val_loss") or self.history.get("loss") or [math.inf]
        value = float(losses[-1])
        return value if math.isfinite(value) else math.inf

    @property
    def diverged(self) -> bool:
        return not math.isfinite(self.final_loss) or self.final_loss > DIVERGED_LOSS


def train_with_learning_rate(config: SweepConfig) -> SweepResult:
    """Train one model of the sweep (a top-level function, so process pools and Dask can pickle it).

    ``dataset`` (``microgradx.datasets``, shuffled once) split 75/25 into training and validation; Dense ReLU
    layers of ``hidden`` units and a sigmoid output, binary cross-entropy, optimizer ``optimizer`` with
    ``learning_rate``. Batches are taken in order (``shuffle=False``) and the initial weights come from
    ``seed``: the same config gives the same result in any worker.
    """
    from microgradx import datasets, initializers, layers, models, optimizers

    # Everything random draws from generators of this training's own seed (never the global one), so the
    # result does not depend on which worker runs it or what runs beside it in the same process.
    x, y = getattr(datasets, config.dataset)(n=config.n_samples, seed=config.seed)
    order = np.random.default_rng(config.seed).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].reshape(-1, 1).astype(np.float32)
    sizes = list(config.hidden) + [1]
    stack: list = [layers.Input(shape=(x.shape[1],))]
    for k, units in enumerate(sizes):
        stack.append(layers.Dense(units, activation="relu" if k < len(config.hidden) else "sigmoid",
                                  kernel_initializer=initializers.GlorotUniform(seed=config.seed + k)))
    model = models.Sequential(stack)
    model.compile(optimizer=_make_optimizer(optimizers, config.optimizer, config.learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"], engine=config.engine)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, validation_split=0.25,
                            shuffle=False, verbose=0)
    return SweepResult(config, {k: [float(v) for v in vs] for k, vs in history.history.items()})


def _make_optimizer(optimizers, name: str, learning_rate: float):
    classes = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
               "adagrad": optimizers.Adagrad, "adadelta": optimizers.Adadelta}
    if name.lower() not in classes:
        raise ValueError(f"optimizer={name!r} is not one of {sorted(classes)}")
    return classes[name.lower()](learning_rate=float(learning_rate))


def learning_rate_sweep(learning_rates: Sequence[float], *, executor: concurrent.futures.Executor | None = None,
                        max_workers: int | None = None, **config) -> list[SweepResult]:
    """Train one model per learning rate, in parallel through ``executor.map``; results in the given order.

    Args:
        learning_rates: the rates to try, e.g. ``np.logspace(-3, 1, 9)``.
        executor: any :class:`concurrent.futures.Executor` (or an object with the same ``map``, such as a Dask
            ``Client.get_executor()``). ``None`` makes a :class:`~concurrent.futures.ProcessPoolExecutor` of
            ``max_workers`` processes (default: the number of CPUs) with the ``spawn`` start method, used
            for this call only.
        **config: the other fields of :class:`SweepConfig` (dataset, hidden, optimizer, epochs, ...).
    """
    rates = [float(r) for r in learning_rates]
    if not rates or any(not (math.isfinite(r) and r > 0) for r in rates):
        raise ValueError(f"learning_rates={list(learning_rates)!r} must be a non-empty list of positive numbers")
    configs = [SweepConfig(learning_rate=r, **config) for r in rates]
    if executor is not None:
        return list(executor.map(train_with_learning_rate, configs))
    workers = max_workers or min(len(configs), os.cpu_count() or 1)
    context = multiprocessing.get_context("spawn")  # no fork of a process that already runs threads
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(train_with_learning_rate, configs))


#: colours of the sweep's curves, in the order of the rates: neighbours differ clearly in hue or lightness.
SWEEP_COLORS = ("#1b3a8c", "#e08a00", "#3aa0e0", "#8c1b1b", "#2ca02c", "#b37ad6", "#5a5a5a", "#e377c2", "#17becf",
                "#bcbd22")


def sweep_style(index: int) -> tuple[str, str]:
    """``(colour, linestyle)`` of the ``index``-th smallest rate of a sweep (solid, then dashed after 10)."""
    return SWEEP_COLORS[index % len(SWEEP_COLORS)], ("-", "--", ":")[(index // len(SWEEP_COLORS)) % 3]


def plot_learning_rate_sweep(results: Sequence[SweepResult], *, save: PathLike | None = None) -> "Figure":
    """Left: validation loss per epoch for every rate. Right: final loss against rate, the best one starred."""
    if not results:
        raise ValueError("results must be a non-empty list of SweepResult (from learning_rate_sweep)")
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.4))
    curves, summary = axes[0, 0], axes[0, 1]
    rates = np.array([r.learning_rate for r in results])
    key = "val_loss" if "val_loss" in results[0].history else "loss"
    for k, result in enumerate(sorted(results, key=lambda r: r.learning_rate)):
        values = np.asarray(result.history.get(key, []), dtype=float)
        color, style = sweep_style(k)
        curves.plot(np.arange(1, len(values) + 1), values, color=color, linestyle=style,
                    label=f"η = {result.learning_rate:.3g}" + (" (diverged)" if result.diverged else ""))
    curves.set_yscale("log")
    label(curves, "epoch", f"{key.replace('_', ' ')} (log scale)", "Every learning rate, trained in parallel")
    curves.legend(fontsize=7, ncol=2)
    finals = np.array([r.final_loss for r in results])
    finite = np.isfinite(finals)
    summary.plot(rates[finite], finals[finite], marker="o", color="tab:blue", label=f"final {key.replace('_', ' ')}")
    if (~finite).any():
        top = finals[finite].max() if finite.any() else 1.0
        summary.plot(rates[~finite], np.full((~finite).sum(), top), marker="x", color="tab:red",
                     linestyle="none", markersize=10, label="diverged (loss not finite)")
    best = int(np.argmin(np.where(finite, finals, np.inf)))
    summary.plot([rates[best]], [finals[best]], marker="*", markersize=16, color="gold", markeredgecolor="black",
                 linestyle="none", label=f'"just right": η = {rates[best]:.3g}')
    summary.set_xscale("log")
    summary.set_yscale("log")
    label(summary, "learning rate η (log scale)", f"final {key.replace('_', ' ')} (log scale)",
          "Too small: slow. Too large: unstable (worse than untrained).\nIn between: just right")
    summary.legend(fontsize=8)
    summary.grid(alpha=0.3)
    return finish(fig, save, title='Idea I: try lots of learning rates and see what works "just right"')


# --------------------------------------------------------------------------- gradient descent, step by step
def _logistic_problem(seed: int = 0, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float64)
    centers = np.where(y[:, None] == 1.0, np.array([1.0, 0.5]), np.array([-1.0, -0.5]))
    return centers + rng.normal(0.0, 1.0, size=(n, 2)), y


def logistic_loss(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``J(w) = -(1/n) sum_i [y_i log s_i + (1 - y_i) log(1 - s_i)]`` with ``s_i = sigmoid(x_i . w)``.

    ``w`` may be a stack of weight vectors (``(..., 2)``); the result has its leading shape.
    """
    z = np.asarray(w, dtype=np.float64) @ x.T
    # log(sigmoid(z)) = -softplus(-z), log(1 - sigmoid(z)) = -softplus(z), written stably with logaddexp
    return (y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)).mean(axis=-1)


def logistic_gradient(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dJ/dw = (1/n) X^T (sigmoid(X w) - y)``."""
    s = 1.0 / (1.0 + np.exp(-(x @ w)))
    return x.T @ (s - y) / len(y)


def logistic_minimum(x: np.ndarray, y: np.ndarray, *, iterations: int = 50) -> np.ndarray:
    """``W* = argmin J(W)`` of :func:`logistic_loss` by Newton's method ``W <- W - H^-1 dJ/dW`` with
    ``H = (1/n) X^T diag(s (1 - s)) X`` (``J`` is convex, so Newton converges from 0 when the classes overlap)."""
    w = np.zeros(x.shape[1])
    for _ in range(int(iterations)):
        s = 1.0 / (1.0 + np.exp(-(x @ w)))
        hessian = (x * (s * (1.0 - s))[:, None]).T @ x / len(y)
        w = w - np.linalg.solve(hessian, logistic_gradient(w, x, y))
    return w


def plot_gradient_descent(learning_rate: float = 2.0, steps: int = 25, *, start: Sequence[float] = (-3.0, 3.5),
                          seed: int = 0, save: PathLike | None = None) -> "Figure":
    """The lecture's loop on a real loss: a logistic neuron ``sigmoid(w0 x0 + w1 x1)`` on two Gaussian blobs.

    Contours of ``J(w0, w1)``; from the start (the "random" initial weights) each step computes the gradient
    (arrows: ``-dJ/dW``, scaled by ``η``) and moves ``W <- W - η dJ/dW`` with the library's SGD.
    """
    from microgradx.optimizers import SGD

    x, y = _logistic_problem(seed)
    optimizer = SGD(learning_rate=float(learning_rate))
    w = np.array(start, dtype=np.float64)
    path, grads = [w.copy()], []
    for _ in range(int(steps)):
        g = logistic_gradient(w, x, y)
        grads.append(g)
        optimizer.apply([g], [w])
        path.append(w.copy())
    path_array, grad_array = np.array(path), np.array(grads)
    w0, w1 = np.meshgrid(np.linspace(-4, 6, 120), np.linspace(-3, 5, 120))
    surface = logistic_loss(np.stack([w0, w1], axis=-1), x, y)
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.4))
    ax, ax_loss = axes[0, 0], axes[0, 1]
    filled = ax.contourf(w0, w1, surface, levels=25, cmap="viridis")
    fig.colorbar(filled, ax=ax, label="loss J(W)")
    ax.quiver(path_array[:-1, 0], path_array[:-1, 1], -learning_rate * grad_array[:, 0],
              -learning_rate * grad_array[:, 1], angles="xy", scale_units="xy", scale=1, color="white",
              width=0.004, label="step −η ∂J/∂W")
    ax.plot(path_array[:, 0], path_array[:, 1], "o", color="tab:red", markersize=3)
    ax.plot(*path_array[0], marker="s", color="black", markersize=8, linestyle="none", label="random initial W")
    best = logistic_minimum(x, y)
    ax.plot(*best, marker="*", markersize=16, color="gold", markeredgecolor="black", linestyle="none",
            label=f"W* = argmin J(W) = ({best[0]:.2f}, {best[1]:.2f})")
    label(ax, "weight w0", "weight w1", f"{int(steps)} steps opposite to the gradient, towards W*")
    ax.legend(fontsize=8, loc="upper right")
    losses = logistic_loss(path_array, x, y)
    ax_loss.plot(np.arange(len(path_array)), losses, marker=".", color="tab:red", label="J(W) after each step")
    ax_loss.axhline(float(logistic_loss(best, x, y)), color="black", linestyle=":",
                    label=f"J(W*) = {float(logistic_loss(best, x, y)):.4f}")
    ax_loss.legend(fontsize=8)
    label(ax_loss, "step", "loss J(W)", f"The loss falls step by step to {losses[-1]:.4f} (η = {learning_rate:g})")
    ax_loss.grid(alpha=0.3)
    return finish(fig, save, title="Gradient descent: our loss is a function of the network weights")
