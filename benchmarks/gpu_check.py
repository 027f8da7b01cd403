"""One-shot check of microgradx's CUDA engine on a real NVIDIA GPU, with PyTorch as the reference.

Run from the repository root::

    python3 benchmarks/gpu_check.py              # on a GPU machine: about 1.5-2 minutes, JIT compile included
    python3 benchmarks/gpu_check.py --dry-run    # tiny sizes in Numba's CUDA simulator (no GPU needed)

Sections (each one timed; an exception is printed and recorded, and the next section runs):

1. environment: versions (Python, numba, numba-cuda, torch, ...), GPU, driver, ``cuda.is_available()``;
2. kernels at real sizes against NumPy: the tiled matmul in every tile configuration and transpose
   (float64 and float32), the dropout mask against the hash RNG's NumPy twin (bit for bit);
3. engine parity with the CPU engine on the MLP 784-256-256-10 (dropout, softmax + cross-entropy):
   float64 gradients within 1e-10, a few Adam steps, float32 within float32 tolerances. The float32
   gradients are compared on the rows whose ReLU pre-activations are all at least ``KINK_MARGIN`` from
   0 (in float64), against each other and against the float64 gradients of the same weights: where a
   pre-activation is within float32 rounding of 0, the two engines may switch the unit differently,
   which moves the gradient by a whole row's contribution on any correct engine (the numbers over all
   rows are printed too);
4. training speed, MLP 784-256-256-10, Adam, float32, softmax cross-entropy, batches 64 / 1024 / 8192:
   ``CudaEngine.train_epoch`` against a PyTorch CUDA loop on the same GPU (TF32 off on both sides),
   samples/s from medians over repeats, ms and kernel launches per step, and the ratios; at batch 64
   also the same epochs with numba-cuda's ordinary launch instead of the cached launch plans
   (:mod:`microgradx.kernels.cuda.launch`);
5. the matmul kernel alone against ``torch.matmul`` (fp32, TF32 off), 4096^3: TFLOP/s and % of cuBLAS;
6. (if time is left) ``pytest tests/test_cuda.py`` on the GPU (``MICROGRADX_REAL_GPU=1``).

Options: ``--budget SECONDS`` (default 270): a section that would start later is skipped, and the
pytest section only gets the time left. Results are also written as JSON to ``$OUT/gpu_check.json``
when ``OUT`` is set (rewritten after every section, so a cut-off run keeps what it measured).
Timings use ``synchronize`` around repeated launches; the medians are over ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import traceback
import warnings

REPO = pathlib.Path(__file__).resolve().parent.parent


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes in Numba's CUDA simulator (sets NUMBA_ENABLE_CUDASIM=1)")
    parser.add_argument("--budget", type=float, default=270.0, help="seconds for the whole run (default 270)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timing repeats (default 3; 1 in a dry run)")
    parser.add_argument("--no-pytest", action="store_true", help="skip section 6")
    return parser.parse_args()


ARGS = _parse_args()
# the loss and metric kernels are one block by design: numba's low-occupancy warnings are noise here
os.environ.setdefault("NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS", "0")
if ARGS.dry_run:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")       # before numba is imported
    warnings.simplefilter("ignore")                          # the simulator's uint64 wraparound warnings
elif not os.environ.get("CUDA_HOME") and not os.environ.get("CUDA_PATH"):
    # numba-cuda finds libNVVM in pip wheels (nvidia-nvvm) or under CUDA_HOME; without the wheel, point
    # it at the system toolkit (set before numba.cuda is imported)
    try:
        from importlib.metadata import version as _dist_version
        _dist_version("nvidia-nvvm")
    except Exception:
        for _candidate in ("/usr/local/cuda", "/usr/local/cuda-13", "/usr/local/cuda-12", "/usr/lib/cuda"):
            if os.path.isdir(os.path.join(_candidate, "nvvm")):
                os.environ["CUDA_HOME"] = _candidate
                break
START = time.monotonic()
REPEATS = ARGS.repeats or (1 if ARGS.dry_run else 3)
RESULTS: dict = {"meta": {"dry_run": ARGS.dry_run, "budget_s": ARGS.budget, "repeats": REPEATS,
                          "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                 "sections": {}}


def say(*parts: object) -> None:
    print(*parts, flush=True)


def save() -> None:
    out = os.environ.get("OUT")
    if not out:
        return
    path = pathlib.Path(out) / "gpu_check.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(RESULTS, indent=2, default=str))
    os.replace(tmp, path)


@contextlib.contextmanager
def section(name: str, reserve: float = 0.0):
    """Time a section, record its result dict, print and keep going on any exception."""
    record: dict = {}
    RESULTS["sections"][name] = record
    left = ARGS.budget - (time.monotonic() - START)
    say(f"\n=== {name} (t = {time.monotonic() - START:.1f} s, {left:.0f} s of budget left) ===")
    if left < reserve:
        record["status"] = "skipped: out of time budget"
        say(f"  skipped: {left:.0f} s left, needs about {reserve:.0f} s")
        save()
        yield None
        return
    t0 = time.monotonic()
    try:
        yield record
        record.setdefault("status", "ok")
    except Exception as error:  # report and continue with the next section
        record["status"] = f"error: {type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc()
        say(f"  ERROR {type(error).__name__}: {error}")
        say(traceback.format_exc())
    record["elapsed_s"] = round(time.monotonic() - t0, 2)
    say(f"  [{name}: {record['status'].split(':')[0]}, {record['elapsed_s']:.1f} s]")
    save()


def import_microgradx() -> str:
    """Import microgradx: installed (``pip install -e .``) or straight from this source tree."""
    try:
        import microgradx.kernels.rng  # noqa: F401
        return "installed"
    except ImportError:
        pass
    for name in [m for m in sys.modules if m == "microgradx" or m.startswith("microgradx.")]:
        del sys.modules[name]
    sys.path.insert(0, str(REPO))
    import microgradx
    # setup.cfg maps microgradx.kernels -> kernels/ and microgradx.viz -> viz/; do the same by hand
    for sub in ("kernels", "viz"):
        folder = REPO / sub
        spec = importlib.util.spec_from_file_location(f"microgradx.{sub}", folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(microgradx, sub, module)
    return "from the source tree (path shim)"


def version(dist: str) -> str:
    try:
        from importlib.metadata import version as _version
        return _version(dist)
    except Exception:
        return "not installed"


def median_time(fn, repeats: int, sync) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, each bracketed by ``sync()``."""
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------ sections
SIZES = {
    "matmul_check": (1000, 784, 257) if not ARGS.dry_run else (40, 33, 17),
    "mlp": (784, 256, 256, 10) if not ARGS.dry_run else (12, 8, 8, 4),
    "parity_batch": 512 if not ARGS.dry_run else 6,
    "bench_batches": {64: 300, 1024: 60, 8192: 15} if not ARGS.dry_run else {4: 3, 8: 2},
    "bench_data": 16384 if not ARGS.dry_run else 32,
    "matmul_bench": 4096 if not ARGS.dry_run else 40,
}
STATE: dict = {}


