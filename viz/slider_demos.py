"""The lecture's slider demos, as specs for :mod:`microgradx.viz.sliders` (every frame computed here):

* :func:`descent_spec`: gradient descent (the library's ``SGD``) on the two-weight least-squares loss of
  tutorial 4, with sliders for the learning rate (curated around the critical rate 2/λ_max) and momentum;
* :func:`race_spec`: the optimizer race of :mod:`microgradx.viz.optimizers`, one learning-rate slider per
  optimizer and a slider for the surface;
* :func:`fitting_spec` (written in :mod:`microgradx.viz.fitting_sliders`): a small network on noisy two
  moons, with sliders for the noise, the width, the dropout rate and the patience of early stopping
  (patience replays ``EarlyStopping`` on the recorded validation losses: no retraining).

Each frame's caption states what its numbers show (final loss, where training stopped, accuracies); the
tests check those statements against independent computations.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import sliders as sl
from ._style import OPTIMIZER_COLORS
from .fitting_sliders import FITTING_CONTROLS, fitting_spec, replay_early_stopping
from .optimizers import SWEEP_RATES
from .sliders import contour_lines, simplify

__all__ = ["lecture_spec", "lecture_verdict", "LECTURE_SLIDER_RATES", "DescentProblem", "descent_problem", "descent_spec", "RACE_RATES", "race_spec", "fitting_spec",
           "FITTING_CONTROLS", "replay_early_stopping", "contour_lines", "simplify"]


# ------------------------------------------------------------------------------------ gradient descent
class DescentProblem:
    """Tutorial 4's least squares: 20 points on a noisy line, ``J(w0, w1) = mean((y − w0 − w1 x)²)``."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.xs = np.linspace(0.0, 2.0, 20)
        self.ys = 1.0 + 2.0 * self.xs + 0.3 * rng.normal(size=self.xs.size)
        self.design = np.column_stack([np.ones_like(self.xs), self.xs])
        self.hessian = 2.0 * self.design.T @ self.design / len(self.xs)
        self.minimum, *_ = np.linalg.lstsq(self.design, self.ys, rcond=None)
        self.lowest = self.loss(self.minimum)
        self.critical = 2.0 / float(np.linalg.eigvalsh(self.hessian).max())

    def loss(self, w: np.ndarray) -> float:
        return float(np.mean((self.ys - self.design @ w) ** 2))

    def gradient(self, w: np.ndarray) -> np.ndarray:
        return -2.0 * self.design.T @ (self.ys - self.design @ w) / len(self.xs)

    def surface(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        residuals = self.ys[:, None, None] - (w0[None] + w1[None] * self.xs[:, None, None])
        return (residuals ** 2).mean(axis=0)


def descent_problem(seed: int = 0) -> DescentProblem:
    return DescentProblem(seed)


#: learning rates of the descent demo, as fractions of the critical rate 2/λ_max
DESCENT_FRACTIONS = (0.02, 0.1, 0.3, 0.6, 0.9, 1.05)
DESCENT_MOMENTA = (0.0, 0.5, 0.9)
DESCENT_START = (-1.0, 3.6)
DESCENT_STEPS = 50
DESCENT_XLIM, DESCENT_YLIM = (-1.5, 3.5), (-0.5, 4.0)


def descend(problem: DescentProblem, learning_rate: float, momentum: float, steps: int = DESCENT_STEPS,
            start: Sequence[float] = DESCENT_START) -> tuple[np.ndarray, np.ndarray]:
    """The path (``steps + 1`` points) and losses of the library's ``SGD`` (Keras momentum) from ``start``;
    after a loss above 1e6 the rest is NaN."""
    from microgradx.optimizers import SGD

    optimizer = SGD(learning_rate=float(learning_rate), momentum=float(momentum))
    w = np.array(start, dtype=float)
    path = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    path[0], losses[0] = w, problem.loss(w)
    for k in range(steps):
        optimizer.apply([problem.gradient(w)], [w])
        loss = problem.loss(w)
        if not math.isfinite(loss) or loss > 1e6:
            break
        path[k + 1], losses[k + 1] = w, loss
    return path, losses


def descent_verdict(gaps: np.ndarray) -> str:
    """From the loss gaps J − J* of a run: ``"diverging"`` (it blew up, ended above its start, or grew at each
    of its last 10 steps), ``"converged"`` (J − J* < 1e-6) or ``"still descending"``."""
    finite = gaps[~np.isnan(gaps)]
    if len(finite) < len(gaps) or finite[-1] > finite[0] or np.all(np.diff(finite[-11:]) > 0):
        return "diverging"
    return "converged" if finite[-1] < 1e-6 else "still descending"


def descent_spec(problem: DescentProblem | None = None, *, fractions: Sequence[float] = DESCENT_FRACTIONS,
                 momenta: Sequence[float] = DESCENT_MOMENTA, steps: int = DESCENT_STEPS,
                 rate_index: int = 2, momentum_index: int = 0) -> dict[str, Any]:
    """Sliders for the learning rate and the momentum of gradient descent on :class:`DescentProblem`."""
    problem = descent_problem() if problem is None else problem
    rates = [f * problem.critical for f in fractions]
    controls = [
        sl.control("learning_rate", "learning rate η", rates,
                   [f"{r:.3g} ({f:g} × 2/λmax)" for r, f in zip(rates, fractions)], rate_index),
        sl.control("momentum", "momentum", list(momenta), [f"{m:g}" for m in momenta], momentum_index),
    ]
    g0 = np.linspace(*DESCENT_XLIM, 90)
    g1 = np.linspace(*DESCENT_YLIM, 90)
    surface = problem.surface(*np.meshgrid(g0, g1))
    levels = np.geomspace(problem.lowest + 0.02, surface.max(), 14)
    background = sl.part({0: {"lines": contour_lines(g0, g1, surface, levels),
                              "points": [sl.point(*problem.minimum, "#f0c000", shape="star", size=9,
                                                  label="minimum W*"),
                                         sl.point(*DESCENT_START, "#222", shape="square", label="start")]}})

    def frame(i: int, j: int) -> dict[str, Any]:
        path, losses = descend(problem, rates[i], momenta[j], steps)
        gaps = losses - problem.lowest
        verdict = descent_verdict(gaps)
        finite = gaps[~np.isnan(gaps)]
        text = (f"η = {rates[i]:.3g} ({fractions[i]:g} × the critical rate 2/λmax = {problem.critical:.3g}), "
                f"momentum {momenta[j]:g}: " + (f"diverged (J − J* above 1e6 at step {len(finite)})"
                                                 if np.isnan(gaps).any() else
                                                 f"J − J* = {finite[-1]:.2g} after {len(finite) - 1} steps "
                                                 f"({verdict})"))
        color = "#D55E00"
        return sl.part({0: {"lines": [sl.line(path, color, label="gradient descent path", markers=True)]},
                        1: {"lines": [sl.line(np.column_stack([np.arange(len(gaps)), np.maximum(gaps, 1e-16)]),
                                              color, label="J(W) − J(W*)")]}}, text,
                       {"learning_rate": rates[i], "momentum": momenta[j], "verdict": verdict,
                        "steps": len(finite) - 1, "gap": float(finite[-1])})

    panels = [{"title": "Steps on the contours of J(w0, w1) (least squares)", "xlabel": "w0", "ylabel": "w1",
               "xlim": list(DESCENT_XLIM), "ylim": list(DESCENT_YLIM)},
              {"title": "Loss above the minimum", "xlabel": "step", "ylabel": "J − J* (log scale)",
               "xlim": [0, steps], "ylim": [1e-8, 1e3], "logy": True}]
    layers = [{"controls": [], "frames": {"": background}},
              sl.layer([0, 1], frame, [len(rates), len(momenta)])]
    return sl.make_spec("Gradient descent: move the learning rate and the momentum", controls, panels, layers)


# ------------------------------------------------------------------------------------ the lecture's 1-D picture
#: learning rates of the 1-D slider (the lecture's three are among them)
LECTURE_SLIDER_RATES = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.2)
LECTURE_STEPS = 30
LECTURE_VIEW = (-6.0, 6.0)


