"""Loss kernel: per-sample values vs NumPy float64 formulas (and Keras goldens), gradients vs central differences."""

import zlib

import numpy as np
import pytest

from microgradx.kernels.losses import (BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, HINGE,
                                       MEAN_ABSOLUTE_ERROR, MEAN_SQUARED_ERROR, SPARSE_CATEGORICAL_CROSSENTROPY,
                                       loss_forward_backward)

EPS = 1e-7
N, K = 4, 3


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _oracle(kind, y, pred, from_logits, ls):
    """Per-sample losses written straight from the Keras formulas (float64 NumPy)."""
    if kind == BINARY_CROSSENTROPY:
        y = y * (1 - ls) + 0.5 * ls
        if from_logits:
            return np.mean(np.maximum(pred, 0) - pred * y + np.log1p(np.exp(-np.abs(pred))), axis=1)
        p = np.clip(pred, EPS, 1 - EPS)
        return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=1)
    if kind == MEAN_SQUARED_ERROR:
        return np.mean((y - pred) ** 2, axis=1)
    if kind == MEAN_ABSOLUTE_ERROR:
        return np.mean(np.abs(y - pred), axis=1)
    if kind == HINGE:
        y = 2 * y - 1 if np.all((y == 0) | (y == 1)) else y
        return np.mean(np.maximum(1 - y * pred, 0), axis=1)
    y = y * (1 - ls) + ls / y.shape[1]
    if from_logits:
        z = pred - pred.max(axis=1, keepdims=True)
        return -np.sum(y * (z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))), axis=1)
    q = np.clip(pred / pred.sum(axis=1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(y * np.log(q), axis=1)


def _run(kind, y, pred, coef, from_logits=False, ls=0.0, fused=False):
    grad = np.empty_like(pred)
    per_sample = np.empty(pred.shape[0])
    total = loss_forward_backward(kind, y, pred, coef, from_logits, ls, EPS, 1 - EPS, fused, per_sample, grad)
    return total, per_sample, grad


def _central_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        g[index] = (f(plus) - f(minus)) / (2 * h)
    return g


CASES = [
    ("bce_probs", BINARY_CROSSENTROPY, False, 0.0),
    ("bce_probs_smoothed", BINARY_CROSSENTROPY, False, 0.1),
    ("bce_logits", BINARY_CROSSENTROPY, True, 0.0),
    ("bce_logits_smoothed", BINARY_CROSSENTROPY, True, 0.2),
    ("mse", MEAN_SQUARED_ERROR, False, 0.0),
    ("mae", MEAN_ABSOLUTE_ERROR, False, 0.0),
    ("cce_probs", CATEGORICAL_CROSSENTROPY, False, 0.0),
    ("cce_probs_smoothed", CATEGORICAL_CROSSENTROPY, False, 0.1),
    ("cce_logits", CATEGORICAL_CROSSENTROPY, True, 0.0),
    ("hinge", HINGE, False, 0.0),
]


def _inputs(kind, from_logits, rng):
    if kind in (CATEGORICAL_CROSSENTROPY,):
        y = np.eye(K)[rng.integers(0, K, N)]
        pred = rng.standard_normal((N, K)) if from_logits else rng.uniform(0.1, 1.0, (N, K))
    elif kind == BINARY_CROSSENTROPY:
        y = rng.integers(0, 2, (N, K)).astype(np.float64)
        pred = rng.standard_normal((N, K)) * 3 if from_logits else rng.uniform(0.05, 0.95, (N, K))
    elif kind == HINGE:
        y = rng.integers(0, 2, (N, K)).astype(np.float64)
        pred = rng.standard_normal((N, K)) * 2
    else:
        y = rng.standard_normal((N, K))
        pred = rng.standard_normal((N, K))
    return y, pred


@pytest.mark.parametrize("name,kind,from_logits,ls", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients(name, kind, from_logits, ls):
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # not hash(): salted per process
    y, pred = _inputs(kind, from_logits, rng)
    coef = rng.uniform(0.1, 1.0, N)
    total, per_sample, grad = _run(kind, y, pred, coef, from_logits, ls)
    expected = _oracle(kind, y, pred, from_logits, ls)
    np.testing.assert_allclose(per_sample, expected, rtol=1e-12)
    assert total == pytest.approx(float(coef @ expected), rel=1e-12)
    numeric = _central_difference(lambda p: float(coef @ _oracle(kind, y, p, from_logits, ls)), pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_sparse_equals_one_hot_categorical():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, K, N)
    pred = rng.uniform(0.1, 1.0, (N, K))
    coef = np.full(N, 1.0 / N)
    total, per_sample, grad = _run(SPARSE_CATEGORICAL_CROSSENTROPY, labels.astype(np.float64)[:, None], pred, coef)
    y = np.eye(K)[labels]
    np.testing.assert_allclose(per_sample, _oracle(CATEGORICAL_CROSSENTROPY, y, pred, False, 0.0), rtol=1e-12)
    numeric = _central_difference(lambda p: float(coef @ _oracle(CATEGORICAL_CROSSENTROPY, y, p, False, 0.0)),
                                  pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_fused_softmax_categorical_is_the_composition(ls):
    """fused=True returns d/dz of loss(softmax(z)), which is p - y when nothing is clipped."""
    rng = np.random.default_rng(6)
    z = rng.standard_normal((N, K))
    z[0] = [30.0, -30.0, 0.0]  # probabilities below eps: clipping active in row 0
    y = np.eye(K)[[1, 0, 2, 1]]
    coef = np.full(N, 0.25)
    total, _, grad = _run(CATEGORICAL_CROSSENTROPY, y, _softmax(z), coef, ls=ls, fused=True)
    objective = lambda z_: float(coef @ _oracle(CATEGORICAL_CROSSENTROPY, y, _softmax(z_), False, ls))  # noqa: E731
    assert total == pytest.approx(objective(z), rel=1e-12)
    np.testing.assert_allclose(grad, _central_difference(objective, z), rtol=1e-6, atol=1e-8)
    if ls == 0.0:
        np.testing.assert_allclose(grad[1:], 0.25 * (_softmax(z)[1:] - y[1:]), rtol=1e-12)


def test_fused_sigmoid_binary_is_the_composition():
    rng = np.random.default_rng(7)
    z = rng.standard_normal((N, K)) * 2
    z[0, 0] = 40.0  # sigmoid = 1 - 4e-18: clipped, so the gradient is 0 there
    y = rng.integers(0, 2, (N, K)).astype(np.float64)
    coef = np.full(N, 0.25)
    _, _, grad = _run(BINARY_CROSSENTROPY, y, _sigmoid(z), coef, fused=True)
    objective = lambda z_: float(coef @ _oracle(BINARY_CROSSENTROPY, y, _sigmoid(z_), False, 0.0))  # noqa: E731
    np.testing.assert_allclose(grad, _central_difference(objective, z), rtol=1e-6, atol=1e-8)
    assert grad[0, 0] == 0.0


def test_bce_clipping_zeroes_the_gradient():
    """y=0, p=1 and y=1, p=0 hit the clip bounds: the gradient is 0 there (d clip/dp = 0 outside)."""
    _, _, grad = _run(BINARY_CROSSENTROPY, np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]), np.ones(1))
    assert np.all(grad == 0.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_per_sample_values_match_keras_golden(keras_golden, dtype):
    """Every 2-D BCE case recorded from Keras (torch backend): clip bounds computed in the model dtype.

    Keras' torch backend averages in float32 even for float64 inputs, hence rtol 1e-6.
    """
    cases = keras_golden["binary_crossentropy"]["cases"]
    checked = 0
    for name, case in cases.items():
        y = np.asarray(case["inputs"]["y_true"], dtype=dtype)
        if y.ndim != 2:
            continue
        pred = np.asarray(case["inputs"]["y_pred"], dtype=dtype)
        ls = float(name.split("label_smoothing=")[1])
        t = np.dtype(dtype).type
        lo, hi = float(t(EPS)), float(t(1) - t(EPS))
        per_sample, grad = np.empty(len(y)), np.empty_like(pred)
        loss_forward_backward(BINARY_CROSSENTROPY, y, pred, np.ones(len(y)),
                              case["inputs"]["from_logits"], ls, lo, hi, False, per_sample, grad)
        expected = case[dtype]["per_sample_function_binary_crossentropy"]
        np.testing.assert_allclose(per_sample, expected, rtol=1e-6, err_msg=name)
        checked += 1
    assert checked >= 10


def test_logits_do_not_overflow():
    _, per_sample, grad = _run(BINARY_CROSSENTROPY, np.array([[0.0]]), np.array([[50.0]]), np.ones(1),
                               from_logits=True)
    assert per_sample[0] == pytest.approx(50.0)  # Keras: logit 50, label 0 -> 50.0
    assert grad[0, 0] == pytest.approx(1.0)
    _, per_sample, _ = _run(CATEGORICAL_CROSSENTROPY, np.array([[1.0, 0.0]]), np.array([[-1000.0, 1000.0]]),
                            np.ones(1), from_logits=True)
    assert per_sample[0] == pytest.approx(2000.0)


def test_hinge_keeps_minus_one_labels():
    y = np.array([[-1.0], [1.0]])
    pred = np.array([[0.5], [0.25]])
    _, per_sample, grad = _run(HINGE, y, pred, np.ones(2))
    np.testing.assert_allclose(per_sample, [1.5, 0.75])
    np.testing.assert_allclose(grad[:, 0], [1.0, -1.0])
