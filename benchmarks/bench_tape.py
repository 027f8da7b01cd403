"""micrograd's demo training loop: micrograd 0.1.0 vs the interpreted microgradx graph vs the compiled tape.

The loop of micrograd's ``demo.ipynb``: ``MLP(2, [16, 16, 1])`` on 100 moons points
(``make_moons(100, noise=0.1)``, labels -1/+1), loss = mean hinge ``relu(1 - y * score)`` +
``1e-4 * sum(p**2)``, ``--steps`` (100) full-batch SGD steps with ``lr = 1.0 - 0.9 * k / 100``.
All three start from the same weights and must end with the same losses and weights.

* micrograd: the PyPI package, data as Python floats (its fastest case; the notebook's numpy scalars
  are ~25 % slower), timed in this process.
* interpreted: ``microgradx.Value`` graphs rebuilt every step, timed in this process.
* tape: ``compile_tape`` of ONE sample's hinge loss (inputs x1, x2, y) plus a tape of the L2 term;
  ``tape.batch(data, reduce="mean")`` per step. Timed in a **fresh process** from interpreter start to the
  last step, so imports, graph building, flattening and the Numba compile (cold cache: a new empty
  ``NUMBA_CACHE_DIR``) or cache load (warm: the same directory again) are all included.

Run: ``python benchmarks/bench_tape.py`` (5-10 minutes: micrograd takes 2-5 s per step here), or
``--steps 10`` for a quick look. Timings are wall-clock on a shared machine: medians over ``--repeats``
fresh processes for the tape; one run of the slow contenders (per-step medians are printed too).
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

ALPHA = 1e-4
SEED = 1337


def moons():
    """The 100 moons points as Python lists: ``X`` (100 x 2) and ``y`` in {-1, +1}."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=100, noise=0.1, random_state=SEED)
    return x.tolist(), [float(2 * label - 1) for label in y]


def initial_weights() -> list[float]:
    """micrograd-style U(-1, 1) weights, biases 0, in ``MLP.parameters()`` order (same for all three)."""
    from microgradx.nn import MLP

    return [p.data for p in MLP(2, [16, 16, 1], init="uniform", seed=SEED).parameters()]


def learning_rate(k: int) -> float:
    return 1.0 - 0.9 * k / 100


# ------------------------------------------------------------------ contenders
def train_micrograd(steps: int, weights: list[float]) -> dict:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    x, y = moons()
    model = MLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), weights):
        p.data = w
    losses, times = [], []
    start = time.perf_counter()
    for k in range(steps):
        t = time.perf_counter()
        scores = [model([Value(a), Value(b)]) for a, b in x]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(scores))
        total = data_loss + ALPHA * sum(p * p for p in model.parameters())
        model.zero_grad()
        total.backward()
        for p in model.parameters():
            p.data -= learning_rate(k) * p.grad
        losses.append(total.data)
        times.append(time.perf_counter() - t)
    return {"seconds": time.perf_counter() - start, "step_median": statistics.median(times),
            "losses": losses, "weights": [p.data for p in model.parameters()]}


def train_interpreted(steps: int, weights: list[float]) -> dict:
    from microgradx.engine import Value, sum_values
    from microgradx.nn import MLP

    x, y = moons()
    model = MLP(2, [16, 16, 1])
    params = model.parameters()
    for p, w in zip(params, weights):
        p.data = w
    losses, times = [], []
    start = time.perf_counter()
    for k in range(steps):
        t = time.perf_counter()
        scores = [model([Value(a), Value(b)]) for a, b in x]
        data_loss = sum_values([(1 + -yi * si).relu() for yi, si in zip(y, scores)]) * (1.0 / len(scores))
        total = data_loss + ALPHA * sum_values([p * p for p in params])
        model.zero_grad()
        total.backward(record=False)
        for p in params:
            p.data -= learning_rate(k) * p.grad
        losses.append(total.data)
        times.append(time.perf_counter() - t)
    return {"seconds": time.perf_counter() - start, "step_median": statistics.median(times),
            "losses": losses, "weights": [p.data for p in params]}


