"""Regularizers against Keras 3: recorded penalties/configs (tests/data/keras_issue11.json, made by
tests/data/record_keras_issue11.py), closed forms, central differences, and real Keras where installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import microgradx as mgx
from microgradx import regularizers

GOLDEN = json.loads((Path(__file__).parent / "data" / "keras_issue11.json").read_text())["regularizers"]
X = np.array(GOLDEN["x"])


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['class_name']}{c['kwargs']}")
def test_penalty_and_config_match_keras(case):
    reg = getattr(regularizers, case["class_name"])(**case["kwargs"])
    assert reg.get_config() == case["config"]
    assert regularizers.serialize(reg) == case["serialized"]
    assert regularizers.get(case["serialized"]) == reg
    value = reg(X)
    assert isinstance(value, np.float64)
    assert value == pytest.approx(case["float64"], rel=1e-15, abs=1e-300)
    value32 = reg(X.astype(np.float32))
    assert isinstance(value32, np.float32)
    assert float(value32) == pytest.approx(case["float32"], rel=1e-6, abs=1e-30)


def test_closed_forms():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert regularizers.L1(0.1)(x) == pytest.approx(0.1 * 6.5)
    assert regularizers.L2(2.0)(np.ones((5, 5))) == 50.0                   # Keras' docstring example
    assert regularizers.L1L2(0.1, 0.2)(x) == pytest.approx(0.1 * 6.5 + 0.2 * 14.25)
    assert regularizers.L1L2()(x) == 0.0


@pytest.mark.parametrize("ident", sorted(GOLDEN["identifiers"]))
def test_get_names_like_keras(ident):
    expected = GOLDEN["identifiers"][ident]
    if "error" in expected:
        with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
            regularizers.get(ident)
    else:
        reg = regularizers.get(ident)
        assert type(reg).__name__ == expected["class_name"]
        assert reg.get_config() == expected["config"]


def test_get_instances_classes_none_and_refusals():
    reg = regularizers.L2(0.3)
    assert regularizers.get(reg) is reg
    assert regularizers.get(None) is None
    assert regularizers.get(regularizers.L1) == regularizers.L1(0.01)
    assert regularizers.get({"class_name": "L1L2", "config": {"l2": 0.5}}) == regularizers.L1L2(0.0, 0.5)
    with pytest.raises(ValueError, match="OrthogonalRegularizer.*not in microgradx"):
        regularizers.get("OrthogonalRegularizer")
    with pytest.raises(ValueError, match="orthogonal_regularizer"):
        regularizers.get({"class_name": "orthogonal_regularizer", "config": {}})
    with pytest.raises(ValueError, match="not arbitrary callables"):
        regularizers.get(lambda w: 0.0)
    with pytest.raises(ValueError, match=r"Unrecognized argument\(s\) for L2: \['factor'\]"):
        regularizers.get({"class_name": "L2", "config": {"factor": 0.1}})
    with pytest.raises(ValueError, match="module='my.module'"):
        regularizers.get({"module": "my.module", "class_name": "L2", "config": {}})


@pytest.mark.parametrize("key", sorted(GOLDEN["validation"]))
def test_validation_like_keras(key):
    value = {"-1.0": -1.0, "nan": math.nan, "inf": math.inf, "'x'": "x", "0": 0, "2": 2}[key]
    expected = GOLDEN["validation"][key]
    if "error" in expected:
        with pytest.raises(ValueError, match=r"Invalid value for argument l2: expected a non-negative float"):
            regularizers.L2(value)
    else:
        assert regularizers.L2(value).get_config() == expected["config"]


def test_bool_factor_is_refused_and_none_means_default():
    with pytest.raises(ValueError, match="l1=True"):
        regularizers.L1(True)
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L2(None).l2 == 0.01
    assert regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


def test_non_finite_or_non_numeric_arrays_raise():
    with pytest.raises(ValueError, match="non-finite"):
        regularizers.L2()(np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="array of numbers"):
        regularizers.L2()(np.array(["a"]))


@pytest.mark.parametrize("reg", [regularizers.L1(0.1), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.2)],
                         ids=repr)
def test_value_graph_gives_the_same_number_and_the_analytic_gradient(reg):
    values = np.array([[mgx.Value(v) for v in row] for row in X], dtype=object)
    penalty = reg(values)
    assert isinstance(penalty, mgx.Value)
    assert penalty.data == pytest.approx(float(reg(X)), rel=1e-15)
    penalty.backward()
    grads = np.vectorize(lambda v: v.grad)(values)
    np.testing.assert_allclose(grads, reg.l1 * np.sign(X) + 2 * reg.l2 * X, rtol=1e-15, atol=0)
    # central differences on the number path (away from the kink of |x| at 0)
    h = 1e-6
    for index in [(0, 0), (1, 3), (2, 1)]:
        up, down = X.copy(), X.copy()
        up[index] += h
        down[index] -= h
        assert grads[index] == pytest.approx((reg(up) - reg(down)) / (2 * h), rel=1e-6)


def test_value_graph_labels_the_factors():
    penalty = regularizers.L1L2(0.1, 0.2)(np.array([mgx.Value(1.0)], dtype=object))
    labels = {v.label for v in penalty.walk() if v.is_leaf and not v.requires_grad}
    assert {"l1", "l2"} <= labels


# ------------------------------------------------------------------------------ live Keras
@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.7), regularizers.L1L2(0.2, 0.05)], ids=repr)
def test_live_keras_agrees(keras, reg):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 7))
    theirs = keras.regularizers.get(regularizers.serialize(reg))
    assert theirs.get_config() == pytest.approx(reg.get_config(), rel=1e-7)   # float32 floatx rounds L1
    expected = float(theirs(keras.ops.convert_to_tensor(x, dtype="float64")))
    assert float(reg(x)) == pytest.approx(expected, rel=1e-7)


def _quartic_penalty(x, l1, l2):
    return l2 * x * x * x * x


def _quartic_gradient(x, l1, two_l2):
    return 2.0 * two_l2 * x * x * x


@pytest.mark.parametrize("engine", ["cpu", "cuda"])
def test_an_array_engine_refuses_two_different_regularizer_rules(engine):
    """The array engines compile one pair of element rules per model: a second, different pair (a custom
    regularizer's) is refused by name rather than silently replaced by the first layer's."""
    from microgradx import layers, models

    class Quartic(regularizers.L2):
        rules = (_quartic_penalty, _quartic_gradient)

    model = models.Sequential([layers.Input(shape=(3,)),
                               layers.Dense(2, kernel_regularizer=regularizers.L2(0.1)),
                               layers.Dense(1, kernel_regularizer=Quartic(0.1))])
    with pytest.raises(ValueError, match=r"one pair of regularizer rules per model.*_quartic_penalty"):
        model.compile(optimizer="sgd", loss="mse", engine=engine)
        model.fit(np.ones((2, 3)), np.zeros(2), verbose=0)
