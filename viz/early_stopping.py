"""Every argument of ``EarlyStopping``, each shown by one small training that it stops.

The lecture lists ``tf.keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0, patience=0, verbose=0,
mode='auto', baseline=None, restore_best_weights=False, start_from_epoch=0)``. :func:`early_stopping_runs`
trains the overfitting network of :mod:`microgradx.viz.fitting` (one seed) once without a callback, the
*reference* run, and once per entry of :data:`DEMONSTRATIONS` with the callback it names. Training is
deterministic, so every stopped run repeats the reference run's first epochs exactly: where it stopped can
be read off the reference curve.

=========================  ===================================================================================
argument                   what the run shows
=========================  ===================================================================================
``monitor``                ``"loss"`` (the training loss) keeps improving on the noisy labels: no stop
``min_delta``              only drops larger than ``min_delta`` count as improvements: an earlier stop
``patience``               the number of epochs without improvement that ends training
``verbose``                ``1`` prints ``Epoch N: early stopping`` (and the restore message)
``mode``                   ``"min"`` on ``val_accuracy`` watches the wrong direction: rising accuracy counts as
                           no improvement, and training stops at once
``baseline``               an epoch must also beat ``baseline`` to reset the count: never reached, training
                           stops ``patience`` epochs in
``restore_best_weights``   ``True``: the model ends with the best epoch's weights, not the last epoch's
``start_from_epoch``       epochs before it are ignored: a noisy start cannot trigger ``patience=0``
=========================  ===================================================================================
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ._style import PathLike, finish, label
from .curves import early_stopping_epochs, epoch_limits

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["DEMONSTRATIONS", "StoppedRun", "EarlyStoppingRuns", "early_stopping_runs", "plot_early_stopping_arguments",
           "REFERENCE_EPOCHS", "describe", "SENTENCES"]

#: epochs of the reference run (and the most any demonstration trains).
REFERENCE_EPOCHS = 100

#: argument name -> (EarlyStopping keyword arguments, what the panel says it shows)
DEMONSTRATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "monitor": ({"monitor": "loss", "patience": 5},
                "the training loss keeps falling on the noisy labels"),
    "min_delta": ({"monitor": "val_loss", "patience": 5, "min_delta": 0.01},
                  "drops of less than 0.01 are no improvement"),
    "patience": ({"monitor": "val_loss", "patience": 20},
                 "20 epochs without a new best end training"),
    "verbose": ({"monitor": "val_loss", "patience": 5, "verbose": 1},
                "prints where it stopped"),
    "mode": ({"monitor": "val_accuracy", "patience": 0, "mode": "min"},
             "'min' on an accuracy: rising counts as worse"),
    "baseline": ({"monitor": "val_loss", "patience": 10, "baseline": 0.35},
                 "must get below 0.35 within 10 epochs"),
    "restore_best_weights": ({"monitor": "val_loss", "patience": 20, "restore_best_weights": True},
                             "the model ends with the best epoch's weights"),
    "start_from_epoch": ({"monitor": "val_loss", "patience": 0, "start_from_epoch": 10},
                         "the first 10 epochs are ignored"),
}


@dataclass
class StoppedRun:
    """One demonstration: the callback after ``fit``, the history, what it printed, the final model's scores."""

    kwargs: dict[str, Any]
    stopper: Any
    history: dict[str, list[float]]
    printed: str
    #: (validation loss, validation accuracy) of the model as ``fit`` left it
    final_val: tuple[float, float]

    @property
    def epochs_run(self) -> int:
        return len(self.history["loss"])

    @property
    def marks(self) -> dict[str, int | None]:
        return early_stopping_epochs(self.stopper)


@dataclass
class EarlyStoppingRuns:
    """The reference run (no callback) and one :class:`StoppedRun` per argument of :data:`DEMONSTRATIONS`."""

    reference: dict[str, list[float]]
    runs: dict[str, StoppedRun]


def early_stopping_runs(problem: Any = None, *, config: Mapping | None = None, epochs: int = REFERENCE_EPOCHS,
                        engine: str = "cpu", seed: int = 0,
                        demonstrations: Mapping[str, tuple[dict[str, Any], str]] | None = None) -> EarlyStoppingRuns:
    """Train the reference run and one run per demonstration (the overfitting network, ``seed``)."""
    from microgradx.callbacks import EarlyStopping

    from .fitting import REGIMES, make_problem, train_regime

    problem = make_problem() if problem is None else problem
    config = dict(REGIMES["overfitting"] if config is None else config, epochs=epochs)
    demonstrations = DEMONSTRATIONS if demonstrations is None else demonstrations
    _, reference = train_regime(problem, engine=engine, seed=seed, **config)
    runs = {}
    for name, (kwargs, _) in demonstrations.items():
        stopper = EarlyStopping(**kwargs)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            model, history = train_regime(problem, engine=engine, seed=seed, early_stopping=stopper, **config)
        loss, accuracy = model.evaluate(problem.x_val, problem.y_val, batch_size=len(problem.x_val), verbose=0)
        runs[name] = StoppedRun(dict(kwargs), stopper, {k: [float(v) for v in vs] for k, vs in history.history.items()},
                                printed.getvalue(), (float(loss), float(accuracy)))
    return EarlyStoppingRuns({k: [float(v) for v in vs] for k, vs in reference.history.items()}, runs)


