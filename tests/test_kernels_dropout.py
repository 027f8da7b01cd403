"""Dropout kernel: the same mask as kernels.rng.uniform_array, for any thread count and noise shape."""

import numba
import numpy as np
import pytest

from microgradx.kernels.dropout import dropout_backward, dropout_forward
from microgradx.kernels.rng import uniform_array


def _oracle_scale(seed, step, rate, shape, mask_shape):
    keep = uniform_array(seed, step, mask_shape) >= rate
    value = 0.0 if rate >= 1.0 else 1.0 / (1.0 - rate)
    return np.broadcast_to(np.where(keep, value, 0.0), shape)


@pytest.mark.parametrize("mask_shape", [(6, 5), (6, 1), (1, 5), (1, 1)])
def test_mask_is_bit_identical_to_the_numpy_hash(mask_shape):
    x = np.random.default_rng(0).standard_normal((6, 5))
    scale, y = np.empty_like(x), np.empty_like(x)
    dropout_forward(x, 12345, 7, 0.4, mask_shape[0], mask_shape[1], scale, y)
    expected = _oracle_scale(12345, 7, 0.4, x.shape, mask_shape)
    np.testing.assert_array_equal(scale, expected)
    np.testing.assert_array_equal(y, x * expected)


def test_mask_does_not_depend_on_the_thread_count():
    x = np.ones((257, 33), dtype=np.float32)
    results = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        scale, y = np.empty_like(x), np.empty_like(x)
        dropout_forward(x, 3, 11, 0.5, 257, 33, scale, y)
        results.append(scale)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for scale in results:
        np.testing.assert_array_equal(scale, _oracle_scale(3, 11, 0.5, x.shape, x.shape).astype(np.float32))


def test_rate_edges_and_keep_fraction():
    x = np.ones((200, 50))
    scale, y = np.empty_like(x), np.empty_like(x)
    dropout_forward(x, 1, 0, 1.0, 200, 50, scale, y)
    assert np.all(y == 0.0)
    dropout_forward(x, 1, 0, 0.0, 200, 50, scale, y)
    assert np.all(y == 1.0)
    dropout_forward(x, 1, 0, 0.3, 200, 50, scale, y)
    assert set(np.unique(y)) == {0.0, 1.0 / 0.7}
    assert abs(np.mean(y > 0) - 0.7) < 0.02  # 10k Bernoulli(0.7) draws: sd 0.0046
    dropout_forward(x, 1, 1, 0.3, 200, 50, scale, y)
    assert not np.array_equal(y, x * _oracle_scale(1, 0, 0.3, x.shape, x.shape))  # a new step, a new mask


def test_backward_multiplies_by_the_same_scale():
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    scale, y, dx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    dropout_forward(x, 9, 2, 0.5, 4, 3, scale, y)
    dropout_backward(g, scale, dx)
    np.testing.assert_array_equal(dx, g * _oracle_scale(9, 2, 0.5, x.shape, x.shape))
