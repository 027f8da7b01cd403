"""The compiled tape (``microgradx.compile_tape``) against the interpreted graph and closed forms.

Oracles: the interpreted ``Value`` engine rebuilt for every sample (an independent implementation of
the same formulas), central differences of the op table's float functions, the closed form of the
trace and the Graphviz source of the interpreted graph. Never the tape's own output.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from microgradx.engine import Value, sum_values
from microgradx.tape import OP_CODES, Tape, compile_tape

from op_table import ALL_SCALAR_CASES, central_difference, sample_inputs

REL = 1e-12  # same formulas in the same order: only libm rounding may differ


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def test_op_codes_match_the_kernels():
    from microgradx.kernels import tape as kernels

    names = {"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV", "**const": "POW_CONST", "**": "POW",
             "neg": "NEG", "exp": "EXP", "log": "LOG", "log1p": "LOG1P", "sqrt": "SQRT", "tanh": "TANH",
             "sigmoid": "SIGMOID", "relu": "RELU", "abs": "ABS", "softplus": "SOFTPLUS", "clip": "CLIP"}
    assert {op: getattr(kernels, f"OP_{name}") for op, name in names.items()} == OP_CODES


# ------------------------------------------------------------------ op table
@pytest.mark.parametrize("case", ALL_SCALAR_CASES, ids=[case.name for case in ALL_SCALAR_CASES])
def test_op_table_equals_interpreted_graph(case):
    points = sample_inputs(case)
    leaves = [Value(v, label=f"a{k}") for k, v in enumerate(points[0])]
    tape = compile_tape(case.value_fn(*leaves), inputs=leaves)
    for point in points:
        fresh = [Value(v, label=f"a{k}") for k, v in enumerate(point)]
        root = case.value_fn(*fresh)
        root.backward()
        result = tape.run(point)
        assert close(result.value, root.data), (point, result.value, root.data)
        assert close(result.value, case.float_fn(*point), 1e-10)
        for k, leaf in enumerate(fresh):
            assert close(result.input_grads[k], leaf.grad), (point, k, result.input_grads[k], leaf.grad)
            numeric = central_difference(case.float_fn, point, k)
            assert abs(result.input_grads[k] - numeric) <= 1e-5 * max(1.0, abs(numeric))
    # the batch of all points gives the same per-sample values and input gradients
    batch = tape.batch(np.array(points), reduce="sum")
    for s, point in enumerate(points):
        assert close(batch.outputs[s], case.float_fn(*point), 1e-10)
    assert close(batch.value, math.fsum(case.float_fn(*point) for point in points), 1e-10)


def test_clip_bounds_and_value_exponent():
    x, e = Value(0.3, "x"), Value(2.5, "e")
    tape = compile_tape((x ** e).clip(0.25, 4.0) * x ** 3 - 1.5 ** x, inputs=[x, e])
    for xv, ev in [(0.3, 2.5), (1.5, 2.5), (1.2, 0.5), (2.0, 1.0)]:
        a, b = Value(xv, "x"), Value(ev, "e")
        root = (a ** b).clip(0.25, 4.0) * a ** 3 - 1.5 ** a
        root.backward()
        result = tape.run([xv, ev])
        assert close(result.value, root.data)
        assert close(result.input_grads[0], a.grad) and close(result.input_grads[1], b.grad)


def test_non_round_constants_are_replayed_exactly():
    x = Value(2.0, "x")
    tape = compile_tape((x ** (1 / 3)).clip(-0.1, 1 / 7) + x ** math.pi, inputs=[x])
    for v in (0.001, 0.2, 3.0):
        a = Value(v, "x")
        root = (a ** (1 / 3)).clip(-0.1, 1 / 7) + a ** math.pi
        root.backward()
        result = tape.run([v])
        assert close(result.value, root.data) and close(result.input_grads[0], a.grad)


# --------------------------------------------------------- random graphs, shared subexpressions
def random_graph(leaves: list[Value], seed: int, size: int = 40) -> Value:
    """A random DAG over ``leaves`` whose ops stay in their domains; nodes are reused (shared)."""
    rng = random.Random(seed)
    nodes = list(leaves)
    unary = [lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: a.relu(), lambda a: abs(a),
             lambda a: a.softplus(), lambda a: (a.tanh() * 2).exp(), lambda a: (abs(a) + 1).log(),
             lambda a: (a * a + 1).sqrt(), lambda a: a ** 2, lambda a: -a, lambda a: a.clip(-0.5, 0.7),
             lambda a: (abs(a) + 0.5) ** 1.5, lambda a: a.sigmoid().log1p()]
    binary = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
              lambda a, b: a / (abs(b) + 1), lambda a, b: (a.sigmoid() + 0.5) ** b.tanh(),
              lambda a, b: sum_values([a, b, a * 0.5])]
    for _ in range(size):
        a = rng.choice(nodes[-8:] + nodes)  # favour recent nodes: deep chains with reuse
        if rng.random() < 0.5:
            node = rng.choice(unary)(a)
        else:
            node = rng.choice(binary)(a, rng.choice(nodes))
        nodes.append(node)
    return sum_values(nodes[-5:] + [nodes[len(leaves)]]) * 0.3


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_equal_interpreted(seed):
    rng = np.random.default_rng(seed)
    params0 = rng.normal(size=3)

    def build(x):
        xs = [Value(v, label=f"x{k}") for k, v in enumerate(x)]
        ps = [Value(v, label=f"p{k}", requires_grad=True) for k, v in enumerate(params0)]
        return random_graph(xs + ps, seed), xs, ps

    root, xs, ps = build(rng.normal(size=3))
    tape = compile_tape(root, inputs=xs, params=ps)
    samples = rng.normal(size=(20, 3))
    grad_sum = np.zeros(3)
    for x in samples:
        fresh, fxs, fps = build(x)
        fresh.backward()
        result = tape.run(x)
        assert close(result.value, fresh.data)
        for k in range(3):
            assert close(result.input_grads[k], fxs[k].grad)
            assert close(result.grads[k], fps[k].grad)
        grad_sum += [p.grad for p in fps]
    batch = tape.batch(samples, reduce="sum")
    np.testing.assert_allclose(batch.grads, grad_sum, rtol=1e-11, atol=1e-12)


def test_shared_subexpression_and_repeated_operand():
    x, w = Value(0.7, "x"), Value(-1.3, "w", requires_grad=True)
    h = (x * w).tanh()               # used three times, and twice by the same node
    root = h * h + h.exp() + sum_values([h])
    tape = compile_tape(root, inputs=[x])
    t = math.tanh(0.7 * -1.3)
    dt = 1 - t * t
    # closed form: d/dh (h^2 + e^h + h) = 2h + e^h + 1
    result = tape.run([0.7])
    assert close(result.value, t * t + math.exp(t) + t)
    assert close(result.grads[0], (2 * t + math.exp(t) + 1) * dt * 0.7)
    assert close(result.input_grads[0], (2 * t + math.exp(t) + 1) * dt * -1.3)


# ------------------------------------------------------------------- batches
@pytest.fixture(scope="module")
def mlp_tape():
    nn = pytest.importorskip("microgradx.nn")
    model = nn.MLP(2, [6, 5, 1], seed=3)
    x1, x2, y = Value(0.0, "x1"), Value(0.0, "x2"), Value(0.0, "y")
    loss = (1 + -y * model([x1, x2])).relu()
    return model, compile_tape(loss, inputs=[x1, x2, y], params=model.parameters())


def moons(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = np.where(x[:, 0] * x[:, 1] + 0.3 * rng.normal(size=n) > 0, 1.0, -1.0)
    return np.column_stack([x, y])


def test_batch_equals_loop_over_samples(mlp_tape):
    _, tape = mlp_tape
    data = moons(70, 0)
    loop = [tape.run(row) for row in data]
    for reduce, scale in (("sum", 1.0), ("mean", 1 / 70)):
        batch = tape.batch(data, reduce=reduce)
        assert close(batch.value, math.fsum(r.value for r in loop) * scale)
        expected = np.sum([r.grads for r in loop], axis=0) * scale
        np.testing.assert_allclose(batch.grads, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(batch.outputs, [r.value for r in loop])
    np.testing.assert_array_equal(batch.input_grads, [r.input_grads for r in loop])


def test_batch_is_independent_of_thread_count(mlp_tape):
    _, tape = mlp_tape
    data = moons(1000, 1)
    results = [tape.batch(data, threads=t) for t in (1, 2, 3)]
    for other in results[1:]:
        assert other.value == results[0].value
        np.testing.assert_array_equal(other.grads, results[0].grads)


def test_batch_inputs_as_dict_and_predict(mlp_tape):
    model, tape = mlp_tape
    data = moons(5, 2)
    by_name = tape.batch({"x1": data[:, 0], "x2": data[:, 1], "y": data[:, 2]})
    by_column = tape.batch(data)
    assert by_name.value == by_column.value
    scores = [model([Value(a), Value(b)]).data for a, b in data[:, :2]]
    np.testing.assert_allclose(tape.predict(data), np.maximum(0.0, 1 - data[:, 2] * scores),
                               rtol=1e-12, atol=1e-15)


# -------------------------------------------------------------------- errors
def test_unsupported_op_names_op_and_node():
    x = Value(1.0, "x")
    odd = Value(2.0, _children=(x,), _op="foo", _local_grads=(1.0,))
    with pytest.raises(ValueError, match=r"unsupported op 'foo' at node 'v\d+'"):
        compile_tape(odd * 2, inputs=[x])


def test_compared_node_is_refused():
    x = Value(1.0, "x")
    h = (x * 3).tanh()
    h.label = "h"
    out = h * 2 if h > 0 else h * -2  # the graph's shape depended on h's value
    with pytest.raises(ValueError, match=r"node 'h' \(op 'tanh'\) was compared"):
        compile_tape(out, inputs=[x])


def test_input_errors_name_the_input():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    tape = compile_tape(x * y + 1, inputs=[x, y])
    with pytest.raises(ValueError, match=r"expected 2 input values \(x, y\), got 3"):
        tape.run([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\) with columns \['x', 'y'\]"):
        tape.batch(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="input 'y' has 3 samples, expected 4"):
        tape.batch({"x": np.zeros(4), "y": np.zeros(3)})
    with pytest.raises(ValueError, match="input 'y' is missing"):
        tape.batch({"x": np.zeros(4)})
    with pytest.raises(ValueError, match="input 'y' of sample 1 is nan"):
        tape.batch(np.array([[1.0, 2.0], [1.0, np.nan]]))
    with pytest.raises(ValueError, match="input 'h' is not a leaf"):
        h = x * y
        h.label = "h"
        compile_tape(h + 1, inputs=[h])
    with pytest.raises(ValueError, match=r"params must have shape \(0,\)"):
        tape.run([1.0, 2.0], params=np.zeros(2))
    with pytest.raises(ValueError, match="reduce must be one of"):
        tape.batch(np.zeros((1, 2)), reduce="max")


def test_argument_errors_name_the_argument():
    x, w = Value(1.0, "x"), Value(2.0, "w", requires_grad=True)
    tape = compile_tape((w * x) ** 2, inputs=[x], params=[w])
    with pytest.raises(TypeError, match=r"Tape.run: argument `inputs` must be a sequence of 1 numbers \(x\).*got 3.0"):
        tape.run(3.0)
    with pytest.raises(TypeError, match=r"Tape.fit: argument `optimizer` must be an optimizer.*got None"):
        tape.fit(np.ones((4, 1)), None)
    assert tape.params.tolist() == [2.0]  # refused before any step


@pytest.mark.parametrize("empty", [np.zeros((0, 1)), {"x": []}])
def test_batch_of_zero_samples_raises(empty):
    x, w = Value(1.0, "x"), Value(2.0, "w", requires_grad=True)
    tape = compile_tape((w * x) ** 2, inputs=[x], params=[w])
    with pytest.raises(ValueError, match="argument `inputs` holds 0 samples"):
        tape.batch(empty)
    with pytest.raises(ValueError, match="0 samples"):
        tape.fit(empty, lambda step, params, grads: None)


def test_unused_input_and_parameter_get_zero_gradient():
    x, z = Value(1.0, "x"), Value(0.0, "z")
    w, unused = Value(3.0, "w", requires_grad=True), Value(5.0, "u", requires_grad=True)
    tape = compile_tape(w * x, inputs=[x, z], params=[unused, w])
    result = tape.run([2.0, 7.0])
    assert result.value == 6.0
    assert list(result.grads) == [0.0, 2.0] and list(result.input_grads) == [3.0, 0.0]
    assert list(tape.batch(np.array([[2.0, 7.0], [1.0, 1.0]]), reduce="sum").grads) == [0.0, 3.0]


def test_log_of_negative_raises_naming_node_and_sample():
    x = Value(2.0, "x")
    lg = (x - 1).log()
    lg.label = "lg"
    tape = compile_tape(lg * 2, inputs=[x])
    with pytest.raises(ValueError, match=r"log of non-positive number -1.5 at node 'lg' \(op 'log'\)"):
        tape.run([-0.5])
    with pytest.raises(ValueError, match=r"log of non-positive number 0.0 at node 'lg'.*sample 2"):
        tape.batch(np.array([[3.0], [2.0], [1.0], [0.0]]))


@pytest.mark.parametrize("build, bad, error", [
    (lambda x: 1 / x, 0.0, ZeroDivisionError),
    (lambda x: x.sqrt(), -1.0, ValueError),
    (lambda x: x.sqrt(), 0.0, ZeroDivisionError),
    (lambda x: x.log1p(), -1.0, ValueError),
    (lambda x: x ** 0.5, -2.0, ValueError),
    (lambda x: x ** -1, 0.0, ZeroDivisionError),
    (lambda x: x ** 0.5, 0.0, ZeroDivisionError),
    (lambda x: x ** Value(2.0), -1.0, ValueError),
    (lambda x: x.exp(), 800.0, OverflowError),
])
def test_domain_errors_match_the_engine(build, bad, error):
    x = Value(3.0, "x")
    x.label = "x"
    tape = compile_tape(build(x), inputs=[x])
    with pytest.raises(error):  # the oracle: the interpreted op raises the same kind of error
        build(Value(bad))
    with pytest.raises(error, match=r"node 'v\d+' \(op '[^']+'\)"):
        tape.run([bad])


def test_overflow_never_becomes_silent_inf_or_nan():
    x = Value(1e-300, "x")
    root = (x * 1e300 * 1e300 - x * 1e300 * 1e300) * 0.5
    tape = compile_tape(root, inputs=[x])
    with pytest.raises(OverflowError, match=r"op '\*' on 2e\+300, 1e\+300 gives inf"):  # interpreted
        Value(2.0) * 1e300 * 1e300
    with pytest.raises(OverflowError, match=r"node 'v\d+' \(op '\*'\) overflows"):
        tape.run([2.0])
    assert root.data == 0.0 and tape.run([1e-300], grad=False).value == 0.0
    with pytest.raises(OverflowError, match=r"gradient reaching node 'x' \(op 'leaf'\) overflows"):
        tape.run([1e-300])  # d/dx = 1e600 - 1e600: the gradient overflows first
    with pytest.raises(OverflowError, match=r"gradient reaching node 'x' \(op 'leaf'\) overflows"):
        root.backward()  # the interpreted engine says the same


# ------------------------------------------------------------ explainability
def test_trace_and_drawing_equal_the_interpreted_graph():
    graph = pytest.importorskip("microgradx.viz.graph")
    nn = pytest.importorskip("microgradx.nn")
    model = nn.MLP(2, [3, 1], seed=5)
    x1, x2 = Value(0.0, "x1"), Value(0.0, "x2")
    tape = compile_tape(model([x1, x2]).tanh(), inputs=[x1, x2], params=model.parameters())
    sample = [0.4, -1.1]
    trace = tape.trace(sample)
    dot = graph.draw_graph(tape.to_graph(sample)).source

    model.zero_grad()
    root = model([Value(sample[0], "x1"), Value(sample[1], "x2")]).tanh()
    expected = root.backward()
    assert len(trace) == len(expected)
    for got, want in zip(trace, expected):
        assert (got.node.op, got.target.op, got.target.label, got.position) == \
            (want.node.op, want.target.op, want.target.label, want.position)
        for field in ("local", "upstream", "contribution", "grad_after"):
            assert close(getattr(got, field), getattr(want, field))
    assert dot == graph.draw_graph(root).source


# ------------------------------------------------------------------ training
def hinge_graph(model, x, y):
    return (1 + -y * model(x)).relu()


def interpreted_step(model, data, lr, alpha):
    """micrograd's demo step: full-batch mean hinge + alpha * sum(p^2), then SGD on every p."""
    losses = [hinge_graph(model, [Value(a), Value(b)], float(y)) for a, b, y in data]
    total = sum_values(losses) * (1.0 / len(losses)) + alpha * sum_values([p * p for p in model.parameters()])
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data


