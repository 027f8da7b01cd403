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
import secrets
import stat
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
    """Write the file ``path`` atomically: every file microgradx writes goes through here.

    ``write(tmp_path)`` writes a temporary file in the same folder (a path, so that any writer works:
    ``open``, ``np.savez``, ``fig.savefig``); then the file is flushed to disk (``fsync``) and
    ``os.replace`` moves it onto ``path``, so a reader sees the old file or the new one, never a part.

    * Mode: a new file gets ``0o666`` less the process's umask (0644 under umask 022), like ``open``;
      an existing file keeps its mode.
    * Failure or interruption (``KeyboardInterrupt`` included) inside ``write`` removes the temporary
      file and leaves any existing ``path`` untouched.
    * Errors name ``path`` (the file the caller asked for), never the temporary file.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base, suffix = os.path.splitext(os.path.basename(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _for_path(error, path) from None
    tmp = _create_temporary(folder, base, suffix, path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and error.filename == tmp:
            raise _for_path(error, path) from None
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, base: str, suffix: str, path: str) -> str:
    """A new empty file ``.<base>-<random>.tmp<suffix>`` in ``folder``, created with mode 0o666 so that
    the kernel applies the umask (``tempfile.mkstemp`` would give 0o600). The suffix is kept so that
    writers that choose a format from the name (``savefig``) still can."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}-{secrets.token_hex(4)}.tmp{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise _for_path(error, path) from None
        os.close(fd)
        return tmp
    raise FileExistsError(f"Cannot create a temporary file next to {path!r}: 100 names were taken.")


def _for_path(error: OSError, path: str) -> OSError:
    """The same kind of error, naming ``path`` instead of a temporary file."""
    return type(error)(error.errno, error.strerror or str(error), path)


def _sync_folder(folder: str) -> None:
    """Flush the folder entry of a renamed file to disk (best effort: not every system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