def lecture_verdict(path: np.ndarray) -> str:
    """Where gradient descent on :func:`~microgradx.viz.learning_rate.loss_1d` ended: ``"diverging"`` (blew up,
    or its last 10 steps each moved further from 0), ``"global minimum"`` (|w| < 0.05 and a flat gradient),
    ``"false minimum"`` (a flat gradient elsewhere) or ``"still moving"``."""
    from .learning_rate import gradient_1d

    finite = path[~np.isnan(path)]
    if len(finite) < len(path) or np.all(np.diff(np.abs(finite[-11:])) > 0):
        return "diverging"
    w = float(finite[-1])
    if abs(float(gradient_1d(w))) < 1e-3:
        return "global minimum" if abs(w) < 0.05 else "false minimum"
    return "still moving"


def lecture_spec(*, rates: Sequence[float] = LECTURE_SLIDER_RATES, steps: int = LECTURE_STEPS,
                 rate_index: int = 0) -> dict[str, Any]:
    """The lecture's "Setting the learning rate" picture with a learning-rate slider: the library's ``SGD`` on
    ``J(w) = w²/2 + 3 exp(−2 (w − 2)²)`` (a bowl with a bump: a false minimum near w = 2.78) from w = 4.5."""
    from .learning_rate import LECTURE_RATES, START, descend, loss_1d

    names = {rate: name for name, rate in LECTURE_RATES.items()}
    controls = [sl.control("learning_rate", "learning rate η", list(rates),
                           [f"{r:g}" + (f" ({names[r]})" if r in names else "") for r in rates], rate_index)]
    ws = np.linspace(*LECTURE_VIEW, 241)
    background = sl.part({0: {"lines": [sl.line(np.column_stack([ws, loss_1d(ws)]), "#999", label="J(w)")],
                              "points": [sl.point(START, float(loss_1d(START)), "#222", shape="square",
                                                  label="start")]}})

    def frame(i: int) -> dict[str, Any]:
        path = descend(rates[i], steps, START)
        finite = path[~np.isnan(path)]
        verdict = lecture_verdict(path)
        color = "#D55E00"
        shown = finite[np.abs(finite) <= 12.0]
        text = (f"η = {rates[i]:g}: after {len(finite) - 1} steps w = {finite[-1]:.3g}, J(w) = "
                f"{float(loss_1d(finite[-1])):.3g} ({verdict})")
        return sl.part({0: {"lines": [sl.line(np.column_stack([shown, loss_1d(shown)]), color, markers=True,
                                              label="gradient descent steps")]},
                        1: {"lines": [sl.line(np.column_stack([np.arange(len(finite)), loss_1d(finite)]), color,
                                              label="J(w) per step")]}},
                       text, {"learning_rate": rates[i], "verdict": verdict, "w": float(finite[-1]),
                              "steps": len(finite) - 1})

    panels = [{"title": "Steps on J(w) = w²/2 + 3 exp(−2 (w − 2)²)", "xlabel": "w", "ylabel": "J(w)",
               "xlim": list(LECTURE_VIEW), "ylim": [0.0, 18.0]},
              {"title": "Loss per step", "xlabel": "step", "ylabel": "J(w) (log scale)", "xlim": [0, steps],
               "ylim": [1e-4, 1e6], "logy": True}]
    layers = [{"controls": [], "frames": {"": background}}, sl.layer([0], frame, [len(rates)])]
    return sl.make_spec("Setting the learning rate: too small, stable, too large", controls, panels, layers)


