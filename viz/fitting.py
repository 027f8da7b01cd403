"""Under-, well- and over-fitting side by side, and what dropout and early stopping change.

One small two-moons problem whose training labels are noisy: a quarter of the 80 training samples carry the
wrong label (:attr:`FitProblem.flipped`), the way careless annotation corrupts a data set. The 500
validation samples are labelled correctly, so validation accuracy measures how well a model learned the
moons, not how well it learned the noise.

* **underfitting**: a single sigmoid neuron (logistic regression) can only draw a straight line;
* **optimal fit**: a modest hidden layer, trained for a moderate number of epochs;
* **overfitting**: a wide two-hidden-layer network trained long on the few samples: its boundary bends
  around the mislabelled points (it answers their wrong label), its training loss keeps falling while the
  validation loss rises and the validation accuracy drops.

Then the overfitting network again with the lecture's two regularisers: **Dropout** (randomly set half of
the hidden activations to 0 during training) and **EarlyStopping** (stop when ``val_loss`` has not improved
for ``patience`` epochs and restore the best epoch's weights).

Each training is repeated for the seeds :data:`SEEDS` (initial weights and dropout masks; the data stay the
same): the curves are the mean over the seeds, the band runs from the lowest to the highest seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure
from .boundaries import draw_decision_boundary
from .curves import early_stopping_epochs, epoch_limits

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FitProblem", "make_problem", "train_regime", "REGIMES", "SEEDS", "SeedRuns", "train_seeds",
           "plot_fitting_regimes", "plot_regularization", "regularization_runs", "plot_dropout_noise_shapes",
           "NOISE_SHAPES"]

#: the seeds every picture averages over (initial weights, dropout masks).
SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class FitProblem:
    """Training and validation data of the fitting pictures; ``flipped`` marks the mislabelled training samples."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    flipped: np.ndarray | None = None


def make_problem(n_train: int = 80, n_val: int = 500, noise: float = 0.2, flip: float = 0.25,
                 seed: int = 0) -> FitProblem:
    """Two moons: ``n_train`` training samples of which a fraction ``flip`` get the wrong label, and
    ``n_val`` correctly labelled validation samples from the same distribution."""
    from microgradx import datasets

    if not 0.0 <= flip < 0.5:
        raise ValueError(f"flip={flip!r} must be a fraction of labels in [0, 0.5)")
    x, y = datasets.moons(n=n_train + n_val, noise=noise, seed=seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    train, val = order[:n_train], order[n_train:]
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.permutation(n_train)[:int(round(flip * n_train))]] = True
    y_train = np.where(flipped[:, None], 1.0 - y[train], y[train]).astype(np.float32)
    return FitProblem(x[train], y_train, x[val], y[val], flipped)


#: the three regimes: hidden layer sizes, epochs and learning rate of Adam (full batch).
REGIMES = {
    "underfitting": {"hidden": (), "epochs": 100, "learning_rate": 0.05},
    "optimal fit": {"hidden": (16,), "epochs": 100, "learning_rate": 0.03},
    "overfitting": {"hidden": (64, 64), "epochs": 400, "learning_rate": 0.02},
}


def train_regime(problem: FitProblem, hidden: tuple[int, ...], epochs: int, learning_rate: float, *,
                 dropout: float = 0.0, noise_shape: Sequence[int | None] | None = None, early_stopping: Any = None,
                 engine: str = "cpu", seed: int = 0) -> tuple[Any, Any]:
    """Train a ReLU MLP (``Dropout(dropout, noise_shape)`` after each hidden layer when ``dropout > 0``)
    full-batch with Adam on ``problem``, validating on its validation set; returns ``(model, history)``."""
    from microgradx import layers, models, optimizers, utils

    utils.set_random_seed(seed)
    stack: list = [layers.Input(shape=(2,))]
    for units in hidden:
        stack.append(layers.Dense(units, activation="relu"))
        if dropout > 0:
            stack.append(layers.Dropout(dropout, noise_shape=noise_shape, seed=seed))
    stack.append(layers.Dense(1, activation="sigmoid"))
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"], engine=engine)
    history = model.fit(problem.x_train, problem.y_train, batch_size=len(problem.x_train), epochs=epochs,
                        validation_data=(problem.x_val, problem.y_val), verbose=0,
                        callbacks=[early_stopping] if early_stopping is not None else None)
    return model, history


