"""Losses against Keras 3.15.1 (tests/data/keras_golden.json), closed forms, central differences, PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradx as mgx
from microgradx import losses
from microgradx.losses import (EPSILON, BinaryCrossentropy, CategoricalCrossentropy, Hinge, MeanAbsoluteError,
                               MeanSquaredError, SparseCategoricalCrossentropy)

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _golden_keys():
    import json
    import pathlib
    data = json.loads((pathlib.Path(__file__).parent / "data" / "keras_golden.json").read_text())
    return list(data["binary_crossentropy"]["cases"])


def _values(array):
    """Object array of Values -> the Values, float arrays unchanged."""
    return np.vectorize(lambda x: mgx.Value(float(x)), otypes=[object])(np.asarray(array, dtype=np.float64))


# ------------------------------------------------------------------------------ the lecture's numbers
def test_lecture_binary_crossentropy_example():
    # J = -1/n sum y log f + (1 - y) log(1 - f) over f = [0.1, 0.8, 0.6], y = [1, 0, 1]
    expected = -(math.log(0.1) + math.log(1 - 0.8) + math.log(0.6)) / 3
    got = BinaryCrossentropy()(np.array([[1.0], [0.0], [1.0]]), np.array([[0.1], [0.8], [0.6]]))
    assert float(got) == pytest.approx(expected, rel=1e-14)
    assert float(got) == pytest.approx(1.4742829, abs=1e-7)


def test_lecture_mean_squared_error_example():
    # J = 1/n sum (y - f)^2 = (60^2 + 60^2 + 0) / 3
    got = MeanSquaredError()(np.array([[90.0], [20.0], [85.0]]), np.array([[30.0], [80.0], [85.0]]))
    assert float(got) == 2400.0
    assert losses.get("mse")([90.0, 20.0, 85.0], [30.0, 80.0, 85.0]) == 2400.0   # one rank-1 sample


# ---------------------------------------------------------------------------- BCE vs Keras goldens
def _bce_cases(keras_golden, key):
    case = keras_golden["binary_crossentropy"]["cases"][key]
    inputs = case["inputs"]
    ls = float(key.split("label_smoothing=")[1])
    return case, inputs, ls


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("key", _golden_keys())
def test_binary_crossentropy_every_reduction_matches_keras(keras_golden, key, dtype):
    case, inputs, ls = _bce_cases(keras_golden, key)
    y_true = np.array(inputs["y_true"], dtype=dtype)
    y_pred = np.array(inputs["y_pred"], dtype=dtype)
    keras = case[dtype]
    exact = case["exact_float64_numpy_reference"]
    per_sample = losses.binary_crossentropy(y_true, y_pred, from_logits=inputs["from_logits"], label_smoothing=ls)
    assert np.asarray(per_sample).dtype == np.dtype(dtype)
    np.testing.assert_allclose(np.ravel(per_sample), keras["per_sample_function_binary_crossentropy"],
                               rtol=1e-6, atol=1e-9)
    checked = 0
    for reduction in REDUCTIONS:
        for weighted in (False, True):
            name = f"reduction={reduction}" + (",sample_weight" if weighted else "")
            if name not in keras:
                continue
            loss = BinaryCrossentropy(from_logits=inputs["from_logits"], label_smoothing=ls, reduction=reduction)
            weight = np.array(inputs["sample_weight"], dtype=dtype) if weighted else None
            got = loss(y_true, y_pred, sample_weight=weight)
            assert np.asarray(got).dtype == np.dtype(dtype), name
            np.testing.assert_allclose(got, keras[name], rtol=1e-6, atol=1e-9, err_msg=name)
            if dtype == "float64":
                np.testing.assert_allclose(got, exact[name], rtol=1e-12, atol=1e-15, err_msg=name)
            checked += 1
    assert checked >= 6


def test_reduction_auto_is_rejected_like_keras(keras_golden):
    assert keras_golden["binary_crossentropy"]["reduction='auto'"].startswith("ValueError")
    with pytest.raises(ValueError, match="reduction=auto|reduction='auto'"):
        BinaryCrossentropy(reduction="auto")


def test_binary_crossentropy_keras_docstring_example():
    y_true = [[0.0, 1.0], [0.0, 0.0]]
    logits = [[-18.6, 0.51], [2.94, -12.8]]
    assert float(BinaryCrossentropy(from_logits=True)(y_true, logits)) == pytest.approx(0.86546, abs=1e-5)
    assert float(BinaryCrossentropy(from_logits=True)(y_true, logits, sample_weight=[0.8, 0.2])) == \
        pytest.approx(0.24364, abs=1e-5)
    assert float(BinaryCrossentropy(from_logits=True, reduction="sum")(y_true, logits)) == \
        pytest.approx(1.73092, abs=1e-5)
    np.testing.assert_allclose(BinaryCrossentropy(from_logits=True, reduction=None)(y_true, logits),
                               [0.23516, 1.49576], atol=1e-5)


def test_binary_crossentropy_logits_formula_is_stable_and_unclipped():
    # max(x, 0) - x y + log(1 + exp(-|x|)): logit 1000 with label 0 costs 1000 (sigmoid+log would give inf)
    loss = BinaryCrossentropy(from_logits=True, reduction=None)
    got = loss(np.array([[0.0], [1.0]]), np.array([[1000.0], [-1000.0]]))
    np.testing.assert_allclose(got, [1000.0, 1000.0], rtol=1e-15)


def test_clip_epsilon_is_the_documented_keras_constant():
    assert EPSILON == 1e-7
    got = BinaryCrossentropy(reduction=None)(np.array([[0.0]]), np.array([[1.0]]))
    assert float(got[0]) == pytest.approx(-math.log(1e-7), rel=1e-9)      # float64: 16.118
    got32 = BinaryCrossentropy(reduction=None)(np.array([[0.0]], np.float32), np.array([[1.0]], np.float32))
    assert float(got32[0]) == pytest.approx(-math.log(1 - float(np.float32(1) - np.float32(1e-7))), rel=1e-6)


# --------------------------------------------------------------------------- the other losses
def test_mean_squared_error_matches_keras(keras_golden):
    g = keras_golden["other_losses"]["MeanSquaredError"]
    for reduction in REDUCTIONS:
        for weighted in (False, True):
            name = f"reduction={reduction}" + (",sample_weight" if weighted else "")
            got = MeanSquaredError(reduction=reduction)(np.array(g["y_true"]), np.array(g["y_pred"]),
                                                        sample_weight=g["sample_weight"] if weighted else None)
            np.testing.assert_allclose(got, g[name], rtol=1e-6, err_msg=name)
    # the per-element weight gotcha: (2,) losses broadcast along the last axis of (2, 2) weights, / 4
    got = MeanSquaredError()(np.array(g["y_true"]), np.array(g["y_pred"]), sample_weight=[[1.0, 0.0], [0.5, 0.5]])
    assert float(got) == pytest.approx(g["per_element_sample_weight_2x2"], rel=1e-6)
    assert float(got) == pytest.approx((0.145 * 1 + 0.4 * 0 + 0.145 * 0.5 + 0.4 * 0.5) / 4, rel=1e-12)


def test_categorical_crossentropy_matches_keras(keras_golden):
    g = keras_golden["other_losses"]["CategoricalCrossentropy"]
    for from_logits in (False, True):
        y_pred = np.array(g["y_pred_logits" if from_logits else "y_pred_probs"])
        for ls in (0.0, 0.1):
            for reduction in ("sum_over_batch_size", "sum", "none"):
                name = f"from_logits={from_logits},label_smoothing={ls},reduction={reduction}"
                loss = CategoricalCrossentropy(from_logits=from_logits, label_smoothing=ls, reduction=reduction)
                np.testing.assert_allclose(loss(np.array(g["y_true"]), y_pred), g[name], rtol=1e-6, err_msg=name)
    key = next(k for k in g if k.startswith("unnormalised_probs"))
    got = CategoricalCrossentropy(reduction=None)(np.array(g["y_true"]), np.array([[1.0, 3.0, 0.0], [2.0, 2.0, 4.0]]))
    np.testing.assert_allclose(got, g[key], rtol=1e-6)
    np.testing.assert_allclose(got, [-math.log(0.75), -math.log(0.5)], rtol=1e-12)   # renormalised first


def test_sparse_categorical_crossentropy_matches_keras(keras_golden):
    g = keras_golden["other_losses"]["SparseCategoricalCrossentropy"]
    cce = keras_golden["other_losses"]["CategoricalCrossentropy"]
    for from_logits in (False, True):
        y_pred = np.array(cce["y_pred_logits" if from_logits else "y_pred_probs"])
        for reduction in ("sum_over_batch_size", "sum", "none"):
            name = f"from_logits={from_logits},reduction={reduction}"
            loss = SparseCategoricalCrossentropy(from_logits=from_logits, reduction=reduction)
            np.testing.assert_allclose(loss(np.array(g["y_true"]), y_pred), g[name], rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(loss(np.array(g["y_true"])[:, None], y_pred), g[name], rtol=1e-6)


def test_sparse_categorical_ignore_class_masks_out_of_the_mean():
    # Keras: ignored samples get loss 0 and the mean divides by (valid + EPSILON) instead of the batch size.
    # (keras_golden.json's "ignore_class=2" value 0.5724 was recorded on inputs it does not list: Keras
    # 3.15.1 gives 0.14293 on y_true=[1, 2] with these logits, which this closed form reproduces.)
    logits = np.array([[1.0, 3.0, -1.0], [0.5, 2.0, 0.1], [0.0, 0.0, 0.0]])
    labels = np.array([1, 2, 0])
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    kept = [-log_softmax[0, 1], -log_softmax[2, 0]]
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    assert float(loss(labels, logits)) == pytest.approx(sum(kept) * 3 / (2 + EPSILON) / 3, rel=1e-12)
    none = SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction=None)(labels, logits)
    np.testing.assert_allclose(none, [kept[0], 0.0, kept[1]], rtol=1e-12)
    summed = SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction="sum")(labels, logits)
    assert float(summed) == pytest.approx(sum(kept), rel=1e-12)
    # an ignored label may be outside [0, K): -1 is a common padding value
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=None)
    np.testing.assert_allclose(loss([1, -1], logits[:2]), [-log_softmax[0, 1], 0.0], rtol=1e-12)


def test_torch_cross_entropy_agrees_on_logits():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    ours = float(SparseCategoricalCrossentropy(from_logits=True)(labels, logits))
    theirs = float(torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)))
    assert ours == pytest.approx(theirs, rel=1e-12)
    y = rng.integers(0, 2, size=(5, 3)).astype(float)
    ours = float(BinaryCrossentropy(from_logits=True)(y, logits[:, :3]))
    theirs = float(torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(logits[:, :3]), torch.tensor(y)))
    assert ours == pytest.approx(theirs, rel=1e-12)   # equal: every sample has the same number of elements


def test_hinge_converts_binary_labels_and_matches_the_closed_form():
    pred = np.array([[0.3], [-2.0], [0.5]])
    # labels {0, 1} -> {-1, 1}: max(1 - y p, 0) = [0.7, 0, 1.5]
    assert float(Hinge()(np.array([[1.0], [0.0], [0.0]]), pred)) == pytest.approx((0.7 + 0.0 + 1.5) / 3)
    assert float(Hinge()(np.array([[1.0], [-1.0], [-1.0]]), pred)) == pytest.approx((0.7 + 0.0 + 1.5) / 3)
    with pytest.raises(ValueError, match="y_true"):
        Hinge()(np.array([[1.0], [0.0], [-1.0]]), pred)
    with pytest.raises(ValueError, match="y_true"):
        Hinge()(np.array([[2.0], [0.0], [1.0]]), pred)


def test_mean_absolute_error_closed_form():
    got = MeanAbsoluteError(reduction=None)(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.5, 3.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(got, [0.75, 0.5])


# ------------------------------------------------------------------------- reduction mechanics
def test_rank_alignment_and_sample_weight_shapes():
    y, p = np.array([0.0, 1.0, 1.0]), np.array([[0.2], [0.7], [0.4]])
    column = BinaryCrossentropy(reduction=None)(y[:, None], p)
    np.testing.assert_allclose(BinaryCrossentropy(reduction=None)(y, p), column)     # (N,) vs (N, 1)
    np.testing.assert_allclose(BinaryCrossentropy(reduction=None)(y[:, None], p[:, 0]), column)
    w = np.array([1.0, 2.0, 0.0])
    expected = float(np.sum(column * w) / 3)
    assert float(BinaryCrossentropy()(y[:, None], p, sample_weight=w)) == pytest.approx(expected, rel=1e-14)
    assert float(BinaryCrossentropy()(y[:, None], p, sample_weight=w[:, None])) == pytest.approx(expected, rel=1e-14)
    mean_w = BinaryCrossentropy(reduction="mean_with_sample_weight")(y[:, None], p, sample_weight=w)
    assert float(mean_w) == pytest.approx(np.sum(column * w) / 3.0, rel=1e-14)   # sum w = 3
    zero = BinaryCrossentropy(reduction="mean_with_sample_weight")(y[:, None], p, sample_weight=np.zeros(3))
    assert float(zero) == 0.0                                                   # divide_no_nan: 0 / 0 = 0


def test_float_dtypes_are_kept():
    for dtype in (np.float32, np.float64):
        y, p = np.array([[1.0], [0.0]], dtype), np.array([[0.8], [0.3]], dtype)
        for loss in (BinaryCrossentropy(), MeanSquaredError(), Hinge(), MeanAbsoluteError()):
            assert np.asarray(loss(y, p)).dtype == dtype
    assert np.asarray(MeanSquaredError()([[1]], [[3]])).dtype == np.float64   # ints become float64


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, message", [
    (lambda: BinaryCrossentropy()([[0.0, 1.0]], [[0.5, 0.5, 0.5]]), r"y_true.shape=\(1, 2\).*y_pred.shape=\(1, 3\)"),
    (lambda: BinaryCrossentropy()([[2.0]], [[0.5]]), r"y_true must be in \[0, 1\]"),
    (lambda: BinaryCrossentropy()([[1.0]], [[math.nan]]), "non-finite"),
    (lambda: MeanSquaredError()([[1.0]], [[math.inf]]), "non-finite"),
    (lambda: SparseCategoricalCrossentropy()([0.5], [[0.5, 0.5]]), "integer class indices"),
    (lambda: SparseCategoricalCrossentropy()([2], [[0.5, 0.5]]), r"\[0, 2\)"),
    (lambda: SparseCategoricalCrossentropy()([0, 1, 1], [[0.5, 0.5]]), r"y_true must have shape \(1,\)"),
    (lambda: CategoricalCrossentropy()([[0.0, 1.0]], [[-0.5, 1.5]]), "from_logits=True"),
    (lambda: BinaryCrossentropy(label_smoothing=1.5), "label_smoothing"),
    (lambda: MeanSquaredError(reduction="average"), "reduction"),
    (lambda: BinaryCrossentropy()([[1.0], [0.0]], [[0.5], [0.5]], sample_weight=[1.0, 2.0, 3.0]), "sample_weight"),
    (lambda: BinaryCrossentropy()([[1.0]], [[0.5]], sample_weight=[math.nan]), "sample_weight"),
])
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="y_pred"):
        MeanSquaredError()([[1.0]], np.array([["a"]]))
    with pytest.raises(TypeError, match="loss identifier"):
        losses.get(3)


# ---------------------------------------------------------------------------------- lookup
def test_get_resolves_keras_names_and_objects():
    for name, cls in [("binary_crossentropy", BinaryCrossentropy), ("bce", BinaryCrossentropy),
                      ("mse", MeanSquaredError), ("mean_squared_error", MeanSquaredError),
                      ("categorical_crossentropy", CategoricalCrossentropy),
                      ("sparse_categorical_crossentropy", SparseCategoricalCrossentropy), ("hinge", Hinge),
                      ("mae", MeanAbsoluteError), ("BinaryCrossentropy", BinaryCrossentropy)]:
        assert type(losses.get(name)) is cls
    loss = BinaryCrossentropy(from_logits=True)
    assert losses.get(loss) is loss and losses.get(None) is None
    rebuilt = losses.get({"class_name": "BinaryCrossentropy", "config": loss.get_config()})
    assert rebuilt.get_config() == loss.get_config() and rebuilt.from_logits
    with pytest.raises(ValueError, match="binary_crossentropy.*hinge.*mse"):
        losses.get("cross_entropy")


def test_kind_and_config_for_the_engines():
    kinds = {BinaryCrossentropy: "binary_crossentropy", MeanSquaredError: "mean_squared_error",
             CategoricalCrossentropy: "categorical_crossentropy", Hinge: "hinge",
             SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
             MeanAbsoluteError: "mean_absolute_error"}
    for cls, kind in kinds.items():
        assert cls().kind == kind and cls().name == kind
    config = BinaryCrossentropy(from_logits=True, label_smoothing=0.1).get_config()
    assert config == {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
                      "label_smoothing": 0.1, "axis": -1}
    assert SparseCategoricalCrossentropy(ignore_class=3).get_config()["ignore_class"] == 3


# ------------------------------------------------------------------------- Value graphs
VALUE_CASES = [
    ("bce_probs", lambda r: BinaryCrossentropy(label_smoothing=0.1, reduction=r),
     np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([[0.2, 0.7], [0.9, 0.4], [0.55, 0.3]])),
    ("bce_logits", lambda r: BinaryCrossentropy(from_logits=True, reduction=r),
     np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([[-1.2, 0.7], [2.0, -0.4], [0.5, 3.0]])),
    ("mse", lambda r: MeanSquaredError(reduction=r),
     np.array([[0.5], [1.0], [-2.0]]), np.array([[0.3], [1.7], [-1.0]])),
    ("mae", lambda r: MeanAbsoluteError(reduction=r),
     np.array([[0.5], [1.0], [-2.0]]), np.array([[0.3], [1.7], [-1.0]])),
    ("hinge", lambda r: Hinge(reduction=r), np.array([[1.0], [0.0], [1.0]]), np.array([[0.3], [-0.4], [1.6]])),
    ("cce_probs", lambda r: CategoricalCrossentropy(label_smoothing=0.2, reduction=r),
     np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
     np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])),
    ("cce_logits", lambda r: CategoricalCrossentropy(from_logits=True, reduction=r),
     np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
     np.array([[1.0, 3.0, -1.0], [0.5, 2.0, 0.1], [0.0, -1.0, 2.0]])),
    ("scce_logits_ignore", lambda r: SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction=r),
     np.array([1, 2, 0]), np.array([[1.0, 3.0, -1.0], [0.5, 2.0, 0.1], [0.0, -1.0, 2.0]])),
    ("scce_probs", lambda r: SparseCategoricalCrossentropy(reduction=r),
     np.array([1, 2, 0]), np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("name, factory, y_true, y_pred", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_value_graph_equals_numpy_and_backpropagates(name, factory, y_true, y_pred, reduction):
    loss = factory(reduction)
    weight = np.array([0.5, 2.0, 1.0])
    leaves = _values(y_pred)
    out = loss(y_true, leaves, sample_weight=weight)
    assert isinstance(out, mgx.Value)
    expected = float(loss(y_true, y_pred, sample_weight=weight))
    assert out.data == pytest.approx(expected, rel=1e-13, abs=1e-15)
    out.backward()
    grads = np.vectorize(lambda v: v.grad)(leaves)
    # central differences of the NumPy path (float64)
    h = 1e-6
    numeric = np.zeros_like(y_pred)
    for index in np.ndindex(y_pred.shape):
        up, down = y_pred.copy(), y_pred.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (float(loss(y_true, up, weight)) - float(loss(y_true, down, weight))) / (2 * h)
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8)


def test_value_graph_reduction_none_returns_per_sample_values():
    p = _values([[0.8], [0.3]])
    out = BinaryCrossentropy(reduction=None)(np.array([[1.0], [0.0]]), p)
    assert out.shape == (2,) and all(isinstance(v, mgx.Value) for v in out)
    np.testing.assert_allclose([v.data for v in out], [-math.log(0.8), -math.log(0.7)], rtol=1e-15)


def test_value_bce_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    p = np.array([[0.2, 0.7], [0.9, 0.4]])
    leaves = _values(p)
    BinaryCrossentropy()(y, leaves).backward()
    tp = torch.tensor(p, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(tp, torch.tensor(y)).backward()
    np.testing.assert_allclose(np.vectorize(lambda v: v.grad)(leaves), tp.grad.numpy(), rtol=1e-12)


def test_value_graph_shows_the_chain_rule_ops():
    p = mgx.Value(0.8, label="p")
    out = BinaryCrossentropy()(np.array([[1.0]]), np.array([[p]], dtype=object))
    ops = {node.op for node in out.walk()}
    assert {"log", "*"} <= ops and any(op.startswith("clip") for op in ops)
    out.backward()
    assert p.grad == pytest.approx(-1 / 0.8)


@pytest.mark.parametrize("sample_weight, factor", [(None, 1.0), (np.array([2.0]), 2.0), (3.0, 3.0)])
def test_one_sample_of_values_reduces_like_floats(sample_weight, factor):
    # a 1-D y_pred is one sample (Keras): MSE = ((1 - 0.5)**2 + (0 - 0.25)**2) / 2 = 0.15625, times the weight
    leaves = np.array([mgx.Value(0.5), mgx.Value(0.25)], dtype=object)
    out = MeanSquaredError()(np.array([1.0, 0.0]), leaves, sample_weight=sample_weight)
    assert isinstance(out, mgx.Value)
    assert out.data == pytest.approx(0.15625 * factor, rel=1e-15)
    out.backward()
    # d/dp of w * mean((y - p)**2) = w * (p - y) for 2 outputs
    assert [v.grad for v in leaves] == pytest.approx([factor * -0.5, factor * 0.25], rel=1e-15)


class _BothClasses(MeanSquaredError):
    """A loss whose labels' check looks across rows (it needs both labels 0 and 1), recording its checks."""

    def __init__(self):
        super().__init__()
        self.checks = []

    def _check_labels(self, y_true, y_pred_shape):
        super()._check_labels(y_true, y_pred_shape)
        self.checks.append("labels")
        if not (np.any(y_true == 0) and np.any(y_true == 1)):
            raise ValueError("_BothClasses: y_true must hold both 0 and 1")

    def _check_predictions(self, y_pred):
        super()._check_predictions(y_pred)
        self.checks.append("predictions")


