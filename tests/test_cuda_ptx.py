"""Compile every CUDA kernel to PTX for compute capability 9.0 (H100) with the real CUDA compiler.

The simulator runs kernels as Python, so it accepts code that NVVM rejects (it does no type
inference). This test compiles each kernel of :mod:`microgradx.kernels.cuda`, for float32 and
float64, with ``cuda.compile_ptx`` (no GPU needed, only libNVVM: ``pip install "numba-cuda[cu13]"``),
and checks the PTX has what the kernel is about (``bar.sync`` where shared memory is used, a
``.entry``). The simulator replaces ``numba.cuda`` for the whole process, so the compilation runs in
a subprocess with ``NUMBA_ENABLE_CUDASIM=0``; the test skips where the toolchain (libNVVM, NVRTC) is
absent, as it is with the plain test extras (CI installs the ``ptx`` extra, so there it runs).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cuda

REPO = pathlib.Path(__file__).resolve().parent.parent

# Runs in the subprocess: prints one JSON line per kernel, or {"skip": reason}.
SCRIPT = r'''
import json, sys, types as pytypes
try:
    from numba import cuda, types
    from numba.cuda.cudadrv import nvvm
except ImportError as error:
    print(json.dumps({"skip": f"numba.cuda cannot be imported: {error}"}))
    sys.exit(0)
if not nvvm.is_available():
    print(json.dumps({"skip": "libNVVM not found (pip install 'numba-cuda[cu13]')"}))
    sys.exit(0)
# libNVVM alone is not the whole toolchain (compile_ptx also loads NVRTC): a trivial kernel tells
# whether it is complete; only a kernel of ours failing after that is a finding.
def _probe(a):
    a[0] = 1.0
try:
    cuda.compile_ptx(_probe, (types.float32[:],), cc=(9, 0))
except Exception as error:
    print(json.dumps({"skip": f"the CUDA compiler toolchain is incomplete ({type(error).__name__}: "
                              f"{str(error)[:200]}); pip install 'numba-cuda[cu13]'"}))
    sys.exit(0)
# Device functions are compiled for the current device's compute capability; there is no device
# here, so name the H100's (the kernels themselves get cc=(9, 0) from compile_ptx).
import numba.cuda.dispatcher as dispatcher
dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=(9, 0))

from microgradx.kernels.cuda import elementwise, gemm, losses, optimizers, regularizers
from microgradx.optimizers import SGD, Adadelta, Adagrad, Adam, RMSprop
from microgradx.regularizers import PENALTY_RULES

i64, i32, f64, b1 = types.int64, types.int32, types.float64, types.boolean
def arr(dtype, ndim):
    return types.Array(dtype, ndim, "C")

cases = []
for name in ("float32", "float64"):
    f = types.float32 if name == "float32" else types.float64
    a1, a2 = arr(f, 1), arr(f, 2)
    d1, l1, n1 = arr(f64, 1), arr(i64, 1), arr(i32, 1)
    # float64 changes only the value type of the matmul: one configuration is enough there
    configs = ((gemm.THIN_TILES, gemm.SMALL_TILES, gemm.LARGE_TILES) if name == "float32"
               else (gemm.SMALL_TILES,))
    for config in configs:
        for ta, tb in ((False, False), (True, False), (False, True)):
            kernel = gemm.gemm_kernel(ta, tb, config, name)
            cases.append((f"gemm[{ta},{tb},{config.block_m}]/{name}", kernel,
                          (a2, a2, a2, a1, a2, a1, arr(f, 3), arr(f64, 2), i64, i64, b1, b1, i64), True))
    cases += [
        (f"split_k_reduce/{name}", gemm._split_k_reduce,
         (arr(f, 3), arr(f64, 2), a2, a1, a2, a1, i64, i64, b1, b1), False),
        (f"gather_rows/{name}", elementwise._gather_rows, (a2, l1, a2), False),
        (f"dropout_forward/{name}", elementwise._dropout_forward, (a2, a2, i64, i64, f64, i64, i64), False),
        (f"dropout_backward/{name}", elementwise._dropout_backward,
         (a2, a2, i64, i64, f64, i64, i64, i64, a2), False),
        (f"softmax_rows/{name}", elementwise._softmax_rows, (a2, a2), False),
        (f"softmax_backward/{name}", elementwise._softmax_backward, (a2, a2, a2), False),
        (f"loss/{name}", losses._loss_kernel,
         (i64, a2, a2, d1, b1, f64, f64, f64, b1, b1, b1, i64, a2, d1, i64, n1), True),
        (f"squared_norms/{name}", optimizers._squared_norms, (a1, l1, d1), True),
        (f"penalty/{name}", regularizers.penalty_kernels(*PENALTY_RULES)[0],
         (a1, a1, f64, f64, f64, i64, d1, i64, n1), True),
        (f"weight_penalties/{name}", regularizers.penalty_kernels(*PENALTY_RULES)[1],
         (a1, a1, l1, arr(f64, 2), d1, i64, n1), True),
    ]
    # the update kernel compiled from each optimizer's rule, for the slot combinations its options make
    for label, opt in (("sgd", SGD()), ("sgd_momentum", SGD(momentum=0.9, nesterov=True)), ("adam", Adam()),
                       ("adam_amsgrad", Adam(amsgrad=True)), ("adadelta", Adadelta()), ("adagrad", Adagrad()),
                       ("rmsprop", RMSprop()), ("rmsprop_centered_momentum", RMSprop(momentum=0.5, centered=True))):
        arguments = opt.rule_arguments(0.1, 1)
        scalars = [b1 if isinstance(v, bool) else f64 for v in arguments]
        scalars += [f64] * (optimizers.MAX_ARGUMENTS - len(scalars))
        kernel = optimizers.update_kernel(opt.rule, opt.slots_present(), len(arguments), opt.step_rules)
        cases.append((f"update[{label}]/{name}", kernel,
                      (n1, a1, a1, a1, a1, a1, l1, d1, i64, f64, f64, f64, f64, *scalars), False))
for label, kernel, signature, barrier in cases:
    try:
        ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
        print(json.dumps({"kernel": label, "entry": ".entry" in ptx, "barrier": "bar.sync" in ptx,
                          "needs_barrier": barrier, "local_bytes": ptx.count("ld.local")}))
    except Exception as error:
        print(json.dumps({"kernel": label, "error": f"{type(error).__name__}: {error}"[:2000]}))
'''


def test_every_kernel_compiles_to_ptx_for_sm90():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=600)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if lines and "skip" in lines[0]:
        pytest.skip(lines[0]["skip"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(lines) == (9 + 18) + (3 + 18), result.stdout[-3000:] + result.stderr[-3000:]
    errors = [line for line in lines if "error" in line]
    assert not errors, "\n".join(f"{e['kernel']}: {e['error']}" for e in errors)
    for line in lines:
        assert line["entry"], line
        assert line["barrier"] == line["needs_barrier"], line
