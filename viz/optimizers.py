"""The optimizer race: SGD, SGD with momentum, Adam, Adadelta, Adagrad and RMSprop on 2-D loss surfaces.

Each racer is the library's real optimizer class (:mod:`microgradx.optimizers`), stepping a two-number
"model" ``w = (x, y)`` with ``opt.apply([grad], [w])`` exactly as it steps a network's weights. Three
surfaces show what adaptive learning rates are for ("Idea II: design an adaptive learning rate that
adapts to the landscape"):

* **ravine** ``f = 0.05 x^2 + 2 y^2``: 40 times steeper across than along; plain SGD zig-zags across the
  valley and crawls along it, momentum and per-coordinate scaling (Adam, RMSprop, Adagrad) go straight;
* **saddle** ``f = x^2 + y^4/4 - y^2/2``: a flat saddle at the origin between two minima at ``y = +-1``;
  started almost on the ridge, SGD stalls while normalised steps escape;
* **Rosenbrock** ``f = (1 - x)^2 + 100 (y - x^2)^2``: a curved, flat-bottomed valley with the minimum at
  ``(1, 1)``.

Each racer has its own learning rate per surface (:attr:`Surface.learning_rates`), chosen so that its
behaviour is visible in the step budget. Adadelta gets a large one (10): its step starts at about
``sqrt(epsilon) = 3e-4`` times the learning rate and only grows as it accumulates past updates, so with the
paper's rate of 1 it would barely leave the start in a hundred steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from ._style import OPTIMIZER_COLORS, PathLike, finish, label, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "Surface", "SURFACES", "RACERS", "make_optimizers", "run_optimizer", "race", "plot_optimizer_race",
    "plot_optimizer_races", "DIVERGED_LOSS", "LOG_PLOT_FLOOR",
]

#: a path whose loss exceeds this is called diverged; the race stops recording it (the rest is NaN).
DIVERGED_LOSS = 1e6
#: the floor of the log-scale loss plot: a loss gap of exactly 0 (at the minimum) is drawn at this height.
LOG_PLOT_FLOOR = 1e-12


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface ``f(x, y)`` with its gradient, a start point, the view and the minimum value."""

    name: str
    formula: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: float
    steps: int
    #: learning rate of each racer on this surface (each one tuned to a fair, readable race).
    learning_rates: Mapping[str, float] = field(default_factory=dict)
    minima: tuple[tuple[float, float], ...] = ()
    log_levels: bool = False

    def loss(self, point: np.ndarray) -> float:
        return float(self.f(np.asarray(point[0]), np.asarray(point[1])))


def _ravine_f(x, y):
    return 0.05 * x ** 2 + 2.0 * y ** 2


def _ravine_grad(p):
    return np.array([0.1 * p[0], 4.0 * p[1]])


def _saddle_f(x, y):
    return x ** 2 + y ** 4 / 4.0 - y ** 2 / 2.0


def _saddle_grad(p):
    return np.array([2.0 * p[0], p[1] ** 3 - p[1]])


