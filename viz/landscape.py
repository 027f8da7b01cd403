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

The numbers (directions, the loss on a line or a plane) come from :mod:`microgradx.viz.loss_surface`; this
module draws them, records trajectories and builds the lecture's hard landscapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from microgradx.callbacks import Callback

from ._style import PathLike, finish, label, new_figure
from .loss_surface import evaluate_at, filter_normalized_direction, flatten, loss_line, loss_plane, unflatten

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "filter_normalized_direction", "flatten", "unflatten", "evaluate_at", "loss_line", "loss_plane",
    "WeightTrajectory", "trajectory_pca", "plot_landscape_1d", "plot_landscape_2d", "plot_landscape_3d",
    "plot_landscape", "plot_trajectory", "MIN_PAD_FRACTION", "SHALLOW", "DEEP_NARROW", "count_local_minima",
    "interpolation_losses", "HardLandscape", "trajectory_caption", "CONVERGED_TOLERANCE", "hard_landscape",
    "plot_hard_landscape",
]

#: the smallest margin of the trajectory plane, as a fraction of the largest coordinate (so that a
#: trajectory that did not move along a direction still gets a plane of some width).
MIN_PAD_FRACTION = 1e-3
#: the trajectory counts as converged when no point of its plane is lower than this fraction below its end.
CONVERGED_TOLERANCE = 0.01


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
    # below the axes, so that it never covers the curves
    ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)


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
    ax.zaxis.set_rotate_label(False)
    ax.set_zlabel("loss", labelpad=14, rotation=90)  # clear of the tick labels
    ax.set_box_aspect(None, zoom=0.8)  # leave room for the z label inside the figure
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
    return finish(fig, save, title="Around a shallow network's trained weights, along filter-normalised "
                                   "random directions (Li et al. 2017): a smooth basin")


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
    return finish(fig, save, title=trajectory_caption(model, x, y, snapshots, grid))


def trajectory_caption(model: Any, x: np.ndarray, y: np.ndarray, snapshots: Sequence[np.ndarray],
                       grid: np.ndarray) -> str:
    """What :func:`plot_trajectory` shows, from the numbers: the loss at the first and last snapshot and
    whether the plane holds lower loss than the end point (training had not converged) or not."""
    like = model.get_weights()
    try:
        first = evaluate_at(model, unflatten(np.asarray(snapshots[0]), like), x, y)[0]
        last = evaluate_at(model, unflatten(np.asarray(snapshots[-1]), like), x, y)[0]
    finally:
        model.set_weights(like)
    text = f"Training trajectory: downhill, the loss falls from {first:.3f} to {last:.3f}"
    lowest = float(np.min(grid))
    if lowest < last - CONVERGED_TOLERANCE * abs(last):
        return text + f",\nbut the plane still goes down to {lowest:.3f} beyond the end: not converged yet"
    return text + ",\nthe lowest point of the plane: converged"


def _odd(points: int) -> int:
    """Grids have an odd number of points so that the trained weights (offset 0) are a grid point."""
    points = int(points)
    if points < 3:
        raise ValueError(f"points={points!r} must be at least 3")
    return points if points % 2 else points + 1


# --------------------------------------------------------------------------- hard landscapes (the lecture's slide)
#: the two networks compared: a shallow one and a deep narrow one, on the same data (hidden layer sizes).
SHALLOW = (16,)
DEEP_NARROW = (8,) * 6


def count_local_minima(grid: np.ndarray) -> int:
    """The interior grid points lower than all 8 neighbours (strict local minima of a sampled surface)."""
    return int(_local_minimum_mask(grid).sum())


def interpolation_losses(model: Any, x: np.ndarray, y: np.ndarray, start: Sequence[np.ndarray],
                         end: Sequence[np.ndarray], ts: Sequence[float]) -> np.ndarray:
    """``J((1 - t) θ_a + t θ_b)`` for each ``t``: the loss on the straight line between two weight sets."""
    original = model.get_weights()
    a, b = flatten(start), flatten(end)
    try:
        return np.array([evaluate_at(model, unflatten((1 - t) * a + t * b, original), x, y)[0] for t in ts])
    finally:
        model.set_weights(original)


@dataclass
class HardLandscape:
    """The numbers behind :func:`plot_hard_landscape` (computed by :func:`hard_landscape`)."""

    #: name -> hidden layer sizes
    networks: dict[str, tuple[int, ...]]
    #: name -> (alphas, betas, grid) of the filter-normalised plane through that network's trained weights
    planes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    #: name -> the trained model's loss and accuracy on the data
    trained: dict[str, tuple[float, float]]
    ts: np.ndarray
    #: name -> array (pairs, len(ts)): the loss on the line between the minima reached from two seeds
    lines: dict[str, np.ndarray]

    def minima(self, name: str) -> int:
        return count_local_minima(self.planes[name][2])

    def barriers(self, name: str) -> np.ndarray:
        """Per pair: the highest loss on the line minus the higher of its two ends."""
        lines = self.lines[name]
        return lines.max(axis=1) - np.maximum(lines[:, 0], lines[:, -1])


