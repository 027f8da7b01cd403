"""The CUDA engine and its kernels, run in Numba's CUDA simulator (tests/conftest.py switches it on).

The simulator runs one OS thread per GPU thread (about 1 ms each), so shapes are tiny and the engine
tests use tiny matmul tiles (``gemm.FORCED_TILES``); the tile configurations of a real GPU are
tested on their own against NumPy, with sizes that are not multiples of the tile (33) and a batch
of 1. Oracles: NumPy products and sums, the hash RNG's NumPy twin, Keras' recorded optimizer
trajectories (tests/data/keras_golden.json), and the CPU engine (itself tested against Keras, central
differences and PyTorch) for whole-model parity in float64.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytestmark = [
    pytest.mark.cuda,
    # the simulator computes the uint64 hash with NumPy scalars, which warn on (intended) wraparound
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaWarning"),
]

numba = pytest.importorskip("numba")
if not numba.config.ENABLE_CUDASIM and os.environ.get("MICROGRADX_REAL_GPU") != "1":
    pytest.skip("CUDA tests need the simulator (NUMBA_ENABLE_CUDASIM=1, set by tests/conftest.py) "
                "or MICROGRADX_REAL_GPU=1", allow_module_level=True)
pytest.importorskip("numba.cuda")

from numba import cuda  # noqa: E402

from microgradx import layers, losses  # noqa: E402
from microgradx.engines import cuda as cuda_engine  # noqa: E402
from microgradx.engines.cuda import device as cuda_device  # noqa: E402
from microgradx.engines.cpu import CpuEngine  # noqa: E402
from microgradx.engines.cuda import CudaEngine  # noqa: E402
from microgradx.kernels import rng  # noqa: E402
from microgradx.kernels.activations import RELU, SIGMOID, TANH  # noqa: E402
from microgradx.kernels.cuda import elementwise, gemm  # noqa: E402
from microgradx.optimizers import SGD, Adadelta, Adagrad, Adam, RMSprop  # noqa: E402

#: 16 threads per block: a training step of a tiny model takes a fraction of a second in the simulator.
TINY_TILES = gemm.TileConfig(8, 8, 4, 2, 2)
SIMULATED = bool(numba.config.ENABLE_CUDASIM)


@pytest.fixture
def tiny_tiles(monkeypatch):
    if SIMULATED:
        monkeypatch.setattr(gemm, "FORCED_TILES", TINY_TILES)


def _relu(z):
    return np.maximum(z, 0.0)


# ----------------------------------------------------------------------------------------- matmul
@pytest.mark.parametrize("tiles", [gemm.THIN_TILES, gemm.SMALL_TILES, gemm.LARGE_TILES, TINY_TILES],
                         ids=["thin", "small", "large", "tiny"])
def test_matmul_forward_fuses_bias_and_activation(tiles):
    rng_ = np.random.default_rng(0)
    x, w, b = rng_.standard_normal((33, 20)), rng_.standard_normal((20, 17)), rng_.standard_normal(17)
    out = cuda.device_array((33, 17))
    gemm.matmul(cuda.to_device(x), cuda.to_device(w), out, bias=cuda.to_device(b), activation=RELU,
                tiles=tiles)
    np.testing.assert_allclose(out.copy_to_host(), _relu(x @ w + b), rtol=1e-12, atol=1e-12)


def test_matmul_transposed_a_with_column_sums_is_the_weight_gradient():
    """dW = X^T dZ read in place (no transposed copy), db = column sums of dZ, for a batch of 33."""
    rng_ = np.random.default_rng(1)
    x, dz = rng_.standard_normal((33, 5)), rng_.standard_normal((33, 9))
    dw, db = cuda.device_array((5, 9)), cuda.device_array(9)
    gemm.matmul(cuda.to_device(x), cuda.to_device(dz), dw, trans_a=True, colsum=db, tiles=gemm.SMALL_TILES)
    np.testing.assert_allclose(dw.copy_to_host(), x.T @ dz, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db.copy_to_host(), dz.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_matmul_transposed_b_fuses_the_previous_activation_derivative_batch_of_one():
    """dX = (dZ W^T) * tanh'(Y_prev) for a batch of 1 and a width of 33 (one ragged tile)."""
    rng_ = np.random.default_rng(2)
    dz, w = rng_.standard_normal((1, 6)), rng_.standard_normal((33, 6))
    y_prev = np.tanh(rng_.standard_normal((1, 33)))
    dx = cuda.device_array((1, 33))
    gemm.matmul(cuda.to_device(dz), cuda.to_device(w), dx, trans_b=True, activation=TANH,
                activation_grad_of=cuda.to_device(y_prev), tiles=gemm.SMALL_TILES)
    np.testing.assert_allclose(dx.copy_to_host(), (dz @ w.T) * (1.0 - y_prev ** 2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True)])