def _rosenbrock_f(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2


def _rosenbrock_grad(p):
    x, y = p
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


#: the three surfaces of the race, by name.
SURFACES: dict[str, Surface] = {
    "ravine": Surface("ravine", "f = 0.05 x² + 2 y²", _ravine_f, _ravine_grad, (-9.0, 1.2), (-10, 3), (-2, 2),
                      0.0, 100,
                      {"SGD": 0.45, "SGD+momentum": 0.1, "Adam": 0.5, "Adadelta": 10.0, "Adagrad": 1.0,
                       "RMSprop": 0.1}, minima=((0.0, 0.0),)),
    "saddle": Surface("saddle", "f = x² + y⁴/4 − y²/2", _saddle_f, _saddle_grad, (-2.0, 1e-4), (-2.2, 2.2),
                      (-1.6, 1.6), -0.25, 80,
                      {"SGD": 0.1, "SGD+momentum": 0.05, "Adam": 0.1, "Adadelta": 10.0, "Adagrad": 0.5,
                       "RMSprop": 0.05}, minima=((0.0, -1.0), (0.0, 1.0))),
    "rosenbrock": Surface("rosenbrock", "f = (1 − x)² + 100 (y − x²)²", _rosenbrock_f, _rosenbrock_grad,
                          (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), 0.0, 400,
                          {"SGD": 1e-3, "SGD+momentum": 1e-3, "Adam": 0.1, "Adadelta": 10.0, "Adagrad": 0.3,
                           "RMSprop": 0.01}, minima=((1.0, 1.0),), log_levels=True),
}

#: the racers, in the lecture's table order (SGD, then momentum, then the adaptive ones).
RACERS = ("SGD", "SGD+momentum", "Adam", "Adadelta", "Adagrad", "RMSprop")


def make_optimizers(learning_rates: Mapping[str, float], names: Sequence[str] = RACERS) -> dict[str, Any]:
    """Fresh optimizer objects of :mod:`microgradx.optimizers` for each racer name, with Keras defaults
    except the learning rate (and ``momentum=0.9`` for ``"SGD+momentum"``)."""
    from microgradx import optimizers

    factories: dict[str, Callable[[float], Any]] = {
        "SGD": lambda lr: optimizers.SGD(learning_rate=lr),
        "SGD+momentum": lambda lr: optimizers.SGD(learning_rate=lr, momentum=0.9),
        "Adam": lambda lr: optimizers.Adam(learning_rate=lr),
        "Adadelta": lambda lr: optimizers.Adadelta(learning_rate=lr),
        "Adagrad": lambda lr: optimizers.Adagrad(learning_rate=lr),
        "RMSprop": lambda lr: optimizers.RMSprop(learning_rate=lr),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise ValueError(f"optimizers={list(names)!r}: unknown racer(s) {unknown}; expected names from {list(RACERS)}")
    return {name: factories[name](float(learning_rates[name])) for name in names}


def _surface(surface: "str | Surface") -> Surface:
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"surface={surface!r} is not one of {list(SURFACES)} (or a Surface object)")
    return SURFACES[surface]


def run_optimizer(optimizer: Any, surface: "str | Surface", steps: int | None = None,
                  start: Sequence[float] | None = None) -> np.ndarray:
    """The path of ``optimizer`` on ``surface``: an array ``(steps + 1, 2)`` of points, the start first.

    Every step computes ``g = grad f(w)`` and calls ``optimizer.apply([g], [w])`` on the float64 array ``w``.
    Once the loss passes :data:`DIVERGED_LOSS` (or is not finite) the remaining rows are NaN.
    """
    surface = _surface(surface)
    steps = surface.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive number of optimizer steps")
    point = np.array(surface.start if start is None else start, dtype=np.float64)
    if point.shape != (2,):
        raise ValueError(f"start={start!r} must be a point (x, y)")
    path = np.full((steps + 1, 2), np.nan)
    path[0] = point
    for k in range(steps):
        optimizer.apply([surface.gradient(point)], [point])
        loss = surface.loss(point)
        if not math.isfinite(loss) or abs(loss) > DIVERGED_LOSS:
            break
        path[k + 1] = point
    return path


def race(surface: "str | Surface" = "ravine", names: Sequence[str] = RACERS, *, steps: int | None = None,
         learning_rates: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Run every racer from the surface's start; ``{name: path}`` (see :func:`run_optimizer`)."""
    surface = _surface(surface)
    rates = dict(surface.learning_rates)
    rates.update(learning_rates or {})
    return {name: run_optimizer(opt, surface, steps) for name, opt in make_optimizers(rates, names).items()}


def _draw_race(ax_path, ax_loss, surface: Surface, paths: Mapping[str, np.ndarray],
               rates: Mapping[str, float]) -> None:
    xs = np.linspace(*surface.xlim, 200)
    ys = np.linspace(*surface.ylim, 200)
    gx, gy = np.meshgrid(xs, ys)
    gz = surface.f(gx, gy)
    if surface.log_levels:
        levels = np.logspace(-1, math.log10(gz.max()), 18)
        ax_path.contour(gx, gy, gz, levels=levels, cmap="Greys", linewidths=0.7, norm="log")
    else:
        ax_path.contour(gx, gy, gz, levels=20, cmap="Greys", linewidths=0.7)
    ax_path.plot(*surface.start, marker="s", color="black", linestyle="none", label="start")
    for name, path in paths.items():
        color = OPTIMIZER_COLORS.get(name)
        ax_path.plot(path[:, 0], path[:, 1], color=color, marker=".", markersize=3, linewidth=1.2)
        losses = surface.f(path[:, 0], path[:, 1]) - surface.minimum
        ax_loss.plot(np.arange(len(path)), np.maximum(losses, LOG_PLOT_FLOOR), color=color,
                     label=f"{name} (learning rate {rates[name]:g})")
    for k, point in enumerate(surface.minima):
        ax_path.plot(*point, marker="*", markersize=14, color="gold", markeredgecolor="black", linestyle="none",
                     label="minimum" if k == 0 else None)
    ax_path.set_xlim(surface.xlim)
    ax_path.set_ylim(surface.ylim)
    label(ax_path, "x (weight 1)", "y (weight 2)", f"{surface.name}: {surface.formula}  (paths: colours as right)")
    ax_path.legend(fontsize=7, loc="lower left")
    ax_loss.legend(fontsize=7, loc="lower left")
    ax_loss.set_yscale("log")
    label(ax_loss, "step", "f(w) − f(minimum)  (log scale)", f"{surface.name}: loss against step")
    ax_loss.grid(alpha=0.3)


def plot_optimizer_race(surface: "str | Surface" = "ravine", names: Sequence[str] = RACERS, *,
                        steps: int | None = None, learning_rates: Mapping[str, float] | None = None,
                        save: PathLike | None = None) -> "Figure":
    """Paths of the racers on the contours of ``surface`` (left) and their loss against step (right)."""
    surface = _surface(surface)
    rates = dict(surface.learning_rates)
    rates.update(learning_rates or {})
    paths = race(surface, names, steps=steps, learning_rates=rates)
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.4))
    _draw_race(axes[0, 0], axes[0, 1], surface, paths, rates)
    return finish(fig, save, title=f"Optimizer race on the {surface.name}: adaptive steps follow the landscape")


def plot_optimizer_races(surfaces: Sequence[str] = tuple(SURFACES), names: Sequence[str] = RACERS, *,
                         save: PathLike | None = None) -> "Figure":
    """All surfaces, one row each: paths on contours and loss against step."""
    fig, axes = new_figure(len(surfaces), 2, figsize=(11.0, 4.2 * len(surfaces)))
    for row, name in enumerate(surfaces):
        surface = _surface(name)
        paths = race(surface, names)
        _draw_race(axes[row, 0], axes[row, 1], surface, paths, surface.learning_rates)
    return finish(fig, save, title="Optimizer race: SGD zig-zags and stalls, momentum and adaptive rates adapt")
