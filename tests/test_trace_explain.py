"""Trace and explain invariants: contributions add up to gradients, path products add up to gradients,
against closed forms and central differences; diamonds; exploding path counts stay fast."""

from __future__ import annotations

import math
import time

import pytest

from microgradx.engine import Value, sum_values
from microgradx.explain import explain
from microgradx.nn import MLP
from op_table import central_difference


def _lecture_net():
    """The lecture's picture: x -> z1 = w1 x -> y = tanh(z1) -> r = y - 1 -> J = r**2 (closed forms below)."""
    x = Value(0.5, label="x")
    w1 = Value(0.8, label="w1", requires_grad=True)
    z1 = x * w1
    z1.label = "z1"
    y = z1.tanh()
    y.label = "y"
    r = y - 1.0
    r.label = "r"
    J = r ** 2
    J.label = "J"
    return x, w1, z1, y, J


def test_trace_steps_follow_the_chain_rule_and_contributions_sum_to_grads() -> None:
    a, b = Value(1.5, label="a"), Value(-2.0, label="b")
    c = a * b
    d = c + a  # a reaches d twice: through c and directly
    e = d.sigmoid() * a
    trace = e.backward()
    for leaf in (a, b):
        assert sum(s.contribution for s in trace.into(leaf)) == pytest.approx(leaf.grad, rel=1e-15)
    for s in trace:
        assert s.contribution == s.local * s.upstream
        assert s.upstream == s.node.grad  # complete by the time its gradient is pushed
    # closed form: e = sigmoid(ab + a) * a
    sig = 1 / (1 + math.exp(-(1.5 * -2.0 + 1.5)))
    assert a.grad == pytest.approx(sig * (1 - sig) * (-2.0 + 1) * 1.5 + sig)
    assert b.grad == pytest.approx(sig * (1 - sig) * 1.5 * 1.5)
    assert len(trace) == 7  # edges: 2 into c, 2 into d, 1 into sigmoid, 2 into e
    # steps are in the order performed: a node's step never precedes the steps into it
    first_push = {}
    for s in trace:
        first_push.setdefault(s.node.id, s.index)
    for s in trace:
        if s.target.id in first_push:
            assert s.index < first_push[s.target.id]


def test_trace_step_target_is_the_input_pushed_to() -> None:
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = w * x
    steps = list(y.backward())
    assert [s.target for s in steps] == [w, x]           # y = w * x pushes into w, then x
    assert [s.local for s in steps] == [2.0, -3.0]       # dy/dw = x, dy/dx = w
    assert not hasattr(steps[0], "input")                # no field shadows the builtin ``input``


def test_trace_table_lists_labels_and_truncates_long_traces() -> None:
    x = Value(0.1, label="x0")
    y = x
    for _ in range(100):
        y = y * 1.01
    trace = y.backward()
    table = trace.table(max_rows=10)
    assert "x0" in table and "(190 steps)" in table
    assert len(table.splitlines()) == 2 + 10 + 1


def test_explain_single_path_uses_lecture_notation_with_numbers() -> None:
    x, w1, z1, y, J = _lecture_net()
    e = explain(J, w1)
    t = math.tanh(0.4)
    dJ_dr, dr_dy, dy_dz1, dz1_dw1 = 2 * (t - 1), 1.0, 1 - t * t, 0.5
    assert e.count == 1 and len(e.paths) == 1
    p = e.paths[0]
    assert [n.name for n in p.nodes] == ["J", "r", "y", "z1", "w1"]
    assert p.local_grads == pytest.approx((dJ_dr, dr_dy, dy_dz1, dz1_dw1))
    assert e.total == pytest.approx(dJ_dr * dr_dy * dy_dz1 * dz1_dw1)
    text = str(e)
    assert text == (f"dJ/dw1 = dJ/dr * dr/dy * dy/dz1 * dz1/dw1 = ({dJ_dr:.4g}) * (1) * ({dy_dz1:.4g}) * (0.5)"
                    f" = {e.total:.4g}")
    J.backward()
    assert w1.grad == pytest.approx(e.total, rel=1e-14)


def test_explain_path_sum_equals_grad_with_shared_subexpressions_and_diamonds() -> None:
    a = Value(0.7, label="a")
    b = Value(-1.2, label="b")
    s = a * b                      # shared by both branches: a diamond
    top = s.tanh() + s.exp() * a   # a also enters directly
    root = top * top               # the same node twice (a + a style edge pair)
    e = explain(root, a)

    def f(av: float, bv: float) -> float:
        sv = av * bv
        return (math.tanh(sv) + math.exp(sv) * av) ** 2

    numeric = central_difference(f, (0.7, -1.2), 0)
    assert e.count == 6  # 2 (root's two edges) x 3 (tanh branch, exp branch, direct a)
    assert sum(p.product for p in e.paths) == pytest.approx(e.total, rel=1e-15)
    assert e.total == pytest.approx(numeric, rel=1e-6)
    root.backward()
    assert a.grad == pytest.approx(e.total, rel=1e-12)
    assert "6 paths" in str(e)


