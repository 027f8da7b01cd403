"""Layers, activations and initialisers: Keras goldens, closed forms and central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx import activations, initializers, layers, utils
from microgradx.engine import Value
from microgradx.kernels.rng import hash_uniform


# ------------------------------------------------------------------ Dropout
def _probe(value_text: str):
    return eval(value_text)  # the golden keys are Python literals: "-0.1", "(0, 1)", "'abc'"


def test_dropout_rate_validation_matches_keras(keras_golden):
    for text, outcome in keras_golden["dropout"]["rate_validation"].items():
        rate = _probe(text)
        if outcome == "ok":
            assert layers.Dropout(rate).rate == rate
        else:
            with pytest.raises(ValueError) as info:
                layers.Dropout(rate)
            assert f"ValueError: {info.value}" == outcome


@pytest.mark.parametrize("rate", ["0.5", b"0.5", None, True])
def test_dropout_rate_of_the_wrong_type_is_shown_as_its_repr(rate):
    with pytest.raises(ValueError) as info:
        layers.Dropout(rate)
    assert str(info.value).endswith(f"Received: rate={rate!r}")  # "rate='0.5'": visibly a string


def test_dropout_noise_shape_validation_matches_keras(keras_golden):
    for text, outcome in keras_golden["dropout"]["noise_shape_validation"].items():
        noise_shape = _probe(text)
        if outcome.startswith("ok"):
            stored = eval(outcome.split("stored ")[1])
            assert layers.Dropout(0.5, noise_shape=noise_shape).noise_shape == stored
        else:
            with pytest.raises(ValueError) as info:
                layers.Dropout(0.5, noise_shape=noise_shape)
            assert f"ValueError: {info.value}" == outcome


def test_dropout_identity_cases(keras_golden):
    golden = keras_golden["dropout"]
    x = np.arange(1.0, 13.0).reshape(3, 4)
    layer = layers.Dropout(0.5, seed=1)
    assert golden["call_without_training_arg_is_identity"]
    np.testing.assert_array_equal(layer(x), x)
    assert golden["training_False_is_identity"]
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert golden["rate0.0_training_True_identity"]
    np.testing.assert_array_equal(layers.Dropout(0.0, seed=1)(x, training=True), x)
    assert golden["rate1.0_training_True_all_zero"]
    np.testing.assert_array_equal(layers.Dropout(1.0, seed=1)(x, training=True), np.zeros_like(x))


def test_dropout_scaling_and_rate(keras_golden):
    golden = keras_golden["dropout"]
    rate = 0.4
    out = layers.Dropout(rate, seed=7)(np.ones((100, 100)), training=True)
    values = np.unique(np.round(out, 6))
    np.testing.assert_allclose(values, golden["training_True_rate0.4_unique_values"], rtol=1e-6)
    assert out.max() == pytest.approx(golden["training_True_rate0.4_expected_kept_value_1/(1-rate)"], rel=1e-15)
    # 10,000 Bernoulli(0.4) draws: the dropped fraction is within 4 standard deviations of 0.4
    sd = math.sqrt(rate * (1 - rate) / out.size)
    assert abs(np.mean(out == 0) - rate) < 4 * sd
    assert abs(out.mean() - 1.0) < 4 * sd / (1 - rate)


def test_dropout_mask_is_the_hash_rng():
    """keep[i] = hash_uniform(seed, step, i) >= rate, evaluated with the scalar oracle element by element."""
    rate, seed, step = 0.3, 11, 5
    x = np.ones((4, 6))
    out = layers.Dropout(rate, seed=seed)(x, training=True, step=step)
    for i in range(x.size):
        with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
            keep = float(hash_uniform(seed, step, i)) >= rate
        assert out.flat[i] == (1 / (1 - rate) if keep else 0.0)
    other_step = layers.Dropout(rate, seed=seed)(x, training=True, step=step + 1)
    assert not np.array_equal(out, other_step)


def test_dropout_noise_shape_broadcasting(keras_golden):
    golden = keras_golden["dropout"]
    x = np.ones((20, 5))
    rows = layers.Dropout(0.5, noise_shape=(None, 1), seed=3)(x, training=True)
    assert golden["noise_shape=(None,1)_rows_constant"]
    assert np.all(rows == rows[:, :1]) and set(np.unique(rows)) <= {0.0, 2.0}
    assert 0 < np.count_nonzero(rows[:, 0]) < 20
    cols = layers.Dropout(0.5, noise_shape=(1, 5), seed=3)(x, training=True)
    assert golden["noise_shape=(1,5)_columns_constant"]
    assert np.all(cols == cols[:1, :])
    with pytest.raises(ValueError, match="broadcast"):
        layers.Dropout(0.5, noise_shape=(2, 5), seed=3)(x, training=True)


def test_dropout_same_seed_same_mask(keras_golden):
    assert keras_golden["dropout"]["same_seed_two_layers_same_mask"]
    x = np.ones((8, 8))
    a = layers.Dropout(0.5, seed=9)(x, training=True)
    b = layers.Dropout(0.5, seed=9)(x, training=True)
    c = layers.Dropout(0.5, seed=10)(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_unseeded_layers_follow_global_seed():
    utils.set_random_seed(5)
    first = layers.Dropout(0.5)
    first.build(4)
    utils.set_random_seed(5)
    second = layers.Dropout(0.5)
    second.build(4)
    assert first.seed == second.seed


# -------------------------------------------------------------------- Dense
def test_dense_validation():
    with pytest.raises(ValueError, match="activation.*'swish'"):
        layers.Dense(3, activation="swish")
    with pytest.raises(ValueError, match="units=0"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="units"):
        layers.Dense(2.5)
    with pytest.raises(ValueError, match="kernel_initializer"):
        layers.Dense(2, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="input_shape"):
        layers.Dense(2, input_shape=(0,))
    with pytest.raises(ValueError, match="shape"):
        layers.Input(shape=(2, 3))


def test_dense_names_follow_keras():
    utils.clear_session()
    names = [layers.Dense(1).name, layers.Dense(1).name, layers.Dropout(0.1).name, layers.Dense(1, name="out").name]
    assert names == ["dense", "dense_1", "dropout", "out"]


def test_dense_forward_closed_form():
    layer = layers.Dense(2, activation="relu")
    x = np.array([[1.0, -2.0]])
    kernel = np.array([[1.0, 2.0], [3.0, -4.0]])
    bias = np.array([0.5, 0.5])
    # z = [1 - 6 + 0.5, 2 + 8 + 0.5] = [-4.5, 10.5] -> relu
    np.testing.assert_array_equal(layer.forward(x, kernel, bias), [[0.0, 10.5]])


# -------------------------------------------------------------- activations
Z = np.array([[-3.0, -0.5, 0.0, 0.7, 4.0], [1.0, 2.0, 3.0, -1.0, 0.25]])
CLOSED = {
    "linear": lambda z: z,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_activation_forward_closed_form(name):
    np.testing.assert_allclose(activations.forward(name, Z), CLOSED[name](Z), rtol=1e-14, atol=1e-15)
    value = activations.value_forward(name, np.vectorize(Value, otypes=[object])(Z))
    np.testing.assert_allclose(np.vectorize(lambda v: v.data)(value), CLOSED[name](Z), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", list(CLOSED))
def test_activation_value_gradients_central_differences(name):
    z = Z[1:]  # no element at relu's kink z = 0
    weights = np.array([0.3, -1.2, 0.8, 2.0, -0.4])  # a random-ish linear read-out: L = sum(w * a(z))
    leaves = np.vectorize(Value, otypes=[object])(z)
    out = activations.value_forward(name, leaves)
    total = Value(0.0)
    for w, a in zip(weights, out[0]):
        total = total + a * float(w)
    total.backward()
    h = 1e-6
    for k in range(z.shape[1]):
        plus, minus = z.copy(), z.copy()
        plus[0, k] += h
        minus[0, k] -= h
        numeric = (np.sum(weights * CLOSED[name](plus)) - np.sum(weights * CLOSED[name](minus))) / (2 * h)
        assert leaves[0, k].grad == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_softmax_is_stable_for_large_logits():
    z = np.array([[1000.0, 1001.0, 999.0]])
    expected = CLOSED["softmax"](z - 1000.0)
    np.testing.assert_allclose(activations.forward("softmax", z), expected, rtol=1e-14)
    value = activations.value_forward("softmax", np.vectorize(Value, otypes=[object])(z))
    np.testing.assert_allclose([v.data for v in value[0]], expected[0], rtol=1e-14)


def test_sigmoid_numpy_stable_far_negative():
    with np.errstate(over="raise"):
        out = activations.forward("sigmoid", np.array([-800.0, 800.0]))
    np.testing.assert_array_equal(out, [0.0, 1.0])


# ------------------------------------------------------------- initialisers
def test_glorot_uniform_limit_and_variance():
    fan_in, fan_out = 300, 200
    w = initializers.GlorotUniform(seed=1)((fan_in, fan_out))
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(limit ** 2 / 3, rel=0.02)  # variance of U(-a, a) is a^2/3


@pytest.mark.parametrize("cls, std", [(initializers.GlorotNormal, math.sqrt(2 / 500)),
                                      (initializers.HeNormal, math.sqrt(2 / 300))])
def test_truncated_normals_have_the_intended_std(cls, std):
    w = cls(seed=2)((300, 200))
    assert w.std() == pytest.approx(std, rel=0.02)
    assert np.abs(w).max() <= 2 * std / initializers.TRUNCATED_NORMAL_STD


def test_he_uniform_zeros_ones_random_normal():
    w = initializers.HeUniform(seed=0)((50, 40))
    assert np.abs(w).max() <= math.sqrt(6 / 50)
    np.testing.assert_array_equal(initializers.get("zeros")((3,)), np.zeros(3))
    np.testing.assert_array_equal(initializers.get("ones")((2, 2)), np.ones((2, 2)))
    normal = initializers.RandomNormal(stddev=2.0, seed=0)((200, 200))
    assert normal.std() == pytest.approx(2.0, rel=0.02)


def test_initializers_follow_the_global_seed():
    utils.set_random_seed(12)
    a = initializers.get("glorot_uniform")((3, 4))
    utils.set_random_seed(12)
    b = initializers.get("glorot_uniform")((3, 4))
    np.testing.assert_array_equal(a, b)
    c = initializers.get("glorot_uniform")((3, 4))
    assert not np.array_equal(b, c)
