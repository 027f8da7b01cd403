"""The scalar engine: gradients against central differences and PyTorch; the engine contract."""

from __future__ import annotations

import os

import numpy as np
import pytest

from microgradx import layers, optimizers, utils
from microgradx.engine import Value
from microgradx.engines import ENGINE_NAMES, get_engine
from microgradx.engines.base import Engine, dropout_scale, resolve_noise_shape
from microgradx.engines.scalar import ScalarEngine
from microgradx.models import Sequential

RNG = np.random.default_rng(1234)


def _model(activation_hidden: str, activation_out: str, units_out: int, loss, dropout: float = 0.0,
           seed: int = 0) -> Sequential:
    utils.set_random_seed(seed)
    stack: list = [layers.Input(shape=(3,)), layers.Dense(4, activation=activation_hidden)]
    if dropout:
        stack.append(layers.Dropout(dropout, seed=5))
    stack.append(layers.Dense(units_out, activation=activation_out))
    model = Sequential(stack)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss=loss, engine="scalar")
    return model


def _numpy_loss(model: Sequential, weights, x, y, training=False, step=0):
    """The loss recomputed with NumPy from the layers' reference forward (float64)."""
    out = x
    position = 0
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            out = layer.forward(out, weights[position], weights[position + 1])
            position += 2
        elif training:
            out = out * dropout_scale(layer.rate, layer.seed, step, layer.noise_shape, out.shape)
    return float(model.loss(y, out))


CASES = [
    ("tanh", "sigmoid", 1, "binary_crossentropy"),
    ("relu", "linear", 2, "mse"),
    ("sigmoid", "softmax", 3, "categorical_crossentropy"),
    ("tanh", "softmax", 3, "sparse_categorical_crossentropy"),
]


def _labels(units_out: int, loss: str, n: int) -> np.ndarray:
    if loss == "binary_crossentropy":
        return RNG.integers(0, 2, size=(n, 1)).astype(float)
    if loss == "categorical_crossentropy":
        return np.eye(units_out)[RNG.integers(0, units_out, size=n)]
    if loss == "sparse_categorical_crossentropy":
        return RNG.integers(0, units_out, size=n).astype(float)
    return RNG.normal(size=(n, units_out))


