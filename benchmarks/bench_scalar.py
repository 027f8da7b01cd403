"""One training step of micrograd's demo, microgradx vs micrograd 0.1.0 (PyPI), side by side.

The step (micrograd's ``demo.ipynb``): ``MLP(2, [16, 16, 1])`` (337 parameters), 100 two-moons points
(labels +-1), loss = mean(relu(1 - y * score)) + 1e-4 * sum(p**2), forward + backward + SGD update
``p -= lr * p.grad``. Both libraries start from the same weights (copied from the microgradx model into
micrograd's), run the same number of steps, and the script checks that their losses and final weights
agree within rounding before printing the ratio of median step times.

    python benchmarks/bench_scalar.py [--steps 5] [--repeats 5] [--seed 1337] [--explain-chain 100000]

It then times ``explain`` on chains of ``N/2`` and ``N`` nodes (``--explain-chain N``, 0 skips it) and prints
the ratio of the medians: about 2 for the linear explanation, 4 where it was quadratic.

Timings on a shared machine are noisy: the script measures process CPU time (``time.process_time``, which
other processes' load disturbs less than wall time), reports medians over ``--repeats`` runs, each timing
``--steps`` consecutive steps, alternating the two libraries so that load affects both alike, and runs a full
garbage collection before each run (micrograd's closures make reference cycles, whose collection would
otherwise be billed to whichever library runs next). Python's cyclic garbage collector stays enabled in the
timed runs: it is part of the cost of building a graph of ~40,000 nodes per step, for both libraries.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

import numpy as np

from microgradx.engine import Value, sum_values
from microgradx.explain import explain
from microgradx.nn import MLP

try:
    from micrograd import engine as mg_engine
    from micrograd import nn as mg_nn
except ImportError:  # pragma: no cover
    sys.exit("micrograd is not installed: pip install micrograd==0.1.0")

ALPHA = 1e-4  # L2 regularisation strength of micrograd's demo


def two_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``make_moons`` (labels mapped to +-1)."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x, y * 2.0 - 1.0


def step_microgradx(model: MLP, x: np.ndarray, y: np.ndarray, lr: float) -> float:
    inputs = [[Value(a), Value(b)] for a, b in x.tolist()]
    scores = [model(row) for row in inputs]
    losses = [(1 - yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum_values(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum_values([p * p for p in model.parameters()])
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward(record=False)
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data


def step_micrograd(model, x: np.ndarray, y: np.ndarray, lr: float) -> float:
    # verbatim from micrograd's demo.ipynb (full batch)
    inputs = [list(map(mg_engine.Value, xrow)) for xrow in x.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum((p * p for p in model.parameters()))
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data


def copy_weights(src: MLP, dst) -> None:
    for p_src, p_dst in zip(src.parameters(), dst.parameters(), strict=True):
        p_dst.data = p_src.data


def explain_chain_seconds(depth: int, repeats: int) -> float:
    """Median CPU seconds of ``explain(root, x)`` on a chain ``x * c * c * ...`` of ``depth`` products."""
    x = Value(0.5, label="x")
    root = x
    for _ in range(depth):
        root = root * 1.0000001
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        explain(root, x)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="SGD steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per library (median reported)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--explain-chain", type=int, default=100_000, metavar="N",
                        help="also time explain() on chains of N/2 and N nodes (0: skip)")
    args = parser.parse_args(argv)

    x, y = two_moons(100, 0.1, args.seed)
    ours = MLP(2, [16, 16, 1], init="uniform", seed=args.seed)  # micrograd's U(-1, 1)
    theirs = mg_nn.MLP(2, [16, 16, 1])
    assert len(ours.parameters()) == len(theirs.parameters()) == 337
    copy_weights(ours, theirs)
    start = [p.data for p in ours.parameters()]

    times: dict[str, list[float]] = {"microgradx": [], "micrograd": []}
    walls: dict[str, list[float]] = {"microgradx": [], "micrograd": []}
    losses: dict[str, list[float]] = {"microgradx": [], "micrograd": []}
    for _ in range(args.repeats):
        for name, model, step in (("micrograd", theirs, step_micrograd),
                                  ("microgradx", ours, step_microgradx)):
            for p, w in zip(model.parameters(), start):  # every run starts from the same weights
                p.data = w
            run_losses = []
            gc.collect()  # start each run from a clean heap: micrograd's graphs hold reference cycles
            t0, w0 = time.process_time(), time.perf_counter()
            for k in range(args.steps):
                run_losses.append(step(model, x, y, 1.0 - 0.9 * k / 100))
            times[name].append((time.process_time() - t0) / args.steps)
            walls[name].append((time.perf_counter() - w0) / args.steps)
            losses[name] = run_losses

    ours_w = np.array([p.data for p in ours.parameters()])
    theirs_w = np.array([p.data for p in theirs.parameters()])
    loss_diff = max(abs(a - b) for a, b in zip(losses["microgradx"], losses["micrograd"]))
    weight_diff = float(np.max(np.abs(ours_w - theirs_w)))
    print(f"MLP(2, [16, 16, 1]) on 100 two-moons points, {args.steps} SGD steps x {args.repeats} repeats")
    print(f"losses microgradx: {[f'{v:.12g}' for v in losses['microgradx']]}")
    print(f"losses micrograd : {[f'{v:.12g}' for v in losses['micrograd']]}")
    print(f"max |loss diff| = {loss_diff:.3g}, max |weight diff| after {args.steps} steps = {weight_diff:.3g}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in ("micrograd", "microgradx"):
        print(f"{name:>10}: median {med[name] * 1e3:8.1f} ms CPU/step   (runs: "
              + ", ".join(f"{t * 1e3:.1f}" for t in times[name]) + ")")
    wall = {k: statistics.median(v) for k, v in walls.items()}
    print(f"speed-up microgradx vs micrograd: {med['micrograd'] / med['microgradx']:.2f}x (CPU time), "
          f"{wall['micrograd'] / wall['microgradx']:.2f}x (wall clock: {wall['micrograd'] * 1e3:.1f} vs "
          f"{wall['microgradx'] * 1e3:.1f} ms/step)")
    if args.explain_chain:
        half, full = (explain_chain_seconds(n, 3) for n in (args.explain_chain // 2, args.explain_chain))
        print(f"explain on a chain of {args.explain_chain // 2:,} / {args.explain_chain:,} nodes: median "
              f"{half:.2f} / {full:.2f} s CPU, ratio {full / half:.2f} (linear: 2, quadratic: 4)")
    rtol = 1e-9  # summation order differs (micrograd's set-ordered backward), so allow rounding
    if loss_diff > rtol * max(1.0, max(abs(v) for v in losses["micrograd"])) or weight_diff > 1e-9:
        print("MISMATCH: the two libraries disagree beyond rounding", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
