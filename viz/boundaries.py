"""Decision boundaries: what a trained classifier answers at every point of a 2-D input plane.

A grid of points covering the data is pushed through ``model.predict`` in one batch. For one sigmoid output
the colour is the predicted probability of class 1 and the black line is the boundary ``p = 0.5``; for a
softmax output each region takes the colour of its ``argmax`` class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["boundary_grid", "draw_decision_boundary", "plot_decision_boundary", "train_classifier",
           "plot_dataset_boundaries", "DATASETS"]

#: the built-in 2-D datasets shown by :func:`plot_dataset_boundaries` (functions of :mod:`microgradx.datasets`).
DATASETS = ("moons", "circles", "xor", "spiral")
CLASS_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def boundary_grid(x: np.ndarray, resolution: int = 150, margin: float = 0.25
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gx, gy, points)``: a ``resolution x resolution`` mesh around the data and its ``(N, 2)`` points."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n_samples, 2) to draw a 2-D boundary, got {x.shape}")
    low, high = x.min(axis=0), x.max(axis=0)
    pad = (high - low) * margin
    gx, gy = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], resolution))
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])


def _labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(int)


def draw_decision_boundary(ax: "Axes", model: Any, x: np.ndarray, y: np.ndarray, *, resolution: int = 150,
                           title: str | None = None, show_accuracy: bool = True,
                           accuracy_name: str = "accuracy") -> float:
    """Draw the boundary and the samples on ``ax``; returns the model's accuracy on ``(x, y)``, which the
    title shows as ``accuracy_name`` (say which data: "training accuracy", "validation accuracy")."""
    gx, gy, points = boundary_grid(x, resolution)
    prediction = np.asarray(model.predict(points.astype(np.float32), verbose=0), dtype=np.float64)
    labels = _labels(y)
    if prediction.ndim == 1 or prediction.shape[1] == 1:
        p = prediction.reshape(gx.shape)
        filled = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
        ax.contour(gx, gy, p, levels=[0.5], colors="black", linewidths=1.5)
        ax.figure.colorbar(filled, ax=ax, label="predicted P(class 1)")
        predicted = (np.asarray(model.predict(np.asarray(x, np.float32), verbose=0)).reshape(-1) >= 0.5).astype(int)
    else:
        classes = prediction.argmax(axis=1).reshape(gx.shape)
        k = prediction.shape[1]
        from matplotlib.colors import ListedColormap

        ax.contourf(gx, gy, classes, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(CLASS_COLORS[:k]),
                    alpha=0.3)
        predicted = np.asarray(model.predict(np.asarray(x, np.float32), verbose=0)).argmax(axis=1)
    for c in np.unique(labels):
        ax.scatter(x[labels == c, 0], x[labels == c, 1], s=14, color=CLASS_COLORS[int(c) % len(CLASS_COLORS)],
                   edgecolors="black", linewidths=0.4, label=f"class {int(c)}")
    accuracy = float((predicted == labels).mean())
    text = f"{title + ': ' if title else ''}{accuracy_name} {accuracy:.0%}" if show_accuracy else (title or "")
    label(ax, "x1 (input feature 1)", "x2 (input feature 2)", text)
    ax.legend(fontsize=7, loc="lower right")
    return accuracy


def plot_decision_boundary(model: Any, x: np.ndarray, y: np.ndarray, *, resolution: int = 150,
                           title: str | None = None, save: PathLike | None = None) -> "Figure":
    """The decision boundary of a trained 2-input classifier over its data."""
    fig, axes = new_figure(1, 1, figsize=(5.6, 4.6))
    draw_decision_boundary(axes[0, 0], model, x, y, resolution=resolution)
    return finish(fig, save, title=title or "Decision boundary: the model's answer at every point of the plane")


def train_classifier(dataset: str, *, hidden: Sequence[int] = (16, 16), epochs: int = 60,
                     learning_rate: float = 0.02, n_samples: int = 300, engine: str = "cpu", seed: int = 0,
                     data_seed: int | None = None, **dataset_kwargs) -> tuple[Any, np.ndarray, np.ndarray]:
    """Train a ReLU MLP with Adam on ``microgradx.datasets.<dataset>``; returns ``(model, x, y)``.

    ``seed`` draws the initial weights and the batch order; ``data_seed`` (default: ``seed``) the data, so
    that several seeds can train on the same samples.

    Binary labels get one sigmoid output and binary cross-entropy; more classes a softmax output and sparse
    categorical cross-entropy.
    """
    from microgradx import datasets, layers, models, optimizers, utils

    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r} is not one of {list(DATASETS)}")
    utils.set_random_seed(seed)
    x, y = getattr(datasets, dataset)(n=n_samples, seed=seed if data_seed is None else data_seed, **dataset_kwargs)
    labels = _labels(y)
    classes = int(labels.max()) + 1
    stack: list = [layers.Input(shape=(2,))] + [layers.Dense(u, activation="relu") for u in hidden]
    if classes == 2:
        stack.append(layers.Dense(1, activation="sigmoid"))
        loss, target = "binary_crossentropy", labels.reshape(-1, 1).astype(np.float32)
    else:
        stack.append(layers.Dense(classes, activation="softmax"))
        loss, target = "sparse_categorical_crossentropy", labels
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=["accuracy"],
                  engine=engine)
    model.fit(np.asarray(x, np.float32), target, batch_size=32, epochs=epochs, verbose=0)
    return model, np.asarray(x), labels


def plot_dataset_boundaries(datasets: Sequence[str] = DATASETS, *, hidden: Sequence[int] = (16, 16),
                            epochs: int = 60, engine: str = "cpu", seed: int = 0,
                            save: PathLike | None = None) -> "Figure":
    """One small network trained per built-in dataset, its decision boundary drawn over the data."""
    if not datasets:
        raise ValueError("datasets must name at least one of " + ", ".join(DATASETS))
    columns = min(2, len(datasets))
    rows = -(-len(datasets) // columns)
    fig, axes = new_figure(rows, columns, figsize=(5.6 * columns, 4.4 * rows))
    for ax, name in zip(axes.ravel(), datasets):
        model, x, y = train_classifier(name, hidden=hidden, epochs=epochs, engine=engine, seed=seed)
        draw_decision_boundary(ax, model, x, y, title=name, accuracy_name="training accuracy")
    for ax in axes.ravel()[len(datasets):]:
        ax.set_visible(False)
    return finish(fig, save, title=f"Decision boundaries of a {'-'.join(map(str, hidden))} ReLU network: "
                                   "hidden layers bend the boundary around each dataset")