def test_mlp_trained_through_tape_matches_interpreted_sgd():
    nn = pytest.importorskip("microgradx.nn")
    data, alpha, steps = moons(24, 4), 1e-4, 4
    reference = nn.MLP(2, [5, 4, 1], seed=11)
    expected_losses = [interpreted_step(reference, data, 1.0 - 0.9 * k / 100, alpha) for k in range(steps)]

    model = nn.MLP(2, [5, 4, 1], seed=11)
    x1, x2, y = Value(0.0, "x1"), Value(0.0, "x2"), Value(0.0, "y")
    params = model.parameters()
    tape = compile_tape(hinge_graph(model, [x1, x2], y), inputs=[x1, x2, y], params=params)
    reg = compile_tape(alpha * sum_values([p * p for p in params]), params=params)

    def sgd(step, values, grads):
        values -= (1.0 - 0.9 * step / 100) * grads

    losses = tape.fit(data, sgd, steps=steps, regularizer=reg)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)
    np.testing.assert_allclose([p.data for p in params], [p.data for p in reference.parameters()],
                               rtol=0, atol=1e-9)


def test_fit_with_the_shared_sgd_optimizer():
    nn = pytest.importorskip("microgradx.nn")
    optimizers = pytest.importorskip("microgradx.optimizers")
    if not hasattr(optimizers, "SGD"):
        pytest.skip("microgradx.optimizers.SGD not available yet")
    data = moons(16, 6)
    reference = nn.MLP(2, [4, 1], seed=2)
    for _ in range(3):
        interpreted_step(reference, data, 0.1, 0.0)
    model = nn.MLP(2, [4, 1], seed=2)
    x1, x2, y = Value(0.0, "x1"), Value(0.0, "x2"), Value(0.0, "y")
    tape = compile_tape(hinge_graph(model, [x1, x2], y), inputs=[x1, x2, y], params=model.parameters())
    tape.fit(data, optimizers.SGD(learning_rate=0.1), steps=2)
    opt = optimizers.SGD(learning_rate=0.1)          # the same update by hand: opt.apply on the views
    _, grads = tape.batch(data)
    opt.apply([grads], tape.parameters)
    assert tape.parameters[0] is tape.params
    tape.write_back()
    np.testing.assert_allclose([p.data for p in model.parameters()],
                               [p.data for p in reference.parameters()], rtol=0, atol=1e-9)