@pytest.mark.parametrize("hidden, out, units, loss", CASES)
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_gradients_match_central_differences(hidden, out, units, loss, dropout):
    model = _model(hidden, out, units, loss, dropout)
    x = RNG.normal(size=(5, 3))
    y = _labels(units, loss, 5)
    before = model.get_weights()
    value, grads = model.compute_gradients(x, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # weights unchanged
    assert value == pytest.approx(_numpy_loss(model, before, x, y, training=True), rel=1e-12)
    h = 1e-6
    for k, w in enumerate(before):
        for index in np.ndindex(w.shape):
            plus = [v.copy() for v in before]
            minus = [v.copy() for v in before]
            plus[k][index] += h
            minus[k][index] -= h
            numeric = (_numpy_loss(model, plus, x, y, True) - _numpy_loss(model, minus, x, y, True)) / (2 * h)
            assert grads[k][index] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (k, index)


@pytest.mark.torch
@pytest.mark.parametrize("hidden, out, units, loss", CASES)
def test_gradients_match_pytorch(hidden, out, units, loss):
    torch = pytest.importorskip("torch")
    model = _model(hidden, out, units, loss, dropout=0.5)
    x = RNG.normal(size=(6, 3))
    y = _labels(units, loss, 6)
    weights = model.get_weights()
    value, grads = model.compute_gradients(x, y)

    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z,
            "softmax": lambda z: torch.softmax(z, dim=-1)}
    mask = dropout_scale(0.5, model.layers[1].seed, 0, None, (6, 4))  # the documented hash-RNG mask
    h = acts[hidden](torch.tensor(x) @ params[0] + params[1]) * torch.tensor(mask)
    p = acts[out](h @ params[2] + params[3])
    eps = 1e-7
    if loss == "binary_crossentropy":
        pc = p.clamp(eps, 1 - eps)
        t = torch.tensor(y)
        torch_loss = -(t * torch.log(pc) + (1 - t) * torch.log(1 - pc)).mean()
    elif loss == "mse":
        torch_loss = ((p - torch.tensor(y)) ** 2).mean()
    elif loss == "categorical_crossentropy":
        pc = (p / p.sum(-1, keepdim=True)).clamp(eps, 1 - eps)
        torch_loss = -(torch.tensor(y) * torch.log(pc)).sum(-1).mean()
    else:
        pc = (p / p.sum(-1, keepdim=True)).clamp(eps, 1 - eps)
        torch_loss = torch.nn.functional.nll_loss(torch.log(pc), torch.tensor(y, dtype=torch.long))
    torch_loss.backward()
    assert value == pytest.approx(torch_loss.item(), rel=1e-12)
    for g, param in zip(grads, params):
        np.testing.assert_allclose(g, param.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_to_graph_leaves_are_labelled_weights_and_backward_matches_central_differences():
    utils.clear_session()
    model = _model("tanh", "sigmoid", 1, "binary_crossentropy")
    x = RNG.normal(size=(2, 3))
    y = np.array([[1.0], [0.0]])
    graph = model.to_graph(x, y)
    assert isinstance(graph, Value)
    leaves = {v.label: v for v in graph.walk() if v.requires_grad}
    expected = {f"dense/kernel[{i},{j}]" for i in range(3) for j in range(4)} | \
               {f"dense/bias[{j}]" for j in range(4)} | {f"dense_1/kernel[{j},0]" for j in range(4)} | {"dense_1/bias[0]"}
    assert set(leaves) == expected
    assert {v.label for v in graph.walk() if v.is_leaf and not v.requires_grad} >= {"x[0,0]", "x[1,2]"}
    graph.backward()
    weights = model.get_weights()
    h = 1e-6
    plus = [w.copy() for w in weights]
    minus = [w.copy() for w in weights]
    plus[2][1, 0] += h
    minus[2][1, 0] -= h
    numeric = (_numpy_loss(model, plus, x, y) - _numpy_loss(model, minus, x, y)) / (2 * h)
    assert leaves["dense_1/kernel[1,0]"].grad == pytest.approx(numeric, rel=1e-6)
    assert graph.data == pytest.approx(_numpy_loss(model, weights, x, y), rel=1e-12)


def test_a_dense_unit_is_one_sum_node_over_its_products_and_bias():
    """z[i,k] = x[i,0] w[0,k] + x[i,1] w[1,k] + b[k]: one ``sum`` node whose inputs are the two ``*`` nodes and
    the bias leaf, with the number NumPy computes (added left to right, bias last)."""
    from microgradx.engines.scalar import dense_values, input_leaves, weight_leaves

    model = Sequential([layers.Input(shape=(2,)), layers.Dense(3)])
    kernel, bias = np.array([[0.5, -1.0, 2.0], [0.25, 3.0, -0.5]]), np.array([0.1, -0.2, 0.3])
    x = np.array([[1.5, -2.0], [0.5, 4.0]])
    leaves = weight_leaves(model.layers, [kernel, bias])
    z = dense_values(input_leaves(x), leaves[0], leaves[1])
    assert z.shape == (2, 3)
    for i in range(2):
        for k in range(3):
            node = z[i, k]
            assert node.op == "sum" and [c.op for c in node.children] == ["*", "*", ""]
            assert node.children[-1].label == f"{model.layers[0].name}/bias[{k}]"
            assert node.data == x[i, 0] * kernel[0, k] + x[i, 1] * kernel[1, k] + bias[k]


def test_the_garbage_collector_is_restored_after_a_graph_even_when_it_fails():
    """The engine pauses Python's cyclic collector while it builds a graph, and always restores it."""
    import gc

    model = _model("tanh", "sigmoid", 1, "binary_crossentropy")
    x = RNG.normal(size=(4, 3))
    assert gc.isenabled()
    model.compute_gradients(x, np.array([0.0, 1.0, 1.0, 0.0]))
    assert gc.isenabled()
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 1\], got values from 0\.0 to 2\.0"):
        model.engine.compute_gradients(x, np.array([0.0, 1.0, 2.0, 0.0]))  # a BCE label outside [0, 1]
    assert gc.isenabled()
    gc.disable()
    try:
        model.compute_gradients(x, np.array([0.0, 1.0, 1.0, 0.0]))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_train_step_applies_the_optimizer_rule():
    """One SGD step: w_new = w - lr * grad, with grad from central differences (independent)."""
    model = _model("tanh", "linear", 2, "mse")
    x = RNG.normal(size=(4, 3))
    y = RNG.normal(size=(4, 2))
    before = model.get_weights()
    _, grads = model.compute_gradients(x, y)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.1 * g, rtol=1e-13, atol=1e-15)


def test_non_finite_outputs_give_nan_loss_and_skip_the_update():
    model = _model("relu", "linear", 1, "mse")
    model.set_weights([w * 1e200 for w in model.get_weights()])
    before = model.get_weights()
    loss = model.engine.train_step(np.full((2, 3), 1e200), np.zeros((2, 1)), step=0)
    assert not np.isfinite(loss)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_engine_registry():
    assert ENGINE_NAMES == ("scalar", "cpu", "cuda", "auto")
    assert get_engine("scalar") is ScalarEngine
    assert get_engine("SCALAR") is ScalarEngine
    with pytest.raises(ValueError, match="engine.*'gpu'.*scalar"):
        get_engine("gpu")
    with pytest.raises(TypeError, match="engine"):
        get_engine(3)
    with pytest.raises(TypeError):
        Engine([], None, None)  # abstract


def test_auto_never_picks_the_simulator():
    from microgradx import engines
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or os.environ.get("MICROGRADX_REAL_GPU") == "1"
    if os.environ.get("MICROGRADX_REAL_GPU") != "1":
        assert engines.cuda_available() is False  # tests run in the simulator (conftest)


def test_resolve_noise_shape():
    assert resolve_noise_shape(None, (4, 3)) == (4, 3)
    assert resolve_noise_shape((None, 1), (4, 3)) == (4, 1)
    assert resolve_noise_shape((1, None), (4, 3)) == (1, 3)
    with pytest.raises(ValueError, match="dimensions"):
        resolve_noise_shape((1,), (4, 3))


def test_optimizer_state_is_a_copy():
    model = _model("tanh", "linear", 1, "mse")
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse", engine="scalar")
    model.fit(RNG.normal(size=(4, 3)), RNG.normal(size=(4, 1)), epochs=1, verbose=0)
    state = model.engine.optimizer_state()
    assert len(state) == 4 and all(s for s in state)
    first = next(iter(state[0]))
    state[0][first][...] = 123.0
    assert not np.any(model.engine.optimizer_state()[0][first] == 123.0)
