"""Global randomness and small I/O helpers.

:func:`set_random_seed` makes everything that draws randomly reproducible: weight initialisers,
Dropout layers built without a seed, and the shuffling in ``fit`` all draw from one global
``numpy.random.Generator`` (:func:`get_rng`). Like ``keras.utils.set_random_seed`` it also seeds
Python's ``random`` and NumPy's legacy global generator.

Layer names (``dense``, ``dense_1``, ...) are unique in a session, as in Keras;
:func:`clear_session` starts the counters again.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections import defaultdict
from typing import Callable

import numpy as np

__all__ = ["set_random_seed", "get_rng", "clear_session", "unique_name", "atomic_write", "draw_seed"]

_rng = np.random.default_rng()
_name_counts: defaultdict[str, int] = defaultdict(int)

#: seeds drawn for layers and shuffles lie in [0, SEED_LIMIT).
SEED_LIMIT = 2**31 - 1


def set_random_seed(seed: int) -> None:
    """Seed the global generator used by initialisers, unseeded Dropout layers and ``fit``'s shuffling."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Invalid value received for argument `seed`: {seed!r}. "
                         f"Expected a non-negative integer.")
    _rng = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def get_rng() -> np.random.Generator:
    """The global generator (re-created by :func:`set_random_seed`)."""
    return _rng


def draw_seed() -> int:
    """An integer seed drawn from the global generator (for Dropout layers built without one)."""
    return int(_rng.integers(0, SEED_LIMIT))


def clear_session() -> None:
    """Reset the layer-name counters (the next Dense is ``dense`` again), like ``keras.backend.clear_session``."""
    _name_counts.clear()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``, ... (Keras' automatic layer names)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write a file atomically: ``write(tmp_path)`` into a temporary file in the same folder, then
    ``os.replace`` it onto ``path``; a failure leaves any existing file untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
