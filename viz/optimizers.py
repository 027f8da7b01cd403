"""The optimizer race: SGD, SGD with momentum, Adam, Adadelta, Adagrad and RMSprop on 2-D loss surfaces.

Each racer is the library's real optimizer class (:mod:`microgradx.optimizers`), stepping a two-number
"model" ``w = (x, y)`` with ``opt.apply([grad], [w])`` exactly as it steps a network's weights. Three
surfaces show what adaptive learning rates are for ("Idea II: design an adaptive learning rate that
adapts to the landscape"):

* **ravine** ``f = 0.05 x^2 + 2 y^2``: 40 times steeper across than along; SGD's rate is capped by the steep
  direction (``eta < 2 / 4``), so it crawls along the flat one;
* **saddle** ``f = x^2 + y^4/4 - y^2/2``: a flat saddle at the origin between two minima at ``y = +-1``,
  started almost on the ridge;
* **Rosenbrock** ``f = (1 - x)^2 + 100 (y - x^2)^2``: a curved, flat-bottomed valley with the minimum at
  ``(1, 1)``.

A race is only fair when every racer runs at its own best learning rate: :func:`best_learning_rates` tries
each racer at every rate of :data:`SWEEP_RATES` (``1e-4`` to ``1e3``, half a decade apart) and keeps the
one whose loss is lowest on average over the race (mean of ``log10(f - f_min)`` over the steps: close
early and staying there). Adadelta's best rates are
huge: its step starts at about ``sqrt(epsilon) = 3e-4`` times the learning rate and only grows as it
accumulates past updates, so at Keras' default rate (0.001, :data:`KERAS_DEFAULT_RATES`) it barely leaves
the start; the figures draw that run too.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from ._style import OPTIMIZER_COLORS, PathLike, finish, label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "Surface", "SURFACES", "RACERS", "make_optimizers", "run_optimizer", "race", "plot_optimizer_race",
    "plot_optimizer_races", "DIVERGED_LOSS", "LOG_PLOT_FLOOR", "SWEEP_RATES", "REACHED", "KERAS_DEFAULT_RATES",
    "loss_gaps", "race_score", "sweep_learning_rates", "best_learning_rates", "SHOW_KERAS_DEFAULT",
]

#: a path whose loss exceeds this is called diverged; the race stops recording it (the rest is NaN).
DIVERGED_LOSS = 1e6
#: the floor of the log-scale loss plot: a loss gap of exactly 0 (at the minimum) is drawn at this height.
LOG_PLOT_FLOOR = 1e-12
#: the learning rates every racer is tried at (half a decade apart) before the race.
SWEEP_RATES = tuple(float(r) for r in np.logspace(-4, 3, 15))
#: a racer whose loss gap ``f(w) - f(minimum)`` falls below this has reached the minimum.
REACHED = 1e-6
#: Keras' default learning rates (``keras.optimizers.X().learning_rate``).
KERAS_DEFAULT_RATES = {"SGD": 0.01, "SGD+momentum": 0.01, "Adam": 0.001, "Adadelta": 0.001, "Adagrad": 0.001,
                       "RMSprop": 0.001}


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
                      0.0, 100, minima=((0.0, 0.0),)),
    "saddle": Surface("saddle", "f = x² + y⁴/4 − y²/2", _saddle_f, _saddle_grad, (-2.0, 1e-4), (-2.2, 2.2),
                      (-1.6, 1.6), -0.25, 80, minima=((0.0, -1.0), (0.0, 1.0))),
    "rosenbrock": Surface("rosenbrock", "f = (1 − x)² + 100 (y − x²)²", _rosenbrock_f, _rosenbrock_grad,
                          (-1.5, 2.0), (-2.0, 2.4), (-1.0, 4.5), 0.0, 400, minima=((1.0, 1.0),), log_levels=True),
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


def loss_gaps(surface: "str | Surface", path: np.ndarray) -> np.ndarray:
    """``f(w_k) - f(minimum)`` along a path (NaN rows, after a divergence, stay NaN)."""
    surface = _surface(surface)
    return surface.f(path[:, 0], path[:, 1]) - surface.minimum


def race_score(surface: "str | Surface", path: np.ndarray) -> float:
    """How well a path did, smaller is better: the mean over its steps of ``log10(f(w_k) - f(minimum))``.

    A racer scores well by getting close early and staying there; a diverged path scores ``inf``. Gaps
    below :data:`LOG_PLOT_FLOOR` count as that floor.
    """
    gaps = loss_gaps(surface, path)
    if np.isnan(gaps).any():
        return math.inf
    return float(np.mean(np.log10(np.maximum(gaps, LOG_PLOT_FLOOR))))


def sweep_learning_rates(surface: "str | Surface", name: str, rates: Sequence[float] = SWEEP_RATES
                         ) -> list[float]:
    """:func:`race_score` of racer ``name`` at each of ``rates`` (each run from the surface's start)."""
    surface = _surface(surface)
    return [race_score(surface, run_optimizer(make_optimizers({name: r}, [name])[name], surface)) for r in rates]


@functools.lru_cache(maxsize=None)
def _best_rate(surface_name: str, name: str) -> float:
    scores = sweep_learning_rates(surface_name, name)
    return SWEEP_RATES[min(range(len(scores)), key=scores.__getitem__)]


def best_learning_rates(surface: "str | Surface", names: Sequence[str] = RACERS) -> dict[str, float]:
    """Each racer's best learning rate on ``surface`` among :data:`SWEEP_RATES` (by :func:`race_score`)."""
    surface = _surface(surface)
    if surface.name in SURFACES and SURFACES[surface.name] is surface:
        return {name: _best_rate(surface.name, name) for name in names}
    rates = {}
    for name in names:
        scores = sweep_learning_rates(surface, name)
        rates[name] = SWEEP_RATES[min(range(len(scores)), key=scores.__getitem__)]
    return rates


def race(surface: "str | Surface" = "ravine", names: Sequence[str] = RACERS, *, steps: int | None = None,
         learning_rates: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Run every racer from the surface's start; ``{name: path}`` (see :func:`run_optimizer`).

    Each racer runs at its best rate (:func:`best_learning_rates`) unless ``learning_rates`` names one.
    """
    surface = _surface(surface)
    rates = _rates(surface, names, learning_rates)
    return {name: run_optimizer(opt, surface, steps) for name, opt in make_optimizers(rates, names).items()}


def _rates(surface: Surface, names: Sequence[str], learning_rates: Mapping[str, float] | None) -> dict[str, float]:
    given = dict(learning_rates or {})
    missing = [n for n in names if n not in given]
    rates = best_learning_rates(surface, missing) if missing else {}
    rates.update(given)
    return rates


def _contours(ax, surface: Surface) -> None:
    xs = np.linspace(*surface.xlim, 120)
    ys = np.linspace(*surface.ylim, 120)
    gx, gy = np.meshgrid(xs, ys)
    gz = surface.f(gx, gy)
    if surface.log_levels:
        levels = np.logspace(-1, math.log10(gz.max()), 18)
        ax.contour(gx, gy, gz, levels=levels, colors="0.75", linewidths=0.6, norm="log")
    else:
        ax.contour(gx, gy, gz, levels=16, colors="0.75", linewidths=0.6)
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)


def _draw_path_panel(ax, surface: Surface, name: str, path: np.ndarray, rate: float,
                     default_path: np.ndarray | None = None) -> None:
    """One racer on the contours: its path in its colour, the start, the minima and a legend."""
    _contours(ax, surface)
    color = OPTIMIZER_COLORS[name]
    gaps = loss_gaps(surface, path)
    ax.plot(path[:, 0], path[:, 1], color=color, marker=".", markersize=3, linewidth=1.3,
            label=f"{name}, η = {rate:.3g}: gap {_gap_text(gaps)}")
    if default_path is not None:
        default_gap = _gap_text(loss_gaps(surface, default_path))
        ax.plot(default_path[:, 0], default_path[:, 1], color=color, linestyle="none", marker="x", markersize=7,
                label=f"η = {KERAS_DEFAULT_RATES[name]:g} (Keras default): gap {default_gap}")
    ax.plot(*surface.start, marker="s", color="black", linestyle="none", label="start")
    for k, point in enumerate(surface.minima):
        ax.plot(*point, marker="*", markersize=12, color="gold", markeredgecolor="black", linestyle="none",
                label="minimum" if k == 0 else None)
    ax.set_title(name, fontsize=10, color=color)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6.5, loc="lower left", framealpha=0.85)


def _gap_text(gaps: np.ndarray) -> str:
    if np.isnan(gaps).any():
        return "diverged"
    final = float(gaps[-1])
    return "0" if final < LOG_PLOT_FLOOR else f"{final:.1e}"


def _draw_loss_panel(ax, surface: Surface, paths: Mapping[str, np.ndarray], rates: Mapping[str, float],
                     default_paths: Mapping[str, np.ndarray]) -> None:
    for name, path in paths.items():
        gaps = loss_gaps(surface, path)
        ax.plot(np.arange(len(path)), np.maximum(gaps, LOG_PLOT_FLOOR), color=OPTIMIZER_COLORS[name], linewidth=1.6,
                label=f"{name} (η = {rates[name]:.3g})")
    for name, path in default_paths.items():
        gaps = loss_gaps(surface, path)
        ax.plot(np.arange(len(path)), np.maximum(gaps, LOG_PLOT_FLOOR), color=OPTIMIZER_COLORS[name],
                linestyle="--", linewidth=1.2, label=f"{name} at Keras' default η = {KERAS_DEFAULT_RATES[name]:g}")
    ax.axhline(REACHED, color="black", linestyle=":", linewidth=0.8, label=f"reached: gap < {REACHED:g}")
    ax.set_yscale("log")
    label(ax, "step", "f(w) − f(minimum)  (log scale)", f"{surface.name}: loss gap against step")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax.grid(alpha=0.3)


#: racers whose Keras-default run is drawn beside the best one (where the default explains a stall).
SHOW_KERAS_DEFAULT = ("Adadelta",)


def _draw_race(subfig, surface: Surface, names: Sequence[str], steps: int | None,
               learning_rates: Mapping[str, float] | None) -> None:
    rates = _rates(surface, names, learning_rates)
    paths = race(surface, names, steps=steps, learning_rates=rates)
    defaults = {name: run_optimizer(make_optimizers(KERAS_DEFAULT_RATES, [name])[name], surface, steps)
                for name in names if name in SHOW_KERAS_DEFAULT}
    columns = -(-len(names) // 2)
    mosaic = [[f"p{k}" for k in range(columns)] + ["loss"],
              [f"p{k + columns}" for k in range(columns)] + ["loss"]]
    axes = subfig.subplot_mosaic(mosaic, width_ratios=[1.0] * columns + [1.6])
    for k, name in enumerate(names):
        _draw_path_panel(axes[f"p{k}"], surface, name, paths[name], rates[name], defaults.get(name))
    for k in range(len(names), 2 * columns):
        axes[f"p{k}"].set_visible(False)
    _draw_loss_panel(axes["loss"], surface, paths, rates, defaults)
    n_steps = surface.steps if steps is None else steps
    subfig.suptitle(f"{surface.name}: {surface.formula}, {n_steps} steps from the square; each optimizer at its "
                    f"best learning rate of {len(SWEEP_RATES)} tried (1e-4 to 1e3)", fontsize=10)


def plot_optimizer_race(surface: "str | Surface" = "ravine", names: Sequence[str] = RACERS, *,
                        steps: int | None = None, learning_rates: Mapping[str, float] | None = None,
                        save: PathLike | None = None) -> "Figure":
    """One panel per racer with its path on the contours of ``surface``, and the loss gap against step."""
    from matplotlib.figure import Figure

    surface = _surface(surface)
    fig = Figure(figsize=(15.0, 6.2), layout="constrained")
    _draw_race(fig, surface, names, steps, learning_rates)
    return finish(fig, save)


def plot_optimizer_races(surfaces: Sequence[str] = tuple(SURFACES), names: Sequence[str] = RACERS, *,
                         save: PathLike | None = None) -> "Figure":
    """All surfaces, one block each (see :func:`plot_optimizer_race`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15.0, 6.2 * len(surfaces)), layout="constrained")
    for subfig, name in zip(np.atleast_1d(fig.subfigures(len(surfaces), 1)), surfaces):
        _draw_race(subfig, _surface(name), names, None, None)
    return finish(fig, save)