def environment(record: dict) -> None:
    record["python"] = sys.version.split()[0]
    record["CUDA_HOME"] = os.environ.get("CUDA_HOME")
    record["platform"] = platform.platform()
    for dist in ("numpy", "numba", "numba-cuda", "llvmlite", "cuda-bindings", "cuda-core", "nvidia-nvvm",
                 "torch", "scipy"):
        record[f"version_{dist}"] = version(dist)
    record["microgradx_import"] = import_microgradx()
    import numba
    from numba import cuda
    record["simulator"] = bool(numba.config.ENABLE_CUDASIM)
    record["cuda_is_available"] = bool(cuda.is_available())
    try:
        record["cuda_error"] = None if record["simulator"] else cuda.cuda_error()
    except Exception as error:
        record["cuda_error"] = repr(error)
    from microgradx.engines.cuda import cuda_status
    record["cuda_status"] = list(cuda_status())
    try:
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        record["gpu"] = name
        record["compute_capability"] = list(device.compute_capability)
    except Exception as error:
        record["gpu"] = f"unavailable: {error!r}"
    if not record["simulator"]:
        try:
            from numba.cuda.cudadrv.driver import driver
            record["driver_cuda_version"] = list(driver.get_version())
        except Exception as error:
            record["driver_cuda_version"] = repr(error)
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                                  "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
            record["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        except Exception as error:
            record["nvidia_smi"] = repr(error)
    try:
        import torch
        record["torch_cuda"] = torch.version.cuda
        record["torch_cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            record["torch_gpu"] = torch.cuda.get_device_name(0)
    except Exception as error:
        record["torch"] = f"unavailable: {error!r}"
    for key, value in record.items():
        say(f"  {key}: {value}")


def kernels_at_real_sizes(record: dict) -> None:
    import numpy as np
    from numba import cuda

    from microgradx.kernels import rng
    from microgradx.kernels.activations import RELU
    from microgradx.kernels.cuda import elementwise, gemm
    m, k, n = SIZES["matmul_check"]
    gen = np.random.default_rng(0)
    failures = []
    for dtype, tol in (("float64", 1e-12), ("float32", 2e-5)):
        x = gen.standard_normal((m, k)).astype(dtype)
        w = gen.standard_normal((k, n)).astype(dtype)
        dz = gen.standard_normal((m, n)).astype(dtype)
        b = gen.standard_normal(n).astype(dtype)
        x64, w64, dz64 = x.astype(np.float64), w.astype(np.float64), dz.astype(np.float64)
        d_x, d_w, d_dz, d_b = (cuda.to_device(a) for a in (x, w, dz, b))
        variants = [(tiles, 1) for tiles in (gemm.THIN_TILES, gemm.SMALL_TILES, gemm.LARGE_TILES)]
        variants.append((gemm.SMALL_TILES, 3))                      # split-K: partial products + a sum
        for tiles, split in variants:
            label = f"{dtype}/{tiles.block_m}x{tiles.block_n}" + (f"/split{split}" if split > 1 else "")
            t0 = time.perf_counter()
            out = cuda.device_array((m, n), dtype)
            gemm.matmul(d_x, d_w, out, bias=d_b, activation=RELU, tiles=tiles, split_k=split)
            ref = np.maximum(x64 @ w64 + b, 0)
            err_fwd = float(np.abs(out.copy_to_host() - ref).max() / np.abs(ref).max())
            dw, db = cuda.device_array((k, n), dtype), cuda.device_array(n, dtype)
            gemm.matmul(d_x, d_dz, dw, trans_a=True, colsum=db, tiles=tiles, split_k=split)
            ref_dw, ref_db = x64.T @ dz64, dz64.sum(0)
            err_dw = float(np.abs(dw.copy_to_host() - ref_dw).max() / np.abs(ref_dw).max())
            err_db = float(np.abs(db.copy_to_host() - ref_db).max() / np.abs(ref_db).max())
            dx = cuda.device_array((m, k), dtype)
            gemm.matmul(d_dz, d_w, dx, trans_b=True, tiles=tiles, split_k=split)
            ref_dx = dz64 @ w64.T
            err_dx = float(np.abs(dx.copy_to_host() - ref_dx).max() / np.abs(ref_dx).max())
            worst = max(err_fwd, err_dw, err_db, err_dx)
            record[label] = {"rel_err_forward": err_fwd, "rel_err_dW": err_dw, "rel_err_db": err_db,
                             "rel_err_dX": err_dx, "pass": worst < tol,
                             "seconds_incl_jit": time.perf_counter() - t0}
            say(f"  matmul {label} ({m}x{k}x{n}): fwd {err_fwd:.2e} dW {err_dw:.2e} db {err_db:.2e} "
                f"dX {err_dx:.2e} -> {'PASS' if worst < tol else 'FAIL'} (tol {tol:g}, "
                f"{time.perf_counter() - t0:.1f} s incl. JIT)")
            if worst >= tol:
                failures.append(label)
    seed, step, rate = 42, 3, 0.3
    for mask_shape in ((m, n), (m, 1), (1, n)):
        ones = cuda.to_device(np.ones((m, n), np.float32))
        out = cuda.device_array((m, n), np.float32)
        elementwise.dropout_forward(ones, out, seed, step, rate, mask_shape)
        keep = rng.uniform_array(seed, step, mask_shape) >= rate
        expected = np.broadcast_to(np.where(keep, np.float32(1.0 / (1.0 - rate)), np.float32(0)), (m, n))
        same = bool(np.array_equal(out.copy_to_host(), expected.astype(np.float32)))
        record[f"dropout_mask_{mask_shape}"] = same
        say(f"  dropout mask {mask_shape} identical to rng.uniform_array: {same}")
        if not same:
            failures.append(f"dropout {mask_shape}")
    record["failures"] = failures
    if failures:
        record["status"] = f"FAIL: {failures}"


def _mlp(dtype: str, dropout: float | None, seed: int = 0):
    """Built layers and weights of the MLP (Dense relu, [Dropout], Dense relu, Dense softmax)."""
    import numpy as np

    from microgradx import layers
    d_in, h1, h2, d_out = SIZES["mlp"]
    gen = np.random.default_rng(seed)
    built, weights = [], []
    widths = [d_in, h1, h2, d_out]
    for i, (a, b, act) in enumerate(zip(widths[:-1], widths[1:], ["relu", "relu", "softmax"])):
        dense = layers.Dense(b, activation=act)
        dense.build(a)
        built.append(dense)
        limit = math.sqrt(6.0 / (a + b))                      # Glorot uniform, like Keras' default
        weights += [gen.uniform(-limit, limit, (a, b)).astype(dtype), np.zeros(b, dtype)]
        if i == 0 and dropout:
            drop = layers.Dropout(dropout, seed=7)
            drop.build(b)
            built.append(drop)
    return built, weights


#: float32 parity is judged on rows whose ReLU pre-activations are all at least this far from 0 (in
#: float64): a float32 pre-activation carries a rounding error of about 1e-6 here, and one that lands on
#: the other side of 0 on the two engines switches a unit off on one of them only, which changes the
#: gradient by a whole row's contribution (1e-3 of max|g| in the first H100 run), on any correct engine.
KINK_MARGIN = 1e-4


def _relu_margins(engine64, x, y, step: int):
    """Per row of ``x``, the smallest ``|z|`` over every ReLU layer's pre-activations ``z`` (float64).

    Uses the float64 CUDA engine's own training forward at ``step`` (so the dropout masks are those
    of the gradients compared) and recomputes each ReLU layer's ``z = input W + b`` from its input.
    """
    import numpy as np

    from microgradx.engines.plan import DenseStep
    from microgradx.kernels.activations import RELU
    ws, _ = engine64._upload_batch(x, y, None)
    current = engine64._forward(ws, ws.x, True, step)
    margin = np.full(len(x), np.inf)
    for i, s in enumerate(engine64.plan.steps):
        if isinstance(s, DenseStep) and s.code == RELU:
            w, b, _, _ = engine64._dense_views[i]
            inputs = np.asarray(x, np.float64) if i == 0 else current[i - 1].copy_to_host()
            z = inputs @ w.copy_to_host() + (b.copy_to_host() if b is not None else 0.0)
            margin = np.minimum(margin, np.abs(z).min(axis=1))
    return margin


def _max_rel_diff(grads_a, grads_b, scale: float) -> float:
    """``max |a - b| / scale`` over every variable's gradient, in float64."""
    worst = max(float(abs(a.astype("float64") - b.astype("float64")).max()) for a, b in zip(grads_a, grads_b))
    return worst / scale


def engine_parity(record: dict) -> None:
    import numpy as np

    from microgradx import losses
    from microgradx.engines.cpu import CpuEngine
    from microgradx.engines.cuda import CudaEngine
    from microgradx.optimizers import Adam
    d_in, _, _, d_out = SIZES["mlp"]
    n = SIZES["parity_batch"]
    gen = np.random.default_rng(1)
    x = gen.standard_normal((4 * n, d_in))
    y = np.eye(d_out)[gen.integers(0, d_out, 4 * n)]
    step = 5
    failures = []
    for dtype, tol in (("float64", 1e-10), ("float32", 1e-4)):
        built, weights = _mlp(dtype, 0.2)
        loss = losses.get("categorical_crossentropy")
        cpu = CpuEngine.for_layers(built, loss, Adam(1e-3), dtype)
        gpu = CudaEngine.for_layers(built, loss, Adam(1e-3), dtype)
        cpu.set_weights(weights)
        gpu.set_weights(weights)
        t0 = time.perf_counter()
        loss_cpu, grads_cpu = cpu.compute_gradients(x[:n], y[:n], step=step)
        loss_gpu, grads_gpu = gpu.compute_gradients(x[:n], y[:n], step=step)
        scale = max(float(np.abs(g).max()) for g in grads_cpu)
        grad_diff = max(float(np.abs(a - b).max()) for a, b in zip(grads_cpu, grads_gpu))
        entry = {"loss_cpu": loss_cpu, "loss_gpu": loss_gpu, "loss_abs_diff": abs(loss_cpu - loss_gpu),
                 "grad_max_abs_diff": grad_diff, "grad_max_abs": scale}
        if dtype == "float64":
            grads_ok = grad_diff < tol
            detail = ""
        else:
            # the same float32 weights in float64: the reference both float32 engines are compared with
            w64 = [w.astype(np.float64) for w in weights]
            reference = CpuEngine.for_layers(built, loss, Adam(1e-3), "float64")
            probe = CudaEngine.for_layers(built, loss, Adam(1e-3), "float64")
            reference.set_weights(w64)
            probe.set_weights(w64)
            near = int((_relu_margins(probe, x[:n], y[:n], step) < KINK_MARGIN).sum())
            keep = np.arange(n)
            for _ in range(5):       # dropping rows re-draws the dropout masks of the later rows: repeat
                margins = _relu_margins(probe, x[keep], y[keep], step)
                if margins.min() >= KINK_MARGIN:
                    break
                keep = keep[margins >= KINK_MARGIN]
            _, g_cpu = cpu.compute_gradients(x[keep], y[keep], step=step)
            _, g_gpu = gpu.compute_gradients(x[keep], y[keep], step=step)
            _, g_ref = reference.compute_gradients(x[keep], y[keep], step=step)
            _, g_ref_all = reference.compute_gradients(x[:n], y[:n], step=step)
            ref_scale = max(float(np.abs(g).max()) for g in g_ref)
            all_scale = max(float(np.abs(g).max()) for g in g_ref_all)
            entry.update({
                "rows_with_relu_input_within_margin": near, "kink_margin": KINK_MARGIN,
                "rows_compared": int(keep.size),
                "all_rows_rel_diff_cpu32_vs_f64": _max_rel_diff(grads_cpu, g_ref_all, all_scale),
                "all_rows_rel_diff_gpu32_vs_f64": _max_rel_diff(grads_gpu, g_ref_all, all_scale),
                "rel_diff_gpu32_vs_cpu32": _max_rel_diff(g_gpu, g_cpu, ref_scale),
                "rel_diff_cpu32_vs_f64": _max_rel_diff(g_cpu, g_ref, ref_scale),
                "rel_diff_gpu32_vs_f64": _max_rel_diff(g_gpu, g_ref, ref_scale)})
            grads_ok = entry["rel_diff_gpu32_vs_cpu32"] < tol and entry["rel_diff_gpu32_vs_f64"] < tol
            e = entry
            detail = (f"\n    all {n} rows: |g32 - g64|/max|g| cpu {e['all_rows_rel_diff_cpu32_vs_f64']:.1e}, "
                      f"gpu {e['all_rows_rel_diff_gpu32_vs_f64']:.1e}; {near} row(s) have a ReLU input "
                      f"within {KINK_MARGIN:g} of 0 (a float32 rounding there can flip the unit on one engine)"
                      f"\n    the {keep.size} rows without: |g32 - g64|/max|g| "
                      f"cpu {e['rel_diff_cpu32_vs_f64']:.1e}, "
                      f"gpu {e['rel_diff_gpu32_vs_f64']:.1e}; gpu vs cpu {e['rel_diff_gpu32_vs_cpu32']:.1e} "
                      f"(tol {tol:g}; the criterion)")
        batches = [np.arange(i * n, (i + 1) * n) for i in range(4)]
        losses_cpu = cpu.train_epoch(x, y, None, batches)
        losses_gpu = gpu.train_epoch(x, y, None, batches)
        w_diff = max(float(np.abs(a - b).max()) for a, b in zip(cpu.get_weights(), gpu.get_weights()))
        p_diff = float(np.abs(cpu.predict(x[:n]) - gpu.predict(x[:n])).max())
        # float32: Adam turns rounding-level differences of near-zero gradients into steps of up to ~lr
        w_tol = 1e-9 if dtype == "float64" else 5e-3
        ok = grads_ok and w_diff < w_tol and p_diff < (1e-10 if dtype == "float64" else 1e-4)
        entry.update({"epoch_losses_cpu": losses_cpu.tolist(), "epoch_losses_gpu": losses_gpu.tolist(),
                      "weights_max_abs_diff_after_4_adam_steps": w_diff, "predict_max_abs_diff": p_diff,
                      "pass": ok, "seconds_incl_jit": time.perf_counter() - t0})
        record[dtype] = entry
        say(f"  {dtype}: loss cpu {loss_cpu:.12g} gpu {loss_gpu:.12g}; grads max|diff| {grad_diff:.2e} "
            f"(max|g| {scale:.2e}); after 4 Adam steps weights max|diff| {w_diff:.2e}; predict {p_diff:.2e}"
            f" -> {'PASS' if ok else 'FAIL'} ({time.perf_counter() - t0:.1f} s incl. JIT){detail}")
        if not ok:
            failures.append(dtype)
    if failures:
        record["status"] = f"FAIL: {failures}"


def training_speed(record: dict) -> None:
    import numpy as np
    from numba import cuda

    from microgradx import losses
    from microgradx.engines.cuda import CudaEngine
    from microgradx.optimizers import Adam
    torch = None
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    except Exception as error:
        record["torch"] = f"unavailable: {error!r}"
    device = "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
    record["torch_device"] = device
    d_in, h1, h2, d_out = SIZES["mlp"]
    n_data = SIZES["bench_data"]
    gen = np.random.default_rng(2)
    x = gen.standard_normal((n_data, d_in)).astype(np.float32)
    labels = gen.integers(0, d_out, n_data)
    y = np.eye(d_out, dtype=np.float32)[labels]
    built, weights = _mlp("float32", None)
    engine = CudaEngine.for_layers(built, losses.get("categorical_crossentropy"), Adam(1e-3), "float32")
    engine.set_weights(weights)
    t0 = time.perf_counter()
    engine.train_epoch(x, y, None, [np.arange(b) for b in SIZES["bench_batches"]])   # compile every shape
    record["jit_warmup_s"] = time.perf_counter() - t0
    say(f"  microgradx warm-up (JIT) {record['jit_warmup_s']:.1f} s")

    def torch_sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    if torch is not None:
        xt = torch.tensor(x, device=device)
        yt = torch.tensor(labels, device=device)

        def torch_model(fused: bool):
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(d_in, h1), torch.nn.ReLU(), torch.nn.Linear(h1, h2),
                                        torch.nn.ReLU(), torch.nn.Linear(h2, d_out)).to(device)
            with torch.no_grad():     # the same initial weights as microgradx (Linear keeps W^T)
                for layer, (w, b) in zip([model[0], model[2], model[4]], zip(weights[::2], weights[1::2])):
                    layer.weight.copy_(torch.tensor(w.T))
                    layer.bias.copy_(torch.tensor(b))
            options = {"fused": True} if fused and device == "cuda" else {}
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, **options)
            return model, opt

    from microgradx.kernels.cuda import launch
    record["fast_launch"] = launch.fast_launch_enabled()
    results = {}
    for batch, steps in SIZES["bench_batches"].items():
        index = [gen.integers(0, n_data, batch) for _ in range(steps)]
        engine.train_epoch(x, y, None, index)        # untimed: the GPU and CPU clocks up, the same work
        before = launch.launch_count()
        ours_s = median_time(lambda: engine.train_epoch(x, y, None, index), REPEATS, cuda.synchronize)
        entry = {"steps": steps, "microgradx_s": ours_s, "microgradx_samples_per_s": batch * steps / ours_s,
                 "microgradx_ms_per_step": 1e3 * ours_s / steps,
                 "launches_per_step": (launch.launch_count() - before) / (REPEATS * steps)}
        if batch == min(SIZES["bench_batches"]) and launch.fast_launch_enabled():
            # the same epochs with numba-cuda's ordinary launch: what the cached launch plans save
            os.environ[launch.FAST_LAUNCH_ENV] = "0"
            try:
                slow_s = median_time(lambda: engine.train_epoch(x, y, None, index), REPEATS, cuda.synchronize)
            finally:
                del os.environ[launch.FAST_LAUNCH_ENV]
            entry["ordinary_launch_ms_per_step"] = 1e3 * slow_s / steps
            say(f"  batch {batch}: {entry['microgradx_ms_per_step']:.3f} ms/step with cached launches, "
                f"{entry['ordinary_launch_ms_per_step']:.3f} ms/step with numba-cuda's ordinary launch "
                f"({entry['launches_per_step']:.0f} launches per step)")
        if torch is not None:
            idx = torch.tensor(np.stack(index), device=device)
            loss_fn = torch.nn.CrossEntropyLoss()
            for label, fused in (("torch", False), ("torch_fused_adam", True)):
                model, opt = torch_model(fused)

                def run(model=model, opt=opt, count=steps):
                    history = []
                    for i in range(count):
                        opt.zero_grad(set_to_none=True)
                        loss = loss_fn(model(xt[idx[i]]), yt[idx[i]])
                        loss.backward()
                        opt.step()
                        history.append(loss.detach())
                    return torch.stack(history).cpu()

                run(count=min(steps, 3))                       # warm-up (cuBLAS handles, allocator)
                seconds = median_time(run, REPEATS, torch_sync)
                entry[f"{label}_s"] = seconds
                entry[f"{label}_samples_per_s"] = batch * steps / seconds
            entry["ratio_vs_torch"] = entry["microgradx_samples_per_s"] / entry["torch_samples_per_s"]
            entry["ratio_vs_torch_fused_adam"] = (entry["microgradx_samples_per_s"]
                                                  / entry["torch_fused_adam_samples_per_s"])
        results[batch] = entry
        line = (f"  batch {batch:5d} x {steps:3d} steps: microgradx "
                f"{entry['microgradx_samples_per_s']:12,.0f} samples/s "
                f"({entry['microgradx_ms_per_step']:.3f} ms/step, {entry['launches_per_step']:.0f} launches)")
        if torch is not None:
            line += (f" | torch {entry['torch_samples_per_s']:12,.0f} (fused Adam "
                     f"{entry['torch_fused_adam_samples_per_s']:12,.0f}) | ratio "
                     f"{entry['ratio_vs_torch']:.2f}x"
                     f" ({entry['ratio_vs_torch_fused_adam']:.2f}x vs fused)")
        say(line)
    record["results"] = results
    record["launch_plans"] = launch.plan_counts()
    say(f"  launch plans (kernel x argument kinds): {record['launch_plans']}")
    record["goals_h100"] = "ratio >= 2 at batch 64, >= 0.5 at batch 8192"


