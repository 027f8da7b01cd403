"""Keras 3's file formats (microgradx.saving): files Keras 3.15.1 wrote (tests/data, made by
tests/data/record_keras_issue11.py) load here with Keras' numbers; files written here load in real Keras
(skipped where Keras is absent) with the same predictions and optimizer variables; bad files are refused."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import microgradx as mgx
from microgradx import saving
from microgradx.saving import h5 as h5_module

DATA = Path(__file__).parent / "data"
SAVED = json.loads((DATA / "keras_issue11.json").read_text())["files"]["saved_model"]
X = np.array(SAVED["x"])


@pytest.fixture(scope="module")
def h5py():
    return pytest.importorskip("h5py")


pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")



def model_from(parts: dict, saved_layers: dict) -> mgx.Sequential:
    """A Sequential of the read layers, with the file's weights matched by Keras' group names."""
    model = mgx.Sequential([mgx.layers.Input(shape=(parts["input_dim"],))] + parts["layers"], name=parts["name"])
    model.set_weights(saving.flat_weights(model.layers, saved_layers, "file"))
    return model


def small_model(seed: int = 0) -> mgx.Sequential:
    mgx.set_random_seed(seed)
    return mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(5, activation="tanh"),
                           mgx.layers.Dropout(0.3, seed=4), mgx.layers.Dense(2, activation="softmax",
                                                                             kernel_initializer="he_normal")])


# ------------------------------------------------------------------------- files Keras wrote
def test_keras_file_loads_with_keras_numbers(h5py):
    read = saving.read_keras(DATA / "keras_sequential.keras")
    assert read["weights_member"] == "model.weights.h5"
    parts = saving.sequential_from_config(read["config"])
    assert parts["input_dim"] == 3 and parts["dtype"] == "float64"
    assert [(type(layer).__name__, getattr(layer, "units", None)) for layer in parts["layers"]] == \
        [("Dense", 4), ("Dropout", None), ("Dense", 2)]
    assert parts["layers"][0].activation == "relu" and parts["layers"][1].rate == 0.25
    model = model_from(parts, read["weights"]["layers"])
    for ours, theirs in zip(model.get_weights(), SAVED["weights"]):
        np.testing.assert_array_equal(ours, np.array(theirs))
    compiled = saving.compile_from_config(read["config"]["compile_config"])
    assert type(compiled["optimizer"]).__name__ == "Adam" and compiled["optimizer"].learning_rate == 0.01
    assert compiled["loss"].kind == "categorical_crossentropy" and compiled["metrics"] == ["accuracy"]
    model.compile(**compiled, engine="cpu", dtype="float64")
    # Keras' softmax runs in float32 on its torch backend; a float64 NumPy forward pass is the exact oracle
    k0, b0, k1, b1 = (np.array(w) for w in SAVED["weights"])
    z = np.maximum(X @ k0 + b0, 0) @ k1 + b1
    exact = np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(X), exact, rtol=1e-13)
    np.testing.assert_allclose(model.predict(X), np.array(SAVED["predict"]), rtol=1e-7)
    optimizer_vars = read["weights"]["optimizer"]
    assert int(optimizer_vars[0]) == SAVED["optimizer_iterations"]
    for ours, theirs in zip(optimizer_vars, SAVED["optimizer_variables"]):
        np.testing.assert_array_equal(ours, np.array(theirs))


def test_keras_weights_file_loads(h5py):
    read = saving.read_weights(DATA / "keras_sequential.weights.h5")
    assert sorted(read["layers"]) == ["dense", "dense_1", "dropout"] and read["layers"]["dropout"] == []
    model = small_model()
    with pytest.raises(ValueError, match=r"layer 'dense\S*' \(group layers/dense\) expects weights of shapes "
                                         r"\[\(3, 5\), \(5,\)\], the file holds \[\(3, 4\), \(4,\)\]"):
        saving.flat_weights(model.layers, read["layers"], "keras_sequential.weights.h5")


def test_keras_adam_state_maps_onto_microgradx_slots(h5py):
    """Keras' Adam variables are iterations, learning_rate, then (momentum, velocity) per variable."""
    variables = [np.array(v) for v in SAVED["optimizer_variables"]]
    adam = mgx.optimizers.Adam(0.01)
    adam.build([np.zeros(np.shape(w)) for w in SAVED["weights"]])
    saving.set_keras_optimizer_variables(adam, variables)
    assert adam.iterations == SAVED["optimizer_iterations"] == 4
    np.testing.assert_array_equal(adam.get_slot(0, "m"), variables[2])
    np.testing.assert_array_equal(adam.get_slot(0, "v"), variables[3])
    np.testing.assert_array_equal(adam.get_slot(3, "v"), variables[9])
    for ours, theirs in zip(saving.keras_optimizer_variables(adam), variables):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="holds 9 variables; this Adam with these options has 10"):
        saving.set_keras_optimizer_variables(adam, variables[:-1])
    amsgrad = mgx.optimizers.Adam(0.01, amsgrad=True)
    amsgrad.build([np.zeros(np.shape(w)) for w in SAVED["weights"]])
    with pytest.raises(ValueError, match="has 14"):
        saving.set_keras_optimizer_variables(amsgrad, variables)