def test_split_k_products_add_up_in_a_second_launch(trans_a, trans_b):
    """Split along the inner dimension (40 = 3 slices of 16, 16, 8): partial products, then one launch
    that adds them in slice order and applies the epilogue (bias + tanh, or the column sums)."""
    rng_ = np.random.default_rng(4)
    m, k, n = 5, 40, 6
    a = rng_.standard_normal((k, m) if trans_a else (m, k))
    b = rng_.standard_normal((n, k) if trans_b else (k, n))
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    bias = rng_.standard_normal(n)
    out, colsum = cuda.device_array((m, n)), cuda.device_array(n)
    gemm.matmul(cuda.to_device(a), cuda.to_device(b), out, trans_a=trans_a, trans_b=trans_b,
                bias=cuda.to_device(bias), activation=TANH, colsum=None if trans_b else colsum,
                tiles=TINY_TILES, split_k=3)
    np.testing.assert_allclose(out.copy_to_host(), np.tanh(op_a @ op_b + bias), rtol=1e-12, atol=1e-12)
    if not trans_b:
        np.testing.assert_allclose(colsum.copy_to_host(), op_b.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_choose_tiles_fills_the_gpu_and_splits_long_thin_products(monkeypatch):
    monkeypatch.setattr(gemm, "FORCED_TILES", None)
    assert gemm.choose_tiles(4096, 4096, 4096) == (gemm.LARGE_TILES, 1)
    tiles, splits = gemm.choose_tiles(64, 256, 784)          # batch 64, first layer: 16 thin blocks,
    assert tiles == gemm.THIN_TILES and splits == 1          # but k = 784 is too short to be worth a split
    assert 784 < gemm.SPLIT_K_MIN_INNER <= 8192
    tiles, splits = gemm.choose_tiles(256, 10, 8192)         # last layer's weight gradient at batch 8192:
    assert tiles == gemm.THIN_TILES and splits == gemm.SPLIT_K_MAX     # 8 blocks -> 8 slices of 1024
    assert gemm.choose_tiles(256, 256, 1024) == (gemm.THIN_TILES, 5)   # 64 blocks: ceil(264 / 64) slices
    assert gemm.choose_tiles(256, 256, 256) == (gemm.THIN_TILES, 1)    # batch 256: too short to split
    tiles, splits = gemm.choose_tiles(784, 256, 8192)        # its weight gradient at batch 8192
    assert tiles == gemm.SMALL_TILES and 52 * splits >= gemm.SMALL_TILES_MIN_BLOCKS


def test_matmul_float32_within_float32_rounding():
    rng_ = np.random.default_rng(3)
    x, w = rng_.standard_normal((9, 33)).astype(np.float32), rng_.standard_normal((33, 7)).astype(np.float32)
    out = cuda.device_array((9, 7), np.float32)
    gemm.matmul(cuda.to_device(x), cuda.to_device(w), out, activation=SIGMOID, tiles=TINY_TILES)
    exact = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ w.astype(np.float64))))
    np.testing.assert_allclose(out.copy_to_host(), exact, rtol=2e-6, atol=1e-6)