def matmul_speed(record: dict) -> None:
    import numpy as np
    from numba import cuda

    from microgradx.kernels.cuda import gemm
    size = SIZES["matmul_bench"]
    gen = np.random.default_rng(3)
    a = gen.standard_normal((size, size)).astype(np.float32)
    b = gen.standard_normal((size, size)).astype(np.float32)
    d_a, d_b = cuda.to_device(a), cuda.to_device(b)
    d_c = cuda.device_array((size, size), np.float32)
    flops = 2.0 * size ** 3
    reps = 1 if ARGS.dry_run else 10
    ours = {}
    configurations = (("auto", None), ("small_64x64", gemm.SMALL_TILES), ("large_128x128", gemm.LARGE_TILES))
    for label, tiles in configurations:
        def launch(tiles=tiles):
            for _ in range(reps):
                gemm.matmul(d_a, d_b, d_c, tiles=tiles)
        t0 = time.perf_counter()
        launch()
        cuda.synchronize()
        compile_s = time.perf_counter() - t0
        seconds = median_time(launch, REPEATS, cuda.synchronize) / reps
        ours[label] = {"seconds": seconds, "tflops": flops / seconds / 1e12, "first_call_s": compile_s}
    chosen, chosen_split = gemm.choose_tiles(size, size, size)
    record["auto_tiles"] = list(chosen)
    record["auto_split_k"] = chosen_split
    result = d_c.copy_to_host()
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        ta, tb = torch.tensor(a, device=device), torch.tensor(b, device=device)

        def torch_launch():
            for _ in range(reps):
                torch.matmul(ta, tb)
        torch_launch()
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        torch_s = median_time(torch_launch, REPEATS, sync) / reps
        reference = torch.matmul(ta, tb).cpu().numpy()
        record["torch_seconds"] = torch_s
        record["torch_tflops"] = flops / torch_s / 1e12
        record["rel_err_vs_torch"] = float(np.abs(result - reference).max() / np.abs(reference).max())
    except Exception as error:
        record["torch"] = f"unavailable: {error!r}"
        torch_s = None
    for label, entry in ours.items():
        if torch_s:
            entry["percent_of_cublas"] = 100.0 * torch_s / entry["seconds"]
        say(f"  ours {label:14s}: {entry['tflops']:7.2f} TFLOP/s"
            + (f" = {entry['percent_of_cublas']:5.1f}% of cuBLAS" if torch_s else "")
            + f" (first call {entry['first_call_s']:.1f} s)")
    if torch_s:
        say(f"  torch.matmul fp32 : {record['torch_tflops']:7.2f} TFLOP/s; "
            f"max rel diff {record['rel_err_vs_torch']:.1e}")
    record["ours"] = ours
    record["size"] = size
    record["goal_h100"] = ">= 25% of cuBLAS fp32"


