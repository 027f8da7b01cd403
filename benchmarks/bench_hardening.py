"""What issue 14's safety checks cost on the CPU engine, measured side by side in one process.

1. **Inference from threads.** ``predict`` takes the calling thread's workspaces (``WorkspaceCache`` keeps
   one cache per thread). Compared, on one model, with the two other ways to make inference
   thread-safe: a lock around ``predict`` (threads wait for each other) and fresh workspaces per call
   (allocation every call). Timed single-threaded (the cost a lone user pays) and with ``--threads``
   threads predicting at once (NumPy's BLAS releases the GIL, so per-thread workspaces can overlap).
2. **The update check.** Every training step writes the new weights into a second buffer and checks
   them in the same kernel pass (``CpuEngine._checked_update``); the buffers swap when all are finite,
   so an overflowing update is undone without a copy. Compared with the bare in-place update
   (``optimizer.step_flat(grads, params, segments, params)``, no swap) on the same engine, alternating.
3. **Weight penalties in the update's pass** (issue 11). With ``kernel_regularizer=L2`` on every Dense
   layer, the fused update adds ``2 l2 w`` to the gradient and sums ``l2 w**2`` of the weights in its own
   loop (``apply_flat(..., factors=, penalties=)``). Compared with the former separate pass over each
   regularised weight before the update (``kernels.regularizers.weight_penalties_and_gradients``), and
   with the same model without a regularizer, alternating (784-256-256-10, CPU time, BLAS on one thread).

Models: a small MLP 32-16-3 at batch 64 (the issue's report) and benchmarks/bench_cpu.py's
784-256-256-10 (Adam, float32, sparse categorical cross-entropy) at batch 32 and 256. The machine is
shared: every figure is a median over ``--repeats`` alternating runs, and the ratios are medians of
per-run ratios. The update check is timed in CPU time of this process (``time.process_time``) with
BLAS on one thread, so that other processes' load (which makes wall times swing several-fold on a
busy machine) does not enter; the inference figures are wall times, as threads waiting for a lock
use no CPU.

    python benchmarks/bench_hardening.py [--repeats 15] [--threads 2] [--only penalties]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from typing import Callable

import numpy as np


def _model(sizes: tuple[int, ...], regularizer=None):
    from microgradx import layers, optimizers, utils
    from microgradx.models import Sequential

    utils.set_random_seed(0)
    stack = [layers.Input(shape=(sizes[0],))] + [layers.Dense(u, activation="relu", kernel_regularizer=regularizer)
                                                 for u in sizes[1:-1]]
    model = Sequential(stack + [layers.Dense(sizes[-1], activation="softmax", kernel_regularizer=regularizer)])
    model.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", engine="cpu")
    return model


def _median_time(run: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def _in_threads(run: Callable[[], None], threads: int, calls: int) -> float:
    """Wall time per call when ``threads`` threads each make ``calls`` calls at once."""
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            run()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    start = time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    return (time.perf_counter() - start) / (threads * calls)


def inference(sizes: tuple[int, ...], batch: int, repeats: int, threads: int) -> None:
    from microgradx.engines.cpu import _Workspace

    model = _model(sizes)
    engine = model.engine
    x = np.random.default_rng(0).standard_normal((batch, sizes[0])).astype(np.float32)
    lock = threading.Lock()
    per_thread = engine.predict

    def locked(xb=x) -> None:
        with lock:
            per_thread(xb)

    def per_call(xb=x) -> None:
        out = np.empty((batch, sizes[-1]), engine.dtype)
        ws = _Workspace(engine, batch)
        np.copyto(ws.x, xb)
        out[...] = engine._forward(ws, False, 0)

    contenders = {"per-thread workspaces": lambda: per_thread(x), "lock around predict": locked,
                  "workspaces per call": per_call}
    calls = max(5, int(2e6 / (batch * sum(a * b for a, b in zip(sizes, sizes[1:])))))
    for run in contenders.values():
        run()
    alone = {name: [] for name in contenders}
    together = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            alone[name].append(_median_time(run, calls))
            together[name].append(_in_threads(run, threads, calls))
    base = "per-thread workspaces"
    print(f"\npredict, MLP {'-'.join(map(str, sizes))}, batch {batch} ({calls} calls per run, {repeats} runs):")
    print(f"  {'':24s} {'1 thread (us/call)':>19s} {'ratio':>7s} {f'{threads} threads (us/call)':>21s} {'ratio':>7s}")
    for name in contenders:
        r1 = statistics.median(a / b for a, b in zip(alone[name], alone[base]))
        r2 = statistics.median(a / b for a, b in zip(together[name], together[base]))
        print(f"  {name:24s} {statistics.median(alone[name]) * 1e6:19.1f} {r1:7.2f} "
              f"{statistics.median(together[name]) * 1e6:21.1f} {r2:7.2f}")


def update_check(sizes: tuple[int, ...], batch: int, steps: int, repeats: int) -> None:
    model = _model(sizes)
    engine = model.engine
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch * steps)
    batches = [np.arange(i, i + batch) for i in range(0, batch * steps, batch)]
    checked = engine._checked_update

    def bare() -> float:   # the same per-step path, in place: no second buffer, no swap
        engine.optimizer.step_flat(engine.grads, engine.params, engine.plan.segments, engine.params)
        return 0.0

    def epoch(check: bool) -> float:
        engine._checked_update = checked if check else bare
        start = time.process_time()
        engine.train_epoch(x, y, None, batches)
        return (time.process_time() - start) / steps

    epoch(True)
    epoch(False)
    with_check, without = [], []
    for _ in range(repeats):
        with_check.append(epoch(True))
        without.append(epoch(False))
    engine._checked_update = checked
    ratio = statistics.median(a / b for a, b in zip(with_check, without))
    print(f"  MLP {'-'.join(map(str, sizes)):16s} batch {batch:4d}: checked {statistics.median(with_check) * 1e3:7.3f} "
          f"ms/step, bare update {statistics.median(without) * 1e3:7.3f} ms/step, ratio {ratio:.3f}")


def penalties(sizes: tuple[int, ...], batch: int, steps: int, repeats: int) -> None:
    from microgradx.kernels.regularizers import weight_penalties_and_gradients

    regularised, plain = _model(sizes, "l2"), _model(sizes)
    engine = regularised.engine
    factors = engine.plan.weight_factors
    fused = engine._checked_update

    def separate_pass() -> float:   # the former way: one pass per regularised weight, then the update
        penalty = np.zeros(len(engine.plan.segments))
        weight_penalties_and_gradients(engine.plan.penalty_rules, engine.params, engine.grads, engine.plan.segments,
                                       factors, penalty)
        engine.plan.weight_factors = None
        try:
            return fused() + float(penalty.sum())
        finally:
            engine.plan.weight_factors = factors

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch * steps)
    batches = [np.arange(i, i + batch) for i in range(0, batch * steps, batch)]

    def epoch(model, update=None) -> float:
        if update is not None:
            engine._checked_update = update
        start = time.process_time()
        model.engine.train_epoch(x, y, None, batches)
        return (time.process_time() - start) / steps

    contenders = {"L2, fused into the update": lambda: epoch(regularised, fused),
                  "L2, separate pass": lambda: epoch(regularised, separate_pass),
                  "no regularizer": lambda: epoch(plain)}
    times = {name: [] for name in contenders}
    for run in contenders.values():
        run()
    for _ in range(repeats):
        for name, run in contenders.items():
            times[name].append(run())
    engine._checked_update = fused
    base = "L2, fused into the update"
    print(f"  MLP {'-'.join(map(str, sizes))}, batch {batch}:")
    for name in contenders:
        ratio = statistics.median(a / b for a, b in zip(times[name], times[base]))
        print(f"    {name:28s} {statistics.median(times[name]) * 1e3:7.3f} ms/step, ratio to fused {ratio:.3f}")


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        print("(threadpoolctl missing: BLAS keeps its threads)")
        return contextlib.nullcontext()
    return threadpool_limits(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", choices=["inference", "update", "penalties"], default=None,
                        help="run one of the three comparisons (default: all)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.only in (None, "inference"):
        inference((32, 16, 3), 64, args.repeats, args.threads)
        inference((784, 256, 256, 10), 64, args.repeats, args.threads)
    if args.only in (None, "update"):
        print(f"\ntraining step with the update check vs the bare update ({args.repeats} alternating epochs of "
              f"{args.steps} steps, Adam, float32, CPU time, BLAS on one thread):")
        with _one_blas_thread():
            update_check((32, 16, 3), 64, args.steps * 10, args.repeats)
            update_check((784, 256, 256, 10), 32, args.steps, args.repeats)
            update_check((784, 256, 256, 10), 256, args.steps, args.repeats)
    if args.only in (None, "penalties"):
        print(f"\ntraining step with L2 on every kernel: penalties fused into the update vs a separate pass vs "
              f"no regularizer ({args.repeats} alternating epochs of {args.steps} steps, Adam, float32, CPU time, "
              f"BLAS on one thread):")
        with _one_blas_thread():
            penalties((784, 256, 256, 10), 32, args.steps, args.repeats)
            penalties((784, 256, 256, 10), 256, args.steps, args.repeats)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