def test_matmul_rejects_mismatched_shapes():
    a, b, out = cuda.device_array((3, 4)), cuda.device_array((5, 2)), cuda.device_array((3, 2))
    with pytest.raises(ValueError, match=r"op\(a\) is \(3, 4\), op\(b\) is \(5, 2\)"):
        gemm.matmul(a, b, out)


# ---------------------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("mask_shape", [(4, 6), (4, 1), (1, 6)], ids=["full", "rows", "columns"])
def test_dropout_mask_is_the_hash_rng_mask_bit_for_bit(mask_shape):
    seed, step, rate = 1234, 7, 0.4
    x = np.arange(1.0, 25.0).reshape(4, 6)
    y = cuda.device_array((4, 6))
    elementwise.dropout_forward(cuda.to_device(x), y, seed, step, rate, mask_shape)
    keep = rng.uniform_array(seed, step, mask_shape) >= rate          # the NumPy twin of the hash
    scale = np.broadcast_to(np.where(keep, 1.0 / (1.0 - rate), 0.0), x.shape)
    np.testing.assert_array_equal(y.copy_to_host(), x * scale)

    dx = cuda.device_array((4, 6))
    elementwise.dropout_backward(cuda.to_device(np.ones((4, 6))), dx, seed, step, rate, mask_shape)
    np.testing.assert_array_equal(dx.copy_to_host(), scale)


def test_dropout_rate_one_drops_everything():
    y = cuda.device_array((2, 3))
    elementwise.dropout_forward(cuda.to_device(np.ones((2, 3))), y, 5, 0, 1.0, (2, 3))
    np.testing.assert_array_equal(y.copy_to_host(), np.zeros((2, 3)))


# ---------------------------------------------------------------------------- engine: CPU parity
def _model(widths, activations, dropout=None, seed=0):
    """Built Dense (and Dropout) layers and initial weights for a tiny MLP."""
    built, weights = [], []
    rng_ = np.random.default_rng(seed)
    for i, (n_in, n_out, act) in enumerate(zip(widths[:-1], widths[1:], activations)):
        dense = layers.Dense(n_out, activation=act)
        dense.build(n_in)
        built.append(dense)
        weights += [rng_.standard_normal((n_in, n_out)) * 0.7, rng_.standard_normal(n_out) * 0.1]
        if dropout is not None and i == 0:
            drop = layers.Dropout(dropout[0], noise_shape=dropout[1], seed=11)
            drop.build(n_out)
            built.append(drop)
    return built, weights


CASES = {
    "tanh-softmax-cce": ([4, 5, 3], ["tanh", "softmax"], None, "categorical_crossentropy"),
    "relu-dropout-sigmoid-bce": ([4, 6, 1], ["relu", "sigmoid"], (0.5, None), "binary_crossentropy"),
    "sigmoid-dropoutrows-linear-mse": ([4, 5, 2], ["sigmoid", "linear"], (0.3, (None, 1)),
                                       "mean_squared_error"),
    "relu-logits-sparse": ([4, 5, 3], ["relu", "linear"], None,
                           losses.SparseCategoricalCrossentropy(from_logits=True)),
    "tanh-logits-bce-smoothed": ([4, 5, 2], ["tanh", "linear"], None,
                                 losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)),
    "relu-linear-hinge": ([4, 5, 1], ["relu", "linear"], None, "hinge"),
    "tanh-linear-mae": ([4, 5, 2], ["tanh", "linear"], None, "mae"),
}


def _targets(loss, n, k, seed):
    rng_ = np.random.default_rng(seed)
    kind = getattr(losses.get(loss), "kind", loss)
    if kind == "categorical_crossentropy":
        return np.eye(k)[rng_.integers(0, k, n)]
    if kind == "sparse_categorical_crossentropy":
        return rng_.integers(0, k, n)
    if kind in ("binary_crossentropy", "hinge"):  # hinge: 0/1 labels, mapped to -1/1 by the loss
        return rng_.integers(0, 2, (n, k)).astype(float)
    return rng_.standard_normal((n, k))


