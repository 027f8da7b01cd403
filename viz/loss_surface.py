"""The loss on a line or a plane through a model's weights, after Li et al. 2017: the numbers that
:mod:`microgradx.viz.landscape` draws.

* 1-D: ``f(α) = J(θ* + α δ)``; 2-D: ``f(α, β) = J(θ* + α δ + β η)``.
* ``δ`` and ``η`` are Gaussian random directions, **filter-normalised** (:func:`filter_normalized_direction`).

Every grid point is one batched forward pass: ``model.set_weights(θ)`` then ``model.evaluate(x, y,
batch_size=len(x))``. The model's own weights are put back afterwards.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["filter_normalized_direction", "flatten", "unflatten", "evaluate_at", "loss_line", "loss_plane"]


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
