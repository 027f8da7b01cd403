"""Compatibility shims applied before numba-cuda compiles anything.

numba-cuda <= 0.30 refers to ``numpy.row_stack`` while typing NumPy functions; NumPy 2.5 removed that
alias of ``numpy.vstack`` (deprecated since 2.0), so the first kernel compile fails with
``AttributeError: module 'numpy' has no attribute 'row_stack'``. Restoring the alias is harmless: it is
exactly the function NumPy documented it to be.
"""

import numpy as np

if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack  # type: ignore[attr-defined]
