"""The per-step kernels of the CPU engine that the "one rule, one plan" work timed, side by side in one run.

For the weights of an MLP 784-256-256-10 (269,322 float32 parameters), BLAS and numba on one thread, the
median of ``--repeats`` timings of ``--calls`` calls each (CPU time):

* the weight penalty pass (``kernels.regularizers.penalty_pass`` of the regularizers' rules, l1 = l2 = 0.01):
  what ``compute_gradients``, the reference ``apply``, ``loss_scale_factor`` and gradient accumulation run;
* one Adam step on the flat buffer through the engines' path (``step_flat``) and the public, checked one
  (``apply_flat``);
* the weight gradient of a batch of one row, ``dW = x^T dz`` for the 784 -> 256 layer, by the engine's
  compiled outer product and by ``np.matmul`` (its k = 1 path) and ``np.multiply.outer``.

    python benchmarks/bench_kernels.py [--repeats 7] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np

SIZES = (784, 256, 256, 10)


def per_call_us(run: Callable[[], object], calls: int, repeats: int) -> float:
    """Median CPU microseconds of one call of ``run`` (after one warm-up call, which compiles)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            run()
        times.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(times)


def segments() -> list[tuple[int, int]]:
    """``(offset, size)`` of each kernel and bias of the MLP, Keras order."""
    out, offset = [], 0
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        out += [(offset, a * b), (offset + a * b, b)]
        offset += a * b + b
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs (median)")
    parser.add_argument("--calls", type=int, default=200, help="calls per timed run")
    args = parser.parse_args()
    if args.repeats < 1 or args.calls < 1:
        parser.error("--repeats and --calls must be at least 1")

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from microgradx import optimizers
    from microgradx.kernels.dense import outer_product
    from microgradx.kernels.regularizers import penalty_pass
    from microgradx.regularizers import PENALTY_RULES

    rng = np.random.default_rng(0)
    layout = segments()
    n = sum(size for _, size in layout)
    w = rng.standard_normal(n).astype(np.float32)
    g = (rng.standard_normal(n) * 1e-3).astype(np.float32)
    print(f"MLP {'-'.join(map(str, SIZES))}: {n:,} float32 weights; CPU time per call, median of "
          f"{args.repeats} x {args.calls} calls, one thread")

    penalty = penalty_pass(*PENALTY_RULES)
    dx = np.zeros_like(w)
    us = per_call_us(lambda: penalty(w, dx, 0.01, 0.01, 1.0), args.calls, args.repeats)
    print(f"  {'weight penalty pass (l1 = l2 = 0.01)':<40} {us:8.1f} us")

    for name in ("step_flat", "apply_flat"):
        optimizer = optimizers.Adam(1e-3)
        weights, spare = w.copy(), np.empty_like(w)
        step = getattr(optimizer, name)
        us = per_call_us(lambda: step(g, weights, layout, spare), args.calls, args.repeats)
        print(f"  {'Adam, ' + name + ' (out of place)':<40} {us:8.1f} us")

    x, dz = rng.standard_normal((1, 784)).astype(np.float32), rng.standard_normal((1, 256)).astype(np.float32)
    dw = np.empty((784, 256), np.float32)
    compiled = per_call_us(lambda: outer_product(x[0], dz[0], dw), args.calls, args.repeats)
    matmul = per_call_us(lambda: np.matmul(x.T, dz, out=dw), args.calls, args.repeats)
    multiply = per_call_us(lambda: np.multiply.outer(x[0], dz[0], out=dw), args.calls, args.repeats)
    print(f"  dW of one row, 784 x 256: compiled outer product {compiled:.1f} us, np.matmul {matmul:.1f} us "
          f"({matmul / compiled:.1f}x), np.multiply.outer {multiply:.1f} us ({multiply / compiled:.1f}x)")


if __name__ == "__main__":
    main()
