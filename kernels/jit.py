"""How every CPU kernel is compiled: ``@njit(cache=True)``, safe from stale caches and read-only installs.

Two problems of numba's on-disk cache, both solved here by one cache locator for this folder only:

* **Stale kernels.** Numba stamps a cached kernel with its *own* file's modification time and size, so a
  change to a helper it inlines from another file (``activations.py``, ``rng.py``, ...) is not noticed
  and the old machine code keeps running (numba issues #9483, #1833): silently wrong numbers after an
  edit or an in-place upgrade. :class:`KernelsCacheLocator` adds a digest of every ``.py`` file of
  ``microgradx.kernels`` to the stamp, so any change to any kernel source recompiles every kernel.
* **Read-only installs.** Numba writes next to the source file, then under ``$HOME/.cache/numba``;
  where neither is writable and ``NUMBA_CACHE_DIR`` is unset, ``cache=True`` makes the *import* fail
  ("no locator available"). The locator writes to the first writable of ``NUMBA_CACHE_DIR``, the
  package's ``__pycache__``, ``~/.cache/microgradx/numba`` and the temp folder, and caching is turned
  off (never the import) only where none exists.

The locator only answers for files of this folder: other libraries' numba caches are untouched.
It builds on numba's cache-locator classes (``numba.core.caching``); should they change, the code falls
back to numba's own locators with a cache folder chosen as above.

``NUMBA_DISABLE_JIT=1`` works as usual: the decorated functions then run as plain Python.

A rule written outside this folder (an optimizer's, a regularizer's) reaches a kernel as an argument of a
factory, which closes the compiled kernel over it: :func:`jitable` makes it callable from compiled code
(it stays a plain function, so numba's cache key pickles it by name) and :func:`rules_digest` of its code
goes into the closure too, so editing the rule recompiles the kernel.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import types
from typing import Any, Callable

import numba
import numpy as np
from numba.extending import register_jitable

__all__ = ["njit", "compile_functions", "wrapping", "jitable", "rules_digest", "CACHE_ENABLED",
           "SOURCES_DIGEST"]

KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))


def _sources_digest(folder: str = KERNELS_DIR) -> str:
    """SHA-1 over the names and contents of every ``.py`` file below ``folder`` (sorted)."""
    digest = hashlib.sha1()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as source:
                digest.update(source.read())
    return digest.hexdigest()[:16]


SOURCES_DIGEST = _sources_digest()


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def _cache_root() -> str | None:
    """The first writable folder for the kernels' cache files, or ``None``."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    candidates = [os.path.join(KERNELS_DIR, "__pycache__"),
                  os.path.join(os.path.expanduser("~"), ".cache", "microgradx", "numba"),
                  os.path.join(tempfile.gettempdir(), f"microgradx-numba-{uid}")]
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.insert(0, os.path.join(os.environ["NUMBA_CACHE_DIR"], "microgradx"))
    return next((path for path in candidates if _writable(path)), None)


CACHE_ROOT = _cache_root()
CACHE_ENABLED = CACHE_ROOT is not None


def _install_locator() -> bool:
    """Put :class:`KernelsCacheLocator` first in numba's locator list; ``False`` if numba lacks the API."""
    try:
        from numba.core import caching
        base = (caching._SourceFileBackedLocatorMixin, caching._CacheLocator)
        locators = caching.CacheImpl._locator_classes
    except (ImportError, AttributeError):
        return False

    class KernelsCacheLocator(*base):  # type: ignore[misc]
        """Cache files of ``microgradx.kernels`` under :data:`CACHE_ROOT`, stamped with the sources digest."""

        def __init__(self, py_func: Callable, py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(CACHE_ROOT, os.path.relpath(os.path.dirname(py_file), KERNELS_DIR))

        def get_cache_path(self) -> str:
            return self._cache_path

        def get_source_stamp(self) -> Any:
            return (super().get_source_stamp(), SOURCES_DIGEST)

        @classmethod
        def from_function(cls, py_func: Callable, py_file: str):
            if CACHE_ROOT is None or os.path.commonpath([os.path.abspath(py_file), KERNELS_DIR]) != KERNELS_DIR:
                return None
            return super().from_function(py_func, py_file)

    if not any(getattr(c, "__name__", "") == "KernelsCacheLocator" for c in locators):
        locators.insert(0, KernelsCacheLocator)
    return True


if CACHE_ENABLED and not _install_locator() and not os.environ.get("NUMBA_CACHE_DIR"):
    # numba without the locator API: its own locators, pointed at our folder where they would fail
    if not _writable(os.path.join(KERNELS_DIR, "__pycache__")):
        numba.config.CACHE_DIR = CACHE_ROOT


def njit(*args: Any, **options: Any) -> Callable:
    """``numba.njit`` with ``cache=True`` where a cache folder is writable (and ``error_model='numpy'``).

    Use exactly like ``numba.njit``: ``@njit``, ``@njit(parallel=True)``, ``@njit(inline="always")``.
    """
    options.setdefault("cache", CACHE_ENABLED)
    options.setdefault("error_model", "numpy")
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)


def compile_functions(decorator: Callable, *functions: Callable) -> list:
    """Compile plain functions that call each other by their global names for one target.

    ``decorator`` is ``njit(inline="always")`` (CPU) or ``cuda.jit(device=True)`` (CUDA); the
    ``functions`` come from one module. Each is compiled from its own code object with globals in
    which the others' names are bound to the compiled versions, so the maths is written once, as plain
    Python, and every target compiles that same source (no copy). Returns the compiled functions in
    order.
    """
    scope = dict(functions[0].__globals__)
    compiled = [decorator(types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__))
                for f in functions]
    scope.update({f.__name__: c for f, c in zip(functions, compiled)})
    return compiled


def wrapping(decorator: Callable, runs_as_python: bool) -> Callable:
    """``decorator`` for functions whose uint64 arithmetic wraps by design (the hash RNG).

    Compiled code wraps silently. Run as Python (``runs_as_python``: ``NUMBA_DISABLE_JIT=1`` for the CPU,
    the CUDA simulator for CUDA) the same code computes on NumPy uint64 scalars, which warn on every wrap
    ("overflow encountered in scalar multiply"), so there each function runs under
    ``np.errstate(over="ignore")``, set in the calling thread (the simulator's threads inherit none).
    """
    if not runs_as_python:
        return decorator

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def quiet(*args: Any) -> Any:
            with np.errstate(over="ignore"):
                return function(*args)
        return decorator(quiet)

    return decorate


@functools.lru_cache(maxsize=None)
def jitable(function: Callable) -> Callable:
    """``function`` made callable from compiled code, once (it stays the same Python function)."""
    return register_jitable(function)


def rules_digest(*functions: Callable) -> int:
    """A digest of the functions' code (bytecode, constants, names): part of a factory kernel's cache key."""
    digest = hashlib.sha1()
    for function in functions:
        code = function.__code__
        digest.update(code.co_code + repr((code.co_consts, code.co_names)).encode())
    return int(digest.hexdigest()[:15], 16)
