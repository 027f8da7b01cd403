"""The scalar engine: every op against float math and central differences, micrograd's published checks,
PyTorch (when installed), bad inputs, deep graphs and gradient accumulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx.engine import Value, sum_values, topological_order, weighted_sum
from microgradx.gradcheck import GradcheckError, gradcheck
from op_table import ALL_SCALAR_CASES, OpCase, central_difference, sample_inputs


# ------------------------------------------------------------------------------ function table
@pytest.mark.parametrize("case", ALL_SCALAR_CASES, ids=lambda c: c.name)
def test_op_forward_and_gradient_match_float_math(case: OpCase) -> None:
    for args in sample_inputs(case):
        leaves = [Value(x) for x in args]
        out = case.value_fn(*leaves)
        assert out.data == pytest.approx(case.float_fn(*args), rel=1e-12, abs=1e-12), (case.name, args)
        out.backward()
        for i, leaf in enumerate(leaves):
            numeric = central_difference(case.float_fn, args, i)
            assert leaf.grad == pytest.approx(numeric, rel=1e-5, abs=1e-6), (case.name, args, i)


def test_function_table_covers_every_engine_op() -> None:
    """Each op string the engine can produce appears in some table row (so a new op cannot go untested)."""
    def kind(op: str) -> str:  # "**2" -> "**k", "clip[-1,1]" -> "clip"
        return "**k" if op.startswith("**") and op != "**" else op.split("[")[0]

    seen: set[str] = set()
    for case in ALL_SCALAR_CASES:
        out = case.value_fn(*[Value(x) for x in sample_inputs(case)[0]])
        seen.update(kind(node.op) for node in topological_order(out))
    expected = {"+", "-", "*", "/", "**", "**k", "neg", "sum", "exp", "log", "log1p", "sqrt", "tanh",
                "sigmoid", "relu", "abs", "softplus", "clip"}
    assert expected <= seen


def test_kinks_use_the_documented_one_sided_derivative() -> None:
    for op, expected in (("relu", 0.0), ("abs", 0.0)):
        x = Value(0.0)
        getattr(x, op)().backward()
        assert x.grad == expected
    x = Value(1.0)  # clip bounds are inside
    x.clip(-1.0, 1.0).backward()
    assert x.grad == 1.0


def test_sum_values_is_one_node_equal_to_the_chain_of_additions() -> None:
    xs = [Value(v) for v in (0.1, 0.2, 0.3, 1e16, -1e16, 0.7)]
    s = sum_values(xs)
    assert s.data == sum(x.data for x in xs)  # same left-to-right rounding as Python's sum
    assert len(s.children) == 6 and s.op == "sum"
    (s * s).backward()
    assert all(x.grad == pytest.approx(2 * s.data) for x in xs)
    with pytest.raises(ValueError, match="at least one"):
        sum_values([])


def test_weighted_sum_builds_the_products_and_one_sum_node() -> None:
    w = [Value(0.1, label="w0"), Value(-2.5, label="w1"), Value(3.0, label="w2")]
    b = Value(0.7, label="b")
    x = [Value(1.5), 2.0, Value(-0.25)]
    z = weighted_sum(w, x, b)
    assert z.op == "sum" and z.children[0] is b and [c.op for c in z.children[1:]] == ["*"] * 3
    assert z.data == 0.7 + 0.1 * 1.5 + -2.5 * 2.0 + 3.0 * -0.25  # left to right, like micrograd
    (z * z).backward()
    assert [wi.grad for wi in w] == pytest.approx([2 * z.data * xi for xi in (1.5, 2.0, -0.25)])
    assert x[0].grad == pytest.approx(2 * z.data * 0.1) and b.grad == pytest.approx(2 * z.data)
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        weighted_sum(w[:2], x, b)


def test_weighted_sum_with_the_bias_last_or_without_a_bias() -> None:
    w = [Value(0.1), Value(-2.5), Value(3.0)]
    b = Value(0.7)
    x = [1.5, 2.0, -0.25]
    last = weighted_sum(w, x, b, bias_last=True)
    assert last.children[-1] is b and [c.op for c in last.children[:-1]] == ["*"] * 3
    assert last.data == 0.1 * 1.5 + -2.5 * 2.0 + 3.0 * -0.25 + 0.7  # x @ W + b, left to right
    plain = weighted_sum(w, x)
    assert len(plain.children) == 3 and plain.data == 0.1 * 1.5 + -2.5 * 2.0 + 3.0 * -0.25
    last.backward()
    assert [wi.grad for wi in w] == x and b.grad == 1.0
    with pytest.raises(ValueError, match="at least one input or a bias"):
        weighted_sum([], [])


# ------------------------------------------------------------------- micrograd's published checks
def _sanity_check(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def _more_ops(a, b):
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_micrograd_sanity_check() -> None:
    x = Value(-4.0)
    y = _sanity_check(x)
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_micrograd_more_ops() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = _more_ops(a, b)
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)


@pytest.mark.torch
def test_published_checks_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    y = _sanity_check(x)
    y.backward()
    xv = Value(-4.0)
    yv = _sanity_check(xv)
    yv.backward()
    assert yv.data == y.item() and xv.grad == x.grad.item()

    a = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    g = _more_ops(a, b)
    g.backward()
    av, bv = Value(-4.0), Value(2.0)
    gv = _more_ops(av, bv)
    gv.backward()
    assert gv.data == pytest.approx(g.item(), abs=1e-10)
    assert av.grad == pytest.approx(a.grad.item(), abs=1e-10)
    assert bv.grad == pytest.approx(b.grad.item(), abs=1e-10)


@pytest.mark.torch
def test_unary_ops_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ops = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
           "relu": torch.relu, "sqrt": torch.sqrt, "log1p": torch.log1p, "abs": torch.abs,
           "softplus": torch.nn.functional.softplus}
    for name, fn in ops.items():
        for x0 in (0.3, 1.7, 2.9):
            t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            fn(t).backward()
            v = Value(x0)
            out = getattr(v, name)()
            out.backward()
            assert out.data == pytest.approx(fn(torch.tensor(x0, dtype=torch.float64)).item(), rel=1e-12)
            assert v.grad == pytest.approx(t.grad.item(), rel=1e-12), name
    a, b = Value(1.3), Value(-0.7)
    (a ** b).backward()
    ta = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-0.7, dtype=torch.float64, requires_grad=True)
    (ta ** tb).backward()
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), rel=1e-12)


# --------------------------------------------------------------------------- reflected, pow, numpy
def test_reflected_operators_give_values_with_the_right_numbers() -> None:
    v = Value(4.0)
    cases = {"3 + v": (3 + v, 7.0, 1.0), "3 - v": (3 - v, -1.0, -1.0), "3 * v": (3 * v, 12.0, 3.0),
             "2 / v": (2 / v, 0.5, -2 / 16), "2 ** v": (2 ** v, 16.0, 16 * math.log(2))}
    for text, (out, data, grad) in cases.items():
        assert isinstance(out, Value), text
        v.grad = 0.0
        out.backward()
        assert out.data == pytest.approx(data) and v.grad == pytest.approx(grad), text


def test_numpy_scalars_defer_to_value() -> None:
    v = Value(2.0)
    out = np.float64(3.0) * v
    assert isinstance(out, Value) and out.data == 6.0
    assert isinstance(Value(np.float32(1.5)).data, float)


def test_value_exponent_derivatives() -> None:
    a, b = Value(2.0), Value(3.0)
    out = a ** b
    out.backward()
    assert out.data == 8.0
    assert a.grad == pytest.approx(3 * 2.0 ** 2)  # b a**(b-1)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))  # a**b ln a
    z, e = Value(0.0), Value(2.0)
    (z ** e).backward()  # a = 0, b > 0: d/db is the limit 0
    assert (z.grad, e.grad) == (0.0, 0.0)


def test_a_plus_a_keeps_both_edges() -> None:
    a = Value(3.0)
    out = a + a
    assert out.children == (a, a)
    out.backward()
    assert a.grad == 2.0


def test_ids_are_increasing_counters() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a + b
    assert a.id < b.id < c.id


def test_comparisons_mark_compared() -> None:
    a, b = Value(1.0), Value(2.0)
    assert a < b and not (a > b) and a <= 1.0 and b >= 2
    assert a.compared and b.compared
    c = Value(0.0)
    assert not c.compared


# ---------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("bad", ["1.0", None, [1.0], True, 1j])
def test_non_number_data_raises_type_error_naming_data(bad) -> None:
    with pytest.raises(TypeError, match="data"):
        Value(bad)


@pytest.mark.parametrize("big", [10**400, -(10**400), 2**1024], ids=["10**400", "-10**400", "2**1024"])
def test_integer_beyond_the_float_range_is_rejected_naming_data(big) -> None:
    with pytest.raises(OverflowError, match=r"Value data must be a finite number, got an integer of \d+ bits"):
        Value(big)


def test_weighted_sum_names_a_weight_that_is_not_a_value() -> None:
    with pytest.raises(TypeError, match=r"argument `weights` must hold Values.*got 0.5 of type float at index 1"):
        weighted_sum([Value(1.0), 0.5], [Value(1.0), Value(2.0)])
    with pytest.raises(TypeError, match=r"argument `bias` must be a Value or None, got 2.0"):
        weighted_sum([Value(1.0)], [1.0], bias=2.0)


def test_non_number_exponent_raises_type_error() -> None:
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** "2"


@pytest.mark.parametrize("make, error, match", [
    (lambda: Value(0.0).log(), ValueError, "log"),
    (lambda: Value(-1.0).log(), ValueError, "log"),
    (lambda: Value(-1.0).log1p(), ValueError, "log1p"),
    (lambda: Value(-1.0).sqrt(), ValueError, "sqrt"),
    (lambda: Value(0.0).sqrt(), ZeroDivisionError, "sqrt"),
    (lambda: Value(0.0) ** -1, ZeroDivisionError, "pow"),
    (lambda: Value(0.0) ** 0.5, ZeroDivisionError, "infinite"),
    (lambda: Value(-2.0) ** 0.5, ValueError, "pow"),
    (lambda: Value(-2.0) ** Value(2.0), ValueError, "pow"),
    (lambda: Value(1.0) / 0, ZeroDivisionError, "division by zero"),
    (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, "division by zero"),
    (lambda: 1.0 / Value(0.0), ZeroDivisionError, "division by zero"),
    (lambda: Value(1000.0).exp(), OverflowError, "exp"),
    (lambda: Value(1.0).clip(2.0, 1.0), ValueError, "clip"),
    (lambda: Value(1.0).clip(math.nan, 2.0), ValueError, r"clip: bounds must be numbers .* low=nan, high=2.0"),
    (lambda: Value(1.0) ** math.nan, ValueError, r"exponent must be a finite number, got nan"),
    (lambda: Value(2.0) ** math.inf, ValueError, r"exponent must be a finite number, got inf"),
])
def test_domain_errors_name_the_operation(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


# ------------------------------------------------------------------------ backward behaviour
def test_chain_of_100000_nodes_backward_without_recursion_limit() -> None:
    x = Value(1.0)
    y = x
    factor = 1.00001
    for _ in range(100_000):
        y = y * factor
    y.backward(record=False)
    assert y.data == pytest.approx(factor ** 100_000, rel=1e-9)
    assert x.grad == pytest.approx(factor ** 100_000, rel=1e-9)


def test_backward_twice_doubles_leaf_grads_and_resets_intermediates() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    out = c.tanh()
    out.backward()
    first = (a.grad, b.grad, c.grad)
    out.backward()
    assert (a.grad, b.grad) == pytest.approx((2 * first[0], 2 * first[1]))
    assert c.grad == pytest.approx(first[2])  # intermediate: this pass's gradient
    assert first[0] == pytest.approx(-3.0 * (1 - math.tanh(-6.0) ** 2))


def test_backward_returns_a_trace_with_one_step_per_edge() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = a * b + a
    trace = out.backward()
    assert len(trace) == 4  # two edges into "+", two into "*"
    assert "a" in str(trace) and "contribution" in str(trace)
    assert out.backward(record=False) is None


# ------------------------------------------------------------------------------------ gradcheck
def test_gradcheck_passes_on_a_correct_graph() -> None:
    report = gradcheck(lambda x, y: (x * y).tanh() + x.exp() / y, Value(0.3, label="x"), 1.7)
    assert report.ok
    text = str(report)
    assert "PASSED" in text and "x" in text and "analytic" in text
    assert [r.name for r in report.rows] == ["x", "x1"]


def test_gradcheck_catches_a_wrong_local_derivative() -> None:
    def broken(a: Value) -> Value:  # forward a**3, but claims local derivative 2a (wrong: 3a**2)
        return Value(a.data ** 3, _children=(a,), _op="cube", _local_grads=(2 * a.data,))

    report = gradcheck(broken, 1.5)
    assert not report.ok
    assert report.rows[0].numeric == pytest.approx(3 * 1.5 ** 2, rel=1e-6)
    assert "FAIL" in str(report)
    with pytest.raises(GradcheckError, match="FAILED"):
        gradcheck(broken, 1.5, raise_on_failure=True)


def test_gradcheck_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda x: x, 1.0, eps=0.0)
    with pytest.raises(ValueError, match="at least one"):
        gradcheck(lambda: Value(1.0))
    with pytest.raises(TypeError, match="return a Value"):
        gradcheck(lambda x: 1.0, 1.0)


def test_op_strings_carry_exact_constants() -> None:
    v = Value(2.0)
    assert (v ** 2).op == "**2" and v.clip(-1.0, 1.0).op == "clip[-1,1]"
    third = (v ** (1 / 3)).op
    assert float(third[2:]) == 1 / 3  # round-trips: a tape compiler can read the exponent back
    low, high = v.clip(-0.1, 1 / 7).op[5:-1].split(",")
    assert (float(low), float(high)) == (-0.1, 1 / 7)


@pytest.mark.parametrize("bad, error", [(math.nan, ValueError), (math.inf, OverflowError),
                                        (-math.inf, OverflowError)])
def test_non_finite_data_is_rejected_naming_the_value(bad, error) -> None:
    with pytest.raises(error, match=rf"finite number, got {bad!r} for 'x'"):
        Value(bad, "x")


@pytest.mark.parametrize("make, op", [
    (lambda: Value(1e308) * Value(10.0), "'\\*' on 1e\\+308, 10.0 gives inf"),
    (lambda: Value(1e308) + 1e308, "'\\+' on 1e\\+308, 1e\\+308 gives inf"),
    (lambda: Value(-1e308) - 1e308, "gives -inf"),
])
def test_overflowing_op_raises_instead_of_returning_inf(make, op) -> None:
    with pytest.raises(OverflowError, match=op):
        make()