@pytest.mark.parametrize("case", list(CASES))
def test_compute_gradients_equal_the_cpu_engine_in_float64(case, tiny_tiles):
    widths, acts, dropout, loss = CASES[case]
    built, weights = _model(widths, acts, dropout)
    n = 7
    x = np.random.default_rng(5).standard_normal((n, widths[0]))
    y = _targets(loss, n, widths[-1], 6)
    sample_weight = np.linspace(0.5, 1.5, n)
    cpu = CpuEngine.for_layers(built, losses.get(loss), Adam(), "float64")
    gpu = CudaEngine.for_layers(built, losses.get(loss), Adam(), "float64")
    cpu.set_weights(weights)
    gpu.set_weights(weights)
    loss_cpu, grads_cpu = cpu.compute_gradients(x, y, sample_weight, step=3)
    loss_gpu, grads_gpu = gpu.compute_gradients(x, y, sample_weight, step=3)
    assert loss_gpu == pytest.approx(loss_cpu, rel=1e-12, abs=1e-12)
    for g_cpu, g_gpu in zip(grads_cpu, grads_gpu):
        assert g_gpu.shape == g_cpu.shape
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gpu.predict(x), cpu.predict(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("optimizer", [
    lambda: Adam(0.05, weight_decay=0.1),
    lambda: SGD(0.1, momentum=0.9, nesterov=True, clipnorm=0.5),
    lambda: RMSprop(0.01, momentum=0.5, centered=True, global_clipnorm=1.0),
], ids=["adam-wd", "sgd-nesterov-clipnorm", "rmsprop-centered-globalclip"])
def test_training_steps_give_the_cpu_engines_weights(optimizer, tiny_tiles):
    built, weights = _model([3, 4, 2], ["relu", "softmax"], (0.25, None))
    x = np.random.default_rng(8).standard_normal((9, 3))
    y = _targets("categorical_crossentropy", 9, 2, 9)
    batches = [np.array([4, 0, 8, 2]), np.array([1, 7, 3, 5]), np.array([6])]   # a ragged last batch
    cpu = CpuEngine.for_layers(built, losses.get("categorical_crossentropy"), optimizer(), "float64")
    gpu = CudaEngine.for_layers(built, losses.get("categorical_crossentropy"), optimizer(), "float64")
    cpu.set_weights(weights)
    gpu.set_weights(weights)
    losses_cpu = cpu.train_epoch(x, y, None, batches)
    losses_gpu = gpu.train_epoch(x, y, None, batches)
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-12)
    for w_cpu, w_gpu in zip(cpu.get_weights(), gpu.get_weights()):
        np.testing.assert_allclose(w_gpu, w_cpu, rtol=0, atol=1e-10)
    assert gpu.optimizer.iterations == cpu.optimizer.iterations == 3
    for slots_cpu, slots_gpu in zip(cpu.optimizer_state(), gpu.optimizer_state()):
        for name in slots_cpu:
            np.testing.assert_allclose(slots_gpu[name], slots_cpu[name], rtol=0, atol=1e-10)


def test_train_epoch_with_feedback_calls_back_each_batch_and_stops(tiny_tiles):
    built, weights = _model([3, 2], ["sigmoid"])
    x = np.random.default_rng(1).standard_normal((6, 3))
    y = _targets("binary_crossentropy", 6, 2, 2)
    cpu = CpuEngine.for_layers(built, losses.get("binary_crossentropy"), SGD(0.5), "float64")
    gpu = CudaEngine.for_layers(built, losses.get("binary_crossentropy"), SGD(0.5), "float64")
    cpu.set_weights(weights)
    gpu.set_weights(weights)
    batches = [np.arange(0, 2), np.arange(2, 4), np.arange(4, 6)]
    runs = []
    for engine in (cpu, gpu):
        seen = []
        engine.train_epoch(x, y, None, batches, lambda i, loss, pred: seen.append((i, loss, pred)),
                           outputs=True, should_stop=lambda: len(seen) >= 2)
        runs.append(seen)
    assert [s[0] for s in runs[0]] == [s[0] for s in runs[1]] == [0, 1]   # stopped after the second batch
    for c, g in zip(*runs):
        assert g[1] == pytest.approx(c[1], rel=1e-12)
        np.testing.assert_allclose(g[2], c[2], atol=1e-12)
    assert gpu.optimizer.iterations == 2


