"""The penalty kernels, compiled from the regularizers' element rules, against the closed form
``(l1 sum|x| + l2 sum x**2) / divisor`` and ``d/dx = (l1 sign(x) + 2 l2 x) / divisor`` with ``sign(0) = 0``
(TensorFlow's and torch's gradient of ``abs`` at 0): the CPU pass, and the CUDA kernel in the simulator.
The engine tests reach these kernels only at nonzero weights and outputs, so the zeros are pinned here."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.kernels.regularizers import penalty_pass, weight_penalties_and_gradients
from microgradx.regularizers import PENALTY_RULES

X = np.array([-1.5, 0.0, 0.25, 2.0, -0.0, 3.0, -0.75])     # two zeros, where L1 pulls nowhere
L1, L2, DIVISOR = 0.3, 0.05, 4.0
DX0 = np.linspace(-1.0, 1.0, X.size)                        # the gradient the penalty's is added to


def closed_form(x, l1=L1, l2=L2, divisor=DIVISOR):
    return (l1 * np.abs(x).sum() + l2 * np.square(x).sum()) / divisor, (l1 * np.sign(x) + 2 * l2 * x) / divisor


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cpu_pass_matches_the_closed_form(dtype):
    x, dx = X.astype(dtype), DX0.astype(dtype)
    penalty = penalty_pass(*PENALTY_RULES)(x, dx, L1, L2, DIVISOR)
    expected, gradient = closed_form(X)
    assert penalty == pytest.approx(expected, rel=1e-13)            # float64 sums of exactly stored x
    np.testing.assert_allclose(dx, DX0 + gradient, rtol=1e-13 if dtype == np.float64 else 1e-6)
    assert dx[1] == dx.dtype.type(DX0[1]) and dx[4] == dx.dtype.type(DX0[4])   # sign(0) = 0: L2 adds 0 too


def test_weight_penalties_per_segment():
    w, g = np.concatenate([X, X[::-1]]), np.zeros(2 * X.size)
    penalties = np.full(2, np.nan)
    weight_penalties_and_gradients(PENALTY_RULES, w, g, [(0, X.size), (X.size, X.size)],
                                   np.array([[L1, L2], [0.0, 0.0]]), penalties)
    expected, gradient = closed_form(X, divisor=1.0)
    np.testing.assert_allclose(penalties, [expected, 0.0], rtol=1e-13, atol=0)
    np.testing.assert_allclose(g, np.concatenate([gradient, np.zeros(X.size)]), rtol=1e-13, atol=0)


@pytest.mark.cuda
@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaWarning")
@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_cuda_kernel_matches_the_closed_form(activation):
    numba = pytest.importorskip("numba")
    if not numba.config.ENABLE_CUDASIM:
        pytest.skip("runs in the CUDA simulator (tests/conftest.py switches it on)")
    from numba import cuda

    from microgradx.kernels.activations import ACTIVATION_CODES
    from microgradx.kernels.cuda.regularizers import penalty_and_gradient

    x = np.tanh(X) if activation == "tanh" else X                 # an activity penalty takes the outputs
    factor = 1.0 - x ** 2 if activation == "tanh" else 1.0          # tanh' from its output
    dx, totals = cuda.to_device(DX0.copy()), cuda.to_device(np.array([0.0, 0.5]))
    halted = cuda.to_device(np.zeros(1, np.int32))
    penalty_and_gradient(PENALTY_RULES, cuda.to_device(x), dx, L1, L2, DIVISOR, totals, 1, halted,
                         activation=ACTIVATION_CODES[activation])
    expected, gradient = closed_form(x)
    assert totals.copy_to_host()[1] == pytest.approx(0.5 + expected, rel=1e-13)
    np.testing.assert_allclose(dx.copy_to_host(), DX0 + gradient * factor, rtol=1e-13, atol=1e-16)
    assert halted.copy_to_host()[0] == 0
    penalty_and_gradient(PENALTY_RULES, cuda.to_device(np.array([1.0, np.inf])), cuda.to_device(np.zeros(2)),
                         L1, L2, 1.0, totals, 0, halted)
    assert halted.copy_to_host()[0] == 1                            # a non-finite penalty halts like a loss


@pytest.mark.cuda
@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaWarning")
def test_cuda_weight_penalties_in_one_launch():
    numba = pytest.importorskip("numba")
    if not numba.config.ENABLE_CUDASIM:
        pytest.skip("runs in the CUDA simulator (tests/conftest.py switches it on)")
    from numba import cuda

    from microgradx.kernels.cuda.regularizers import weight_penalties_and_gradients

    w = np.concatenate([X, X[::-1], -X])
    g, totals = cuda.to_device(np.zeros(w.size)), cuda.to_device(np.array([0.25]))
    offsets = np.array([0, X.size, 2 * X.size, 3 * X.size])
    factors = np.array([[L1, L2], [0.0, 0.0], [0.0, 2 * L2]])
    weight_penalties_and_gradients(PENALTY_RULES, cuda.to_device(w), g, cuda.to_device(offsets),
                                   cuda.to_device(factors), totals, 0, cuda.to_device(np.zeros(1, np.int32)))
    (first, d_first), (third, d_third) = closed_form(X, divisor=1.0), closed_form(-X, 0.0, 2 * L2, 1.0)
    assert totals.copy_to_host()[0] == pytest.approx(0.25 + first + third, rel=1e-13)
    np.testing.assert_allclose(g.copy_to_host(), np.concatenate([d_first, np.zeros(X.size), d_third]), rtol=1e-13,
                               atol=0)
