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


def fit_over_engine(batch: int, repeats: int, rng: np.random.Generator) -> float:
    """Median of ``fit`` time / the ``train_epoch`` time inside it, over ``repeats`` one-epoch fits."""
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
        start = time.perf_counter()
        result = original(*args, **kwargs)
        inner.append(time.perf_counter() - start)
        return result

    engine.train_epoch = timed
    ratios = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        ratios.append((time.perf_counter() - start) / inner[-1])
    return statistics.median(ratios[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 1024, 4096])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for batch in args.batches:
        ratio = fit_over_engine(batch, args.repeats, rng)
        verdict = "met" if ratio <= 1.03 else "missed"
        print(f"batch {batch}: fit / engine.train_epoch inside it: {ratio:.3f} (goal <= 1.03: {verdict})")


if __name__ == "__main__":
    main()
