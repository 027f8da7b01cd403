"""model.save / microgradx.models.load_model / save_weights("*.weights.h5"): training resumed from a saved
model is bit-identical to training that was never interrupted, on every engine; files move both ways between
microgradx and real Keras 3 (skipped where Keras is absent), including the optimizer's state."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import microgradx as mgx
from microgradx.saving import archive

RNG = np.random.default_rng(5)
X = RNG.normal(size=(18, 3))
Y = (X[:, :1] - X[:, 1:2] > 0).astype(float)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def make(engine="cpu", dtype="float32", optimizer=None, rate=0.25) -> mgx.Sequential:
    mgx.set_random_seed(7)
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(6, activation="relu"),
                            mgx.layers.Dropout(rate), mgx.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer() if optimizer else mgx.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"], engine=engine, dtype=dtype)
    return model


OPTIMIZERS = {"adam": lambda: mgx.optimizers.Adam(0.02, amsgrad=True),
              "sgd": lambda: mgx.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
              "rmsprop": lambda: mgx.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
              "adagrad": lambda: mgx.optimizers.Adagrad(0.1), "adadelta": lambda: mgx.optimizers.Adadelta(1.0)}


CASES = [("cpu", "float32", "adam"), ("cpu", "float64", "sgd"), ("cpu", "float32", "rmsprop"),
         ("cpu", "float64", "adagrad"), ("cpu", "float32", "adadelta"), ("scalar", "float64", "adam")]


@pytest.mark.parametrize("engine, dtype, optimizer, weights_format, batch_size",
                         [case + (fmt, 5) for case in CASES for fmt in ("h5", "npz")]
                         + [pytest.param("cuda", "float32", "adam", "npz", 18, marks=pytest.mark.cuda)])
def test_resumed_training_is_bit_identical(tmp_path, monkeypatch, engine, dtype, optimizer, weights_format,
                                           batch_size):
    if weights_format == "h5":
        pytest.importorskip("h5py")
    else:                                      # as on a machine without h5py
        monkeypatch.setattr(archive, "h5py_available", lambda: False)
    straight = make(engine, dtype, OPTIMIZERS[optimizer])
    straight.fit(X, Y, batch_size=batch_size, epochs=4, shuffle=False, verbose=0)
    first = make(engine, dtype, OPTIMIZERS[optimizer])
    first.fit(X, Y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    with zipfile.ZipFile(tmp_path / "half.keras") as saved:
        assert {"model.weights.h5", "microgradx.weights.npz"} & set(saved.namelist()) == \
            {{"h5": "model.weights.h5", "npz": "microgradx.weights.npz"}[weights_format]}
    resumed = mgx.models.load_model(tmp_path / "half.keras")
    assert resumed.engine.name == engine and resumed.engine.dtype.name == dtype
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    assert resumed.optimizer.iterations == first.optimizer.iterations == 2 * -(-18 // batch_size)
    assert [layer.name for layer in resumed.layers] == [layer.name for layer in first.layers]
    assert resumed.layers[1].seed == first.layers[1].seed
    history = resumed.fit(X, Y, batch_size=batch_size, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 2
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_save_and_load_errors(tmp_path):
    model = make()
    with pytest.raises(ValueError, match=r"Invalid filepath extension for saving: .*m\.h5.*`\.keras`"):
        model.save(tmp_path / "m.h5")
    unbuilt = mgx.Sequential([mgx.layers.Dense(2)])
    with pytest.raises(ValueError, match="is not built"):
        unbuilt.save(tmp_path / "u.keras")
    custom = make()
    custom.compile(optimizer="sgd", loss="mse", metrics=[lambda y, p: np.abs(y - p)], engine="cpu")
    with pytest.raises(ValueError, match="are not metric names"):
        custom.save(tmp_path / "c.keras")
    with pytest.raises(FileNotFoundError):
        mgx.models.load_model(tmp_path / "missing.keras")
    uncompiled = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(2)])
    uncompiled.save(tmp_path / "plain.keras")
    loaded = mgx.models.load_model(tmp_path / "plain.keras")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.get_weights()[0], uncompiled.get_weights()[0])
    assert not mgx.models.load_model(tmp_path / "plain.keras", compile=False).compiled


def test_weights_h5_round_trip_with_optimizer_state(tmp_path):
    pytest.importorskip("h5py")
    model = make(dtype="float64")
    model.fit(X, Y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = make(dtype="float64")
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert other.optimizer.iterations == model.optimizer.iterations == 6
    np.testing.assert_array_equal(other.optimizer.get_slot(0, "m"), model.optimizer.get_slot(0, "m"))
    fresh = mgx.Sequential([mgx.layers.Dense(6, activation="relu"), mgx.layers.Dropout(0.25),
                            mgx.layers.Dense(1, activation="sigmoid")])
    fresh.load_weights(tmp_path / "w.weights.h5")              # the file gives the input width
    np.testing.assert_array_equal(fresh.get_weights()[2], model.get_weights()[2])
    sgd = make(dtype="float64", optimizer=lambda: mgx.optimizers.SGD(0.1, momentum=0.5))
    sgd.fit(X, Y, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="Skipping the optimizer state"):
        sgd.load_weights(tmp_path / "w.weights.h5")           # Adam's state does not fit SGD's
    np.testing.assert_array_equal(sgd.get_weights()[0], model.get_weights()[0])


# ------------------------------------------------------------------------------- real Keras

def test_keras_continues_our_training_like_we_do(keras, tmp_path):
    """Saved after 2 epochs here, one more epoch in Keras equals one more epoch here (optimizer state
    included: with fresh slots the numbers would differ)."""
    # no dropout: Keras draws its masks from another generator
    model = make(dtype="float64", optimizer=lambda: mgx.optimizers.SGD(0.1, momentum=0.9), rate=0.0)
    model.fit(X, Y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(theirs.predict(X, verbose=0), model.predict(X), rtol=1e-6)   # float32 sigmoid
    model.fit(X, Y, batch_size=6, epochs=3, initial_epoch=2, shuffle=False, verbose=0)
    theirs.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert int(theirs.optimizer.iterations) == model.optimizer.iterations == 9


def test_we_continue_keras_training_like_keras(keras, tmp_path):
    keras.utils.set_random_seed(3)
    theirs = keras.Sequential([keras.layers.Input(shape=(3,)), keras.layers.Dense(5, activation="tanh"),
                               keras.layers.Dense(1, activation="sigmoid")])
    theirs.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                   metrics=["accuracy"])
    theirs.fit(X, Y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    theirs.save(tmp_path / "theirs.keras")
    ours = mgx.models.load_model(tmp_path / "theirs.keras")
    assert ours.engine.dtype.name == "float32" and ours.optimizer.iterations == 6
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-6, atol=1e-7)
    theirs.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    ours.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