def test_fit_drives_keras_callbacks_and_early_stopping_restores_the_best_step():
    """Each step is an epoch for the shared callbacks. Oracle: the closed form of gradient descent on
    J(w) = mean((w*x - y)^2) with x = 1, y = 0, i.e. J = w^2 and w <- w - lr * 2w = (1 - 2 lr) w.
    With lr = 1.5 the factor is -2: |w| doubles every step, so the loss before step k is 4^k w0^2;
    EarlyStopping(monitor="loss", patience=1) then stops after step 1 and restores the weights the
    model had at the end of the best epoch (step 0), w0 * (-2)."""
    from microgradx.callbacks import EarlyStopping, History
    from microgradx.optimizers import SGD

    w, x, y = Value(0.75, "w", requires_grad=True), Value(0.0, "x"), Value(0.0, "y")
    tape = compile_tape((w * x - y) ** 2, inputs=[x, y])
    history = History()
    stopper = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    data = np.array([[1.0, 0.0]])
    losses = tape.fit(data, SGD(learning_rate=1.5), steps=10, callbacks=[history, stopper],
                      validation_data=np.array([[2.0, 0.0]]))
    assert losses == pytest.approx([0.75 ** 2, 4 * 0.75 ** 2])            # stopped after two steps
    assert history.epoch == [0, 1] and history.history["loss"] == pytest.approx(losses)
    # val_loss is logged after each update: (2 w_k+1)^2 with w_1 = -1.5, w_2 = 3
    assert history.history["val_loss"] == pytest.approx([(2 * -1.5) ** 2, (2 * 3.0) ** 2])
    assert stopper.stopped_epoch == 1 and stopper.best_epoch == 0
    assert tape.params.tolist() == [-1.5] and w.data == -1.5               # restored and written back
    with pytest.raises(ValueError, match="Tape.set_weights"):
        tape.set_weights([np.zeros(3)])


def test_default_parameters_and_write_back():
    a, b = Value(1.5, "a"), Value(-2.0, "b")
    x = Value(0.5, "x")
    tape = compile_tape((a * x + b) ** 2, inputs=[x])  # no requires_grad: labelled leaves are params
    assert isinstance(tape, Tape) and tape.param_names == ["a", "b"]
    value, grads = tape.run([0.5])
    r = 1.5 * 0.5 - 2.0
    assert close(value, r * r) and close(grads[0], 2 * r * 0.5) and close(grads[1], 2 * r)
    tape.params -= 0.1 * grads
    tape.write_back()
    assert close(a.data, 1.5 - 0.1 * 2 * r * 0.5) and close(b.data, -2.0 - 0.1 * 2 * r)