def tape_child(steps: int, setup_file: str) -> None:
    """Runs in a fresh process: everything after interpreter start-up is timed and printed as JSON.

    The data and initial weights come from the parent (so sklearn's import is not counted)."""
    t0 = time.perf_counter()
    import numpy as np

    from microgradx.engine import Value, sum_values
    from microgradx.nn import MLP
    from microgradx.tape import compile_tape
    import microgradx.kernels.tape  # noqa: F401  (numba import, counted in "import")

    t_import = time.perf_counter()
    with open(setup_file) as f:
        setup = json.load(f)
    weights, x, y = setup["weights"], setup["x"], setup["y"]
    data = np.column_stack([np.array(x), np.array(y)])
    model = MLP(2, [16, 16, 1])
    params = model.parameters()
    for p, w in zip(params, weights):
        p.data = w
    x1, x2, label = Value(0.0, "x1"), Value(0.0, "x2"), Value(0.0, "y")
    tape = compile_tape((1 + -label * model([x1, x2])).relu(), inputs=[x1, x2, label], params=params)
    reg = compile_tape(ALPHA * sum_values([p * p for p in params]), params=params)
    t_build = time.perf_counter()
    losses, times = [], []
    for k in range(steps):
        t = time.perf_counter()
        loss, grads = tape.batch(data, reduce="mean")
        extra, extra_grads = reg.run(params=tape.params)
        tape.params -= learning_rate(k) * (grads + extra_grads)
        losses.append(loss + extra)
        times.append(time.perf_counter() - t)
    t_end = time.perf_counter()
    tape.write_back()
    print(json.dumps({
        "import": t_import - t0, "build": t_build - t_import, "first_step": times[0],
        "train": t_end - t_build, "in_process": t_end - t0,
        "step_median": statistics.median(times[1:]) if steps > 1 else times[0],
        "rows": len(tape), "losses": losses, "weights": [p.data for p in params]}))


def run_tape_process(steps: int, setup_file: str, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", "--steps", str(steps),
                           "--setup", setup_file], env=env, capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------- main
def compare(name: str, result: dict, reference: dict) -> str:
    loss_diff = max(abs(a - b) for a, b in zip(result["losses"], reference["losses"]))
    weight_diff = max(abs(a - b) for a, b in zip(result["weights"], reference["weights"]))
    return (f"{name:<12} final loss {result['losses'][-1]:.12f}   max |loss diff| {loss_diff:.1e}   "
            f"max |weight diff| {weight_diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="fresh tape processes per cache state")
    parser.add_argument("--skip-interpreted", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tape_child(args.steps, args.setup)
        return

    import numba

    weights = initial_weights()
    with tempfile.TemporaryDirectory() as tmp:
        setup_file = os.path.join(tmp, "setup.json")
        x, y = moons()
        with open(setup_file, "w") as f:
            json.dump({"weights": weights, "x": x, "y": y}, f)
        cold, warm = [], []
        for r in range(args.repeats):
            cache = os.path.join(tmp, f"numba-cache-{r}")
            cold.append(run_tape_process(args.steps, setup_file, cache))   # empty cache: compiles
            warm.append(run_tape_process(args.steps, setup_file, cache))   # same cache: loads
        print(f"machine: {os.cpu_count()} CPUs, numba {numba.__version__}, "
              f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; {args.steps} steps")
        print(f"tape: {cold[0]['rows']} rows per sample, 100 samples per step")
        micrograd = train_micrograd(args.steps, weights)
        interpreted = None if args.skip_interpreted else train_interpreted(args.steps, weights)

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print("\nresults (same initial weights; reference: micrograd)")
    if interpreted is not None:
        print(compare("interpreted", interpreted, micrograd))
    print(compare("tape", warm[0], micrograd))
    print(f"\n{'contender':<34}{'seconds':>10}{'step (ms)':>12}")
    print(f"{'micrograd 0.1.0':<34}{micrograd['seconds']:>10.2f}{1e3 * micrograd['step_median']:>12.2f}")
    if interpreted is not None:
        print(f"{'microgradx interpreted':<34}{interpreted['seconds']:>10.2f}"
              f"{1e3 * interpreted['step_median']:>12.2f}")
    for label, runs in (("cold numba cache", cold), ("warm numba cache", warm)):
        print(f"{'tape, fresh process, ' + label:<34}{med(runs, 'process'):>10.2f}"
              f"{1e3 * med(runs, 'step_median'):>12.3f}"
              f"   (import {med(runs, 'import'):.2f} s, build+flatten {med(runs, 'build'):.3f} s, "
              f"first step incl. JIT {med(runs, 'first_step'):.2f} s)")
    print("\nratios (medians)")
    for label, runs in (("cold", cold), ("warm", warm)):
        print(f"  micrograd / tape, whole fresh process, {label} cache: "
              f"{micrograd['seconds'] / med(runs, 'process'):7.1f}x")
    print(f"  micrograd / tape, per step (steady state):          "
          f"{micrograd['step_median'] / med(warm, 'step_median'):7.1f}x")
    if interpreted is not None:
        print(f"  interpreted / tape, per step:                       "
              f"{interpreted['step_median'] / med(warm, 'step_median'):7.1f}x")
        print(f"  micrograd / interpreted, per step:                  "
              f"{micrograd['step_median'] / interpreted['step_median']:7.1f}x")


if __name__ == "__main__":
    main()