def test_a_non_finite_loss_stops_the_epoch_and_keeps_the_weights_like_the_cpu_engine(tiny_tiles):
    built, weights = _model([2, 2], ["linear"])
    x = np.array([[0.1, 0.2], [1e200, 1e200], [0.3, -0.1]])
    y = np.zeros((3, 2))
    cpu = CpuEngine.for_layers(built, losses.get("mean_squared_error"), SGD(0.1), "float64")
    gpu = CudaEngine.for_layers(built, losses.get("mean_squared_error"), SGD(0.1), "float64")
    cpu.set_weights(weights)
    gpu.set_weights(weights)
    batches = [np.array([0]), np.array([1]), np.array([2])]
    losses_cpu = cpu.train_epoch(x, y, None, batches)
    losses_gpu = gpu.train_epoch(x, y, None, batches)
    assert len(losses_gpu) == len(losses_cpu) == 2 and not np.isfinite(losses_gpu[1])
    assert losses_gpu[0] == pytest.approx(losses_cpu[0], rel=1e-12)
    for w_cpu, w_gpu in zip(cpu.get_weights(), gpu.get_weights()):
        np.testing.assert_allclose(w_gpu, w_cpu, atol=1e-12)
    assert gpu.optimizer.iterations == cpu.optimizer.iterations == 1


# ----------------------------------------------------- engine: Keras' recorded optimizer trajectories
GOLDEN_CASES = ["SGD,momentum=0.9,nesterov=True,lr=0.1", "Adam,amsgrad=True,beta_2=0.5,lr=0.1",
                "Adadelta,lr=0.1", "Adagrad,lr=0.1", "RMSprop,centered=True,momentum=0.9,lr=0.1"]


