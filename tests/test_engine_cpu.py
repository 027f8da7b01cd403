"""The Numba CPU engine against the scalar ``Value`` engine (an independent implementation: one graph
node per number, the chain rule node by node), driven by one table of activation x loss x reduction x
dropout cases, plus optimizer trajectories, thread-count independence and edge cases.
"""

from __future__ import annotations

import zlib

import numba
import numpy as np
import pytest

from microgradx import losses
from microgradx.engines.cpu import CpuEngine
from microgradx.engines.scalar import ScalarEngine
from microgradx.layers import Dense, Dropout
from microgradx.optimizers.adadelta import Adadelta
from microgradx.optimizers.adagrad import Adagrad
from microgradx.optimizers.adam import Adam
from microgradx.optimizers.rmsprop import RMSprop
from microgradx.optimizers.sgd import SGD

N_IN, BATCH = 3, 5
REDUCTIONS = ["sum_over_batch_size", "sum", "mean_with_sample_weight", "mean"]
ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]
# (name, loss factory, last activation, outputs, label maker)
LOSSES = [
    ("bce_sigmoid", lambda r: losses.BinaryCrossentropy(reduction=r), "sigmoid", 2, "binary"),
    ("bce_smooth", lambda r: losses.BinaryCrossentropy(label_smoothing=0.2, reduction=r), "sigmoid", 1, "binary"),
    ("bce_logits", lambda r: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, reduction=r),
     "linear", 2, "binary"),
    ("mse", lambda r: losses.MeanSquaredError(reduction=r), "tanh", 2, "real"),
    ("mae", lambda r: losses.MeanAbsoluteError(reduction=r), "linear", 2, "real"),
    ("cce_softmax", lambda r: losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=r), "softmax", 3,
     "onehot"),
    ("cce_sigmoid_renormalised", lambda r: losses.CategoricalCrossentropy(reduction=r), "sigmoid", 3, "onehot"),
    ("cce_logits_through_softmax", lambda r: losses.CategoricalCrossentropy(from_logits=True, reduction=r),
     "softmax", 3, "onehot"),
    ("scce", lambda r: losses.SparseCategoricalCrossentropy(reduction=r), "softmax", 3, "sparse"),
    ("scce_logits_ignore", lambda r: losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1,
                                                                          reduction=r), "linear", 3, "sparse"),
    ("hinge", lambda r: losses.Hinge(reduction=r), "linear", 1, "binary"),
]
DROPOUTS = [None, (0.5, None), (0.4, (None, 1))]

# One function table: every loss x every reduction x every dropout setting, the hidden activations
# cycling through all four.
TABLE = [(loss_case, reduction, dropout, ACTIVATIONS[i % 4], ACTIVATIONS[(i + 1) % 4])
         for i, (loss_case, reduction, dropout) in enumerate(
             (lc, r, d) for lc in LOSSES for r in REDUCTIONS for d in DROPOUTS)]


def _labels(kind, rng, n, k):
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(np.float64)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    if kind == "sparse":
        return rng.integers(0, k, n)
    return rng.standard_normal((n, k))


def _layers(act1, act2, last, k, dropout, use_bias=True):
    layers, width = [], N_IN
    for i, (units, act) in enumerate([(4, act1), (3, act2), (k, last)]):
        layer = Dense(units, activation=act, use_bias=use_bias or i == 0)
        layer.build(width)
        layers.append(layer)
        width = units
        if dropout is not None and i == 0:
            rate, noise_shape = dropout
            drop = Dropout(rate, noise_shape=noise_shape, seed=11)
            drop.build(width)
            layers.append(drop)
    return layers


def _weights(layers, rng):
    """Weights from the test's own generator (a layer's initializer draws from the global one, which would
    make a case depend on the tests that ran before it in the process)."""
    return [rng.uniform(-0.5, 0.5, w.shape) + 0.3 * rng.standard_normal(w.shape)
            for layer in layers for w in layer.initial_weights()]


