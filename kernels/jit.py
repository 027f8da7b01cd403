"""How every CPU kernel is compiled: ``@njit(cache=True)`` that still imports from a read-only install.

Numba writes its cache next to the source file, then under ``$HOME/.cache/numba``; where neither is
writable and ``NUMBA_CACHE_DIR`` is unset, ``cache=True`` makes the *import* fail ("no locator
available"). :func:`_choose_cache_dir` finds a writable place first (``NUMBA_CACHE_DIR``, the package
folder, ``~/.cache/microgradx/numba``, the temp folder) and only turns caching off where none exists.

``NUMBA_DISABLE_JIT=1`` works as usual: the decorated functions then run as plain Python.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

import numba

__all__ = ["njit", "CACHE_ENABLED"]


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def _choose_cache_dir() -> bool:
    """Make sure numba has a writable cache location; return whether caching is possible."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return _writable(os.environ["NUMBA_CACHE_DIR"])
    if _writable(os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")):
        return True
    home = os.path.join(os.path.expanduser("~"), ".cache", "microgradx", "numba")
    tmp = os.path.join(tempfile.gettempdir(), f"microgradx-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")
    for candidate in (home, tmp):
        if _writable(candidate):
            numba.config.CACHE_DIR = candidate
            return True
    return False


CACHE_ENABLED = _choose_cache_dir()


def njit(*args: Any, **options: Any) -> Callable:
    """``numba.njit`` with ``cache=True`` where a cache folder is writable (and ``error_model='numpy'``).

    Use exactly like ``numba.njit``: ``@njit``, ``@njit(parallel=True)``, ``@njit(inline="always")``.
    """
    options.setdefault("cache", CACHE_ENABLED)
    options.setdefault("error_model", "numpy")
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)