def test_explain_a_plus_a_has_two_paths() -> None:
    a = Value(3.0, label="a")
    e = explain(a + a, a)
    assert e.count == 2 and [p.positions for p in e.paths] == [(0,), (1,)] and e.total == 2.0


def test_explain_unrelated_node_and_root_itself() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    out = a * 3.0
    out.label = "out"
    assert explain(out, b).total == 0.0 and "does not depend" in str(explain(out, b))
    assert explain(out, out).total == 1.0


def test_exploding_paths_are_counted_and_grouped_fast() -> None:
    x = Value(0.3, label="x")
    h = x
    depth = 200  # every level doubles the number of paths: 3 * 2**199 paths
    for _ in range(depth):
        h = (h * 0.5).tanh() + h * 0.5
    start = time.perf_counter()
    e = explain(h, x, max_paths=50)
    elapsed = time.perf_counter() - start
    assert e.count == 2 ** depth
    assert e.grouped and e.paths == []
    assert elapsed < 30.0  # not a benchmark: enumerating 2**200 paths would never finish (~10 ms here)
    assert sum(g.count for g in e.groups) == e.count
    h.backward()
    assert e.total == pytest.approx(x.grad, rel=1e-12)
    # closed form: h' = tanh(h/2) + h/2, so dh'/dh = (1 - tanh(h/2)**2) / 2 + 1/2; chain it by hand
    value, slope = 0.3, 1.0
    for _ in range(depth):
        slope *= 0.5 * (1.0 - math.tanh(0.5 * value) ** 2) + 0.5
        value = math.tanh(0.5 * value) + 0.5 * value
    assert h.data == pytest.approx(value, rel=1e-12)
    assert e.total == pytest.approx(slope, rel=1e-12)
    assert "too many to list" in str(e)


def _all_paths(node: Value, wrt: Value) -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
    """Every path from ``node`` down to ``wrt`` as (positions, local derivatives), by plain recursion."""
    if node is wrt:
        return [((), ())]
    return [((i, *positions), (local, *locals_))
            for i, (child, local) in enumerate(zip(node.children, node.local_grads))
            for positions, locals_ in _all_paths(child, wrt)]


def test_listed_paths_are_every_path_in_depth_first_order() -> None:
    a, b = Value(0.7, label="a"), Value(-1.2, label="b")
    s = a * b
    graphs = [(s.tanh() + s.exp() * a) ** 2, a + a, (a * a + a) * (a - b), sum_values([a, s, a * 2.0, s.relu()])]
    for root in graphs:
        e = explain(root, a, max_paths=1000)
        assert [(p.positions, p.local_grads) for p in e.paths] == _all_paths(root, a)
        assert all(p.nodes[0] is root and p.nodes[-1] is a and len(p.nodes) == len(p.positions) + 1
                   for p in e.paths)


def test_explaining_a_long_chain_is_linear_in_its_depth() -> None:
    """A chain of 250,000 nodes: linear work takes a few seconds; the quadratic path copying of the past
    (26 s for 100,000 nodes, so more than 150 s here) cannot fit the generous bound. Not a benchmark:
    benchmarks/bench_scalar.py prints the ratio of two depths."""
    x = Value(0.5, label="x")
    h = x
    for _ in range(250_000):
        h = h * 1.0000001
    start = time.perf_counter()
    e = explain(h, x)
    elapsed = time.perf_counter() - start
    assert e.count == 1 and len(e.paths[0].nodes) == 250_001
    assert e.total == pytest.approx(1.0000001 ** 250_000, rel=1e-9)
    assert elapsed < 60.0


def test_grouped_explanation_of_an_mlp_weight_matches_backward_and_central_differences() -> None:
    model = MLP(2, [4, 4, 1], activation="tanh", seed=3)
    w = model.layers[0].neurons[1].w[0]
    xs = [0.4, -0.9]

    def loss_at(wv: float) -> float:
        saved = w.data
        w.data = wv
        out = model(xs).data
        w.data = saved
        return out

    out = model(xs)
    e = explain(out, w, max_paths=2)
    assert e.count == 4 and e.grouped  # through each of the 4 second-layer neurons
    out.backward()
    assert e.total == pytest.approx(w.grad, rel=1e-12)
    numeric = (loss_at(w.data + 1e-6) - loss_at(w.data - 1e-6)) / 2e-6
    assert e.total == pytest.approx(numeric, rel=1e-6)
    e_full = explain(out, w, max_paths=10)
    assert not e_full.grouped and len(e_full.paths) == 4
    assert sum(p.product for p in e_full.paths) == pytest.approx(e.total, rel=1e-12)


def test_explain_works_through_nary_sum() -> None:
    a, b = Value(2.0, label="a"), Value(5.0, label="b")
    s = sum_values([a * b, a, b * b])
    e = explain(s, b)
    assert e.total == pytest.approx(2.0 + 2 * 5.0)
    assert e.count == 3


def test_explain_rejects_bad_arguments() -> None:
    a = Value(1.0)
    with pytest.raises(TypeError, match="Values"):
        explain(a, 1.0)
    with pytest.raises(ValueError, match="max_paths"):
        explain(a, a, max_paths=0)