def _engines(layers, loss, weights, dtype="float64", optimizers=(None, None)):
    cpu = CpuEngine.for_layers(layers, loss, optimizers[0], dtype)
    cpu.set_weights(weights)
    scalar = ScalarEngine.for_layers(layers, loss, optimizers[1])
    scalar.set_weights(weights)
    return cpu, scalar


def _assert_close(actual, expected, rtol):
    for a, e in zip(actual, expected):
        scale = max(np.max(np.abs(e)), 1e-300)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("case", TABLE, ids=[f"{c[0][0]}-{c[1]}-{'d' + str(c[2]) if c[2] else 'nodrop'}-{c[3]}-{c[4]}"
                                             for c in TABLE])
def test_gradients_match_the_scalar_engine(case):
    (name, make_loss, last, k, label_kind), reduction, dropout, act1, act2 = case
    # crc32, not hash(): str hashes are salted per process, so a failure would not reproduce
    rng = np.random.default_rng(zlib.crc32(f"{name}|{reduction}|{dropout}".encode()))
    layers = _layers(act1, act2, last, k, dropout, use_bias=reduction != "mean")
    loss = make_loss(reduction)
    cpu, scalar = _engines(layers, loss, _weights(layers, rng))
    x = rng.standard_normal((BATCH, N_IN))
    y = _labels(label_kind, rng, BATCH, k)
    sample_weight = rng.uniform(0.0, 2.0, BATCH) if reduction != "sum" else None
    loss_cpu, grads_cpu = cpu.compute_gradients(x, y, sample_weight, training=True, step=4)
    loss_ref, grads_ref = scalar.compute_gradients(x, y, sample_weight, training=True, step=4)
    assert loss_cpu == pytest.approx(loss_ref, rel=1e-12, abs=1e-15)
    assert [g.shape for g in grads_cpu] == [g.shape for g in grads_ref]
    _assert_close(grads_cpu, grads_ref, 1e-10)
    np.testing.assert_allclose(cpu.predict(x), scalar.predict(x), rtol=1e-12, atol=1e-14)


def test_dropout_rate_one_and_training_false():
    rng = np.random.default_rng(1)
    for rate, training in ((1.0, True), (0.5, False)):
        layers = _layers("tanh", "relu", "sigmoid", 1, (rate, None))
        cpu, scalar = _engines(layers, losses.BinaryCrossentropy(), _weights(layers, rng))
        x, y = rng.standard_normal((4, N_IN)), rng.integers(0, 2, (4, 1)).astype(float)
        lc, gc = cpu.compute_gradients(x, y, training=training, step=2)
        lr, gr = scalar.compute_gradients(x, y, training=training, step=2)
        assert lc == pytest.approx(lr, rel=1e-12)
        _assert_close(gc, gr, 1e-10)
        if rate == 1.0:
            assert np.all(gc[0] == 0.0)  # nothing reaches the first layer


OPTIMIZERS = [
    ("adam", lambda: Adam(0.01)),
    ("adam_amsgrad_wd", lambda: Adam(0.01, amsgrad=True, weight_decay=0.01)),
    ("sgd_nesterov_clipnorm", lambda: SGD(0.05, momentum=0.9, nesterov=True, clipnorm=0.5)),
    ("rmsprop_centered_clipvalue", lambda: RMSprop(0.005, momentum=0.5, centered=True, clipvalue=0.1)),
    ("adagrad_global_clipnorm", lambda: Adagrad(0.05, global_clipnorm=1.0)),
    ("adadelta", lambda: Adadelta(1.0)),
]


