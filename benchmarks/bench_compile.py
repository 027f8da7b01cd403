"""Compile cost of the CPU engine: the first ``fit`` in a fresh process, with a cold and a warm cache.

Each measurement runs in a new Python process whose ``NUMBA_CACHE_DIR`` points at a temporary folder:

* **cold**: the folder is empty, so every kernel the first ``fit`` needs is compiled (and cached);
* **warm**: a second process with the same folder loads the cached machine code.

The child builds the model of a typical run (Dense 64 -> 32 relu, Dropout, Dense 10 softmax, sparse
categorical cross-entropy, Adam, float32, ``metrics=["accuracy"]``, a validation split) and times
``import microgradx``, the first ``fit`` (2 epochs on 256 samples, dominated by compilation) and a
second ``fit`` (the steady state, for comparison). Goals: first fit <= 15 s cold, <= 2 s warm. The
first fit's process CPU time is printed too: on a shared machine it is a steadier measure than wall time.

    python benchmarks/bench_compile.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import microgradx as mgx
from microgradx import layers, optimizers
from microgradx.models import Sequential
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
x = rng.standard_normal((256, 64)).astype(np.float32)
y = rng.integers(0, 10, 256)
model = Sequential([layers.Input(shape=(64,)), layers.Dense(32, activation="relu"),
                    layers.Dropout(0.2, seed=1), layers.Dense(10, activation="softmax")])
model.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"], engine="cpu")
t, c = time.perf_counter(), time.process_time()
model.fit(x, y, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
t_first, c_first = time.perf_counter() - t, time.process_time() - c
t = time.perf_counter()
model.fit(x, y, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
t_second = time.perf_counter() - t
print(json.dumps({"import": t_import, "first_fit": t_first, "first_fit_cpu": c_first, "second_fit": t_second,
                  "process": time.perf_counter() - t0}))
"""


def run_child(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="cold+warm pairs (each with a fresh cache)")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="mgx-numba-cache-") as cache:
            rows["cold"].append(run_child(cache))
            rows["warm"].append(run_child(cache))
    print(f"first fit in a fresh process (median of {args.repeats}; seconds)")
    print(f"  {'cache':<6}{'import':>9}{'first fit':>11}{'(CPU time)':>12}{'second fit':>12}{'process wall':>14}"
          f"{'goal':>8}")
    for name, goal in (("cold", 15.0), ("warm", 2.0)):
        med = {k: statistics.median(r[k] for r in rows[name]) for k in rows[name][0]}
        verdict = "met" if med["first_fit"] <= goal else "MISSED"
        print(f"  {name:<6}{med['import']:>9.2f}{med['first_fit']:>11.2f}{med['first_fit_cpu']:>12.2f}"
              f"{med['second_fit']:>12.3f}"
              f"{med['wall']:>14.2f}   <= {goal:g} s: {verdict}")


if __name__ == "__main__":
    main()
