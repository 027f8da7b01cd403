"""Loss landscapes of a trained model, after Li et al. 2017, "Visualizing the loss landscape of neural nets".

The trained weights ``θ*`` are a point in a space of thousands of dimensions; we look at the loss on a line
or a plane through it:

* 1-D: ``f(α) = J(θ* + α δ)``; 2-D: ``f(α, β) = J(θ* + α δ + β η)``, drawn as contours and as a 3-D surface.
* ``δ`` and ``η`` are Gaussian random directions, **filter-normalised**: for every output neuron ``j`` of every
  layer (column ``j`` of a Dense kernel of shape ``(in, out)``), ``δ_j <- δ_j / ||δ_j|| · ||θ*_j||``. A step
  ``α = 1`` then moves every neuron by as much as its own weights are long, which makes the pictures of
  different networks comparable (ReLU networks are scale invariant). Biases get a zero direction.
* The training trajectory: weights ``θ_0 .. θ_T`` recorded after every epoch (:class:`WeightTrajectory`),
  projected on the two principal directions of ``θ_t - θ_T`` and drawn on the loss in that plane.

Every grid point is one batched forward pass: ``model.set_weights(θ)`` then ``model.evaluate(x, y,
batch_size=len(x))``. The model's own weights are put back afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from microgradx.callbacks import Callback

from ._style import PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "filter_normalized_direction", "flatten", "unflatten", "evaluate_at", "loss_line", "loss_plane",
    "WeightTrajectory", "trajectory_pca", "plot_landscape_1d", "plot_landscape_2d", "plot_landscape_3d",
    "plot_landscape", "plot_trajectory", "MIN_PAD_FRACTION",
]

#: the smallest margin of the trajectory plane, as a fraction of the largest coordinate (so that a
#: trajectory that did not move along a direction still gets a plane of some width).
MIN_PAD_FRACTION = 1e-3


def filter_normalized_direction(weights: Sequence[np.ndarray], seed: int | np.random.Generator = 0, *,
                                ignore_biases: bool = True) -> list[np.ndarray]:
    """A Gaussian direction shaped like ``weights``, normalised per filter (output neuron).

    For each array of 2 or more dimensions (a Dense kernel ``(in, out)``; its last axis indexes the output
    neurons): ``d[..., j] = g[..., j] / ||g[..., j]|| * ||w[..., j]||`` with ``g ~ N(0, 1)``, so that each
    neuron's slice of the direction has the Frobenius norm of that neuron's weights.
    For 1-D arrays (biases): zeros when ``ignore_biases`` (Li et al.'s ``--xignore biasbn``), else a copy
    of the weights.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    direction = []
    for index, w in enumerate(weights):
        w = np.asarray(w, dtype=np.float64)
        if w.ndim <= 1:
            direction.append(np.zeros_like(w) if ignore_biases else w.copy())
            continue
        g = rng.standard_normal(w.shape)
        axes = tuple(range(w.ndim - 1))
        g_norm = np.sqrt((g ** 2).sum(axis=axes, keepdims=True))
        if np.any(g_norm == 0):  # a Gaussian has zero norm with probability 0; only size-0 filters get here
            raise ValueError(f"weights[{index}] of shape {w.shape} has an empty filter; cannot normalise")
        w_norm = np.sqrt((w ** 2).sum(axis=axes, keepdims=True))
        direction.append(g / g_norm * w_norm)
    return direction


def flatten(weights: Sequence[np.ndarray]) -> np.ndarray:
    """All weights as one float64 vector (Keras order)."""
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in weights])


