"""Datasets: shapes, labels, seeds and the geometry each generator promises (closed forms)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from microgradx import datasets

GENERATORS = [datasets.moons, datasets.circles, datasets.spiral, datasets.xor, datasets.gaussians]


@pytest.mark.parametrize("make", GENERATORS)
def test_shapes_labels_and_seeds(make):
    x, y = make(101, noise=0.1, seed=3)
    assert x.shape == (101, 2) and y.shape == (101,)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert set(np.unique(y)) == {0.0, 1.0}
    x2, y2 = make(101, noise=0.1, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = make(101, noise=0.1, seed=4)
    assert not np.array_equal(x, x3)


@pytest.mark.parametrize("make", [datasets.moons, datasets.circles, datasets.spiral, datasets.gaussians])
def test_balanced_classes(make):
    _, y = make(100, noise=0.0, seed=0)
    assert y.sum() == 50


def test_moons_without_noise_lie_on_their_circles():
    x, y = datasets.moons(200, noise=0.0, seed=0)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= -1e-12) and np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_circles_radii():
    x, y = datasets.circles(400, noise=0.0, seed=1)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 1].max() <= 0.5 and r[y == 0].min() >= 0.7 and r.max() <= 1.0


def test_xor_labels_follow_the_quadrants():
    x, y = datasets.xor(300, noise=0.0, seed=2)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(float))
    assert np.abs(x).min() >= 0.05


def test_spiral_radius_grows_with_angle_index():
    x, y = datasets.spiral(200, noise=0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() < 1.0 and r.min() == 0.0
    # each arm's points at radius r sit at angle 3.5 pi r (+ pi for label 0): sin/cos closed form
    for label, delta in ((1.0, 0.0), (0.0, np.pi)):
        arm = x[y == label]
        radius = np.hypot(arm[:, 0], arm[:, 1])
        t = 1.75 * 2 * np.pi * radius + delta
        np.testing.assert_allclose(arm, np.stack([radius * np.sin(t), radius * np.cos(t)], 1), atol=1e-12)


def test_gaussians_noise_is_the_standard_deviation():
    x, y = datasets.gaussians(20000, noise=0.3, seed=0)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [1.0, 1.0], atol=0.02)
    np.testing.assert_allclose(x[y == 0].std(axis=0), [0.3, 0.3], rtol=0.03)


@pytest.mark.parametrize("kwargs, argument", [({"n": 1}, "n"), ({"n": 2.5}, "n"), ({"noise": -0.1}, "noise"),
                                              ({"seed": -1}, "seed"), ({"seed": "a"}, "seed")])
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        datasets.moons(**kwargs)


def test_real_datasets_shapes():
    pytest.importorskip("sklearn")
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and set(np.unique(y)) == set(range(10)) and x.max() == 16
    x, y = datasets.load_breast_cancer()
    assert x.shape == (569, 30) and set(np.unique(y)) == {0.0, 1.0}
    x, y = datasets.load_diabetes()
    assert x.shape == (442, 10) and y.shape == (442,)


def test_missing_sklearn_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    with pytest.raises(ImportError, match=r"pip install microgradx\[datasets\]"):
        datasets.load_digits()


def test_train_test_split():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.3, seed=1)
    assert len(x_test) == 3 and len(x_train) == 7
    np.testing.assert_array_equal(x_train[:, 0] / 2, y_train)  # rows stay paired with their labels
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    again = datasets.train_test_split(x, y, test_size=0.3, seed=1)
    np.testing.assert_array_equal(again[1], x_test)
    assert len(datasets.train_test_split(x, y, test_size=4)[1]) == 4
    with pytest.raises(ValueError, match="test_size"):
        datasets.train_test_split(x, y, test_size=1.5)
    with pytest.raises(ValueError, match="same number of samples"):
        datasets.train_test_split(x, y[:5])