def test_a_call_checks_labels_then_predictions_and_unchecked_checks_predictions_only():
    """The two halves of a loss's checks: a call and ``check`` run the labels' half on every label, then the
    predictions' half; ``unchecked`` (labels the model checked once) runs the predictions' half alone, so a
    labels' check across rows holds however the labels are batched (closed form: the mean squared error)."""
    loss, pred = _BothClasses(), np.array([[0.5], [0.25]])
    with pytest.raises(ValueError, match="must hold both 0 and 1"):
        loss.check(np.array([1.0, 1.0]), pred)
    assert loss(np.array([0.0, 1.0]), pred) == pytest.approx((0.25 + 0.5625) / 2)
    assert loss.checks == ["labels", "labels", "predictions"]
    loss.checks.clear()
    assert loss.unchecked(np.array([1.0, 1.0]), pred) == pytest.approx((0.25 + 0.5625) / 2)
    assert loss.checks == ["predictions"]
    model = mgx.Sequential([mgx.layers.Input(shape=(1,)), mgx.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=_BothClasses(), engine="scalar")
    model.fit(np.arange(4.0)[:, None], np.array([0.0, 0.0, 1.0, 1.0]), batch_size=2, shuffle=False, verbose=0)
    model.evaluate(np.arange(4.0)[:, None], np.array([0.0, 0.0, 1.0, 1.0]), batch_size=2, verbose=0)
    with pytest.raises(ValueError, match="must hold both 0 and 1"):
        model.evaluate(np.arange(4.0)[:, None], np.zeros(4), verbose=0)


def test_labels_are_checked_against_the_models_real_output_width():
    """A model without a Dense layer outputs its input's width (3): labels of shape (3,) are refused up front
    with the loss's shape message, where each batch's loss (which trusts that check) would broadcast them."""
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dropout(0.5)])
    model.compile(optimizer="sgd", loss="mse", engine="scalar")
    for compute in (model.evaluate, model.fit, model.compute_gradients):
        with pytest.raises(ValueError, match=r"argument `y`.*MeanSquaredError: y_true and y_pred must have the "
                                             r"same shape .* got y_true.shape=\(3,\) and y_pred.shape=\(3, 3\)"):
            compute(np.ones((3, 3)), np.array([0.0, 1.0, 2.0]))
    assert model.evaluate(np.ones((3, 3)), np.zeros((3, 3)), verbose=0) == pytest.approx(1.0)   # mean (0 - 1)^2


def test_unchecked_refuses_negative_probabilities_with_the_calls_message():
    pred = np.array([[0.5, -0.5], [0.2, 0.8]])
    for loss, labels in ((CategoricalCrossentropy(), np.eye(2)),
                         (SparseCategoricalCrossentropy(), np.array([0.0, 1.0]))):
        for compute in (loss, loss.unchecked):
            with pytest.raises(ValueError, match=rf"^{type(loss).__name__}: probabilities in y_pred must be >= 0 "
                                                 r"\(did you mean from_logits=True\?\)$"):
                compute(labels, pred)