def unflatten(vector: np.ndarray, like: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The inverse of :func:`flatten`: arrays shaped and typed like ``like``."""
    like = [np.asarray(w) for w in like]
    total = sum(w.size for w in like)
    if np.size(vector) != total:
        raise ValueError(f"vector has {np.size(vector)} numbers but the weights hold {total}")
    out, start = [], 0
    for w in like:
        out.append(vector[start:start + w.size].reshape(w.shape).astype(w.dtype))
        start += w.size
    return out


def evaluate_at(model: Any, weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
    """``(loss, first metric or None)`` of ``model`` with ``weights``, one batched pass over ``(x, y)``."""
    model.set_weights([np.asarray(w) for w in weights])
    result = model.evaluate(x, y, batch_size=len(x), verbose=0)
    if isinstance(result, (list, tuple)):
        return float(result[0]), (float(result[1]) if len(result) > 1 else None)
    return float(result), None


def _offset(center: Sequence[np.ndarray], directions: Sequence[Sequence[np.ndarray]], coefficients) -> list:
    return [np.asarray(c, dtype=np.float64) + sum(a * d[i] for a, d in zip(coefficients, directions))
            for i, c in enumerate(center)]


def loss_line(model: Any, x: np.ndarray, y: np.ndarray, direction: Sequence[np.ndarray] | None = None, *,
              alphas: Sequence[float] = tuple(np.linspace(-1.0, 1.0, 41)), seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(alphas, losses, metric or None)`` of ``J(θ* + α δ)``; ``δ`` filter-normalised unless given."""
    center = model.get_weights()
    direction = filter_normalized_direction(center, seed) if direction is None else direction
    losses, metric = [], []
    try:
        for a in alphas:
            loss, m = evaluate_at(model, _offset(center, [direction], [a]), x, y)
            losses.append(loss)
            metric.append(m)
    finally:
        model.set_weights(center)
    metric_array = None if metric and metric[0] is None else np.array(metric)
    return np.asarray(alphas, dtype=float), np.array(losses), metric_array


def loss_plane(model: Any, x: np.ndarray, y: np.ndarray,
               directions: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None, *,
               alphas: Sequence[float] = tuple(np.linspace(-1.0, 1.0, 21)),
               betas: Sequence[float] | None = None, seed: int = 0,
               center: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alphas, betas, Z)`` with ``Z[j, i] = J(center + alphas[i] δ + betas[j] η)`` (rows are β, for contour).

    ``center`` defaults to the model's weights; ``directions`` default to two independent filter-normalised
    directions drawn from ``seed``.
    """
    center = model.get_weights() if center is None else [np.asarray(c) for c in center]
    original = model.get_weights()
    if directions is None:
        rng = np.random.default_rng(seed)
        directions = (filter_normalized_direction(center, rng), filter_normalized_direction(center, rng))
    betas = alphas if betas is None else betas
    grid = np.empty((len(betas), len(alphas)))
    try:
        for j, b in enumerate(betas):
            for i, a in enumerate(alphas):
                grid[j, i] = evaluate_at(model, _offset(center, directions, [a, b]), x, y)[0]
    finally:
        model.set_weights(original)
    return np.asarray(alphas, dtype=float), np.asarray(betas, dtype=float), grid


class WeightTrajectory(Callback):
    """A callback that records the model's weights (flattened) before training and after every epoch.

    ``trajectory.snapshots`` is a list of float64 vectors; ``trajectory.shapes`` the weights' shapes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[np.ndarray] = []
        self.like: list[np.ndarray] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        weights = self.model.get_weights()
        self.like = [np.array(w) for w in weights]
        if not self.snapshots:
            self.snapshots.append(flatten(weights))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.snapshots.append(flatten(self.model.get_weights()))


def trajectory_pca(snapshots: Sequence[np.ndarray], final: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal directions of a training trajectory (Li et al. section 7).

    With ``M`` the matrix whose rows are ``θ_t - θ_final``: its SVD ``M = U S V^T`` gives the two directions
    ``V[:2]`` (unit vectors) that explain most of the movement. Returns ``(coords, directions,
    explained)``: the ``(T, 2)`` projections ``M V[:2]^T``, the ``(2, P)`` directions, and the fraction of the
    variance ``S_k^2 / sum S^2`` each explains.
    """
    points = np.asarray(snapshots, dtype=np.float64)
    if points.ndim != 2 or len(points) < 3:
        raise ValueError(f"snapshots must be at least 3 weight vectors (got array of shape {points.shape}); "
                         "train for 2 or more epochs with a WeightTrajectory callback")
    final = points[-1] if final is None else np.asarray(final, dtype=np.float64)
    moves = points - final
    _, s, vt = np.linalg.svd(moves, full_matrices=False)
    directions = vt[:2]
    total = float((s ** 2).sum()) or 1.0
    return moves @ directions.T, directions, (s[:2] ** 2) / total


def _directions(model: Any, seed: int):
    center = model.get_weights()
    rng = np.random.default_rng(seed)
    return center, (filter_normalized_direction(center, rng), filter_normalized_direction(center, rng))


def _draw_1d(ax, alphas, losses, metric) -> None:
    ax.plot(alphas, losses, color="tab:blue", label="loss")
    ax.axvline(0.0, color="black", linestyle=":", linewidth=1)
    ax.plot([0.0], [losses[len(losses) // 2]], marker="*", markersize=14, color="gold", markeredgecolor="black",
            linestyle="none", label="trained weights θ*")
    label(ax, "step α along a filter-normalised direction δ", "loss J(θ* + α δ)", "1-D slice")
    handles, labels = ax.get_legend_handles_labels()
    if metric is not None:
        twin = ax.twinx()
        twin.plot(alphas, metric, color="tab:red", linestyle="--", label="accuracy")
        twin.set_ylabel("accuracy", color="tab:red")
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="upper center")


def _draw_2d(ax, alphas, betas, grid, fig) -> None:
    filled = ax.contourf(alphas, betas, grid, levels=20, cmap="summer")
    ax.contour(alphas, betas, grid, levels=20, colors="black", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="loss")
    ax.plot([0.0], [0.0], marker="*", markersize=14, color="gold", markeredgecolor="black", linestyle="none",
            label="trained weights θ*")
    label(ax, "α (direction δ)", "β (direction η)", "2-D contours: the minimum sits in a basin")
    ax.legend(fontsize=8)


def _draw_3d(ax, alphas, betas, grid) -> None:
    ga, gb = np.meshgrid(alphas, betas)
    ax.plot_surface(ga, gb, grid, cmap="coolwarm", linewidth=0, antialiased=True)
    ax.set_xlabel("α")
    ax.set_ylabel("β")
    ax.set_zlabel("loss", labelpad=2)
    ax.set_box_aspect(None, zoom=0.85)  # leave room for the z label inside the figure
    ax.set_title("3-D surface", fontsize=10)


def plot_landscape_1d(model: Any, x: np.ndarray, y: np.ndarray, *, span: float = 1.0, points: int = 41,
                      seed: int = 0, save: PathLike | None = None) -> "Figure":
    """Loss (and accuracy, when compiled with a metric) along one filter-normalised direction."""
    alphas, losses, metric = loss_line(model, x, y, alphas=np.linspace(-span, span, _odd(points)), seed=seed)
    fig, axes = new_figure(1, 1, figsize=(6.0, 4.2))
    _draw_1d(axes[0, 0], alphas, losses, metric)
    return finish(fig, save, title="The loss is lowest at the trained weights (α = 0) and rises around them")


def _plane_around_weights(model: Any, x: np.ndarray, y: np.ndarray, span: float, points: int,
                          seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on ``[-span, span]^2`` of the plane of two filter-normalised directions through the weights."""
    center, directions = _directions(model, seed)
    return loss_plane(model, x, y, directions, alphas=np.linspace(-span, span, _odd(points)), center=center)


def plot_landscape_2d(model: Any, x: np.ndarray, y: np.ndarray, *, span: float = 1.0, points: int = 21,
                      seed: int = 0, save: PathLike | None = None) -> "Figure":
    """Contours of the loss on the plane of two filter-normalised directions through the trained weights."""
    alphas, betas, grid = _plane_around_weights(model, x, y, span, points, seed)
    fig, axes = new_figure(1, 1, figsize=(6.0, 4.8))
    _draw_2d(axes[0, 0], alphas, betas, grid, fig)
    return finish(fig, save, title="Loss landscape (Li et al. 2017): contours around the trained weights")


def plot_landscape_3d(model: Any, x: np.ndarray, y: np.ndarray, *, span: float = 1.0, points: int = 21,
                      seed: int = 0, save: PathLike | None = None) -> "Figure":
    """The same plane as :func:`plot_landscape_2d`, drawn as a 3-D surface."""
    alphas, betas, grid = _plane_around_weights(model, x, y, span, points, seed)
    fig, axes = new_figure(1, 1, figsize=(6.4, 5.2), projection="3d")
    _draw_3d(axes[0, 0], alphas, betas, grid)
    return finish(fig, save, title="Loss surface around the trained weights")


def plot_landscape(model: Any, x: np.ndarray, y: np.ndarray, *, span: float = 1.0, points: int = 21,
                   seed: int = 0, save: PathLike | None = None) -> "Figure":
    """1-D slice, 2-D contours and 3-D surface side by side (the 1-D slice runs along the 2-D plot's α axis)."""
    center, directions = _directions(model, seed)
    alphas = np.linspace(-span, span, _odd(points))
    a1, losses, metric = loss_line(model, x, y, directions[0], alphas=alphas)
    alphas, betas, grid = loss_plane(model, x, y, directions, alphas=alphas, center=center)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16.0, 4.6), layout="constrained")
    ax1 = fig.add_subplot(1, 3, 1)
    ax2 = fig.add_subplot(1, 3, 2)
    ax3 = fig.add_subplot(1, 3, 3, projection="3d")
    _draw_1d(ax1, a1, losses, metric)
    _draw_2d(ax2, alphas, betas, grid, fig)
    _draw_3d(ax3, alphas, betas, grid)
    return finish(fig, save, title="Loss landscape around the trained weights, along filter-normalised "
                                   "random directions (Li et al. 2017)")


