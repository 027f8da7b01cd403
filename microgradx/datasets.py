"""Small datasets for teaching: 2-D toy problems (TensorFlow Playground style) and real tabular sets.

2-D sets (``x`` of shape ``(n, 2)`` float64, ``y`` of shape ``(n,)`` float64 with labels 0/1; ``noise``
is the standard deviation of Gaussian noise added to each coordinate, ``seed`` makes them reproducible):

* :func:`moons`: two interleaving half circles (like scikit-learn's ``make_moons``; micrograd's demo);
* :func:`circles`: a disc (label 1) inside a ring (label 0);
* :func:`spiral`: two interleaved spirals;
* :func:`xor`: the four quadrants, label 1 where ``x0 * x1 > 0``;
* :func:`gaussians`: two Gaussian blobs centred at ``(1, 1)`` (label 1) and ``(-1, -1)`` (label 0).

Real sets (need scikit-learn: ``pip install microgradx[datasets]``): :func:`load_digits` (8x8 images,
10 classes), :func:`load_breast_cancer` (30 features, 2 classes), :func:`load_diabetes` (10 features,
regression). :func:`train_test_split` splits any of them reproducibly.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

__all__ = ["moons", "circles", "spiral", "xor", "gaussians", "load_digits", "load_breast_cancer",
           "load_diabetes", "train_test_split"]


def _check(n: object, noise: object, seed: object) -> np.random.Generator:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 2:
        raise ValueError(f"Invalid value received for argument `n`: {n!r}. Expected an integer >= 2.")
    if isinstance(noise, bool) or not isinstance(noise, Real) or not noise >= 0:
        raise ValueError(f"Invalid value received for argument `noise`: {noise!r}. Expected a number >= 0.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
        raise ValueError(f"Invalid value received for argument `seed`: {seed!r}. "
                         f"Expected a non-negative integer or None.")
    return np.random.default_rng(seed)


def _halves(n: int) -> tuple[int, int]:
    """Split ``n`` points into two classes: ``n // 2`` of label 0 and the rest of label 1."""
    return n // 2, n - n // 2


def _finish(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    x = x + rng.normal(0.0, noise, size=x.shape) if noise else x
    order = rng.permutation(len(x))
    return x[order].astype(np.float64), y[order].astype(np.float64)


def moons(n: int = 100, noise: float = 0.1, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two half circles: label 0 on ``(cos t, sin t)``, label 1 on ``(1 - cos t, 0.5 - sin t)``, t in [0, pi]."""
    rng = _check(n, noise, seed)
    n0, n1 = _halves(n)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1), np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def circles(n: int = 100, noise: float = 0.1, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 uniformly in the disc of radius 0.5, label 0 in the ring 0.7 <= r <= 1 (as the Playground)."""
    rng = _check(n, noise, seed)
    n0, n1 = _halves(n)
    r = np.concatenate([rng.uniform(0.7, 1.0, n0), rng.uniform(0.0, 0.5, n1)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1)
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def spiral(n: int = 100, noise: float = 0.1, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals ``r = i/m``, ``t = 3.5 pi i/m + delta`` (delta 0 for label 1, pi for label 0)."""
    rng = _check(n, noise, seed)
    n0, n1 = _halves(n)
    parts = []
    for count, delta in ((n0, np.pi), (n1, 0.0)):
        i = np.arange(count) / count
        t = 1.75 * 2 * np.pi * i + delta
        parts.append(np.stack([i * np.sin(t), i * np.cos(t)], 1))
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, np.concatenate(parts), y, noise)


def xor(n: int = 100, noise: float = 0.1, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-1, 1]^2 kept 0.05 away from the axes; label 1 where ``x0 * x1 > 0``."""
    rng = _check(n, noise, seed)
    padding = 0.05
    x = rng.uniform(padding, 1.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float64)  # labels from the clean points, noise added after
    return _finish(rng, x, y, noise)


def gaussians(n: int = 100, noise: float = 0.5, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 around ``(1, 1)``, label 0 around ``(-1, -1)``; ``noise`` is each blob's standard deviation."""
    rng = _check(n, noise, seed)
    n0, n1 = _halves(n)
    x = np.concatenate([np.full((n0, 2), -1.0), np.full((n1, 2), 1.0)])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def _sklearn_datasets():
    try:
        from sklearn import datasets as sk_datasets
    except ImportError:
        raise ImportError("This loader needs scikit-learn, which is not installed. Install it with "
                          "`pip install microgradx[datasets]` (or `pip install scikit-learn`).") from None
    return sk_datasets


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: ``x`` (1797, 64) pixel values 0..16 as float64, ``y`` (1797,) int labels 0..9."""
    data = _sklearn_datasets().load_digits()
    return data.data.astype(np.float64), data.target.astype(np.int64)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's breast cancer set: ``x`` (569, 30) float64, ``y`` (569,) labels 0/1 as float64."""
    data = _sklearn_datasets().load_breast_cancer()
    return data.data.astype(np.float64), data.target.astype(np.float64)


def load_diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes regression set: ``x`` (442, 10) float64 (scaled), ``y`` (442,) float64."""
    data = _sklearn_datasets().load_diabetes()
    return data.data.astype(np.float64), data.target.astype(np.float64)


def train_test_split(x: np.ndarray, y: np.ndarray, test_size: float = 0.25,
                     seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with ``seed`` and return ``x_train, x_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction in (0, 1) (the test set gets ``ceil(test_size * n)`` samples) or a
    number of samples.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    n = len(x)
    if isinstance(test_size, Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, Real) and 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(f"Invalid value received for argument `test_size`: {test_size!r}. Expected a "
                         f"fraction in (0, 1) or a number of samples.")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n - n_test} training and {n_test} test samples out "
                         f"of {n}; both must be at least 1.")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]