# --------------------------------------------------------------------------- our own files
@pytest.mark.parametrize("weights_format", ["npz", "h5"])
def test_round_trip_of_config_weights_and_optimizer_state(tmp_path, weights_format):
    if weights_format == "h5":
        pytest.importorskip("h5py")
    model = small_model()
    model.compile(optimizer=mgx.optimizers.RMSprop(0.01, momentum=0.5, centered=True), loss="categorical_crossentropy",
                  metrics=["accuracy"], engine="cpu", dtype="float64")
    y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    model.fit(X, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    config = saving.sequential_config(model.name, 3, model.layers, "float64")
    config["compile_config"] = saving.compile_config(model.optimizer, model.loss, ["accuracy"])
    state = saving.keras_optimizer_variables(model.optimizer)
    member = saving.write_keras(tmp_path / "m.keras", config, model.name,
                                saving.layer_entries(model.layers, model.get_weights()),
                                (model.optimizer.name, state), weights_format=weights_format)
    assert member == {"npz": "microgradx.weights.npz", "h5": "model.weights.h5"}[weights_format]
    read = saving.read_keras(tmp_path / "m.keras")
    assert read["config"] == json.loads(json.dumps(config))
    parts = saving.sequential_from_config(read["config"])
    assert [layer.name for layer in parts["layers"]] == [layer.name for layer in model.layers]
    assert parts["layers"][1].seed == 4 and parts["layers"][2].kernel_initializer.__class__.__name__ == "HeNormal"
    loaded = model_from(parts, read["weights"]["layers"])
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(read["weights"]["optimizer"], state):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    # RMSprop(momentum, centered): iterations, lr, velocity x4, momentum x4, average_gradient x4
    assert len(state) == 2 + 3 * 4 and int(state[0]) == model.optimizer.iterations == 6   # 3 batches x 2 epochs


def test_npz_archive_never_pickles(tmp_path):
    with pytest.raises(TypeError, match="pickling"):
        saving.npz.write_npz(io.BytesIO(), {}, {"a": np.array([{}], dtype=object)})
    path = tmp_path / "evil.keras"
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(b'{"format": "microgradx.keras-weights", "version": 1}', np.uint8),
             evil=np.array([{"x": 1}], dtype=object))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("microgradx.weights.npz", buffer.getvalue())
    with pytest.raises(ValueError, match="allow_pickle=False"):
        saving.read_keras(path)


def test_keras_npz_weights_are_refused(tmp_path):
    path = tmp_path / "k.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.npz", b"")
    with pytest.raises(ValueError, match="pickled objects; microgradx never unpickles"):
        saving.read_keras(path)
    (tmp_path / "not.keras").write_text("hello")
    with pytest.raises(ValueError, match="not a zip archive"):
        saving.read_keras(tmp_path / "not.keras")


