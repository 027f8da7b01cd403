"""Optimizers never write a NaN/inf into a variable: non-finite gradients and bad learning rates
(callables, schedules) are clear errors naming ``grads[i]`` / ``learning_rate`` and the step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx import Value, layers, utils
from microgradx.models import Sequential
from microgradx.optimizers import SGD, Adam
from microgradx.optimizers.schedules import CosineDecay, ExponentialDecay, PolynomialDecay


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.1), lambda: SGD(0.1, global_clipnorm=1.0),
                                  lambda: SGD(0.1, gradient_accumulation_steps=2)])
def test_apply_with_a_non_finite_gradient_changes_nothing_and_names_it(make, bad):
    optimizer = make()
    w0, w1 = np.array([1.0, 2.0]), np.array([[3.0, 4.0]])
    optimizer.apply([np.zeros(2), np.zeros((1, 2))], [w0, w1])  # build the state with a finite step
    before = [w0.copy(), w1.copy()], [{k: v.copy() for k, v in s.items()} for s in optimizer.slots]
    iterations = optimizer.iterations
    with pytest.raises(ValueError, match=rf"grads\[1\] \(the gradient of variables\[1\], shape \(1, 2\)\) holds a "
                                         rf"non-finite value: {bad} at index \(0, 1\).*no variable changed"):
        optimizer.apply([np.ones(2), np.array([[0.5, bad]])], [w0, w1])
    np.testing.assert_array_equal(w0, before[0][0])
    np.testing.assert_array_equal(w1, before[0][1])
    for slots, old in zip(optimizer.slots, before[1]):
        for name in slots:
            np.testing.assert_array_equal(slots[name], old[name])
    assert optimizer.iterations == iterations
    if optimizer._accumulator is not None:
        assert np.all(optimizer._accumulator == 0)


def test_step_on_values_with_a_nan_grad_is_refused():
    w = Value(1.0)
    w.grad = math.nan
    with pytest.raises(ValueError, match=r"grads\[0\].*nan"):
        SGD(0.1).step([w])
    assert w.data == 1.0


@pytest.mark.parametrize("learning_rate, message", [
    (lambda: math.nan, r"gave nan at step 0"),
    (lambda: math.inf, r"gave inf at step 0"),
    (lambda: -0.1, r"gave -0.1 at step 0"),
    (lambda: "0.1", r"gave '0.1' at step 0"),
    (lambda: None, r"gave None at step 0"),
    (lambda: True, r"gave True at step 0"),
    (lambda: 1 / 0, r"failed at step 0: ZeroDivisionError"),
])
def test_a_callable_learning_rate_with_a_bad_value_is_an_error_at_the_step(learning_rate, message):
    optimizer = SGD(learning_rate)
    w = np.array([1.0])
    with pytest.raises(ValueError, match=rf"`learning_rate` .*{message}"):
        optimizer.apply([np.array([1.0])], [w])
    assert w[0] == 1.0 and optimizer.iterations == 0


def test_a_callable_learning_rate_that_takes_arguments_is_refused_at_construction():
    with pytest.raises(ValueError, match=r"Argument `learning_rate` is a callable that needs arguments \(step\)"):
        SGD(lambda step: 0.1)
    SGD(lambda *args: 0.1)            # callable without arguments: fine
    assert SGD(lambda: np.float32(0.25)).learning_rate == 0.25
    assert SGD(lambda: np.array(0.5)).learning_rate == 0.5


@pytest.mark.parametrize("make, argument", [
    (lambda: ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, 10, -0.5), "decay_rate"),
    (lambda: CosineDecay(0.1, 10, alpha=-2.0), "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_target=-1.0, warmup_steps=2), "warmup_target"),
    (lambda: PolynomialDecay(0.1, 10, power=-1.0), "power"),
    (lambda: PolynomialDecay(0.1, 10, end_learning_rate=-0.01), "end_learning_rate"),
])
def test_schedules_that_would_give_negative_or_non_finite_rates_are_refused_at_construction(make, argument):
    with pytest.raises(ValueError, match=rf"Argument `{argument}` must be >= 0"):
        make()


def test_a_schedule_that_overflows_at_a_later_step_is_an_error_naming_learning_rate_and_the_step():
    """0.1 * 1e300 ** step: finite at steps 0 and 1, beyond the float range at step 2."""
    optimizer = SGD(ExponentialDecay(0.1, 1, 1e300))
    assert optimizer.learning_rate_at(1) == pytest.approx(1e299)
    with pytest.raises(ValueError, match=r"`learning_rate` \(ExponentialDecay\(.*\)\) failed at step 2: OverflowError"):
        optimizer.learning_rate_at(2)


def test_fit_stops_with_the_learning_rate_error_before_the_bad_step():
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    calls = []

    def learning_rate():
        calls.append(1)
        return 0.01 if len(calls) <= 2 else math.nan

    model.compile(optimizer=SGD(learning_rate), loss="mse", engine="cpu")
    x, y = np.ones((8, 2)), np.ones(8)
    with pytest.raises(ValueError, match=r"`learning_rate` .* gave nan at step 2"):
        model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 2 and all(np.all(np.isfinite(w)) for w in model.get_weights())