def plot_trajectory(model: Any, x: np.ndarray, y: np.ndarray, trajectory: "WeightTrajectory | Sequence[np.ndarray]",
                    *, points: int = 21, margin: float = 0.3, save: PathLike | None = None) -> "Figure":
    """The training path projected on its two principal directions, over the loss contours of that plane.

    ``trajectory`` is a :class:`WeightTrajectory` used in ``fit`` (or its list of flattened snapshots);
    the plane passes through the final snapshot, which should be the model's current weights.
    """
    snapshots = trajectory.snapshots if isinstance(trajectory, WeightTrajectory) else list(trajectory)
    like = model.get_weights()
    coords, directions, explained = trajectory_pca(snapshots)
    final = np.asarray(snapshots[-1], dtype=np.float64)
    low, high = coords.min(axis=0), coords.max(axis=0)
    pad = (high - low) * margin + MIN_PAD_FRACTION * (np.abs(coords).max() or 1.0)
    alphas = np.linspace(low[0] - pad[0], high[0] + pad[0], _odd(points))
    betas = np.linspace(low[1] - pad[1], high[1] + pad[1], _odd(points))
    plane = (unflatten(directions[0], like), unflatten(directions[1], like))
    alphas, betas, grid = loss_plane(model, x, y, plane, alphas=alphas, betas=betas,
                                     center=unflatten(final, like))
    fig, axes = new_figure(1, 1, figsize=(6.4, 5.0))
    ax = axes[0, 0]
    filled = ax.contourf(alphas, betas, grid, levels=20, cmap="summer")
    ax.contour(alphas, betas, grid, levels=20, colors="black", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="loss")
    ax.plot(coords[:, 0], coords[:, 1], color="tab:red", marker="o", markersize=3, label="weights after each epoch")
    ax.plot(coords[0, 0], coords[0, 1], marker="s", color="black", linestyle="none", label="initial weights")
    ax.plot(coords[-1, 0], coords[-1, 1], marker="*", markersize=14, color="gold", markeredgecolor="black",
            linestyle="none", label="final weights")
    label(ax, f"1st principal direction ({explained[0]:.0%} of the movement)",
          f"2nd principal direction ({explained[1]:.0%})")
    ax.legend(fontsize=8)
    return finish(fig, save, title="Training trajectory: gradient descent walks downhill into the basin")


def _odd(points: int) -> int:
    """Grids have an odd number of points so that the trained weights (offset 0) are a grid point."""
    points = int(points)
    if points < 3:
        raise ValueError(f"points={points!r} must be at least 3")
    return points if points % 2 else points + 1