@dataclass
class SeedRuns:
    """One configuration trained once per seed: the models, their histories and final scores."""

    seeds: tuple[int, ...]
    models: list[Any]
    histories: list[dict[str, list[float]]]
    #: per seed, (loss, accuracy) of the final model (the restored weights under early stopping)
    train_scores: np.ndarray
    val_scores: np.ndarray
    stoppers: list[Any]

    def curve(self, key: str) -> np.ndarray:
        """``key``'s per-epoch values, one row per seed, NaN after a seed's last epoch."""
        longest = max(len(h[key]) for h in self.histories)
        out = np.full((len(self.histories), longest), np.nan)
        for row, h in zip(out, self.histories):
            row[:len(h[key])] = h[key]
        return out

    def answers_flipped(self, problem: FitProblem) -> np.ndarray:
        """Per seed: the fraction of mislabelled training samples the model answers with their wrong label."""
        if problem.flipped is None or not problem.flipped.any():
            return np.zeros(len(self.models))
        x, y = problem.x_train[problem.flipped], problem.y_train[problem.flipped].reshape(-1)
        return np.array([((np.asarray(m.predict(x, verbose=0)).reshape(-1) >= 0.5) == (y >= 0.5)).mean()
                         for m in self.models])


def _scores(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    loss, accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0)
    return float(loss), float(accuracy)


def train_seeds(problem: FitProblem, config: Mapping, *, seeds: Sequence[int] = SEEDS, engine: str = "cpu",
                patience: int | None = None, **extra) -> SeedRuns:
    """:func:`train_regime` once per seed (with a fresh ``EarlyStopping(patience, restore_best_weights=True)``
    per seed when ``patience`` is given)."""
    from microgradx.callbacks import EarlyStopping

    models, histories, train_scores, val_scores, stoppers = [], [], [], [], []
    for seed in seeds:
        stopper = None if patience is None else EarlyStopping(monitor="val_loss", patience=patience,
                                                              restore_best_weights=True)
        model, history = train_regime(problem, engine=engine, seed=seed, early_stopping=stopper, **config, **extra)
        models.append(model)
        histories.append({k: [float(v) for v in vs] for k, vs in history.history.items()})
        train_scores.append(_scores(model, problem.x_train, problem.y_train))
        val_scores.append(_scores(model, problem.x_val, problem.y_val))
        stoppers.append(stopper)
    return SeedRuns(tuple(seeds), models, histories, np.array(train_scores), np.array(val_scores), stoppers)


def _band(ax, values: np.ndarray, color: str, label_text: str, linestyle: str = "-") -> None:
    epochs = np.arange(1, values.shape[1] + 1)
    with np.errstate(all="ignore"):
        ax.fill_between(epochs, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color, alpha=0.18,
                        linewidth=0)
        ax.plot(epochs, np.nanmean(values, axis=0), color=color, linestyle=linestyle, label=label_text)


def _curves(ax, runs: SeedRuns, title: str) -> None:
    n = len(runs.seeds)
    _band(ax, runs.curve("loss"), "tab:blue", f"training loss (mean of {n} seeds)")
    _band(ax, runs.curve("val_loss"), "tab:orange", f"validation loss (mean of {n} seeds)", "--")
    restored = [early_stopping_epochs(s)["restored"] for s in runs.stoppers if s is not None]
    if restored:
        ax.plot(restored, [runs.histories[k]["val_loss"][e - 1] for k, e in enumerate(restored)], "v",
                color="tab:green", markeredgecolor="black", linestyle="none", label="restored epoch of each seed")
    label(ax, "epoch", "binary cross-entropy", title)
    ax.set_xlim(*epoch_limits(range(1, runs.curve("loss").shape[1] + 1)))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _ring_flipped(ax, problem: FitProblem) -> None:
    if problem.flipped is not None and problem.flipped.any():
        x = problem.x_train[problem.flipped]
        ax.scatter(x[:, 0], x[:, 1], s=70, facecolors="none", edgecolors="black", linewidths=1.2,
                   label="wrong label (noise)")
        ax.legend(fontsize=7, loc="lower right")


def _percent(values: np.ndarray) -> str:
    return f"{values.mean():.0%} ({values.min():.0%}–{values.max():.0%})"


def plot_fitting_regimes(problem: FitProblem | None = None, *, regimes: Mapping[str, Mapping] | None = None,
                         seeds: Sequence[int] = SEEDS, engine: str = "cpu", runs: Mapping[str, SeedRuns] | None = None,
                         save: PathLike | None = None) -> "Figure":
    """Top row: the decision boundary of each regime (first seed) over the training samples, with its training
    and validation accuracy. Bottom row: training and validation loss per epoch, mean over ``seeds`` with the
    spread as a band, and the validation accuracy's mean (lowest–highest)."""
    problem = make_problem() if problem is None else problem
    regimes = REGIMES if regimes is None else regimes
    if runs is None:
        runs = {name: train_seeds(problem, config, seeds=seeds, engine=engine) for name, config in regimes.items()}
    fig, axes = new_figure(2, len(regimes), figsize=(5.2 * len(regimes), 8.8))
    for column, (name, config) in enumerate(regimes.items()):
        run = runs[name]
        hidden = config["hidden"]
        shape = "one neuron" if not hidden else "hidden " + "-".join(map(str, hidden))
        draw_decision_boundary(axes[0, column], run.models[0], problem.x_train, problem.y_train, show_accuracy=False,
                               title=f"{name} ({shape}), seed {run.seeds[0]}:\ntraining accuracy "
                                     f"{run.train_scores[0, 1]:.0%}, validation accuracy {run.val_scores[0, 1]:.0%}")
        _ring_flipped(axes[0, column], problem)
        _curves(axes[1, column], run, f"{name}: validation accuracy {_percent(run.val_scores[:, 1])}")
    return finish(fig, save, title=f"Underfitting (too simple), optimal fit, overfitting (bends around the "
                                   f"wrong labels, loses validation accuracy); {len(seeds)} seeds, band = spread")