# ------------------------------------------------------------------------------------ the optimizer race
#: the learning rates each optimizer's slider offers: the race's sweep, half a decade apart
RACE_RATES = tuple(SWEEP_RATES)


def _nearest(values: Sequence[float], target: float) -> int:
    return int(np.argmin([abs(math.log(v / target)) for v in values]))


def race_spec(surfaces: Sequence[str] = ("ravine", "saddle", "rosenbrock"), *, rates: Sequence[float] = RACE_RATES,
              racers: Sequence[str] | None = None) -> dict[str, Any]:
    """The optimizer race with one learning-rate slider per optimizer (starting at its best rate on the first
    surface, :func:`~microgradx.viz.optimizers.best_learning_rates`) and one for the surface."""
    from .optimizers import RACERS, SURFACES, best_learning_rates, loss_gaps, make_optimizers, run_optimizer

    racers = list(RACERS if racers is None else racers)
    first = SURFACES[surfaces[0]]
    best = {s: best_learning_rates(s, racers) for s in surfaces}
    controls = [sl.control("surface", "surface", list(surfaces), [SURFACES[s].formula for s in surfaces], 0)]
    for name in racers:
        controls.append(sl.control(f"lr_{name}", f"{name} η", list(rates), [f"{r:.3g}" for r in rates],
                                   _nearest(rates, best[surfaces[0]][name])))

    def background(k: int) -> dict[str, Any]:
        surface = SURFACES[surfaces[k]]
        gx, gy = np.linspace(*surface.xlim, 90), np.linspace(*surface.ylim, 90)
        z = surface.f(*np.meshgrid(gx, gy)) - surface.minimum
        top = float(z.max())
        levels = np.geomspace(max(top * 1e-4, 1e-3), top, 12) if surface.log_levels else np.linspace(0, top, 14)[1:]
        stars = [sl.point(x, y, "#f0c000", shape="star", size=9, label="minimum") for x, y in surface.minima]
        return sl.part({0: {"lines": contour_lines(gx, gy, z, levels), "xlim": list(surface.xlim),
                            "ylim": list(surface.ylim), "title": f"{surface.name}: {surface.formula}",
                            "points": stars + [sl.point(*surface.start, "#222", shape="square", label="start")]},
                        1: {"xlim": [0, surface.steps]}})

    def racer(name: str):
        def frame(k: int, r: int) -> dict[str, Any]:
            surface = SURFACES[surfaces[k]]
            path = run_optimizer(make_optimizers({name: rates[r]}, [name])[name], surface)
            gaps = loss_gaps(surface, path)
            finite = gaps[~np.isnan(gaps)]
            diverged = bool(np.isnan(gaps).any())
            outcome = (f"diverged (loss above 1e6 at step {len(finite)})" if diverged
                       else f"f − f* = {finite[-1]:.2g} after {len(finite) - 1} steps")
            color = OPTIMIZER_COLORS[name]
            shown = len(finite)                        # the recorded part (after a divergence the rest is NaN)
            view = (surface.xlim[1] - surface.xlim[0], surface.ylim[1] - surface.ylim[0])
            steps = np.arange(shown)
            log_gap = np.log10(np.maximum(finite, 1e-12))
            kept = simplify(np.column_stack([steps, log_gap]), 0.002, scale=(surface.steps, 15.0))
            curve = np.column_stack([kept[:, 0], 10.0 ** kept[:, 1]])
            return sl.part({0: {"lines": [sl.line(simplify(path[:shown], 0.002, scale=view), color, label=name,
                                                  width=2)]},
                            1: {"lines": [sl.line(curve, color, label=name, width=2)]}},
                           f"{name} (η = {rates[r]:.3g}; best of the sweep here: {best[surfaces[k]][name]:.3g}): "
                           f"{outcome}",
                           {"learning_rate": rates[r], "diverged": diverged, "steps": len(finite) - 1,
                            "gap": float(finite[-1])})
        return frame

    panels = [{"title": "", "xlabel": "x", "ylabel": "y", "xlim": list(first.xlim), "ylim": list(first.ylim)},
              {"title": "Loss above the minimum", "xlabel": "step", "ylabel": "f − f* (log scale)",
               "xlim": [0, first.steps], "ylim": [1e-12, 1e3], "logy": True}]
    layers = [sl.layer([0], background, [len(surfaces)])]
    for c, name in enumerate(racers, start=1):
        layers.append(sl.layer([0, c], racer(name), [len(surfaces), len(rates)]))
    return sl.make_spec("The optimizer race: one learning rate per optimizer (each starts at its best)", controls,
                        panels, layers)
