"""Under-, well- and over-fitting side by side, and what dropout and early stopping change.

One small, noisy two-moons problem (few training samples, many validation samples):

* **underfitting**: a single sigmoid neuron (logistic regression) can only draw a straight line;
* **optimal fit**: a modest hidden layer, trained for a moderate number of epochs;
* **overfitting**: a wide two-hidden-layer network trained for long on the few samples: its boundary
  bends around single noisy points, the training loss keeps falling while the validation loss rises.

Then the overfitting network again with the lecture's two regularisers: **Dropout** (randomly set half of
the hidden activations to 0 during training) and **EarlyStopping** (stop when ``val_loss`` has not improved
for ``patience`` epochs and restore the best epoch's weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ._style import PathLike, finish, label, new_figure
from .boundaries import draw_decision_boundary
from .curves import early_stopping_epochs

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FitProblem", "make_problem", "train_regime", "REGIMES", "plot_fitting_regimes", "plot_regularization"]


@dataclass(frozen=True)
class FitProblem:
    """Training and validation data of the fitting pictures."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def make_problem(n_train: int = 40, n_val: int = 400, noise: float = 0.2, seed: int = 0) -> FitProblem:
    """A few noisy two-moons training samples and many validation samples from the same distribution."""
    from microgradx import datasets

    x, y = datasets.moons(n=n_train + n_val, noise=noise, seed=seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    order = np.random.default_rng(seed).permutation(len(x))
    train, val = order[:n_train], order[n_train:]
    return FitProblem(x[train], y[train], x[val], y[val])


#: the three regimes: hidden layer sizes, epochs and learning rate of Adam. On ``make_problem()`` their final
#: validation losses are about 0.31 (underfitting), 0.23 (optimal fit, stopped near its lowest validation
#: loss) and 0.72 (overfitting).
REGIMES = {
    "underfitting": {"hidden": (), "epochs": 60, "learning_rate": 0.05},
    "optimal fit": {"hidden": (16,), "epochs": 60, "learning_rate": 0.03},
    "overfitting": {"hidden": (64, 64), "epochs": 250, "learning_rate": 0.01},
}


def train_regime(problem: FitProblem, hidden: tuple[int, ...], epochs: int, learning_rate: float, *,
                 dropout: float = 0.0, early_stopping: Any = None, engine: str = "cpu",
                 seed: int = 0) -> tuple[Any, Any]:
    """Train a ReLU MLP (``Dropout(dropout)`` after each hidden layer when ``dropout > 0``) full-batch with
    Adam on ``problem``, validating on its validation set; returns ``(model, history)``."""
    from microgradx import layers, models, optimizers, utils

    utils.set_random_seed(seed)
    stack: list = [layers.Input(shape=(2,))]
    for units in hidden:
        stack.append(layers.Dense(units, activation="relu"))
        if dropout > 0:
            stack.append(layers.Dropout(dropout, seed=seed))
    stack.append(layers.Dense(1, activation="sigmoid"))
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"], engine=engine)
    history = model.fit(problem.x_train, problem.y_train, batch_size=len(problem.x_train), epochs=epochs,
                        validation_data=(problem.x_val, problem.y_val), verbose=0,
                        callbacks=[early_stopping] if early_stopping is not None else None)
    return model, history


def _curves(ax, history, title: str, early_stopping: Any = None) -> None:
    logs = history.history
    epochs = np.arange(1, len(logs["loss"]) + 1)
    ax.plot(epochs, logs["loss"], color="tab:blue", label="training loss")
    ax.plot(epochs, logs["val_loss"], color="tab:blue", linestyle="--", label="validation loss")
    if early_stopping is not None:
        marks = early_stopping_epochs(early_stopping)
        if marks["restored"]:
            ax.axvline(marks["restored"], color="tab:green", label=f"restored epoch {marks['restored']}")
    label(ax, "epoch", "binary cross-entropy", title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def plot_fitting_regimes(problem: FitProblem | None = None, *, regimes: Mapping[str, Mapping] | None = None,
                         engine: str = "cpu", seed: int = 0, save: PathLike | None = None) -> "Figure":
    """Top row: decision boundaries of the three regimes over the training samples. Bottom row: their
    training and validation loss per epoch. ``regimes`` defaults to :data:`REGIMES`."""
    problem = make_problem(seed=seed) if problem is None else problem
    regimes = REGIMES if regimes is None else regimes
    fig, axes = new_figure(2, len(regimes), figsize=(5.0 * len(regimes), 8.4))
    for column, (name, config) in enumerate(regimes.items()):
        model, history = train_regime(problem, engine=engine, seed=seed, **config)
        hidden = config["hidden"]
        shape = "one neuron" if not hidden else "hidden " + "-".join(map(str, hidden))
        draw_decision_boundary(axes[0, column], model, problem.x_train, problem.y_train,
                               title=f"{name} ({shape}), training")
        val = history.history["val_loss"][-1]
        _curves(axes[1, column], history, f"{name}: final validation loss {val:.3f}")
    return finish(fig, save, title="Underfitting (too simple), optimal fit, overfitting (memorises the noise: "
                                   "validation loss rises)")


def plot_regularization(problem: FitProblem | None = None, *, dropout: float = 0.5, patience: int = 20,
                        config: Mapping | None = None, engine: str = "cpu", seed: int = 0,
                        save: PathLike | None = None) -> "Figure":
    """The overfitting network three ways: plain, with Dropout, with EarlyStopping (restore best weights).

    ``config`` (hidden, epochs, learning_rate) defaults to ``REGIMES["overfitting"]``.
    """
    from microgradx.callbacks import EarlyStopping

    problem = make_problem(seed=seed) if problem is None else problem
    config = REGIMES["overfitting"] if config is None else config
    stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    runs = [
        ("no regularisation", {}, None),
        (f"Dropout({dropout:g})", {"dropout": dropout}, None),
        (f"EarlyStopping(patience={patience})", {"early_stopping": stopper}, stopper),
    ]
    fig, axes = new_figure(2, 3, figsize=(15.0, 8.4))
    for column, (name, extra, callback) in enumerate(runs):
        model, history = train_regime(problem, engine=engine, seed=seed, **config, **extra)
        loss = model.evaluate(problem.x_val, problem.y_val, batch_size=len(problem.x_val), verbose=0)
        loss = float(loss[0] if isinstance(loss, (list, tuple)) else loss)
        draw_decision_boundary(axes[0, column], model, problem.x_train, problem.y_train, title=name)
        _curves(axes[1, column], history, f"{name}: validation loss of the final model {loss:.3f}", callback)
    return finish(fig, save, title="Regularisation: dropout slows the memorising, early stopping keeps the "
                                   "weights from before the overfitting")
