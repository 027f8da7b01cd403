"""``ReduceLROnPlateau``'s learning rate over the epochs of a real training run.

The small two-moons network of :mod:`microgradx.viz.fitting` ("optimal fit") trains with Adam at a high
learning rate; :class:`~microgradx.callbacks.ReduceLROnPlateau` watches the validation loss and multiplies the
rate by ``factor`` whenever it has not improved by more than ``min_delta`` for ``patience`` epochs. The
callback writes the rate each epoch trained with into ``history["learning_rate"]``, which is what the
lower panel draws (a step on a log scale); the upper panel shows the losses that triggered each cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PLATEAU", "plateau_run", "reduction_epochs", "plot_reduce_lr_on_plateau"]

#: the run's settings: Adam's starting rate and the callback's arguments.
PLATEAU = {"learning_rate": 0.1, "epochs": 120, "factor": 0.5, "patience": 8, "min_delta": 1e-4, "min_lr": 1e-4}


def plateau_run(*, seed: int = 0, engine: str = "cpu", settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train with ReduceLROnPlateau; returns ``{"history": ..., "settings": ...}``."""
    from microgradx import callbacks, layers, models, optimizers, utils

    from .fitting import make_problem

    settings = {**PLATEAU, **(settings or {})}
    problem = make_problem(seed=seed)
    utils.set_random_seed(seed)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(16, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=settings["learning_rate"]), loss="binary_crossentropy",
                  engine=engine)
    reducer = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=settings["factor"],
                                          patience=settings["patience"], min_delta=settings["min_delta"],
                                          min_lr=settings["min_lr"])
    history = model.fit(problem.x_train, problem.y_train, batch_size=len(problem.x_train),
                        epochs=settings["epochs"], validation_data=(problem.x_val, problem.y_val), verbose=0,
                        callbacks=[reducer])
    return {"history": history.history, "settings": settings}


def reduction_epochs(history: Mapping[str, list]) -> list[int]:
    """The 1-based epochs whose rate is lower than the epoch before's (a cut took effect there)."""
    rates = history["learning_rate"]
    return [e + 1 for e in range(1, len(rates)) if rates[e] < rates[e - 1]]


def plot_reduce_lr_on_plateau(run: Mapping[str, Any] | None = None, *, save: PathLike | None = None) -> "Figure":
    """Top: training (solid) and validation (dashed) loss per epoch, cuts marked. Bottom: the learning rate."""
    if run is None:
        run = plateau_run()
    history, settings = run["history"], run["settings"]
    epochs = np.arange(1, len(history["loss"]) + 1)
    cuts = reduction_epochs(history)
    fig, axes = new_figure(2, 1, figsize=(8.0, 6.0), sharex=True)
    top, bottom = axes[0][0], axes[1][0]
    top.plot(epochs, history["loss"], color="tab:blue", label="training loss")
    top.plot(epochs, history["val_loss"], color="tab:blue", linestyle="--", label="validation loss")
    bottom.step(epochs, history["learning_rate"], where="post", color="tab:purple", label="learning rate")
    for i, cut in enumerate(cuts):
        for ax in (top, bottom):
            ax.axvline(cut, color="grey", linestyle=":", linewidth=1,
                       label="rate cut" if (i == 0 and ax is top) else None)
    bottom.set_yscale("log")
    label(top, "", "loss", f"ReduceLROnPlateau(factor={settings['factor']}, patience={settings['patience']})")
    label(bottom, "epoch", "learning rate", None)
    for ax in (top, bottom):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    title = (f"Each time the validation loss stalls for {settings['patience']} epochs, the learning rate is "
             f"multiplied by {settings['factor']}")
    return finish(fig, save, title=title)
