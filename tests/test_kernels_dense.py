"""Dense and activation kernels against NumPy float64 formulas and central differences."""

import numpy as np
import pytest

from microgradx.kernels.activations import ACTIVATION_CODES, SOFTMAX, activation_backward
from microgradx.kernels.dense import dense_backward, dense_forward


def _reference_forward(name, z):
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def _layer(rng, n=5, n_in=4, n_out=3, dtype=np.float64):
    x = rng.standard_normal((n, n_in)).astype(dtype)
    w = rng.standard_normal((n_in, n_out)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
def test_dense_forward_matches_numpy(name):
    x, w, b = _layer(np.random.default_rng(0))
    y = np.empty((5, 3))
    dense_forward(x, w, b, ACTIVATION_CODES[name], y)
    np.testing.assert_allclose(y, _reference_forward(name, x @ w + b), rtol=1e-13, atol=1e-15)


def test_dense_forward_without_bias_and_float32():
    x, w, b = _layer(np.random.default_rng(1), dtype=np.float32)
    y = np.empty((5, 3), np.float32)
    dense_forward(x, w, np.empty(0, np.float32), ACTIVATION_CODES["tanh"], y)
    ref = np.tanh(x.astype(np.float64) @ w.astype(np.float64))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([[800.0], [-800.0], [0.0]])
    y = np.empty((3, 1))
    dense_forward(x, np.ones((1, 1)), np.zeros(1), ACTIVATION_CODES["sigmoid"], y)
    np.testing.assert_array_equal(y[:, 0], [1.0, 0.0, 0.5])


def test_relu_keeps_nan():
    x = np.array([[np.nan], [-1.0]])
    y = np.empty((2, 1))
    dense_forward(x, np.ones((1, 1)), np.zeros(1), ACTIVATION_CODES["relu"], y)
    assert np.isnan(y[0, 0]) and y[1, 0] == 0.0


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
def test_dense_backward_matches_central_differences(name):
    """d sum(G * f(XW + b)) / d{X, W, b} by the kernel vs central differences of the NumPy formula."""
    rng = np.random.default_rng(2)
    x, w, b = _layer(rng)
    g = rng.standard_normal((5, 3))

    def objective(x_, w_, b_):
        return float(np.sum(g * _reference_forward(name, x_ @ w_ + b_)))

    y = np.empty((5, 3))
    dense_forward(x, w, b, ACTIVATION_CODES[name], y)
    dw, db, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    dense_backward(x, w, y, g.copy(), ACTIVATION_CODES[name], dw, db, dx, True)
    h = 1e-6
    for array, grad, index in ((w, dw, (1, 2)), (b, db, (0,)), (x, dx, (3, 1)), (w, dw, (0, 0))):
        plus, minus = array.copy(), array.copy()
        plus[index] += h
        minus[index] -= h
        args_plus = [plus if a is array else a for a in (x, w, b)]
        args_minus = [minus if a is array else a for a in (x, w, b)]
        numeric = (objective(*args_plus) - objective(*args_minus)) / (2 * h)
        assert grad[index] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_dense_backward_closed_form_and_no_dx():
    """relu: dZ = G * (Y > 0), dW = X^T dZ, db = column sums, dX = dZ W^T; dx untouched if not needed."""
    rng = np.random.default_rng(3)
    x, w, b = _layer(rng, n=7, n_in=6, n_out=4)
    g = rng.standard_normal((7, 4))
    y = np.maximum(x @ w + b, 0.0)
    dw, db = np.empty_like(w), np.empty_like(b)
    dx = np.full_like(x, 7.0)
    dense_backward(x, w, y, g.copy(), ACTIVATION_CODES["relu"], dw, db, dx, False)
    dz = g * (y > 0)
    np.testing.assert_allclose(dw, x.T @ dz, rtol=1e-13)
    np.testing.assert_allclose(db, dz.sum(axis=0), rtol=1e-13)
    assert np.all(dx == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_backward_of_one_row_is_the_outer_product(dtype):
    """Batch size 1 (its own code path): dW[i, j] = x[i] dZ[j] exactly, db = dZ, dX = dZ W^T."""
    rng = np.random.default_rng(4)
    x, w, b = _layer(rng, n=1, n_in=6, n_out=4, dtype=dtype)
    g = rng.standard_normal((1, 4)).astype(dtype)
    y = np.maximum(x @ w + b, 0).astype(dtype)
    y[0, 1] = 0.0   # one dead unit: a zero column of dW
    dw, db, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    dense_backward(x, w, y, g.copy(), ACTIVATION_CODES["relu"], dw, db, dx, True)
    dz = g * (y > 0)
    np.testing.assert_array_equal(dw, np.outer(x[0], dz[0]))
    assert dw.dtype == dtype and np.all(dw[:, 1] == 0)
    np.testing.assert_array_equal(db, dz[0])
    np.testing.assert_allclose(dx, dz @ w.T, rtol=1e-6)


def test_softmax_backward_is_the_jacobian_vector_product():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((3, 4))
    y = _reference_forward("softmax", z)
    g = rng.standard_normal((3, 4))
    dz = np.empty_like(g)
    activation_backward(y, g, SOFTMAX, dz)
    for i in range(3):
        jacobian = np.diag(y[i]) - np.outer(y[i], y[i])
        np.testing.assert_allclose(dz[i], jacobian @ g[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "sigmoid"])
def test_shared_scalar_derivative_from_the_output_matches_central_differences(name):
    """The plain scalar functions the CUDA kernels also compile: f'(z), computed from y = f(z)."""
    from microgradx.kernels.activations import activate, activate_derivative

    code, h = ACTIVATION_CODES[name], 1e-6
    for z in (-2.5, -0.3, 0.4, 3.0):
        numeric = (activate(code, z + h) - activate(code, z - h)) / (2 * h)
        assert activate_derivative(code, activate(code, z)) == pytest.approx(numeric, rel=1e-7, abs=1e-9)
        assert activate(code, z) == pytest.approx(_reference_forward(name, np.array(z)), rel=1e-15)
