"""Accuracy kernels against hand-counted cases."""

import numpy as np

from microgradx.kernels.metrics import binary_correct, categorical_correct, sparse_categorical_correct


def test_binary_correct_threshold_is_strict():
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]])
    pred = np.array([[0.9], [0.5], [0.5], [0.2]])  # 0.5 is not > 0.5: predicted 0
    assert binary_correct(y_true, pred, 0.5) == 2.0 + 1.0 - 0.0  # rows 0, 1, 3 right


def test_binary_correct_averages_over_last_axis():
    y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
    pred = np.array([[0.7, 0.7], [0.6, 0.9]])
    assert binary_correct(y_true, pred, 0.5) == 0.5 + 1.0


def test_categorical_and_sparse_correct():
    pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
    labels = np.array([1, 1, 2, 0])
    assert sparse_categorical_correct(labels, pred) == 2.0
    assert categorical_correct(np.eye(3)[labels], pred) == 2.0


def test_argmax_ties_take_the_first_maximum():
    pred = np.array([[0.4, 0.4, 0.2]])
    assert sparse_categorical_correct(np.array([0]), pred) == 1.0
    assert sparse_categorical_correct(np.array([1]), pred) == 0.0
