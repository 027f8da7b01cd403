"""Weight initialisers (Keras names and formulas), drawn on the host with a NumPy ``Generator``.

For a kernel of shape ``(fan_in, fan_out)``:

=================  ======================================================================
glorot_uniform     U(-limit, limit),  limit = sqrt(6 / (fan_in + fan_out))   (Keras' default)
glorot_normal      truncated N(0, s), s = sqrt(2 / (fan_in + fan_out)) / 0.87962566103423978
he_uniform         U(-limit, limit),  limit = sqrt(6 / fan_in)
he_normal          truncated N(0, s), s = sqrt(2 / fan_in) / 0.87962566103423978
random_normal      N(mean, stddev)  (defaults 0, 0.05)
random_uniform     U(minval, maxval)  (defaults -0.05, 0.05)
zeros, ones        constants
=================  ======================================================================

Truncated normals redraw values beyond two standard deviations; 0.8796... is the standard deviation
of a unit normal truncated to [-2, 2], so the result has the intended spread (as in Keras).
An initialiser given a ``seed`` draws from its own generator; otherwise from the global one
(:func:`microgradx.utils.set_random_seed`).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from . import utils

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "RandomNormal",
           "RandomUniform", "Zeros", "Ones", "get"]

#: standard deviation of a unit normal truncated to [-2, 2] (Keras' VarianceScaling constant).
TRUNCATED_NORMAL_STD = 0.87962566103423978


def _finite(value: object, argument: str, initializer: str) -> float:
    """``value`` as a float when it is a finite real number, else a ``ValueError`` naming ``argument``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"Invalid value received for argument `{argument}` of {initializer}: {value!r}. "
                         f"Expected a finite number.")
    return float(value)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


class Initializer:
    """Base class: ``init(shape, rng=None) -> float64 array``."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"Invalid value received for argument `seed`: {seed!r}. Expected an int or None.")
        if seed is not None and seed < 0:
            raise ValueError(f"Invalid value received for argument `seed`: {seed!r}. Expected an int >= 0 or None.")
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(int(seed))

    def _generator(self, rng: np.random.Generator | None) -> np.random.Generator:
        if rng is not None:
            return rng
        return self._rng if self._rng is not None else utils.get_rng()

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"


class _VarianceScaling(Initializer):
    scale = 1.0
    fan_mode = "fan_avg"
    distribution = "uniform"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2.0}[self.fan_mode]
        variance = self.scale / max(1.0, fan)
        gen = self._generator(rng)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return gen.uniform(-limit, limit, size=shape).astype(np.float64)
        std = math.sqrt(variance) / TRUNCATED_NORMAL_STD
        values = gen.standard_normal(size=shape)
        outside = np.abs(values) > 2.0
        while outside.any():  # redraw beyond two standard deviations (truncated normal)
            values[outside] = gen.standard_normal(size=int(outside.sum()))
            outside = np.abs(values) > 2.0
        return (values * std).astype(np.float64)


class GlorotUniform(_VarianceScaling):
    """U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out))."""


class GlorotNormal(_VarianceScaling):
    """Truncated normal with std sqrt(2 / (fan_in + fan_out))."""
    distribution = "truncated_normal"


class HeUniform(_VarianceScaling):
    """U(-limit, limit) with limit = sqrt(6 / fan_in)."""
    scale = 2.0
    fan_mode = "fan_in"


class HeNormal(_VarianceScaling):
    """Truncated normal with std sqrt(2 / fan_in)."""
    scale = 2.0
    fan_mode = "fan_in"
    distribution = "truncated_normal"


class RandomNormal(Initializer):
    """N(mean, stddev)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = _finite(mean, "mean", "RandomNormal")
        self.stddev = _finite(stddev, "stddev", "RandomNormal")
        if self.stddev < 0:
            raise ValueError(f"Invalid value received for argument `stddev` of RandomNormal: {stddev!r}. "
                             f"Expected a finite number >= 0.")

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        return self._generator(rng).normal(self.mean, self.stddev, size=shape).astype(np.float64)


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval = _finite(minval, "minval", "RandomUniform")
        self.maxval = _finite(maxval, "maxval", "RandomUniform")
        if not self.minval <= self.maxval:
            raise ValueError(f"Invalid values received for `minval`={minval!r} and `maxval`={maxval!r}: "
                             f"expected minval <= maxval.")
        if not math.isfinite(self.maxval - self.minval):
            raise ValueError(f"Invalid values received for `minval`={minval!r} and `maxval`={maxval!r}: "
                             f"maxval - minval overflows; expected a finite range.")

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        return self._generator(rng).uniform(self.minval, self.maxval, size=shape).astype(np.float64)


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        return np.zeros(shape, dtype=np.float64)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        return np.ones(shape, dtype=np.float64)


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "zeros": Zeros, "ones": Ones,
}


def get(identifier: "str | Initializer", argument: str = "kernel_initializer") -> Initializer:
    """An :class:`Initializer` from a name (``"glorot_uniform"``) or an instance (returned as is)."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Invalid value received for argument `{argument}`: {identifier!r}. "
                     f"Expected one of {sorted(_BY_NAME)} or an Initializer instance.")