def run_pytest(record: dict) -> None:
    if ARGS.no_pytest:
        record["status"] = "skipped (--no-pytest)"
        return
    if importlib.util.find_spec("pytest") is None:
        record["status"] = "skipped: pytest is not installed"
        say("  pytest is not installed: skipped")
        return
    left = ARGS.budget - (time.monotonic() - START) - 10
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    pytest_args = ["-q", "-x", "-p", "no:cacheprovider", "tests/test_cuda.py"]
    if ARGS.dry_run:
        pytest_args += ["-k", "matmul"]
    if RESULTS["sections"].get("1 environment", {}).get("microgradx_import") == "installed":
        command = [sys.executable, "-m", "pytest", *pytest_args]
    else:   # not installed: the child imports microgradx through this script's path shim first
        # (minus the one test that starts a bare interpreter to import microgradx: it needs the install)
        pytest_args += ["--deselect",
                        "tests/test_cuda.py::test_importing_microgradx_and_the_cpu_engine_does_not_import_numba_cuda"]
        here = str(REPO / "benchmarks")
        command = [sys.executable, "-c",
                   f"import sys; sys.argv = ['gpu_check', '--no-pytest']; sys.path.insert(0, {here!r}); "
                   f"import gpu_check; gpu_check.import_microgradx(); import pytest; "
                   f"sys.exit(pytest.main({pytest_args!r}))"]
    if not ARGS.dry_run:
        env["MICROGRADX_REAL_GPU"] = "1"
        env.pop("NUMBA_ENABLE_CUDASIM", None)
    say(f"  {' '.join(command)} (timeout {left:.0f} s)")
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=max(left, 5))
        tail = (done.stdout + done.stderr)[-3000:]
        record["returncode"] = done.returncode
        record["output_tail"] = tail
        say(tail)
        if done.returncode != 0:
            record["status"] = f"FAIL: pytest exit code {done.returncode}"
    except subprocess.TimeoutExpired as expired:
        record["status"] = "timeout (budget)"
        record["output_tail"] = str(expired.stdout or "")[-2000:]
        say("  pytest stopped at the time budget")


def main() -> int:
    mode = " (dry run, CUDA simulator)" if ARGS.dry_run else ""
    say(f"microgradx gpu_check{mode}: budget {ARGS.budget:.0f} s")
    sections = (("1 environment", 0, environment), ("2 kernels at real sizes", 20, kernels_at_real_sizes),
                ("3 engine parity with the CPU engine", 30, engine_parity),
                ("4 training speed vs PyTorch", 30, training_speed), ("5 matmul vs cuBLAS", 15, matmul_speed),
                ("6 pytest tests/test_cuda.py on the GPU", 60, run_pytest))
    for name, reserve, body in sections:
        with section(name, reserve=reserve) as record:
            if record is not None:
                body(record)
    total = time.monotonic() - START
    RESULTS["meta"]["total_s"] = round(total, 1)
    save()
    say(f"\nTotal {total:.1f} s. Summary:")
    for name, record in RESULTS["sections"].items():
        say(f"  {name}: {record.get('status')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