def _call(kwargs: Mapping[str, Any]) -> str:
    return "EarlyStopping(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _outcome(name: str, run: StoppedRun) -> str:
    marks = run.marks
    stopped = f"stopped after epoch {marks['stopped']}" if marks["stopped"] else f"ran all {run.epochs_run} epochs"
    if name == "verbose":
        return f"printed: {run.printed.strip().splitlines()[0]!r}" if run.printed.strip() else stopped
    if name == "restore_best_weights":
        return f"{stopped}; final model = epoch {marks['restored']}: val_loss {run.final_val[0]:.3f}"
    return f"{stopped}; best epoch {marks['best']}"


def plot_early_stopping_arguments(result: EarlyStoppingRuns | None = None, *, save: PathLike | None = None,
                                  **kwargs) -> "Figure":
    """One panel per argument: the monitored quantity of the reference run (grey, all epochs), the stopped
    run over it (coloured), the epoch it stopped after (dotted line) and its best epoch (star)."""
    result = early_stopping_runs(**kwargs) if result is None else result
    from matplotlib.figure import Figure

    names = list(result.runs)
    columns = 4
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(5.2 * columns, 4.0 * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, columns, squeeze=False))
    reference_epochs = list(range(1, len(result.reference["loss"]) + 1))
    for ax, name in zip(axes.ravel(), names):
        run = result.runs[name]
        monitor = run.kwargs.get("monitor", "val_loss")
        ax.plot(reference_epochs, result.reference[monitor], color="0.7", linewidth=1.2,
                label=f"{monitor} without early stopping")
        values = run.history[monitor]
        ax.plot(range(1, len(values) + 1), values, color="tab:blue", linewidth=1.8, label=f"{monitor}, this run")
        marks = run.marks
        if marks["stopped"]:
            line = ax.axvline(marks["stopped"], color="black", linestyle=":", linewidth=1.5,
                              label=f"stopped after epoch {marks['stopped']}")
            line.set_gid("stopped-epoch")
        if marks["best"]:
            ax.plot([marks["best"]], [values[marks["best"] - 1]], marker="*", markersize=13, color="tab:green",
                    markeredgecolor="black", linestyle="none", label=f"best epoch {marks['best']}")
        if run.kwargs.get("baseline") is not None:
            ax.axhline(run.kwargs["baseline"], color="tab:red", linestyle="--", linewidth=1,
                       label=f"baseline {run.kwargs['baseline']:g}")
        if run.kwargs.get("start_from_epoch"):
            ax.axvspan(0.5, run.kwargs["start_from_epoch"] + 0.5, color="tab:orange", alpha=0.15,
                       label="ignored epochs")
        ax.set_xlim(*epoch_limits(reference_epochs))
        label(ax, "epoch", monitor, f"{name}: {DEMONSTRATIONS.get(name, ({}, ''))[1]}\n{_call(run.kwargs)}\n"
                                    f"{_outcome(name, run)}")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6.5, loc="best")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    return finish(fig, save, title="EarlyStopping, argument by argument: each panel is one training of the "
                                   "overfitting network (grey: the same training without the callback)")


#: one sentence per demonstration, formatted with its arguments, its marks and what it measured.
SENTENCES = {
    "monitor": "monitor={monitor!r}: {stop}, the training loss keeps improving on the noisy labels; the validation "
               "loss is what tells overfitting",
    "min_delta": "min_delta={min_delta:g}: smaller drops are no improvement, so the best epoch is {best} and "
                 "training {stop} (patience={patience})",
    "patience": "patience={patience}: {stop}, {patience} epochs after the best epoch {best}; the lowest validation "
                "loss of the full training comes later, at epoch {lowest}, so patience decides how long a dip is "
                "waited out",
    "verbose": "verbose=1 prints {printed!r}",
    "mode": "mode={mode!r} on {monitor}: {stop}, rising accuracy counts as worse ('auto' would have chosen 'max')",
    "baseline": "baseline={baseline:g}: an epoch must also get below it to reset the count; none does in the first "
                "{patience} epochs, so training {stop}",
    "restore_best_weights": "restore_best_weights=True: {stop} and the model keeps epoch {restored}'s weights "
                            "(validation loss {final:.3f}, not the last epoch's {last:.3f})",
    "start_from_epoch": "start_from_epoch={start_from_epoch}: the first {start_from_epoch} epochs are ignored, so "
                        "even patience=0 {stop}",
}


def describe(result: EarlyStoppingRuns) -> str:
    """What the runs of :func:`early_stopping_runs` show, in sentences (:data:`SENTENCES`) built from their numbers."""
    lowest = int(np.argmin(result.reference["val_loss"])) + 1
    parts = []
    for name, run in result.runs.items():
        marks = run.marks
        stop = f"stops after epoch {marks['stopped']}" if marks["stopped"] else f"never stops ({run.epochs_run} epochs)"
        printed = (run.printed.strip().splitlines() or ["nothing"])[0]
        parts.append(SENTENCES[name].format(**run.kwargs, **marks, stop=stop, lowest=lowest, printed=printed,
                                            final=run.final_val[0], last=run.history["val_loss"][-1]))
    return "; ".join(parts) + "."
