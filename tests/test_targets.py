"""Labels are checked once: ``fit``/``evaluate``/``compute_gradients`` check every label array once, with the
loss, and hand the engine :class:`~microgradx.engines.base.Targets` that it uses as they are (no check per
epoch or per batch); an engine called with raw arrays still checks them, with its own messages.

Spies count the checks (the loss's label preparation, the array plan's own checks, the plan's layout);
oracles for the numbers are closed forms of the losses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx import layers, losses, utils
from microgradx.engines.base import Plan
from microgradx.engines.cpu import CpuEngine
from microgradx.engines.plan import ArrayPlan
from microgradx.models import Sequential
from microgradx.optimizers import SGD


def _spy(monkeypatch, owner, name):
    """Record the first argument's length of every call of ``owner.name`` (a list the test reads)."""
    calls: list[int] = []
    original = getattr(owner, name)

    def spy(self, *args, **kwargs):
        calls.append(len(np.asarray(args[0])))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def _model(engine, loss="binary_crossentropy", units=1, activation="sigmoid"):
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(3,)), layers.Dense(4, activation="tanh"),
                        layers.Dense(units, activation=activation)])
    model.compile(optimizer=SGD(0.1), loss=loss, engine=engine, dtype="float64")
    return model


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)), rng.integers(0, 2, n).astype(np.float64)


@pytest.fixture
def spies(monkeypatch):
    """Calls of the loss's label checks, the array plan's own checks and domain check, and the layouts."""
    return {"loss": _spy(monkeypatch, losses.Loss, "_prepare_labels"),
            "array checks": _spy(monkeypatch, ArrayPlan, "targets"),
            "array domain": _spy(monkeypatch, ArrayPlan, "check_label_domain"),
            "array layout": _spy(monkeypatch, ArrayPlan, "layout"),
            "scalar layout": _spy(monkeypatch, Plan, "layout")}


@pytest.mark.parametrize("engine", ["scalar", "cpu"])
def test_fit_checks_each_label_array_once_and_lays_it_out_once(engine, spies):
    model = _model(engine)
    x, y = _data(12)
    xv, yv = _data(6, seed=1)
    model.fit(x, y, batch_size=4, epochs=3, validation_data=(xv, yv), verbose=0)
    assert spies["loss"] == [12, 6]             # the training labels, then the validation labels: once each
    assert spies["array checks"] == spies["array domain"] == []   # the engine trusts the model's check
    layouts = spies["array layout"] if engine == "cpu" else spies["scalar layout"]
    assert layouts == [12]                      # laid out once per fit, not per epoch


@pytest.mark.parametrize("engine", ["scalar", "cpu"])
def test_evaluate_and_compute_gradients_check_the_labels_once(engine, spies):
    model = _model(engine)
    x, y = _data(10)
    model.evaluate(x, y, batch_size=3, verbose=0)        # four batches, one check
    assert spies["loss"] == [10]
    model.compute_gradients(x, y)
    assert spies["loss"] == [10, 10]
    assert spies["array checks"] == spies["array domain"] == []


def test_direct_engine_calls_check_raw_labels_once_per_call_with_the_engine_messages(spies):
    model = _model("cpu", loss="sparse_categorical_crossentropy", units=3, activation="softmax")
    engine = model.engine
    x = np.random.default_rng(2).standard_normal((4, 3))
    engine.train_epoch(x, np.array([0, 1, 2, 0]), None, [np.arange(2), np.arange(2, 4)])
    assert spies["array checks"] == [4]         # the whole epoch's labels, once, before the first step
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\) for 3 classes, got values from 0 to 3"):
        engine.train_step(x, np.array([0, 1, 3, 0]), step=0)
    with pytest.raises(ValueError, match="integer class indices"):
        engine.compute_gradients(x, np.array([0, 1, 0.5, 0]))
    with pytest.raises(ValueError, match=r"y must have shape \(4,\) or \(4, 1\)"):
        engine.compute_gradients(x, np.array([0, 1, 2]))
    assert spies["loss"] == []                  # the engine's own checks, not the loss's


def test_an_engine_refuses_targets_it_cannot_trust():
    model = _model("cpu")
    x, y = _data(4)
    targets = model.engine.plan.targets(y)
    other = _model("cpu").engine.plan.targets(y)
    with pytest.raises(ValueError, match="another plan"):
        model.engine.compute_gradients(x, other)
    with pytest.raises(ValueError, match="the Targets carry the weights"):
        model.engine.train_step(x, targets, np.ones(4), step=0)
    with pytest.raises(ValueError, match="they hold 4 rows but x has 3"):
        model.engine.train_step(x[:3], targets, step=0)


def test_targets_give_the_closed_form_loss():
    """Binary cross-entropy of a Dense(1, sigmoid) model with zero kernels and bias b: every prediction
    is sigmoid(b), so the loss is -mean(y log s + (1 - y) log(1 - s)) (weighted: sum(w l) / n)."""
    for engine in ("scalar", "cpu"):
        model = Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=SGD(0.1), loss="binary_crossentropy", engine=engine, dtype="float64")
        model.set_weights([np.zeros((2, 1)), np.array([0.3])])
        x, y, w = np.ones((4, 2)), np.array([1.0, 0.0, 1.0, 1.0]), np.array([1.0, 2.0, 0.5, 0.0])
        s = 1.0 / (1.0 + math.exp(-0.3))
        per_sample = -(y * math.log(s) + (1 - y) * math.log(1 - s))
        assert model.evaluate(x, y, verbose=0) == pytest.approx(per_sample.mean(), rel=1e-12)
        loss, _ = model.compute_gradients(x, y, sample_weight=w)
        assert loss == pytest.approx(float(np.sum(w * per_sample) / 4), rel=1e-12)


