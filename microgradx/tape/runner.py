"""The tape runner: chunks of samples on a thread pool, and the errors the kernels report.

:meth:`Tape.batch <microgradx.tape.Tape.batch>` runs the kernels of :mod:`microgradx.kernels.tape` on
fixed chunks of consecutive samples in parallel threads (the kernel releases the GIL); the partial sums
depend on the chunk size, never on the thread count.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__: list[str] = []

# Chunk of consecutive samples per parallel task. The partial sums (and so the rounding) depend on it,
# never on the thread count; at most _MAX_CHUNKS partial gradient rows are kept.
_MIN_CHUNK = 16
_MAX_CHUNKS = 512

def _gather(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]``, with 0 where ``rows`` is -1."""
    return np.where(rows >= 0, values[np.maximum(rows, 0)], 0.0)


@dataclass
class _Run:
    """The arrays of one kernel run (see :func:`microgradx.kernels.tape.run_chunks`)."""

    outputs: np.ndarray
    input_grads: np.ndarray
    partial_grads: np.ndarray
    partial_loss: np.ndarray
    errors: np.ndarray
    vals: np.ndarray
    loc: np.ndarray
    grad: np.ndarray
    x: np.ndarray
    p: np.ndarray


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """One process-wide pool of worker threads for :meth:`Tape.batch`, created on first use."""
    global _POOL
    if _POOL is None:
        import numba

        _POOL = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS),
                                   thread_name_prefix="microgradx-tape")
    return _POOL


def _thread_count(threads: int | None) -> int:
    if threads is None:
        import numba

        return numba.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"Tape.batch: threads must be an int >= 1, got {threads!r}")
    return threads


def _domain_error(err: int, where: str, operands: list[float], const: np.ndarray) -> Exception:
    """The exception ``Value`` raises for the same operands (same type, similar message)."""
    from microgradx.kernels import tape as k

    a = operands[0] if operands else math.nan
    b = operands[1] if len(operands) > 1 else float(const[0])
    messages = {
        k.ERR_DIV_ZERO: (ZeroDivisionError, f"division by zero at {where} (denominator is 0.0)"),
        k.ERR_POW_ZERO_NEGATIVE: (ZeroDivisionError,
                                  f"pow: 0.0 ** (negative) at {where} is a division by zero"),
        k.ERR_POW_NEGATIVE_BASE: (ValueError, f"pow: negative base {a!r} with non-integer exponent "
                                              f"{b!r} at {where} is not real"),
        k.ERR_POW_OVERFLOW: (OverflowError, f"pow: {a!r} ** {b!r} at {where} overflows a float"),
        k.ERR_POW_LOG_BASE: (ValueError, f"pow: d(a**b)/db = a**b ln(a) is undefined for base "
                                         f"a={a!r} <= 0 at {where}; use a positive base"),
        k.ERR_EXP_OVERFLOW: (OverflowError, f"exp({a!r}) at {where} overflows a float"),
        k.ERR_LOG_DOMAIN: (ValueError, f"log of non-positive number {a!r} at {where}"),
        k.ERR_LOG1P_DOMAIN: (ValueError, f"log1p of {a!r} <= -1 at {where}"),
        k.ERR_SQRT_NEGATIVE: (ValueError, f"sqrt of negative number {a!r} at {where}"),
        k.ERR_SQRT_ZERO: (ZeroDivisionError,
                          f"sqrt: the derivative 1/(2 sqrt(a)) is infinite at a=0, {where}"),
        k.ERR_NONFINITE_VALUE: (OverflowError,
                                f"the value of {where} overflows a float (operands {operands})"),
        k.ERR_NONFINITE_GRAD: (OverflowError, f"the gradient reaching {where} overflows a float"),
    }
    kind, message = messages[err]
    return kind(message)