@pytest.mark.parametrize("name,make", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_100_optimizer_steps_match_the_reference_rules(name, make):
    """100 steps of the CPU engine (fused apply_flat) against the scalar engine + the readable apply()."""
    rng = np.random.default_rng(2)
    layers = _layers("relu", "tanh", "softmax", 3, (0.3, None))
    cpu, scalar = _engines(layers, losses.SparseCategoricalCrossentropy(), _weights(layers, rng),
                           optimizers=(make(), make()))
    x, y = rng.standard_normal((12, N_IN)), rng.integers(0, 3, 12)
    batches = [np.arange(0, 5), np.arange(5, 10), np.arange(10, 12)]  # last batch smaller
    for epoch in range(34):
        losses_cpu = cpu.train_epoch(x, y, None, batches)
        losses_ref = scalar.train_epoch(x, y, None, batches)
        np.testing.assert_allclose(losses_cpu, losses_ref, rtol=1e-9)
    assert cpu.optimizer.iterations == scalar.optimizer.iterations == 102
    _assert_close(cpu.get_weights(), scalar.get_weights(), 1e-9)


def test_float32_is_close_to_float64():
    rng = np.random.default_rng(3)
    layers = _layers("relu", "tanh", "softmax", 3, (0.5, None))
    weights = _weights(layers, rng)
    cpu32 = CpuEngine.for_layers(layers, losses.CategoricalCrossentropy(), None, "float32")
    cpu32.set_weights(weights)
    _, scalar = _engines(layers, losses.CategoricalCrossentropy(), weights)
    x, y = rng.standard_normal((8, N_IN)), np.eye(3)[rng.integers(0, 3, 8)]
    l32, g32 = cpu32.compute_gradients(x, y, step=1)
    l64, g64 = scalar.compute_gradients(x, y, step=1)
    assert all(g.dtype == np.float32 for g in g32)
    assert l32 == pytest.approx(l64, rel=1e-5)
    _assert_close(g32, g64, 1e-4)


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(4)
    layers = _layers("relu", "relu", "softmax", 3, (0.5, None))
    weights = _weights(layers, rng)
    x, y = rng.standard_normal((64, N_IN)), rng.integers(0, 3, 64)
    batches = [np.arange(0, 32), np.arange(32, 64)]
    results = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}) * (2 if numba.config.NUMBA_NUM_THREADS == 1 else 1):
        numba.set_num_threads(threads)
        engine = CpuEngine.for_layers(layers, losses.SparseCategoricalCrossentropy(), Adam(0.01), "float32")
        engine.set_weights(weights)
        for _ in range(3):
            engine.train_epoch(x, y, None, batches)
        results.append(engine.get_weights())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(results[0], results[-1]):
        np.testing.assert_array_equal(a, b)


def test_edge_cases_batch_of_one_noncontiguous_integer_inputs_and_labels():
    rng = np.random.default_rng(5)
    layers = _layers("tanh", "sigmoid", "softmax", 3, None)
    cpu, scalar = _engines(layers, losses.SparseCategoricalCrossentropy(), _weights(layers, rng))
    wide = rng.integers(-3, 4, (6, 2 * N_IN))
    x = wide[:, ::2]                       # integer, non-contiguous
    assert not x.flags.c_contiguous
    labels = np.array([[0], [2], [1], [1], [0], [2]], dtype=np.int32)   # integer (n, 1) labels
    lc, gc = cpu.compute_gradients(x, labels)
    lr, gr = scalar.compute_gradients(x.astype(float), labels.astype(float))
    assert lc == pytest.approx(lr, rel=1e-12)
    _assert_close(gc, gr, 1e-10)
    lc1, gc1 = cpu.compute_gradients(x[:1], labels[:1])          # a batch of one
    lr1, gr1 = scalar.compute_gradients(x[:1].astype(float), labels[:1].astype(float))
    assert lc1 == pytest.approx(lr1, rel=1e-12)
    _assert_close(gc1, gr1, 1e-10)
    np.testing.assert_allclose(cpu.predict(np.asfortranarray(x)), scalar.predict(x.astype(float)), rtol=1e-12)