def hard_landscape(*, points: int = 41, span: float = 1.0, pairs: int = 3, epochs: int = 60,
                   n_samples: int = 200, noise: float = 0.15, engine: str = "cpu", seed: int = 0,
                   networks: Mapping[str, Sequence[int]] | None = None) -> HardLandscape:
    """Train a shallow and a deep narrow ReLU network on the same two moons and measure their landscapes.

    For each network: the loss on the plane of two filter-normalised directions through the weights
    trained from ``seed``, and the loss on the straight line between the weights trained from seeds
    ``seed + 1 + 2k`` and ``seed + 2 + 2k`` (``k < pairs``), all on the same data.
    """
    from .boundaries import train_classifier

    networks = {f"shallow 2-{'-'.join(map(str, SHALLOW))}-1": SHALLOW,
                f"deep narrow 2-{DEEP_NARROW[0]}×{len(DEEP_NARROW)}-1": DEEP_NARROW} if networks is None \
        else {name: tuple(hidden) for name, hidden in networks.items()}
    ts = np.linspace(0.0, 1.0, 21)
    planes, trained, lines = {}, {}, {}
    for name, hidden in networks.items():
        def train(s: int):
            model, x, labels = train_classifier("moons", hidden=hidden, epochs=epochs, learning_rate=0.01,
                                                n_samples=n_samples, engine=engine, seed=s, data_seed=seed,
                                                noise=noise)
            return model, np.asarray(x, np.float32), labels.reshape(-1, 1).astype(np.float32)

        model, x, y = train(seed)
        trained[name] = evaluate_at(model, model.get_weights(), x, y)
        center, directions = _directions(model, seed)
        planes[name] = loss_plane(model, x, y, directions, alphas=np.linspace(-span, span, _odd(points)),
                                  center=center)
        rows = []
        for k in range(pairs):
            first, _, _ = train(seed + 1 + 2 * k)
            second, _, _ = train(seed + 2 + 2 * k)
            rows.append(interpolation_losses(first, x, y, first.get_weights(), second.get_weights(), ts))
        lines[name] = np.array(rows)
    return HardLandscape(dict(networks), planes, trained, ts, lines)


def plot_hard_landscape(result: HardLandscape | None = None, *, save: PathLike | None = None,
                        **kwargs) -> "Figure":
    """Left: the shallow network's plane; middle: the deep narrow network's; right: the loss on the straight
    line between two minima (mean over seed pairs, band from the lowest to the highest pair).

    The planes are drawn as ``log10`` of the loss, so that a narrow, deep basin and a flat plateau are both
    visible; the local minima of the sampled grid are marked.
    """
    result = hard_landscape(**kwargs) if result is None else result
    from matplotlib.figure import Figure

    names = list(result.networks)
    fig = Figure(figsize=(16.0, 4.8), layout="constrained")
    axes = fig.subplots(1, len(names) + 1, squeeze=False)[0]
    colors = ("tab:blue", "tab:red", "tab:green", "tab:purple")
    for ax, name in zip(axes, names):
        alphas, betas, grid = result.planes[name]
        filled = ax.contourf(alphas, betas, np.log10(grid), levels=30, cmap="viridis")
        fig.colorbar(filled, ax=ax, label="log10 loss")
        mask = _local_minimum_mask(grid)
        ga, gb = np.meshgrid(alphas, betas)
        ax.plot(ga[mask], gb[mask], "o", color="white", markeredgecolor="black", markersize=5,
                linestyle="none", label=f"local minima of the grid: {int(mask.sum())}")
        ax.plot([0.0], [0.0], marker="*", markersize=14, color="gold", markeredgecolor="black", linestyle="none",
                label="trained weights θ*")
        loss, accuracy = result.trained[name]
        label(ax, "α (direction δ)", "β (direction η)",
              f"{name}: loss {loss:.3f}, accuracy {accuracy:.0%} at θ*")
        ax.legend(fontsize=7, loc="lower left", framealpha=0.85)
    line_ax = axes[-1]
    for color, name in zip(colors, names):
        lines = result.lines[name]
        barrier = result.barriers(name).mean()
        line_ax.fill_between(result.ts, lines.min(axis=0), lines.max(axis=0), color=color, alpha=0.2)
        line_ax.plot(result.ts, lines.mean(axis=0), color=color, marker=".",
                     label=f"{name}: mean barrier {barrier:.2f}")
    pairs = len(next(iter(result.lines.values())))
    label(line_ax, "t on the line (1 − t) θ_a + t θ_b", "loss",
          f"Straight line between the minima of two seeds:\nmean of {pairs} pairs, band from lowest to highest")
    line_ax.legend(fontsize=7, loc="upper right")
    line_ax.grid(alpha=0.3)
    return finish(fig, save, title="Training neural networks is difficult (Li et al. 2017): the deep narrow "
                                   "network's surface is chaotic, and minima are separated by barriers")


def _local_minimum_mask(grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2 or min(grid.shape) < 3:
        raise ValueError(f"grid must be a 2-D array of at least 3 x 3 points, got shape {grid.shape}")
    mask = np.zeros(grid.shape, dtype=bool)
    rows, cols = grid.shape
    centre = grid[1:-1, 1:-1]
    lower = np.ones_like(centre, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lower &= centre < grid[1 + di:rows - 1 + di, 1 + dj:cols - 1 + dj]
    mask[1:-1, 1:-1] = lower
    return mask