def _optimizer_from_case(name):
    kind, *options = name.split(",")
    kwargs = {}
    for option in options:
        key, value = option.split("=")
        if key == "lr":
            if value != "default":
                kwargs["learning_rate"] = float(value)
        else:
            kwargs[key] = value == "True" if value in ("True", "False") else float(value)
    classes = {"SGD": SGD, "Adam": Adam, "Adadelta": Adadelta, "Adagrad": Adagrad, "RMSprop": RMSprop}
    return classes[kind](**kwargs)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_five_optimizer_steps_match_keras(case, keras_golden, tiny_tiles):
    """f(w) = sum (w - c)^2 as a model: a bias-free linear Dense(1) on x = sqrt(3) I with targets
    sqrt(3) c and mean squared error (mean over the 3 samples), whose gradient is exactly 2 (w - c)."""
    problem = keras_golden["optimizers"]["problem"]
    w0 = np.array(problem.get("w0", [1.0, -2.0, 0.5]))
    c = np.array(problem.get("c", [0.3, 0.1, -0.4]))
    expected = np.array(keras_golden["optimizers"]["cases"][case]["float64"]["weights_after_each_step"])
    dense = layers.Dense(1, use_bias=False)
    dense.build(3)
    engine = CudaEngine.for_layers([dense], losses.get("mean_squared_error"), _optimizer_from_case(case), "float64")
    engine.set_weights([w0.reshape(3, 1)])
    x, y = np.sqrt(3.0) * np.eye(3), np.sqrt(3.0) * c
    engine.train_epoch(x, y, None, [np.arange(3)] * 5)
    np.testing.assert_allclose(engine.get_weights()[0].ravel(), expected[-1], rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------- engine selection
def test_the_simulator_is_a_test_mode_never_chosen_by_auto():
    if not SIMULATED:
        pytest.skip("simulator only")
    from microgradx.engines import get_engine
    usable, reason = cuda_engine.cuda_status()
    assert not usable and "simulator" in reason
    assert get_engine("auto").name == "cpu"
    assert get_engine("cuda") is CudaEngine


def test_engine_cuda_without_a_gpu_says_why_and_how_to_simulate(monkeypatch):
    monkeypatch.setattr(cuda_device, "simulator_active", lambda: False)
    monkeypatch.setattr(cuda_device, "cuda_status", lambda: (False, "no usable CUDA driver or device: "
                                                                    "CUDA driver library cannot be found"))
    dense = layers.Dense(1)
    dense.build(2)
    with pytest.raises(RuntimeError, match=r"CUDA driver library cannot be found.*NUMBA_ENABLE_CUDASIM=1"):
        CudaEngine.for_layers([dense], losses.get("mean_squared_error"), SGD(), "float32")


def test_cuda_status_reports_numbas_driver_error(monkeypatch):
    """Outside the simulator, the reason is numba's own (``cuda.cuda_error()``)."""
    monkeypatch.setattr(cuda_device, "simulator_active", lambda: False)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(cuda, "cuda_error", lambda: "Error at driver init: no NVIDIA driver", raising=False)
    usable, reason = cuda_engine.cuda_status()
    assert not usable and "no NVIDIA driver" in reason


def test_unsupported_optimizer_options_are_refused_clearly():
    dense = layers.Dense(1)
    dense.build(2)
    with pytest.raises(NotImplementedError, match="use_ema.*engine='cpu'"):
        CudaEngine.for_layers([dense], losses.get("mean_squared_error"), SGD(use_ema=True), "float32")


def test_importing_microgradx_and_the_cpu_engine_does_not_import_numba_cuda():
    code = ("import sys, microgradx, microgradx.engines, microgradx.engines.cpu; "
            "print('numba.cuda' in sys.modules)")
    with warnings.catch_warnings():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------- launches
def test_launch_runs_the_kernel_and_counts_it():
    from microgradx.kernels.cuda import launch
    src = cuda.to_device(np.arange(12.0).reshape(4, 3))
    dst = cuda.device_array((2, 3))
    before = launch.launch_count()
    elementwise.gather_rows(src, cuda.to_device(np.array([3, 1])), dst)
    assert launch.launch_count() == before + 1
    np.testing.assert_array_equal(dst.copy_to_host(), [[9.0, 10.0, 11.0], [3.0, 4.0, 5.0]])


def test_rows_is_the_slice_where_launches_are_ordinary(monkeypatch):
    from microgradx.kernels.cuda import launch
    monkeypatch.setenv(launch.FAST_LAUNCH_ENV, "0")
    window = launch.rows(cuda.to_device(np.arange(12.0).reshape(4, 3)), 1, 3)
    np.testing.assert_array_equal(window.copy_to_host(), [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])


class _FakeDeviceArray:
    """Shape, strides and a data address: what RowWindow reads of a C-contiguous (6, 5) float32 array."""

    shape, strides, ndim, size = (6, 5), (20, 4), 2, 30
    dtype = np.dtype(np.float32)
    flags = {"C_CONTIGUOUS": True}
    __cuda_array_interface__ = {"data": (4096, False)}


def test_a_row_window_is_marshalled_like_the_slice_numba_would_pass():
    """numba's array argument: (meminfo, parent, nitems, itemsize, data, *shape, *strides) of base[2:5]."""
    from microgradx.kernels.cuda import launch
    base = _FakeDeviceArray()
    window = launch.RowWindow(base, 2, 5)
    assert window.shape == (3, 5) and window.size == 15 and window.dtype == np.float32
    assert window.marshalled == (0, 0, 15, 4, 4096 + 2 * 20, 3, 5, 20, 4)