def plot_regularization(problem: FitProblem | None = None, *, dropout: float = 0.5, patience: int = 20,
                        config: Mapping | None = None, seeds: Sequence[int] = SEEDS, engine: str = "cpu",
                        runs: Mapping[str, SeedRuns] | None = None, save: PathLike | None = None) -> "Figure":
    """The overfitting network three ways: plain, with Dropout, with EarlyStopping (restore best weights),
    each trained once per seed. Top: boundaries (first seed); bottom: loss curves, mean and spread.

    ``config`` (hidden, epochs, learning_rate) defaults to ``REGIMES["overfitting"]``; ``runs`` (as returned
    by :func:`regularization_runs`) skips the training.
    """
    problem = make_problem() if problem is None else problem
    config = REGIMES["overfitting"] if config is None else config
    if runs is None:
        runs = regularization_runs(problem, dropout=dropout, patience=patience, config=config, seeds=seeds,
                                   engine=engine)
    fig, axes = new_figure(2, len(runs), figsize=(5.2 * len(runs), 8.8))
    for column, (name, run) in enumerate(runs.items()):
        draw_decision_boundary(axes[0, column], run.models[0], problem.x_train, problem.y_train, show_accuracy=False,
                               title=f"{name}, seed {run.seeds[0]}:\nvalidation loss {run.val_scores[0, 0]:.3f}, "
                                     f"validation accuracy {run.val_scores[0, 1]:.0%}")
        _ring_flipped(axes[0, column], problem)
        _curves(axes[1, column], run, f"{name}: final model's validation loss\n{run.val_scores[:, 0].mean():.3f} "
                                      f"(mean), accuracy {_percent(run.val_scores[:, 1])}")
    return finish(fig, save, title="Regularisation: dropout slows the memorising, early stopping keeps the "
                                   f"weights from before the overfitting ({len(seeds)} seeds, band = spread)")


def regularization_runs(problem: FitProblem, *, dropout: float = 0.5, patience: int = 20,
                        config: Mapping | None = None, seeds: Sequence[int] = SEEDS, engine: str = "cpu",
                        plain: SeedRuns | None = None) -> dict[str, SeedRuns]:
    """The three trainings of :func:`plot_regularization`, by panel name (``plain``: the unregularised runs of
    the same config and seeds, when already trained)."""
    config = REGIMES["overfitting"] if config is None else config
    return {
        "no regularisation": train_seeds(problem, config, seeds=seeds, engine=engine) if plain is None else plain,
        f"Dropout({dropout:g})": train_seeds(problem, config, seeds=seeds, engine=engine, dropout=dropout),
        f"EarlyStopping(patience={patience})": train_seeds(problem, config, seeds=seeds, engine=engine,
                                                           patience=patience),
    }


#: the masks :func:`plot_dropout_noise_shapes` draws: Keras' ``noise_shape`` for a ``(batch, units)`` input.
NOISE_SHAPES = {"noise_shape=None: each activation on its own": None,
                "noise_shape=(None, 1): whole samples": (None, 1),
                "noise_shape=(1, None): the same units for the whole batch": (1, None)}


def plot_dropout_noise_shapes(rate: float = 0.5, batch: int = 8, units: int = 16, seed: int = 2, *,
                              save: PathLike | None = None) -> "Figure":
    """What ``Dropout(rate, noise_shape)`` multiplies a ``(batch, units)`` block of ones by in training:
    black = dropped (0), white = kept and scaled by ``1 / (1 - rate)``."""
    from microgradx.layers import Dropout

    fig, axes = new_figure(1, len(NOISE_SHAPES), figsize=(4.6 * len(NOISE_SHAPES), 3.4))
    for ax, (name, shape) in zip(axes[0], NOISE_SHAPES.items()):
        out = Dropout(rate, noise_shape=shape, seed=seed)(np.ones((batch, units)), training=True)
        ax.imshow(out, cmap="gray", vmin=0.0, vmax=1.0 / (1.0 - rate), aspect="auto")
        label(ax, "unit (feature)", "sample in the batch", f"{name}\n{(out == 0).mean():.0%} dropped")
    return finish(fig, save, title=f"Dropout({rate:g}) masks of one training step: black = set to 0, "
                                   f"white = kept (× {1 / (1 - rate):g})")