def test_float64_data_into_a_float32_model():
    rng = np.random.default_rng(6)
    layers = _layers("relu", "relu", "linear", 2, None)
    weights = _weights(layers, rng)
    cpu = CpuEngine.for_layers(layers, losses.MeanSquaredError(), None, "float32")
    cpu.set_weights(weights)
    x = rng.standard_normal((5, N_IN))
    out = cpu.predict(x)
    assert out.dtype == np.float32
    ref = x.astype(np.float32).astype(np.float64)
    for i in range(0, 6, 2):
        ref = ref @ weights[i].astype(np.float32) + weights[i + 1].astype(np.float32)
        ref = np.maximum(ref, 0) if i < 4 else ref
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_wrong_shapes_raise_before_any_kernel_runs():
    layers = _layers("relu", "relu", "softmax", 3, None)
    weights = _weights(layers, np.random.default_rng(7))
    cpu = CpuEngine.for_layers(layers, losses.CategoricalCrossentropy(), Adam(), "float32")
    cpu.set_weights(weights)
    x = np.zeros((4, N_IN))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 3\).*\(4, 2\)"):
        cpu.compute_gradients(np.zeros((4, 2)), np.eye(3)[[0, 1, 2, 0]])
    with pytest.raises(ValueError, match=r"y must have shape \(4, 3\).*\(4, 2\)"):
        cpu.train_step(x, np.zeros((4, 2)), step=0)
    with pytest.raises(ValueError, match="y must be in"):
        cpu.train_step(x, np.full((4, 3), 2.0), step=0)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        cpu.train_step(x, np.eye(3)[[0, 1, 2, 0]], np.ones(3), step=0)
    assert cpu.optimizer.iterations == 0
    for a, b in zip(cpu.get_weights(), weights):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    sparse = CpuEngine.for_layers(layers, losses.SparseCategoricalCrossentropy(), None, "float64")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        sparse.compute_gradients(x, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="integer class indices"):
        sparse.compute_gradients(x, np.array([0, 1, 0.5, 0]))


def test_workspaces_are_reused_per_batch_size():
    layers = _layers("relu", "relu", "softmax", 3, None)
    cpu = CpuEngine.for_layers(layers, losses.CategoricalCrossentropy(), None, "float32")
    cpu.set_weights(_weights(layers, np.random.default_rng(8)))
    x, y = np.ones((4, N_IN)), np.eye(3)[[0, 1, 2, 0]]
    cpu.compute_gradients(x, y)
    first = cpu._workspace(4)
    cpu.compute_gradients(x[:3], y[:3])
    cpu.compute_gradients(x, y)
    assert cpu._workspace(4) is first and sorted(cpu._workspace.sizes()) == [3, 4]


def test_workspace_cache_keeps_the_most_recently_used_sizes():
    from microgradx.engines.base import WorkspaceCache

    built = []
    cache = WorkspaceCache(lambda n: built.append(n) or [n], size=2)
    a = cache(1)
    cache(2)
    assert cache(1) is a                # reused, and now the most recent
    cache(3)                            # evicts 2, the least recently used
    assert cache.sizes() == [1, 3] and built == [1, 2, 3]
    cache(2)
    assert built == [1, 2, 3, 2] and cache.sizes() == [3, 2]


@pytest.mark.slow
def test_breast_cancer_reaches_95_percent_test_accuracy():
    """benchmarks/train_real.py's breast-cancer run: held-out accuracy against the true labels."""
    pytest.importorskip("sklearn")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "train_real.py"
    spec = importlib.util.spec_from_file_location("train_real", path)
    train_real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_real)
    result = train_real.breast_cancer(seed=0)
    assert result["value"] >= 0.95, result