def test_write_is_atomic(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        saving.write_keras(path, {"bad": object()}, "m", [], weights_format="npz")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.keras"]


def _config_with(layer: dict, **body) -> dict:
    config = saving.sequential_config("m", 3, small_model().layers, "float32")
    config["config"]["layers"].append(layer)
    config["config"].update(body)
    return config


@pytest.mark.parametrize("change, message", [
    (lambda c: c["config"]["layers"].append({"class_name": "Conv2D", "config": {"name": "conv"}}),
     r"layer class 'Conv2D' does not exist in microgradx"),
    (lambda c: c["config"]["layers"][1]["config"].update(kernel_constraint={"class_name": "NonNeg"}),
     r"option kernel_constraint=.*NonNeg.* does not exist"),
    (lambda c: c["config"]["layers"][1]["config"].update(trainable=False), r"trainable=False"),
    (lambda c: c["config"]["layers"][1]["config"].update(activation="gelu"), r"gelu"),
    (lambda c: c["config"]["layers"][1]["config"].update(kernel_initializer={"class_name": "Orthogonal"}),
     r"initializer 'Orthogonal' does not exist in microgradx"),
    (lambda c: c["config"]["layers"][1]["config"].update(my_option=1), r"option\(s\) \['my_option'\] do not exist"),
    (lambda c: c["config"]["layers"][2]["config"].update(rate=1.5), r"rate"),
    (lambda c: c["config"].update(dtype={"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}),
     r"dtype policy 'mixed_float16' does not exist"),
    (lambda c: c["config"]["layers"][0]["config"].update(batch_shape=[None, 3, 3]), r"batch_shape"),
    (lambda c: c.update(class_name="Functional"), r"Model class 'Functional' does not exist"),
])
def test_configs_naming_what_does_not_exist_here_are_refused(change, message):
    config = saving.sequential_config("m", 3, small_model().layers, "float32")
    change(config)
    with pytest.raises(ValueError, match=message):
        saving.sequential_from_config(config)


def test_compile_configs_that_do_not_exist_here_are_refused():
    base = saving.compile_config(mgx.optimizers.SGD(), mgx.losses.MeanSquaredError(), ["mae"])
    assert saving.compile_from_config(base)["metrics"] == ["mae"]
    with pytest.raises(ValueError, match="loss_weights"):
        saving.compile_from_config({**base, "loss_weights": [0.5]})
    with pytest.raises(ValueError, match="steps_per_execution=4"):
        saving.compile_from_config({**base, "steps_per_execution": 4})
    with pytest.raises(ValueError, match="Unknown optimizer 'Lion'"):
        saving.compile_from_config({**base, "optimizer": {"class_name": "Lion", "config": {}}})


def test_layer_group_names_follow_keras():
    assert h5_module.layer_group_names(["Dense", "Dropout", "Dense", "Dense", "InputLayer"]) == \
        ["dense", "dropout", "dense_1", "dense_2", "input_layer"]


def test_h5_is_not_imported_by_the_package():
    code = ("import sys, microgradx, microgradx.saving, microgradx.regularizers; "
            "print(sorted(m for m in ('h5py', 'keras', 'torch') if m in sys.modules))")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------------- real Keras
def _save_microgradx(tmp_path, optimizer) -> tuple[mgx.Sequential, Path]:
    model = small_model(1)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"], engine="cpu",
                  dtype="float64")
    y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    model.fit(X, y, batch_size=5, epochs=2, verbose=0, shuffle=False)
    config = saving.sequential_config(model.name, 3, model.layers, "float64")
    config["compile_config"] = saving.compile_config(model.optimizer, model.loss, ["accuracy"])
    path = tmp_path / "ours.keras"
    saving.write_keras(path, config, model.name, saving.layer_entries(model.layers, model.get_weights()),
                       (model.optimizer.name, saving.keras_optimizer_variables(model.optimizer)), weights_format="h5")
    return model, path


@pytest.mark.parametrize("optimizer", [lambda: mgx.optimizers.Adam(0.01),
                                       lambda: mgx.optimizers.SGD(0.1, momentum=0.9),
                                       lambda: mgx.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                                       lambda: mgx.optimizers.Adagrad(0.1),
                                       lambda: mgx.optimizers.Adadelta(1.0)], ids=["adam", "sgd", "rmsprop",
                                                                                  "adagrad", "adadelta"])
def test_our_keras_file_loads_in_keras(keras, tmp_path, optimizer):
    model, path = _save_microgradx(tmp_path, optimizer())
    theirs = keras.saving.load_model(path)
    # Keras' softmax computes in float32 on its torch backend, whatever the floatx
    np.testing.assert_allclose(theirs.predict(X, verbose=0), model.predict(X), rtol=1e-6, atol=1e-8)
    assert [type(layer).__name__ for layer in theirs.layers] == ["Dense", "Dropout", "Dense"]
    assert theirs.layers[1].rate == 0.3 and theirs.layers[1].seed == 4
    assert type(theirs.optimizer).__name__ == type(model.optimizer).__name__
    keras_vars = [np.asarray(v.numpy()) for v in theirs.optimizer.variables]
    ours = saving.keras_optimizer_variables(model.optimizer)
    assert len(keras_vars) == len(ours)
    assert int(keras_vars[0]) == int(ours[0]) == 4
    assert float(keras_vars[1]) == pytest.approx(float(ours[1]), rel=1e-7)    # a float32 variable in Keras
    for a, b in zip(keras_vars[2:], ours[2:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")   # our weights-only file
def test_keras_file_saved_now_loads_here(keras, tmp_path):
    keras.utils.set_random_seed(2)
    theirs = keras.Sequential([keras.layers.Input(shape=(3,)), keras.layers.Dense(6, activation="sigmoid"),
                               keras.layers.Dropout(0.5, noise_shape=(None, 1), seed=3),
                               keras.layers.Dense(1, activation="linear", use_bias=False)])
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5), loss="mse")
    theirs.fit(X, X[:, :1], epochs=1, batch_size=5, verbose=0)
    theirs.save(tmp_path / "theirs.keras")
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    read = saving.read_keras(tmp_path / "theirs.keras")
    parts = saving.sequential_from_config(read["config"])
    assert parts["layers"][1].noise_shape == (None, 1) and parts["layers"][2].use_bias is False
    model = model_from(parts, read["weights"]["layers"])
    model.compile(**saving.compile_from_config(read["config"]["compile_config"]), engine="cpu", dtype="float32")
    np.testing.assert_allclose(model.predict(X), theirs.predict(X, verbose=0), rtol=1e-6, atol=1e-7)
    weights_only = saving.read_weights(tmp_path / "theirs.weights.h5")
    for a, b in zip(saving.flat_weights(model.layers, weights_only["layers"], "w"), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    # and back: our .weights.h5 loads into the Keras model
    shifted = [w + 0.25 for w in model.get_weights()]
    saving.write_weights(tmp_path / "ours.weights.h5", model.name, saving.layer_entries(model.layers, shifted))
    theirs.load_weights(tmp_path / "ours.weights.h5")
    for a, b in zip(theirs.get_weights(), shifted):
        np.testing.assert_allclose(a, b, rtol=1e-7)