def test_unchecked_loss_still_checks_predictions_and_ignores_classes():
    """``loss.unchecked`` skips the label checks only: negative "probabilities" are still refused, and
    ignore_class still masks (closed form: the mean of -log q[label] over the valid rows)."""
    loss = losses.SparseCategoricalCrossentropy(ignore_class=2)
    with pytest.raises(ValueError, match="probabilities in y_pred must be >= 0"):
        loss.unchecked(np.array([0.0, 1.0]), np.array([[0.5, -0.5, 1.0], [0.2, 0.3, 0.5]]))
    q = np.array([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    expected = -(math.log(0.5) + math.log(0.3)) / 2
    assert loss.unchecked(np.array([0.0, 1.0, 2.0]), q) == pytest.approx(expected, rel=1e-6)
    model = _model("cpu", loss="sparse_categorical_crossentropy", units=3, activation="linear")
    model.set_weights([np.zeros((3, 4)), np.zeros(4), np.zeros((4, 3)), np.array([0.5, -0.5, 1.0])])
    with pytest.raises(ValueError, match="probabilities in y_pred must be >= 0"):
        model.evaluate(np.ones((2, 3)), np.array([0, 1]), verbose=0)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # the probe's square, the cast
def test_labels_beyond_the_engines_dtype_are_refused_by_name():
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile(optimizer=SGD(0.1), loss="mse", engine="cpu", dtype="float32")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"argument `y`: expected numbers within the range of the engine's "
                                         r"dtype float32, got values up to 1e\+300"):
        model.fit(np.ones((2, 2)), np.array([1.0, 1e300]), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.cuda
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_cuda_engine_trusts_the_models_targets_and_checks_raw_labels(spies, monkeypatch):
    pytest.importorskip("numba.cuda")
    import numba

    from microgradx.kernels.cuda import gemm
    if numba.config.ENABLE_CUDASIM:   # a tiny tile: a step takes a fraction of a second in the simulator
        monkeypatch.setattr(gemm, "FORCED_TILES", gemm.TileConfig(8, 8, 4, 2, 2))
    model = _model("cuda")
    x, y = _data(8)
    xv, yv = _data(4, seed=1)
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(xv, yv), verbose=0)
    assert spies["loss"] == [8, 4]
    assert spies["array checks"] == spies["array domain"] == [] and spies["array layout"] == [8]
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: y must be in \[0, 1\], got values from 0\.0 to 2\.0"):
        model.engine.train_step(x, np.array([0, 1, 2, 0, 1, 1, 0, 0.0]), step=0)
    assert spies["array checks"] == [8]


def test_tape_fit_checks_its_samples_once(monkeypatch):
    """``Tape.fit`` checks its data and validation data once, not at every step; the numbers are gradient
    descent on J(w) = mean((w x - y)^2) with x = 1, y = 0: w <- (1 - 2 lr) w (closed form)."""
    from microgradx.engine import Value
    from microgradx.tape import compile_tape, inputs

    checked = _spy_function(monkeypatch, inputs, "check_finite")
    w, x, y = Value(0.75, "w", requires_grad=True), Value(0.0, "x"), Value(0.0, "y")
    tape = compile_tape((w * x - y) ** 2, inputs=[x, y])
    losses_seen = tape.fit(np.array([[1.0, 0.0], [1.0, 0.0]]), SGD(learning_rate=0.25), steps=3,
                           validation_data=np.array([[1.0, 0.0]]))
    assert checked == [2, 1]                    # the data, then the validation data: once each
    assert losses_seen == pytest.approx([0.75 ** 2, 0.375 ** 2, 0.1875 ** 2])
    with pytest.raises(ValueError, match="reduce must be one of"):
        tape.fit(np.ones((1, 2)), SGD(), steps=1, reduce="median")


def _spy_function(monkeypatch, module, name):
    """Record the row count of the array passed to every call of ``module.name``."""
    calls: list[int] = []
    original = getattr(module, name)

    def spy(owner, array, *args, **kwargs):
        calls.append(len(array))
        return original(owner, array, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_loss_check_raises_a_calls_label_errors_without_computing_the_loss(monkeypatch):
    computed = []
    monkeypatch.setattr(losses.BinaryCrossentropy, "call", lambda self, *args: computed.append(1))
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: y_true must be in \[0, 1\], got values from 0\.0 to 2\.0"):
        losses.BinaryCrossentropy().check(np.array([0.0, 2.0]), np.full((2, 1), 0.5))
    losses.BinaryCrossentropy().check(np.array([0.0, 1.0]), np.full((2, 1), 0.5))
    assert computed == []


def test_the_scalar_engine_still_checks_raw_weights():
    model = _model("scalar")
    x, y = _data(4)
    with pytest.raises(ValueError, match="sample_weight contains non-finite values"):
        model.engine.compute_gradients(x, y, np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 1\], got values from 0\.0 to 2\.0"):
        model.engine.train_step(x, np.array([0.0, 1.0, 2.0, 0.0]), step=0)
    assert model.optimizer.iterations == 0
