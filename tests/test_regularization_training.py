"""Dense(kernel_regularizer, bias_regularizer, activity_regularizer) in training: Keras 3.15.1's recorded
losses, evaluations and weights (tests/data/keras_issue11.json), float64 parity of the scalar and CPU
engines, central differences of the penalised loss, the to_graph nodes, and .keras files both ways."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import microgradx as mgx
from microgradx import regularizers

GOLDEN = json.loads((Path(__file__).parent / "data" / "keras_issue11.json").read_text())["training"]
X, Y = np.array(GOLDEN["x"]), np.array(GOLDEN["y"])
W0 = [np.array(w) for w in GOLDEN["initial_weights"]]
CASES = {name: case for name, case in GOLDEN["cases"].items() if "regularizers" in case}

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def build(regs: dict, engine: str = "cpu", dtype: str = "float64", lr: float = 0.1) -> mgx.Sequential:
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)),
                            mgx.layers.Dense(4, activation="tanh", **{k: regularizers.get(v) for k, v in regs.items()}),
                            mgx.layers.Dense(1, activation="sigmoid")])
    model.set_weights(W0)
    model.compile(optimizer=mgx.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy", engine=engine,
                  dtype=dtype)
    return model


@pytest.mark.parametrize("engine", ["scalar", "cpu"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_training_with_regularizers_matches_keras(name, engine):
    case = CASES[name]
    model = build(case["regularizers"], engine)
    assert model.evaluate(X, Y, batch_size=4, verbose=0) == pytest.approx(case["evaluate_before"]["loss"], rel=2e-7)
    history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert history.history["loss"] == pytest.approx(case["history"]["loss"], rel=2e-7)   # Keras: float32 means
    for ours, theirs in zip(model.get_weights(), case["weights"]):
        np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-7, atol=1e-7)
    assert model.evaluate(X, Y, batch_size=4, verbose=0) == pytest.approx(case["evaluate_after"]["loss"], rel=2e-7)


def test_the_penalties_change_the_numbers():
    """The recorded cases differ from the unregularised one, so the test above can fail."""
    none = CASES["none"]["history"]["loss"][0]
    assert all(abs(case["history"]["loss"][0] - none) > 1e-3 for name, case in CASES.items() if name != "none")


MODELS = {
    "all_kinds": lambda: [mgx.layers.Dense(5, activation="relu", kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                                           bias_regularizer="l2", activity_regularizer=regularizers.L1(0.03)),
                          mgx.layers.Dropout(0.3, seed=2),
                          mgx.layers.Dense(3, activation="softmax", activity_regularizer=regularizers.L2(0.05),
                                           kernel_regularizer="l1")],
    "no_bias": lambda: [mgx.layers.Dense(4, activation="tanh", use_bias=False, kernel_regularizer="l2",
                                         bias_regularizer="l1", activity_regularizer="l1l2"),
                        mgx.layers.Dense(3, activation="softmax")],
    "hidden_softmax": lambda: [mgx.layers.Dense(4, activation="softmax", kernel_regularizer="l2",
                                                activity_regularizer=regularizers.L1L2(0.02, 0.04)),
                               mgx.layers.Dense(3, activation="softmax", activity_regularizer=regularizers.L1(0.03))],
}


def _model(kind: str, engine: str, dtype: str = "float64") -> mgx.Sequential:
    mgx.set_random_seed(4)
    model = mgx.Sequential([mgx.layers.Input(shape=(3,))] + MODELS[kind]())
    model.compile(optimizer=mgx.optimizers.Adam(0.05), loss="categorical_crossentropy", engine=engine, dtype=dtype)
    return model


Y3 = np.eye(3)[np.arange(10) % 3]


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_scalar_and_cpu_engines_agree_in_float64(kind):
    scalar, cpu = _model(kind, "scalar"), _model(kind, "cpu")
    for training in (True, False):
        loss_s, grads_s = scalar.compute_gradients(X, Y3, training=training)
        loss_c, grads_c = cpu.compute_gradients(X, Y3, training=training)
        assert loss_c == pytest.approx(loss_s, rel=1e-13)
        for a, b in zip(grads_c, grads_s):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
    for model in (scalar, cpu):
        model.fit(X, Y3, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(cpu.get_weights(), scalar.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    assert cpu.evaluate(X, Y3, verbose=0) == pytest.approx(scalar.evaluate(X, Y3, verbose=0), rel=1e-13)
    float32 = _model(kind, "cpu", "float32")
    float32.set_weights(cpu.get_weights())
    assert float32.compute_gradients(X, Y3, training=False)[0] == pytest.approx(
        cpu.compute_gradients(X, Y3, training=False)[0], rel=1e-6)


def test_gradient_of_the_penalised_loss_matches_central_differences():
    model = _model("all_kinds", "cpu")
    model.layers[1].rate = 0.0        # the mask is constant anyway; keep the function smooth to check
    weights = model.get_weights()
    _, grads = model.compute_gradients(X, Y3, training=False)
    h = 1e-6
    for w_index, element in [(0, (0, 1)), (1, (2,)), (2, (4, 0)), (3, (1,))]:
        plus, minus = [w.copy() for w in weights], [w.copy() for w in weights]
        plus[w_index][element] += h
        minus[w_index][element] -= h
        model.set_weights(plus)
        up = model.compute_gradients(X, Y3, training=False)[0]
        model.set_weights(minus)
        down = model.compute_gradients(X, Y3, training=False)[0]
        assert grads[w_index][element] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)


def test_penalty_equals_the_regularizers_on_their_tensors():
    """compute_gradients' loss minus the unregularised loss is the sum of the penalties, computed here
    from the regularizers' own formula on the weights and the layer outputs (independently of the engines)."""
    model = _model("no_bias", "cpu")
    plain = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(4, activation="tanh", use_bias=False),
                            mgx.layers.Dense(3, activation="softmax")])
    plain.set_weights(model.get_weights())
    plain.compile(optimizer="sgd", loss="categorical_crossentropy", engine="cpu", dtype="float64")
    kernel = model.get_weights()[0]
    hidden = np.tanh(X @ kernel)
    expected = 0.01 * np.sum(kernel ** 2) + 0.0 / 10 + 0.0          # l2 kernel; l1l2() is zero; no bias
    assert regularizers.get("l1l2")(hidden) == 0.0
    diff = model.compute_gradients(X, Y3)[0] - plain.compute_gradients(X, Y3)[0]
    assert diff == pytest.approx(expected, rel=1e-12)


