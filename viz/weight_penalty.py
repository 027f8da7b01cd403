"""L2 weight penalty against none, on the overfitting network of :mod:`microgradx.viz.fitting`.

The same 2-64-64-1 ReLU network, the same few noisy two-moons samples and the same Adam run as the
"overfitting" regime, once plain and once with ``kernel_regularizer=L2(l2)`` on every Dense layer (the
penalty ``l2 * sum W**2`` joins the training loss, so its gradient ``2 * l2 * W`` pulls every weight
towards 0: micrograd's ``alpha * sum(p**2)``). The curves show the **cross-entropy alone** (a metric), not
Keras' reported ``loss``, which includes the penalty: the two runs are then compared on the same number.
Averaged over several datasets (seeds), since one small noisy sample can mislead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["L2_FACTOR", "train_with_penalty", "penalty_comparison", "plot_weight_penalty", "penalty_caption"]

#: the L2 factor of the comparison: on ``fitting.make_problem(seed)`` for seeds 0-2 it lowers the final
#: validation cross-entropy of the overfitting network in every seed (asserted in tests/test_viz_penalty.py).
L2_FACTOR = 1e-3


def _cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-sample binary cross-entropy, the data term of the loss (a metric, so the penalty stays out)."""
    from microgradx import losses

    return losses.BinaryCrossentropy(reduction="none")(y_true, y_pred)


def train_with_penalty(problem: Any, l2: float, *, hidden: Sequence[int] = (64, 64), epochs: int = 250,
                       learning_rate: float = 0.01, seed: int = 0, engine: str = "cpu") -> tuple[Any, dict]:
    """Train the overfitting network with ``L2(l2)`` on every kernel (none when ``l2 == 0``); returns the model
    and its history, whose ``cross_entropy``/``val_cross_entropy`` are the data term alone."""
    from microgradx import layers, models, optimizers, regularizers, utils

    def cross_entropy(y_true, y_pred):
        return _cross_entropy(y_true, y_pred)

    utils.set_random_seed(seed)
    penalty = regularizers.L2(l2) if l2 else None
    stack: list = [layers.Input(shape=(2,))]
    stack += [layers.Dense(units, activation="relu", kernel_regularizer=penalty) for units in hidden]
    stack.append(layers.Dense(1, activation="sigmoid", kernel_regularizer=penalty))
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=[cross_entropy], engine=engine)
    history = model.fit(problem.x_train, problem.y_train, batch_size=len(problem.x_train), epochs=epochs,
                        validation_data=(problem.x_val, problem.y_val), verbose=0)
    return model, history.history


def penalty_comparison(seeds: Sequence[int] = (0, 1, 2), *, l2: float = L2_FACTOR, epochs: int = 250,
                       engine: str = "cpu") -> dict[str, Any]:
    """Histories without and with ``L2(l2)`` on ``fitting.make_problem(seed)`` for each seed:
    ``{"l2": l2, "seeds": [...], "none": [history, ...], "l2_runs": [history, ...], "weights": {...}}`` where
    ``weights`` holds the final sum of squared kernel weights of each run."""
    from .fitting import make_problem

    out: dict[str, Any] = {"l2": l2, "seeds": list(seeds), "none": [], "l2_runs": [],
                           "weights": {"none": [], "l2_runs": []}}
    for seed in seeds:
        problem = make_problem(seed=seed)
        for key, factor in (("none", 0.0), ("l2_runs", l2)):
            model, history = train_with_penalty(problem, factor, epochs=epochs, seed=seed, engine=engine)
            out[key].append(history)
            kernels = model.get_weights()[::2]
            out["weights"][key].append(float(sum(np.sum(np.asarray(w, dtype=np.float64) ** 2) for w in kernels)))
    return out


def _mean(histories: Sequence[Mapping[str, list]], key: str) -> np.ndarray:
    return np.mean([np.asarray(h[key], dtype=float) for h in histories], axis=0)


def plot_weight_penalty(comparison: Mapping[str, Any] | None = None, *, save: PathLike | None = None) -> "Figure":
    """Left: training (solid) and validation (dashed) cross-entropy per epoch, mean over the seeds, without
    and with L2. Right: each seed's final validation cross-entropy, without and with L2."""
    if comparison is None:
        comparison = penalty_comparison()
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.2))
    left, right = axes[0]
    styles = {"none": ("tab:red", "no penalty"), "l2_runs": ("tab:blue", f"L2({comparison['l2']:g})")}
    for key, (color, name) in styles.items():
        runs = comparison[key]
        epochs = np.arange(1, len(runs[0]["cross_entropy"]) + 1)
        left.plot(epochs, _mean(runs, "cross_entropy"), color=color, label=f"{name}: training")
        left.plot(epochs, _mean(runs, "val_cross_entropy"), color=color, linestyle="--", label=f"{name}: validation")
    label(left, "epoch", "cross-entropy (penalty not included)",
          f"mean of {len(comparison['seeds'])} datasets")
    left.set_ylim(bottom=0)
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    seeds = comparison["seeds"]
    positions = np.arange(len(seeds))
    for offset, (key, (color, name)) in zip((-0.2, 0.2), styles.items()):
        finals = [h["val_cross_entropy"][-1] for h in comparison[key]]
        right.bar(positions + offset, finals, width=0.4, color=color, label=name)
    right.set_xticks(positions, [f"seed {s}" for s in seeds])
    label(right, "dataset", "final validation cross-entropy", "each dataset after the last epoch")
    right.legend(fontsize=8)
    right.grid(alpha=0.3, axis="y")
    return finish(fig, save, title=penalty_caption(comparison))


def penalty_caption(comparison: Mapping[str, Any]) -> str:
    """What the runs show, from their numbers: the mean final validation and training cross-entropy."""
    val = {key: float(np.mean([h["val_cross_entropy"][-1] for h in comparison[key]])) for key in ("none", "l2_runs")}
    train = {key: float(np.mean([h["cross_entropy"][-1] for h in comparison[key]])) for key in ("none", "l2_runs")}
    name = f"L2({comparison['l2']:g})"
    if val["l2_runs"] < val["none"] and train["l2_runs"] > train["none"]:
        return (f"{name} on every kernel: training loss {train['l2_runs']:.3f} instead of {train['none']:.3f} "
                f"(less memorised), validation loss {val['l2_runs']:.2f} instead of {val['none']:.2f}")
    return (f"{name} on every kernel: validation loss {val['l2_runs']:.2f} against {val['none']:.2f} without "
            f"(too few epochs to overfit)")
