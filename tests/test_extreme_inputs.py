"""Behaviour at the edges of the input range, on every engine: logits and pre-activations around 800 (where
``exp`` overflows float64 unless the row maximum is subtracted first) and ``binary_accuracy`` exactly at its
threshold; and data beyond the range of the engine's dtype (x = 1e300 for float32), refused by name.

The oracle is the closed form of a row z = (800, 799, -800): softmax(z) = (1/(1 + e^-1), e^-1/(1 + e^-1), 0),
the cross-entropy of label 1 is -log softmax(z)_1 = 1 + log(1 + e^-1), and its gradient is softmax(z) - onehot.
Without the max shift each of these paths returns NaN (inf / inf), which these tests catch (checked by removing
the shift from each: NumPy/Value log-softmax, the NumPy and Value softmax activation, the CPU/CUDA softmax row
and the CPU/CUDA cross-entropy row).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from microgradx import activations, layers, losses, metrics
from microgradx.engine import Value
from microgradx.models import Sequential

Z = np.array([[800.0, 799.0, -800.0]])
SOFTMAX = np.array([1.0 / (1.0 + math.exp(-1.0)), math.exp(-1.0) / (1.0 + math.exp(-1.0)), 0.0])
LOSS = 1.0 + math.log1p(math.exp(-1.0))            # -log softmax(z)_1
DZ = SOFTMAX - np.array([0.0, 1.0, 0.0])           # d loss / d z
ENGINES = ["scalar", "cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def _model(engine: str, activation: str, loss) -> Sequential:
    """Input 1 -> Dense(3): with x = 1, kernel Z and bias 0 the pre-activations are exactly Z."""
    model = Sequential([layers.Input(shape=(1,)), layers.Dense(3, activation=activation)])
    model.compile(optimizer="sgd", loss=loss, engine=engine)
    model.set_weights([Z, np.zeros(3)])
    return model


@pytest.mark.parametrize("engine", ENGINES)
def test_softmax_activation_of_large_pre_activations(engine):
    model = _model(engine, "softmax", "categorical_crossentropy")
    out = model.predict(np.ones((1, 1)), verbose=0)
    np.testing.assert_allclose(out[0], SOFTMAX, rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("activation, loss, sparse", [
    ("softmax", "categorical_crossentropy", False),
    ("softmax", "sparse_categorical_crossentropy", True),
    ("linear", losses.CategoricalCrossentropy(from_logits=True), False),
    ("linear", losses.SparseCategoricalCrossentropy(from_logits=True), True),
], ids=["softmax+cce", "softmax+scce", "logits+cce", "logits+scce"])
def test_cross_entropy_of_large_logits(engine, activation, loss, sparse):
    model = _model(engine, activation, loss)
    y = np.array([1]) if sparse else np.array([[0.0, 1.0, 0.0]])
    value, grads = model.compute_gradients(np.ones((1, 1)), y)
    assert value == pytest.approx(LOSS, rel=2e-7)
    np.testing.assert_allclose(grads[0][0], DZ, rtol=2e-6, atol=1e-30)  # d loss / d kernel = x * dz, x = 1
    np.testing.assert_allclose(grads[1], DZ, rtol=2e-6, atol=1e-30)


def test_numpy_and_value_log_softmax_of_large_logits():
    y = np.array([[0.0, 1.0, 0.0]])
    assert float(losses.categorical_crossentropy(y, Z, from_logits=True)[0]) == pytest.approx(LOSS, rel=1e-15)
    np.testing.assert_allclose(activations.forward("softmax", Z)[0], SOFTMAX, rtol=1e-15, atol=1e-300)
    row = np.array([[Value(float(v)) for v in Z[0]]], dtype=object)
    probabilities = activations.value_forward("softmax", row)
    np.testing.assert_allclose([p.data for p in probabilities[0]], SOFTMAX, rtol=1e-15, atol=1e-300)
    graph = _model("scalar", "linear", losses.CategoricalCrossentropy(from_logits=True)).to_graph(np.ones((1, 1)), y)
    graph.backward()
    assert graph.data == pytest.approx(LOSS, rel=1e-15)


# ------------------------------------------------------------------------------ binary_accuracy at the threshold
def test_binary_accuracy_exactly_at_the_threshold_counts_as_class_0():
    """Keras 3 (``keras/src/metrics/accuracy_metrics.py``): ``y_pred > threshold`` is class 1, strictly, so a
    prediction exactly at the threshold is class 0."""
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]])
    for dtype in (np.float64, np.float32):
        above = np.nextafter(dtype(0.5), dtype(1.0))  # the next representable number: class 1
        y_pred = np.array([[0.5], [0.5], [above], [above]], dtype=dtype)
        np.testing.assert_array_equal(metrics.binary_accuracy(y_true, y_pred), [0.0, 1.0, 1.0, 0.0])
    at = np.array([[0.7], [0.7]])
    np.testing.assert_array_equal(metrics.binary_accuracy(np.array([[1.0], [0.0]]), at, threshold=0.7), [0, 1])


def test_binary_accuracy_at_the_threshold_matches_live_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]], dtype=np.float32)
    y_pred = np.array([[0.5], [0.5], [0.25], [0.75]], dtype=np.float32)
    theirs = np.asarray(keras.ops.convert_to_numpy(keras.metrics.binary_accuracy(y_true, y_pred)))
    # the rule (strictly greater than the threshold) per sample; Keras 3.15.1 keeps the trailing axis of one
    # output, (4, 1), where ours averages over it, (4,): the same numbers
    np.testing.assert_array_equal(metrics.binary_accuracy(y_true, y_pred), np.ravel(theirs))


def _zero_model(dtype: str, engine: str = "cpu") -> Sequential:
    """Input 2 -> Dense(1), zero weights, MSE: any finite x predicts exactly 0 (so 1e300 is fine in float64)."""
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", engine=engine, dtype=dtype)
    model.set_weights([np.zeros((2, 1)), np.zeros(1)])
    return model


def _beyond(argument: str) -> str:
    return (rf"argument `{argument}`: expected numbers within the range of the engine's dtype float32, got "
            r"values up to 1e\+300")


BIG_X = np.array([[1.0, 2.0], [3.0, 1e300]])   # finite in float64, inf once cast to float32
SMALL_X, ZEROS, BIG_W = np.ones((2, 2)), np.zeros(2), np.array([0.0, 1e300])


@pytest.mark.parametrize("argument, call", [
    ("x", lambda m: m.fit(BIG_X, ZEROS, verbose=0)),
    ("x", lambda m: m.fit(np.vstack([SMALL_X, BIG_X]), np.zeros(4), validation_split=0.5, verbose=0)),
    ("val_x", lambda m: m.fit(SMALL_X, ZEROS, validation_data=(BIG_X, ZEROS), verbose=0)),
    ("val_y", lambda m: m.fit(SMALL_X, ZEROS, validation_data=(SMALL_X, BIG_W), verbose=0)),
    ("x", lambda m: m.evaluate(BIG_X, ZEROS, verbose=0)),
    ("y", lambda m: m.evaluate(SMALL_X, BIG_W, verbose=0)),
    ("sample_weight", lambda m: m.evaluate(SMALL_X, ZEROS, sample_weight=BIG_W, verbose=0)),
    ("x", lambda m: m.predict(BIG_X, verbose=0)),
], ids=["fit", "fit-validation_split", "fit-validation_data", "fit-validation-y", "evaluate", "evaluate-y",
        "evaluate-sample_weight", "predict"])
def test_data_beyond_the_engines_dtype_is_refused_by_name(argument, call):
    """1e300 is a finite float64 that a float32 engine would silently compute with as inf: each call refuses
    it, naming the argument, the value and the dtype, before any weight changes."""
    model = _zero_model("float32")
    with pytest.raises(ValueError, match=_beyond(argument)):
        call(model)
    assert model.optimizer.iterations == 0
    np.testing.assert_array_equal(model.get_weights()[0], np.zeros((2, 1)))


@pytest.mark.parametrize("engine", ["cpu", "cuda"])
@pytest.mark.parametrize("call", [lambda e: e.predict(BIG_X), lambda e: e.train_step(BIG_X, ZEROS, step=0),
                                  lambda e: e.compute_gradients(BIG_X, ZEROS),
                                  lambda e: e.train_epoch(BIG_X, ZEROS, None, [np.arange(2)])],
                         ids=["predict", "train_step", "compute_gradients", "train_epoch"])
def test_an_engine_called_directly_refuses_x_beyond_its_dtype(engine, call):
    """The engines' own entry points (no model casting first) refuse the float64 1e300 for float32 by name, and
    take it in float64, where it fits."""
    model = _zero_model("float32", engine)
    with pytest.raises(ValueError, match=rf"engine='{engine}': x must hold numbers within the range of the "
                                         rf"engine's dtype float32, got values up to 1e\+300"):
        call(model.engine)
    np.testing.assert_array_equal(model.get_weights()[0], np.zeros((2, 1)))
    call(_zero_model("float64", engine).engine)


def test_x_within_float64_passes_a_float64_engine():
    """The same 1e300 fits float64: zero weights predict exactly 0 and the MSE of zero labels is 0."""
    model = _zero_model("float64")
    np.testing.assert_array_equal(model.predict(BIG_X, verbose=0), np.zeros((2, 1)))
    assert model.evaluate(BIG_X, np.zeros(2), verbose=0) == 0.0
    model.fit(BIG_X, np.zeros(2), verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], np.zeros((2, 1)))
