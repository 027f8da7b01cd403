"""microgradx.nn: micrograd-compatible structure, seeded initialisation, forward and gradients checked
against numpy, micrograd 0.1.0 and central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx.engine import Value
from microgradx.nn import MLP, Layer, Module, Neuron, init_weights


def _numpy_forward(model: MLP, x: list[float], activation=lambda z: np.maximum(z, 0.0)) -> np.ndarray:
    h = np.asarray(x, dtype=float)
    for i, layer in enumerate(model.layers):
        w = np.array([[p.data for p in n.w] for n in layer.neurons])
        b = np.array([n.b.data for n in layer.neurons])
        h = w @ h + b
        if i < len(model.layers) - 1:
            h = activation(h)
    return h


def test_mlp_2_16_16_1_has_337_labelled_parameters() -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    assert len(params) == 337 == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert all(p.requires_grad and p.is_leaf for p in params)
    labels = [p.label for p in params]
    assert len(set(labels)) == 337
    assert labels[:3] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.b"]
    assert "L1.N3.w15" in labels and labels[-1] == "L2.N0.b"
    assert all(p.data == 0.0 for p in params if p.label.endswith(".b"))


def test_reprs_match_micrograd() -> None:
    mg_nn = pytest.importorskip("micrograd.nn")
    ours, theirs = MLP(2, [3, 2, 1], seed=0), mg_nn.MLP(2, [3, 2, 1])
    assert repr(ours) == repr(theirs)
    assert repr(Neuron(4, nonlin=False)) == repr(mg_nn.Neuron(4, nonlin=False)) == "LinearNeuron(4)"
    assert repr(Layer(2, 2)) == repr(mg_nn.Layer(2, 2))
    assert repr(MLP(2, [3, 1], activation="tanh", seed=0)) == "MLP of [Layer of [TanhNeuron(2), TanhNeuron(2), TanhNeuron(2)], Layer of [LinearNeuron(3)]]"


def test_forward_and_gradients_match_micrograd_with_copied_weights() -> None:
    mg_nn = pytest.importorskip("micrograd.nn")
    mg_engine = pytest.importorskip("micrograd.engine")
    ours, theirs = MLP(3, [5, 4, 1], init="uniform", seed=7), mg_nn.MLP(3, [5, 4, 1])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        q.data = p.data
    x = [0.5, -1.25, 2.0]
    out_ours = ours(x)
    out_theirs = theirs([mg_engine.Value(v) for v in x])
    loss_ours = (out_ours - 0.3) ** 2
    loss_theirs = (out_theirs - 0.3) ** 2
    loss_ours.backward()
    loss_theirs.backward()
    assert out_ours.data == out_theirs.data  # same left-to-right sums: bit-identical
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15), p.label


def test_forward_matches_numpy_for_every_activation() -> None:
    acts = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    for name, fn in acts.items():
        model = MLP(3, [4, 2], activation=name, seed=11)
        x = [0.3, -0.7, 1.1]
        out = model(x)
        assert [o.data for o in out] == pytest.approx(_numpy_forward(model, x, fn).tolist(), rel=1e-12)


def test_gradients_match_central_differences() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=5)
    x = [0.8, -0.4]
    out = model(x)
    out.backward()
    for p in model.parameters():
        saved = p.data
        p.data = saved + 1e-6
        plus = model(x).data
        p.data = saved - 1e-6
        minus = model(x).data
        p.data = saved
        assert p.grad == pytest.approx((plus - minus) / 2e-6, rel=1e-6, abs=1e-9), p.label


def test_zero_grad_resets_parameters() -> None:
    model = MLP(2, [2, 1], seed=1)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert Module().parameters() == []


def test_same_seed_same_weights_different_seed_different_weights() -> None:
    a = [p.data for p in MLP(2, [4, 1], seed=42).parameters()]
    b = [p.data for p in MLP(2, [4, 1], seed=42).parameters()]
    c = [p.data for p in MLP(2, [4, 1], seed=43).parameters()]
    assert a == b and a != c


def test_normal_init_draws_the_documented_generator_sequence() -> None:
    model = MLP(3, [2, 1], init="normal", sigma=0.5, seed=9)
    rng = np.random.default_rng(9)
    w0 = rng.normal(0.0, 0.5, size=(2, 3))
    w1 = rng.normal(0.0, 0.5, size=(1, 2))
    assert [p.data for p in model.layers[0].neurons[1].w] == w0[1].tolist()
    assert [p.data for p in model.layers[1].neurons[0].w] == w1[0].tolist()


@pytest.mark.parametrize("init, sigma, expected_std", [
    ("normal", 0.1, 0.1),
    ("normal", None, 1.0),
    ("uniform", 0.5, 0.5 / math.sqrt(3)),
    ("glorot", None, math.sqrt(6 / (200 + 100)) / math.sqrt(3)),
    ("he", None, math.sqrt(2 / 200)),
])
def test_init_scale(init: str, sigma, expected_std: float) -> None:
    w = init_weights(np.random.default_rng(0), 200, 100, init, sigma)
    assert w.shape == (100, 200)
    assert w.std() == pytest.approx(expected_std, rel=0.03)
    assert abs(w.mean()) < 0.05 * expected_std
    if init in ("uniform", "glorot"):
        limit = expected_std * math.sqrt(3)
        assert np.abs(w).max() <= limit


def test_layer_of_one_neuron_returns_a_bare_value() -> None:
    out = Layer(2, 1, weights=np.array([[1.0, 2.0]]))([3.0, 4.0])
    assert isinstance(out, Value) and out.data == 11.0


@pytest.mark.parametrize("make, match", [
    (lambda: MLP(2, [16, 1], activation="gelu"), "activation"),
    (lambda: MLP(2, [16, 1], init="xavier"), "init"),
    (lambda: MLP(2, [16, 1], init="he", sigma=0.1), "sigma"),
    (lambda: MLP(2, [16, 1], sigma=-1.0), "sigma"),
    (lambda: MLP(0, [1]), "nin"),
    (lambda: MLP(2, []), "nouts"),
    (lambda: MLP(2, 16), "nouts"),
    (lambda: MLP(2, [16, 0]), "nouts"),
    (lambda: Neuron(2, weights=[1.0]), "weights"),
    (lambda: Neuron(2)([1.0, 2.0, 3.0]), "inputs"),
])
def test_bad_arguments_raise_value_error_naming_them(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
