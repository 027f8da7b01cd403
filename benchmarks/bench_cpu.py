"""Training throughput of an MLP 784-256-256-10: microgradx's CPU engine vs PyTorch CPU vs plain NumPy.

The step: ReLU hidden layers, softmax + categorical cross-entropy on integer labels, Adam(1e-3),
float32, synthetic data (standard normal inputs, uniform labels), the same initial weights. Each
contender runs the same number of consecutive steps per timing, and the script prints medians:

* samples per second and the speed-up of the microgradx engine over each contender (time ratio);
* achieved GFLOP/s, counting ``6 x batch x parameters`` flops per step (forward 2, backward 4),
  next to NumPy's float32 matrix-product rate measured in the same run (a 2048 x 2048 product, and
  the three products of the batch-256 layer 784 -> 256, i.e. the best a BLAS-bound step can do).

All libraries get the same threads (``--threads``, default 2): ``torch.set_num_threads`` and the
OpenBLAS pools of NumPy and SciPy via threadpoolctl. microgradx's numba kernels are single-threaded
(its threads go to BLAS), so numba's own thread pool is never started.

Each contender is timed in a process of its own (started by this script, contenders alternating,
``--rounds`` processes each). In one shared process every library keeps its own worker threads
(NumPy's OpenBLAS, PyTorch's OpenMP pool, numba's), which busy-wait after each call and take the
cores from whichever library runs next: PyTorch measured 1.4 ms per step alone and 3.3 to 12 ms
with the other contenders in its process.

    python benchmarks/bench_cpu.py [--batches 32 256] [--steps 50] [--repeats 5] [--rounds 3] [--threads 2]
                                   [--contenders ...] [--baseline PYTHON] [--clock wall|cpu]

``microgradx (fit)`` times ``model.fit`` (progress, history, callbacks included);
``microgradx (engine)`` times the engine's epoch loop alone. The machine's load average is printed
before and after (the timings are only as good as the machine was quiet), and so are the issue's
speed goals with "met" or "missed".

Before and after a change, side by side in one run: ``--baseline PYTHON`` names the interpreter of another
microgradx checkout (its virtual environment's ``python``); its ``baseline (engine)`` and
``baseline (fit)`` run this same script's microgradx steps against that checkout's library, alternating
with this checkout's processes, and the table adds the ratio of each to this checkout. ``--clock cpu``
times the process's CPU time instead of the wall clock: with ``--threads 1`` it is the work done, little
disturbed by other programs on a shared machine (``--threads 1 --clock cpu`` for before/after).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

import numpy as np

SIZES = (784, 256, 256, 10)


def parameter_count() -> int:
    return sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:]))


def glorot(rng: np.random.Generator) -> list[np.ndarray]:
    weights = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6.0 / (a + b))
        weights += [rng.uniform(-limit, limit, (a, b)).astype(np.float32), np.zeros(b, np.float32)]
    return weights


# ---------------------------------------------------------------------------------- contenders
def microgradx_runner(weights, x, y, batch, steps, use_fit: bool) -> Callable[[], None]:
    from microgradx import layers, optimizers
    from microgradx.models import Sequential

    model = Sequential([layers.Input(shape=(SIZES[0],))]
                       + [layers.Dense(u, activation="relu") for u in SIZES[1:-1]]
                       + [layers.Dense(SIZES[-1], activation="softmax")])
    model.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  engine="cpu", dtype="float32")
    model.set_weights(weights)
    n = batch * steps
    xs, ys = x[:n], y[:n]
    if use_fit:
        return lambda: model.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    engine = model.engine
    batches = [np.arange(i, i + batch) for i in range(0, n, batch)]
    return lambda: engine.train_epoch(xs, ys, None, batches)


def torch_runner(weights, x, y, batch, steps, threads) -> Callable[[], None]:
    import torch

    torch.set_num_threads(threads)
    mods = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        mods.append(lin)
        if i < len(SIZES) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def run() -> None:
        for i in range(steps):
            xb, yb = xt[i * batch:(i + 1) * batch], yt[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
    return run


def numpy_runner(weights, x, y, batch, steps) -> Callable[[], None]:
    """A plain NumPy MLP: matmuls, ReLU masks, softmax - onehot, Adam with preallocated slots."""
    params = [w.copy() for w in weights]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    state = {"t": 0}
    onehot = np.eye(SIZES[-1], dtype=np.float32)

    def run() -> None:
        for i in range(steps):
            xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            acts = [xb]
            for j in range(0, len(params), 2):
                z = acts[-1] @ params[j] + params[j + 1]
                acts.append(np.maximum(z, 0) if j < len(params) - 2 else z)
            z = acts[-1]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            dz = (p - onehot[yb]) / batch
            grads = [None] * len(params)
            for j in range(len(params) - 2, -1, -2):
                grads[j] = acts[j // 2].T @ dz
                grads[j + 1] = dz.sum(axis=0)
                if j:
                    dz = (dz @ params[j].T) * (acts[j // 2] > 0)
            state["t"] += 1
            t = state["t"]
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            for p_, g, m_, v_ in zip(params, grads, m, v):
                m_ += (1 - b1) * (g - m_)
                v_ += (1 - b2) * (g * g - v_)
                p_ -= alpha * m_ / (np.sqrt(v_) + eps)
    return run


def matmul_rate(shape_a, shape_b, repeats=15) -> float:
    """Best-of GFLOP/s of ``a @ b`` in float32 through NumPy."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32)
    out = np.empty((shape_a[0], shape_b[1]), np.float32)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t)
    return 2.0 * shape_a[0] * shape_a[1] * shape_b[1] / min(times) / 1e9