def test_the_same_model_trains_identically_through_sequential_on_both_engines():
    """Only the word ``engine`` changes: compute_gradients, fit (shuffling, validation, metrics,
    a smaller last batch) and predict agree with the scalar engine in float64."""
    import microgradx as mgx

    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((22, N_IN)), rng.integers(0, 2, 22)
    results = {}
    for engine in ("scalar", "cpu"):
        mgx.utils.set_random_seed(5)
        model = mgx.Sequential([mgx.layers.Input(shape=(N_IN,)), mgx.layers.Dense(4, activation="tanh"),
                                mgx.layers.Dropout(0.25, seed=3), mgx.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=mgx.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"],
                      engine=engine, dtype="float64")
        loss, grads = model.compute_gradients(x[:6], y[:6])
        history = model.fit(x, y, batch_size=8, epochs=3, validation_split=0.2, verbose=0)
        results[engine] = (loss, grads, history.history, model.get_weights(), model.predict(x, verbose=0))
    (l_s, g_s, h_s, w_s, p_s), (l_c, g_c, h_c, w_c, p_c) = results["scalar"], results["cpu"]
    assert l_c == pytest.approx(l_s, rel=1e-12)
    _assert_close(g_c, g_s, 1e-10)
    assert sorted(h_c) == sorted(h_s)
    for key in h_s:
        np.testing.assert_allclose(h_c[key], h_s[key], rtol=1e-9, err_msg=key)
    _assert_close(w_c, w_s, 1e-9)
    np.testing.assert_allclose(p_c, p_s, rtol=1e-9)


def test_engine_epsilon_is_the_loss_epsilon():
    from microgradx.engines import plan

    assert plan.EPSILON == losses.EPSILON


def _blas_is_thread_invariant(threadpoolctl, dtype) -> bool:
    """Whether this machine's BLAS gives bit-identical products for 1 and 2 threads (a vendor property:
    OpenBLAS's AVX-512 kernels on Intel do, its Haswell kernels on AMD EPYC round differently)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 128)).astype(dtype)
    b = rng.standard_normal((128, 256)).astype(dtype)
    products = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(threads, user_api="blas"):
            products.append(a @ b)
    return bool(np.array_equal(*products))


def _train_with_blas_threads(threadpoolctl, threads):
    rng = np.random.default_rng(6)
    hidden, out = Dense(256, activation="relu"), Dense(3, activation="softmax")
    hidden.build(128)
    out.build(256)
    weights = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in ((128, 256), (256,), (256, 3), (3,))]
    x, y = rng.standard_normal((512, 128)), rng.integers(0, 3, 512)
    batches = [np.arange(0, 256), np.arange(256, 512)]
    with threadpoolctl.threadpool_limits(threads, user_api="blas"):
        engine = CpuEngine.for_layers([hidden, out], losses.SparseCategoricalCrossentropy(), Adam(0.01), "float32")
        engine.set_weights(weights)
        for _ in range(2):
            engine.train_epoch(x, y, None, batches)
        return engine.get_weights(), weights


def test_results_do_not_depend_on_the_blas_thread_count():
    """The matrix products are the only multi-threaded part of a step (BLAS). Everything microgradx
    computes itself is single-threaded or in a fixed order, so (a) two runs with the same BLAS thread
    count are bit-identical, and (b) 1 and 2 BLAS threads give bit-identical weights wherever the BLAS
    itself is thread-invariant; where it is not (probed here), the weights differ only by the rounding
    that BLAS introduces: far below one Adam step (0.01), which any race or dropped update would show."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    one, initial = _train_with_blas_threads(threadpoolctl, 1)
    again, _ = _train_with_blas_threads(threadpoolctl, 1)
    two, _ = _train_with_blas_threads(threadpoolctl, 2)
    for a, b in zip(one, again):
        np.testing.assert_array_equal(a, b)
    for a, b, w0 in zip(one, two, initial):
        assert np.abs(a - w0).max() > 1e-3          # the weights did move: 4 Adam steps of 0.01
        if _blas_is_thread_invariant(threadpoolctl, np.float32):
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize("bad", ["label", "sample_weight"])
def test_train_epoch_checks_every_batch_before_the_first_step(bad):
    """A bad label or weight in the *last* batch raises before any step: the weights are untouched."""
    rng = np.random.default_rng(7)
    layers = _layers("relu", "relu", "softmax", 3, None)
    weights = _weights(layers, rng)
    engine = CpuEngine.for_layers(layers, losses.SparseCategoricalCrossentropy(), Adam(0.01), "float64")
    engine.set_weights(weights)
    x, y, sw = rng.standard_normal((8, N_IN)), rng.integers(0, 3, 8), np.ones(8)
    if bad == "label":
        y[-1] = 3
    else:
        sw[-1] = np.nan
    with pytest.raises(ValueError, match="labels must be in|non-finite"):
        engine.train_epoch(x, y, sw, [np.arange(0, 4), np.arange(4, 8)])
    for before, after in zip(weights, engine.get_weights()):
        np.testing.assert_array_equal(after, before)
