"""A counter-based hash RNG: ``uniform(seed, step, index)`` in [0, 1), the same on every engine.

Dropout must draw *the same* mask on the scalar engine, the Numba CPU kernels and the CUDA kernels,
whatever the number of threads. A stateful generator cannot promise that; a hash of the draw's
coordinates can. Each draw is

    h = mix(mix(mix(seed + GAMMA) ^ step) + index * GAMMA)          (uint64 arithmetic, wrapping)
    u = (h >> 11) * 2**-53                                            (53 random bits -> [0, 1))

where ``mix`` is the splitmix64 finalizer (Steele, Lea & Flood 2014). ``seed`` is the layer's seed,
``step`` the optimizer step (so each batch gets a fresh mask) and ``index`` the element's flat index
in the mask array.

:func:`hash_uniform` is plain scalar code: the CPU kernels compile it with ``njit(inline="always")``
and the CUDA kernels with ``cuda.jit(device=True)``. :func:`uniform_array` is the vectorised NumPy
twin used by the scalar engine and as the tests' oracle; they agree bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hash_uniform", "uniform_array", "keep_mask"]

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
S30 = np.uint64(30)
S27 = np.uint64(27)
S31 = np.uint64(31)
S11 = np.uint64(11)
TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


def mix64(z):
    """splitmix64's finalizer: a bijective scramble of a uint64."""
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    return z ^ (z >> S31)


def hash_uniform(seed, step, index):
    """Uniform float64 in [0, 1) for the draw at (seed, step, index); all three are ints >= 0."""
    h = mix64(mix64(mix64(np.uint64(seed) + GAMMA) ^ np.uint64(step)) + np.uint64(index) * GAMMA)
    return np.float64(h >> S11) * TWO_POW_MINUS_53


def uniform_array(seed: int, step: int, shape: tuple[int, ...] | int) -> np.ndarray:
    """``hash_uniform(seed, step, i)`` for every flat index ``i`` of ``shape`` (C order), vectorised."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    index = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = mix64(mix64(np.uint64(seed) + GAMMA) ^ np.uint64(step))
        h = mix64(key + index * GAMMA)
    return ((h >> S11).astype(np.float64) * TWO_POW_MINUS_53).reshape(shape)


def keep_mask(seed: int, step: int, shape: tuple[int, ...] | int, rate: float) -> np.ndarray:
    """Dropout's keep mask: ``True`` where ``uniform >= rate`` (so P(keep) = 1 - rate)."""
    return uniform_array(seed, step, shape) >= rate