def layer_products_rate(batch: int, repeats=15) -> float:
    """Median GFLOP/s of the three products of one 784 -> 256 layer at ``batch`` (fwd, dW, dX)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    w = rng.standard_normal((784, 256)).astype(np.float32)
    g = rng.standard_normal((batch, 256)).astype(np.float32)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        x @ w
        x.T @ g
        g @ w.T
        times.append(time.perf_counter() - t)
    return 6.0 * batch * 784 * 256 / statistics.median(times) / 1e9


CONTENDERS = ("microgradx (engine)", "microgradx (fit)", "PyTorch", "NumPy")
#: the contenders of ``--baseline``: this script's microgradx steps run by the baseline's interpreter
BASELINE = {"baseline (engine)": "microgradx (engine)", "baseline (fit)": "microgradx (fit)"}
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def limit_threads(threads: int) -> None:
    """The same number of BLAS threads for every library of this process.

    numba's pool is left alone: microgradx runs no numba parallel region, and launching the pool
    (``numba.set_num_threads`` does) in the PyTorch process made PyTorch's steps 7x slower
    (1.45 -> 10 ms at batch 32; both use OpenMP).
    """
    try:
        from threadpoolctl import threadpool_limits

        importlib.import_module("scipy.linalg")  # load SciPy's OpenBLAS too, so that threadpoolctl sees it
    except ImportError:
        print("threadpoolctl/SciPy missing: BLAS runs with its default threads", file=sys.stderr)
    else:
        threadpool_limits(threads)  # stays in force for the rest of the process


def child(args: argparse.Namespace) -> None:
    """Time one contender alone in this process; print the median seconds per step (JSON)."""
    name = args.child
    limit_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    weights = glorot(rng)
    x = rng.standard_normal((args.batch * args.steps, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], args.batch * args.steps)
    if name.startswith("microgradx"):
        run = microgradx_runner(weights, x, y, args.batch, args.steps, use_fit=name.endswith("(fit)"))
    elif name == "PyTorch":
        run = torch_runner(weights, x, y, args.batch, args.steps, args.threads)
    else:
        run = numpy_runner(weights, x, y, args.batch, args.steps)
    run()  # warm-up: compilation, allocator, thread pools
    clock = CLOCKS[args.clock]
    times = []
    for _ in range(args.repeats):
        t = clock()
        run()
        times.append(clock() - t)
    print(json.dumps({"step": statistics.median(times) / args.steps}))


def time_in_child(name: str, batch: int, args: argparse.Namespace) -> float | None:
    python = args.baseline if name in BASELINE else sys.executable
    command = [python, os.path.abspath(__file__), "--child", BASELINE.get(name, name), "--batch", str(batch),
               "--steps", str(args.steps), "--repeats", str(args.repeats), "--threads", str(args.threads),
               "--seed", str(args.seed), "--clock", args.clock]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  ({name} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--steps", type=int, default=50, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per process (median)")
    parser.add_argument("--rounds", type=int, default=3, help="processes per contender, alternating (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS),
                        metavar="NAME", help=f"which contenders to time (default: all of {', '.join(CONTENDERS)})")
    parser.add_argument("--baseline", metavar="PYTHON",
                        help="the python of another microgradx checkout, timed side by side (before/after)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall-clock time (default) or the process's CPU time")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    contenders = list(args.contenders)
    if args.baseline:
        if not os.access(args.baseline, os.X_OK):
            parser.error(f"argument --baseline: {args.baseline!r} is not an executable python")
        contenders += [name for name, ours in BASELINE.items() if ours in contenders]

    limit_threads(args.threads)
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    params = parameter_count()
    print(f"MLP {'-'.join(map(str, SIZES))} ({params:,} parameters), Adam, float32, {args.threads} threads; "
          f"per contender: median of {args.rounds} processes x median of {args.repeats} runs of {args.steps} steps, "
          f"{args.clock} clock" + (f"; baseline: {args.baseline}" if args.baseline else ""))
    peak = matmul_rate((2048, 2048), (2048, 2048))
    print(f"NumPy float32 matmul 2048^3: {peak:.1f} GFLOP/s (the peak used below)")
    for batch in args.batches:
        steps: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name in contenders:
                step = time_in_child(name, batch, args)
                if step is not None:
                    steps[name].append(step)
        layer_rate = layer_products_rate(batch)
        print(f"\nbatch {batch}: (NumPy's rate on the 784x256 layer products at this batch: "
              f"{layer_rate:.1f} GFLOP/s)")
        print(f"  {'contender':<22}{'samples/s':>12}{'ms/step':>10}{'GFLOP/s':>10}{'% of peak':>11}"
              f"{'mgx engine speed-up':>21}")
        medians = {name: statistics.median(v) for name, v in steps.items() if v}
        ours = medians.get("microgradx (engine)")
        for name, step in medians.items():
            gflops = 6.0 * batch * params / step / 1e9
            ratio = f"{step / ours:>20.2f}x" if ours else f"{'-':>21}"
            print(f"  {name:<22}{batch / step:>12,.0f}{step * 1e3:>10.3f}{gflops:>10.1f}"
                  f"{100 * gflops / peak:>10.1f}%{ratio}")
        for name, ours_name in BASELINE.items():
            if name in medians and ours_name in medians:
                print(f"  {ours_name} / {name}: {medians[ours_name] / medians[name]:.3f} "
                      f"(time ratio; below 1: this checkout is faster)")
        report_goals(batch, medians, params, peak)
    print("\nload average (1, 5, 15 min) after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


#: The issue's speed goals: batch size -> minimum speed-up over PyTorch, and (batch 256) the minimum
#: fraction of the matrix-product peak.
SPEEDUP_GOALS = {32: 3.0, 256: 1.5}
PEAK_GOAL = {256: 0.70}


def report_goals(batch: int, medians: dict[str, float], params: int, peak: float) -> None:
    """Print each goal of this batch size with the measured value and "met" / "missed"."""
    ours, torch_step = medians.get("microgradx (engine)"), medians.get("PyTorch")
    if ours is None:
        return
    if batch in SPEEDUP_GOALS and torch_step is not None:
        ratio, goal = torch_step / ours, SPEEDUP_GOALS[batch]
        print(f"  goal: >= {goal}x PyTorch: {ratio:.2f}x, {'met' if ratio >= goal else 'missed'}")
    if batch in PEAK_GOAL:
        fraction, goal = 6.0 * batch * params / ours / 1e9 / peak, PEAK_GOAL[batch]
        print(f"  goal: >= {goal:.0%} of the matmul peak: {fraction:.0%}, {'met' if fraction >= goal else 'missed'}")


if __name__ == "__main__":
    main()
