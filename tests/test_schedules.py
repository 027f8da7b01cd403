"""Learning-rate schedules: Keras' goldens and closed forms from keras-semantics.md §1.0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx.optimizers import (SGD, CosineDecay, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                   PolynomialDecay, schedules)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_matches_keras(keras_golden, staircase):
    key = f"SGD,ExponentialDecay(0.1,decay_steps=2,decay_rate=0.5,staircase={staircase})"
    case = keras_golden["optimizer_base_options"]["cases"][key]
    schedule = ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=staircase)
    got = [schedule(step) for step in range(6)]
    np.testing.assert_allclose(got, case["learning_rate_used"], rtol=1e-15)
    np.testing.assert_allclose(got, case["schedule_values_step0_to_5"], rtol=1e-7)   # Keras: float32
    expected = [0.1 * 0.5 ** ((s // 2) if staircase else (s / 2)) for s in range(6)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_inverse_time_decay_closed_form():
    schedule = InverseTimeDecay(1.0, decay_steps=4, decay_rate=0.5)
    assert [schedule(s) for s in (0, 4, 8)] == pytest.approx([1.0, 1 / 1.5, 1 / 2.0])
    stair = InverseTimeDecay(1.0, decay_steps=4, decay_rate=0.5, staircase=True)
    assert [stair(s) for s in (3, 4, 7)] == pytest.approx([1.0, 1 / 1.5, 1 / 1.5])


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_piece():
    schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [schedule(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="1 less than the length of values"):
        PiecewiseConstantDecay([10], [1.0])
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseConstantDecay([10, 5], [1.0, 0.5, 0.1])


def test_cosine_decay_closed_form_and_warmup():
    schedule = CosineDecay(1.0, decay_steps=10, alpha=0.1)
    for step in (0, 3, 10, 50):
        d = min(step, 10)
        assert schedule(step) == pytest.approx(0.9 * 0.5 * (1 + math.cos(math.pi * d / 10)) + 0.1, rel=1e-14)
    warm = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
    assert [warm(s) for s in (0, 1, 4)] == pytest.approx([0.0, 0.2, 0.8])
    assert warm(5) == pytest.approx(1.0) and warm(15) == pytest.approx(0.0, abs=1e-15)
    assert warm(10) == pytest.approx(0.5)


def test_polynomial_decay_with_and_without_cycle():
    schedule = PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=2.0)
    assert [schedule(s) for s in (0, 5, 10, 20)] == pytest.approx([1.0, 0.25, 0.0, 0.0])
    cycle = PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=1.0, cycle=True)
    # D grows to D ceil(step / D): at step 15, D = 20 -> 1 - 15/20
    assert [cycle(s) for s in (0, 10, 15)] == pytest.approx([1.0, 0.0, 0.25])


def test_schedule_validation_and_serialization():
    with pytest.raises(ValueError, match="decay_steps"):
        ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="step"):
        ExponentialDecay(0.1, 2, 0.5)(-1)
    original = CosineDecay(0.5, 100, alpha=0.01, warmup_target=1.0, warmup_steps=10)
    restored = schedules.deserialize(schedules.serialize(original))
    assert type(restored) is CosineDecay and restored.get_config() == original.get_config()
    with pytest.raises(ValueError, match="Unknown"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_optimizer_uses_the_raw_step_counter():
    # rates at calls 0, 1, 2 are schedule(0), schedule(1), schedule(2): w = -(1 + 0.5 + 0.25) after 3 steps
    opt = SGD(PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25]))
    w = np.array([0.0])
    for _ in range(3):
        opt.apply([np.array([1.0])], [w])
    assert w[0] == pytest.approx(-1.75)
