"""What ``model.fit`` costs on top of the engine's own epoch loop (progress, history, callbacks, validation
bookkeeping): ``fit`` of one epoch against the ``engine.train_epoch`` call inside it, timed in the same run.

MLP 784-256-256-10, ReLU, softmax + sparse categorical cross-entropy, Adam(1e-3), float32, CPU engine,
synthetic data. The ratio is a median over repeats (the first, which compiles, is dropped); the goal of the
"one rule, one plan" redesign is within 3% (a ratio at most 1.03) at every batch size.

    python benchmarks/bench_fit_overhead.py [--repeats 6] [--batches 1 8 1024 4096]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from microgradx import layers, optimizers
from microgradx.models import Sequential

#: steps per timed epoch at each batch size (fewer for the big batches, which take longer each)
STEPS = {1: 200, 8: 100, 1024: 10, 4096: 5}


def fit_over_engine(batch: int, repeats: int, rng: np.random.Generator) -> tuple[float, float]:
    """Medians over ``repeats`` one-epoch fits of ``fit`` time / the ``train_epoch`` time inside it, and of
    the main thread's CPU seconds ``fit`` spends outside ``train_epoch`` (its own work: the data checks,
    callbacks, logs), which other processes' load does not inflate as it does wall times."""
    steps = STEPS.get(batch, 20)
    x = rng.standard_normal((batch * steps, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch * steps)
    model = Sequential([layers.Input(shape=(784,)), layers.Dense(256, activation="relu"),
                        layers.Dense(256, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", engine="cpu",
                  dtype="float32")
    engine, inner = model.engine, []
    original = engine.train_epoch

    def timed(*args, **kwargs):
        start, cpu = time.perf_counter(), time.thread_time()
        result = original(*args, **kwargs)
        inner.append((time.perf_counter() - start, time.thread_time() - cpu))
        return result

    engine.train_epoch = timed
    ratios, outside = [], []
    for _ in range(repeats + 1):
        start, cpu = time.perf_counter(), time.thread_time()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        ratios.append((time.perf_counter() - start) / inner[-1][0])
        outside.append(time.thread_time() - cpu - inner[-1][1])
    return statistics.median(ratios[1:]), statistics.median(outside[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 1024, 4096])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for batch in args.batches:
        ratio, outside = fit_over_engine(batch, args.repeats, rng)
        verdict = "met" if ratio <= 1.03 else "missed"
        print(f"batch {batch}: fit / engine.train_epoch inside it: {ratio:.3f} (goal <= 1.03: {verdict}); "
              f"fit's own work outside it: {outside * 1e3:.2f} ms main-thread CPU")


if __name__ == "__main__":
    main()
