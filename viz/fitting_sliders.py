"""The fitting slider demo: a small network on noisy two moons, with sliders for the noise, the width, the
dropout rate and the patience of early stopping (patience replays ``EarlyStopping`` on the recorded
validation losses: no retraining). A spec for :mod:`microgradx.viz.sliders`, listed with the other demos in
:mod:`microgradx.viz.slider_demos`."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import sliders as sl
from .sliders import contour_lines

__all__ = ["FITTING_CONTROLS", "fitting_spec", "replay_early_stopping"]


#: the fitting demo's sliders: (name, label, values, initial index)
FITTING_CONTROLS = (
    ("noise", "noise", (0.1, 0.25, 0.4), 1),
    ("width", "hidden units per layer", (4, 16, 64), 2),
    ("dropout", "dropout rate", (0.0, 0.5), 0),
    ("patience", "patience", (5, 20, 60), 1),
)


def replay_early_stopping(val_losses: Sequence[float], patience: int) -> tuple[int, int]:
    """Drive the library's ``EarlyStopping(patience=...)`` over recorded validation losses, as ``fit`` would:
    ``(epochs run, best epoch)``, both counted from 1."""
    from microgradx.callbacks import EarlyStopping

    class _Recorded:
        stop_training = False

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

    stopper, model = EarlyStopping(monitor="val_loss", patience=int(patience)), _Recorded()
    stopper.set_model(model)
    stopper.on_train_begin()
    epochs = 0
    for epoch, loss in enumerate(val_losses):
        epochs += 1
        stopper.on_epoch_end(epoch, {"val_loss": float(loss)})
        if model.stop_training:
            break
    return epochs, stopper.best_epoch + 1


def _accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    p = np.asarray(model.predict(x, batch_size=len(x), verbose=0)).reshape(-1)
    return float(np.mean((p > 0.5) == (y.reshape(-1) > 0.5)))


def fitting_spec(*, controls: Sequence[tuple] = FITTING_CONTROLS, n_train: int = 40, n_val: int = 300,
                 epochs: int = 200, learning_rate: float = 0.03, grid: int = 40, seed: int = 0,
                 engine: str = "cpu") -> dict[str, Any]:
    """A two-layer ReLU network (``width`` units per layer) trained full-batch with Adam on ``n_train`` noisy
    two-moons samples, validated on ``n_val``; sliders for noise, width, dropout and patience.

    One training per (noise, width, dropout), recording the weights after every epoch; the patience slider
    replays ``EarlyStopping`` on the recorded validation losses and shows the restored epoch's boundary."""
    from .fitting import make_problem

    names = [c[0] for c in controls]
    if names != ["noise", "width", "dropout", "patience"]:
        raise ValueError(f"controls must be noise, width, dropout, patience in this order, got {names}")
    (_, _, noises, _), (_, _, widths, _), (_, _, rates, _), (_, _, patiences, _) = controls
    spec_controls = [sl.control(name, label, list(values), [f"{v:g}" for v in values], index)
                     for name, label, values, index in controls]
    problems = [make_problem(n_train=n_train, n_val=n_val, noise=noise, flip=0.0, seed=seed) for noise in noises]
    runs = {(a, b, c): _record_run(problems[a], widths[b], epochs, learning_rate, rates[c], seed, engine)
            for a in range(len(noises)) for b in range(len(widths)) for c in range(len(rates))}
    colors = {0: "#0072B2", 1: "#E69F00"}

    def view(a: int) -> tuple[np.ndarray, np.ndarray]:
        problem = problems[a]
        both = np.vstack([problem.x_train, problem.x_val])
        return both.min(axis=0) - 0.3, both.max(axis=0) + 0.3

    def samples(a: int) -> dict[str, Any]:
        problem, (lo, hi) = problems[a], view(a)
        dots = [sl.point(x, y, colors[int(t)], size=3.6, label=f"training sample, class {int(t)}")
                for (x, y), t in zip(problem.x_train, problem.y_train.reshape(-1))]
        return sl.part({0: {"points": dots, "xlim": [float(lo[0]), float(hi[0])],
                            "ylim": [float(lo[1]), float(hi[1])]}})

    def curves(a: int, b: int, c: int) -> dict[str, Any]:
        logs = runs[a, b, c]["history"]
        axis = np.arange(1, len(logs["loss"]) + 1)
        top = max(max(logs["loss"]), max(logs["val_loss"]))
        every = max(1, len(axis) // 100)
        return sl.part({1: {"lines": [sl.line(np.column_stack([axis, logs["loss"]])[::every], "#0072B2",
                                              label="training loss"),
                                      sl.line(np.column_stack([axis, logs["val_loss"]])[::every], "#0072B2",
                                              dash="5 3", label="validation loss")],
                            "ylim": [0.0, float(min(3.0, 1.05 * top))]}})

    def restored(a: int, b: int, c: int, d: int) -> dict[str, Any]:
        run, problem, (lo, hi) = runs[a, b, c], problems[a], view(a)
        stopped, best = replay_early_stopping(run["history"]["val_loss"], patiences[d])
        model = run["model"]
        model.set_weights(run["weights"][best - 1])
        gx, gy = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
        mesh = np.column_stack([m.ravel() for m in np.meshgrid(gx, gy)]).astype(np.float32)
        prob = np.asarray(model.predict(mesh, batch_size=len(mesh), verbose=0)).reshape(grid, grid)
        train_acc, val_acc = _accuracy(model, problem.x_train, problem.y_train), _accuracy(model, problem.x_val,
                                                                                            problem.y_val)
        boundary = contour_lines(gx, gy, prob, [0.5], color="#222")
        for piece in boundary:
            piece["width"] = 2.2
        if boundary:
            boundary[0]["label"] = "boundary p = 0.5 (restored weights)"
        final = run["final"]
        text = (f"noise {noises[a]:g}, {widths[b]}-{widths[b]} ReLU units, dropout {rates[c]:g}, patience "
                f"{patiences[d]}: stopped after epoch {stopped} of {epochs}, restored epoch {best} (validation loss "
                f"{run['history']['val_loss'][best - 1]:.3f}): training accuracy {train_acc:.0%}, validation "
                f"accuracy {val_acc:.0%}. Without early stopping, after all {epochs} epochs: training "
                f"{final['train']:.0%}, validation {final['val']:.0%} (validation loss "
                f"{run['history']['val_loss'][-1]:.3f}).")
        return sl.part({0: {"lines": boundary, "title": f"restored epoch {best}: training {train_acc:.0%}, "
                                                         f"validation {val_acc:.0%}"},
                        1: {"vlines": [sl.vline(best, "#009E73", label="restored (best) epoch", dash="none"),
                                       sl.vline(stopped, "#555", label="epoch where training stopped")]}},
                       text, {"stopped": stopped, "best": best, "train": train_acc, "val": val_acc,
                              "val_loss": run["history"]["val_loss"][best - 1],
                              "final_train": final["train"], "final_val": final["val"],
                              "final_val_loss": run["history"]["val_loss"][-1],
                              "min_val_loss": min(run["history"]["val_loss"])})

    panels = [{"title": "", "xlabel": "x1", "ylabel": "x2", "xlim": [-1.5, 2.5], "ylim": [-1, 1.5]},
              {"title": "Loss per epoch (the whole run)", "xlabel": "epoch", "ylabel": "binary cross-entropy",
               "xlim": [0, epochs], "ylim": [0, 1]}]
    sizes = [len(noises), len(widths), len(rates), len(patiences)]
    layers = [sl.layer([0], samples, sizes[:1]), sl.layer([0, 1, 2], curves, sizes[:3]),
              sl.layer([0, 1, 2, 3], restored, sizes)]
    return sl.make_spec("Fitting: move the noise, the width, the dropout rate and the patience", spec_controls,
                        panels, layers)


def _record_run(problem, width: int, epochs: int, learning_rate: float, dropout: float, seed: int,
                engine: str) -> dict[str, Any]:
    """One run of :func:`~microgradx.viz.fitting.train_regime` (hidden ``(width, width)``) that records the
    weights after every epoch, and the final accuracies."""
    from microgradx.callbacks import Callback

    from .fitting import train_regime

    class Snapshots(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.weights: list[list[np.ndarray]] = []

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            self.weights.append([w.copy() for w in self.model.get_weights()])

    snapshots = Snapshots()
    model, history = train_regime(problem, (width, width), epochs, learning_rate, dropout=dropout,
                                  early_stopping=snapshots, engine=engine, seed=seed)
    final = {"train": _accuracy(model, problem.x_train, problem.y_train),
             "val": _accuracy(model, problem.x_val, problem.y_val)}
    return {"model": model, "history": history.history, "weights": snapshots.weights, "final": final}