def test_to_graph_shows_the_penalties_as_nodes():
    model = _model("all_kinds", "cpu")
    graph = model.to_graph(X[:2], Y3[:2])
    assert graph.label == "loss" and graph.op == "sum"
    first, second = (layer.name for layer in model.layers if hasattr(layer, "units"))
    assert [child.label for child in graph.children] == [
        "compiled loss", f"{first} activity penalty", f"{second} activity penalty", f"{first}/kernel penalty",
        f"{first}/bias penalty", f"{second}/kernel penalty"]
    factors = {v.label: v.data for v in graph.walk() if v.label in ("l1", "l2")}
    assert factors and set(factors) <= {"l1", "l2"}
    loss, grads = model.compute_gradients(X[:2], Y3[:2], training=False)
    assert graph.data == pytest.approx(loss, rel=1e-13)
    graph.backward()
    leaf = next(v for v in graph.walk() if v.label == f"{first}/kernel[0,0]")
    assert leaf.grad == pytest.approx(grads[0][0, 0], rel=1e-11)


@pytest.mark.cuda
def test_cuda_engine_agrees_with_the_cpu_engine_in_float64():
    """Every kind of penalty on the device (simulated here): the same loss, gradients and trained weights."""
    def tanh_model(engine):
        mgx.set_random_seed(4)
        model = mgx.Sequential([mgx.layers.Input(shape=(3,)),
                                mgx.layers.Dense(4, activation="tanh", kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                                                 bias_regularizer="l2", activity_regularizer=regularizers.L1(0.03)),
                                mgx.layers.Dropout(0.3, seed=2),
                                mgx.layers.Dense(1, activation="sigmoid", activity_regularizer="l2",
                                                 kernel_regularizer="l1")])
        model.compile(optimizer=mgx.optimizers.Adam(0.05), loss="binary_crossentropy", engine=engine,
                      dtype="float64")
        return model

    cpu, cuda = tanh_model("cpu"), tanh_model("cuda")
    _assert_cuda_matches(cpu, cpu, cuda, Y)


def _assert_cuda_matches(reference, cpu, cuda, y, **gradient_options):
    """float64: the CUDA engine's loss and gradients equal ``reference``'s, and one epoch of training on it
    gives the CPU engine's losses and weights."""
    loss_r, grads_r = reference.compute_gradients(X, y, **gradient_options)
    loss_g, grads_g = cuda.compute_gradients(X, y, **gradient_options)
    assert loss_g == pytest.approx(loss_r, rel=1e-13)
    for a, b in zip(grads_g, grads_r):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
    history = {model.engine.name: model.fit(X, y, batch_size=5, epochs=1, shuffle=False, verbose=0).history["loss"]
               for model in (cpu, cuda)}
    assert history["cuda"] == pytest.approx(history["cpu"], rel=1e-12)
    for a, b in zip(cuda.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


@pytest.mark.cuda
@pytest.mark.parametrize("kind", ["all_kinds", "hidden_softmax"])
def test_cuda_engine_computes_an_activity_penalty_on_softmax(kind):
    """A softmax layer's activity gradient crosses the row-wise Jacobian (on the output, where the loss is
    then not fused, and on a hidden layer): the scalar engine's loss and gradients, the CPU engine's training."""
    scalar, cpu, cuda = (_model(kind, engine) for engine in ("scalar", "cpu", "cuda"))
    _assert_cuda_matches(scalar, cpu, cuda, Y3, training=False)


def test_dense_rejects_unknown_regularizers():
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 'l3'"):
        mgx.layers.Dense(2, kernel_regularizer="l3")


# ------------------------------------------------------------------------------- .keras files
def test_regularizers_survive_save_and_load(tmp_path):
    model = _model("all_kinds", "cpu")
    model.save(tmp_path / "r.keras")
    loaded = mgx.models.load_model(tmp_path / "r.keras")
    for ours, theirs in zip(loaded.layers, model.layers):
        for option in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            assert getattr(ours, option, None) == getattr(theirs, option, None)
    assert loaded.compute_gradients(X, Y3)[0] == model.compute_gradients(X, Y3)[0]



@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")   # an untrained optimizer
def test_regularizers_move_both_ways_with_keras(keras, tmp_path):
    model = _model("all_kinds", "cpu")
    model.layers[1].rate = 0.0
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    assert theirs.layers[0].kernel_regularizer.get_config() == {"l1": pytest.approx(0.01), "l2": 0.02}
    assert theirs.layers[2].activity_regularizer.get_config() == {"l2": 0.05}
    back_path = tmp_path / "theirs.keras"
    theirs.save(back_path)
    back = mgx.models.load_model(back_path)
    assert back.layers[0].kernel_regularizer == regularizers.L1L2(0.01, 0.02)
    assert back.layers[0].activity_regularizer.get_config() == {"l1": pytest.approx(0.03, rel=1e-7)}  # float32 L1
    np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-6)
