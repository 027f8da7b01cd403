"""Sequential: construction, weights, save/load, fit/evaluate/predict semantics and bad input."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from microgradx import callbacks, datasets, layers, losses, metrics, optimizers, utils
from microgradx.models import Sequential

RNG = np.random.default_rng(7)


def _mlp(engine: str = "scalar", seed: int = 0, dropout: float = 0.0, **compile_kwargs) -> Sequential:
    utils.set_random_seed(seed)
    stack: list = [layers.Input(shape=(2,)), layers.Dense(3, activation="tanh")]
    if dropout:
        stack.append(layers.Dropout(dropout, seed=1))
    stack.append(layers.Dense(1, activation="sigmoid"))
    model = Sequential(stack)
    compile_kwargs.setdefault("optimizer", optimizers.SGD(learning_rate=0.5))
    compile_kwargs.setdefault("loss", "binary_crossentropy")
    model.compile(engine=engine, **compile_kwargs)
    return model


def _bce(y, p):
    """Keras BCE by hand: clip to [1e-7, 1 - 1e-7], mean over samples."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _forward(weights, x):
    h = np.tanh(x @ weights[0] + weights[1])
    return 1 / (1 + np.exp(-(h @ weights[2] + weights[3])))


# ------------------------------------------------------------- structure
def test_weights_in_keras_order_and_shapes():
    model = _mlp()
    assert [w.shape for w in model.get_weights()] == [(2, 3), (3,), (3, 1), (1,)]
    np.testing.assert_array_equal(model.get_weights()[1], 0.0)  # bias_initializer="zeros"
    assert model.count_params() == 2 * 3 + 3 + 3 + 1
    assert [w.shape for w in model.layers[0].get_weights()] == [(2, 3), (3,)]
    assert len(model.weights) == len(model.trainable_weights) == 4


def test_input_shape_three_ways():
    a = Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    b = Sequential([layers.Dense(2, input_shape=(4,))])
    c = Sequential([layers.Dense(2)])
    c.predict(np.zeros((1, 4)))  # built on first data
    for model in (a, b, c):
        assert model.get_weights()[0].shape == (4, 2)
    d = Sequential()
    d.add(layers.Dense(2))
    assert d.get_weights() == []  # not built yet
    with pytest.raises(ValueError, match="no input shape"):
        d.build()


def _glorot_uniform(rng, fan_in, fan_out):
    """Keras' glorot_uniform by its formula (compared at rtol 1e-12: the limit may differ in the last bit)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def test_a_known_input_shape_builds_at_construction_so_weights_follow_creation_order():
    """Keras draws weights when the model is created (Input first or input_shape=): creating A then B and
    using B first gives A the generator's first draws and B the next, as a fresh run creating A only."""
    oracle = np.random.default_rng(0)  # set_random_seed(0) seeds np.random.default_rng(0)
    expected_a = _glorot_uniform(oracle, 3, 4)
    expected_b = _glorot_uniform(oracle, 2, 5)
    utils.set_random_seed(0)
    a = Sequential([layers.Input(shape=(3,)), layers.Dense(4)])
    b = Sequential([layers.Dense(5, input_shape=(2,))])
    assert a.built and b.built
    np.testing.assert_allclose(b.get_weights()[0], expected_b, rtol=1e-12)  # B used first
    np.testing.assert_allclose(a.get_weights()[0], expected_a, rtol=1e-12)
    utils.set_random_seed(0)
    alone = Sequential([layers.Input(shape=(3,)), layers.Dense(4)])
    np.testing.assert_allclose(alone.get_weights()[0], expected_a, rtol=1e-12)


def test_without_an_input_shape_the_model_is_built_by_its_first_data():
    oracle = np.random.default_rng(0)
    first, second = _glorot_uniform(oracle, 3, 2), _glorot_uniform(oracle, 3, 4)
    utils.set_random_seed(0)
    lazy = Sequential([layers.Dense(4)])
    eager = Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    assert not lazy.built and eager.built
    lazy.predict(np.zeros((1, 3)))
    np.testing.assert_allclose(eager.get_weights()[0], first, rtol=1e-12)
    np.testing.assert_allclose(lazy.get_weights()[0], second, rtol=1e-12)


def test_add_to_a_built_model_builds_the_new_layer_and_keeps_the_weights():
    oracle = np.random.default_rng(0)
    kernel_1, kernel_2 = _glorot_uniform(oracle, 2, 3), _glorot_uniform(oracle, 3, 1)
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse", engine="scalar")
    model.add(layers.Dense(1))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,), (3, 1), (1,)]
    np.testing.assert_allclose(weights[0], kernel_1, rtol=1e-12)
    np.testing.assert_allclose(weights[2], kernel_2, rtol=1e-12)
    x = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(model.predict(x), x @ kernel_1 @ kernel_2, rtol=1e-12)
    model.fit(x, np.array([1.0]), verbose=0)  # the optimizer is built at the first step, for 4 weights


def test_adding_a_layer_after_training_asks_for_compile_again():
    model = _mlp()
    x, y = np.array([[0.5, -1.0], [1.0, 0.25]]), np.array([1.0, 0.0])
    model.fit(x, y, verbose=0)
    model.add(layers.Dense(1, activation="sigmoid"))
    assert model.predict(x).shape == (2, 1)
    with pytest.raises(ValueError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", engine="scalar")
    assert len(model.fit(x, y, verbose=0).history["loss"]) == 1


def test_add_errors():
    model = Sequential([layers.Dense(2, name="same")])
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="same"))
    with pytest.raises(TypeError, match="Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="Input"):
        model.add(layers.Input(shape=(2,)))


def test_set_weights_checks_length_and_shapes():
    model = _mlp()
    weights = model.get_weights()
    with pytest.raises(ValueError, match="length 3.*expecting 4"):
        model.set_weights(weights[:3])
    bad = [w.copy() for w in weights]
    bad[0] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"dense\S*/kernel has shape \(2, 3\).*\(3, 3\)"):
        model.set_weights(bad)
    bad[0] = np.full((2, 3), np.nan)
    with pytest.raises(ValueError, match="non-finite"):
        model.set_weights(bad)
    new = [np.full(w.shape, 0.25) for w in weights]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)


def test_summary_counts(capsys):
    utils.clear_session()
    model = _mlp()
    assert model.summary() is None
    printed = capsys.readouterr().out
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert printed.strip() == text.strip()
    assert 'Model: "sequential' in text
    assert "dense (Dense)" in text and "(None, 3)" in text and " 9 " in text and " 4 " in text
    assert "Total params: 13" in text


# ---------------------------------------------------------- save / load
def test_save_load_round_trip_and_format(tmp_path):
    model = _mlp()
    model.fit(RNG.normal(size=(8, 2)), RNG.integers(0, 2, 8), epochs=1, verbose=0)
    path = tmp_path / "model.weights.npz"
    model.save_weights(path)
    with np.load(path, allow_pickle=False) as archive:  # the documented, pickle-free format
        header = json.loads(bytes(archive["header"]).decode())
        assert header["format"] == "microgradx.weights" and header["version"] == 1
        assert header["shapes"] == [[2, 3], [3], [3, 1], [1]]
        np.testing.assert_array_equal(archive["w2"], model.get_weights()[2])
    other = _mlp(seed=99)
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    unbuilt = Sequential([layers.Dense(3, activation="tanh"), layers.Dense(1, activation="sigmoid")])
    unbuilt.load_weights(path)  # builds from the file's first kernel
    np.testing.assert_array_equal(unbuilt.get_weights()[0], model.get_weights()[0])
    assert [p.name for p in tmp_path.iterdir()] == ["model.weights.npz"]  # no temp files left


def test_load_errors(tmp_path):
    model = _mlp()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    wide = Sequential([layers.Input(shape=(2,)), layers.Dense(5), layers.Dense(1)])
    with pytest.raises(ValueError, match="does not match"):
        wide.load_weights(path)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupted"):
        model.load_weights(corrupt)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a microgradx weights file"):
        model.load_weights(pickled)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        model.load_weights(tmp_path / "missing.npz")


def test_failed_save_leaves_old_file(tmp_path, monkeypatch):
    model = _mlp()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


# ------------------------------------------------------------------ fit
def test_epoch_loss_is_batch_size_weighted_mean_and_val_split_takes_the_tail():
    """With lr = 0 the weights never move, so every logged number has a closed form."""
    model = _mlp(optimizer=optimizers.SGD(learning_rate=0.0), metrics=["accuracy"])
    x = RNG.normal(size=(10, 2))
    y = RNG.integers(0, 2, size=10).astype(float)
    w = model.get_weights()
    history = model.fit(x, y, batch_size=3, epochs=2, validation_split=0.3, verbose=0)
    train, val = slice(0, 7), slice(7, 10)
    p_train, p_val = _forward(w, x[train])[:, 0], _forward(w, x[val])[:, 0]
    assert history.history["loss"] == pytest.approx([_bce(y[train], p_train)] * 2, rel=1e-12)
    assert history.history["val_loss"] == pytest.approx([_bce(y[val], p_val)] * 2, rel=1e-12)
    acc = np.mean((p_train > 0.5) == y[train])
    assert history.history["accuracy"] == pytest.approx([acc] * 2)
    assert history.history["val_accuracy"] == pytest.approx([np.mean((p_val > 0.5) == y[val])] * 2)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert model.evaluate(x[val], y[val], verbose=0) == pytest.approx([_bce(y[val], p_val),
                                                                       np.mean((p_val > 0.5) == y[val])])


def test_sample_weight_in_fit_and_evaluate():
    model = _mlp(optimizer=optimizers.SGD(learning_rate=0.0))
    x = RNG.normal(size=(6, 2))
    y = RNG.integers(0, 2, size=6).astype(float)
    sw = np.array([1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    p = _forward(model.get_weights(), x)[:, 0]
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    # Keras' default reduction "sum_over_batch_size": sum(w * l) / number of samples
    expected = float(np.sum(sw * per_sample) / 6)
    assert model.evaluate(x, y, sample_weight=sw, batch_size=6, verbose=0) == pytest.approx(expected, rel=1e-12)
    history = model.fit(x, y, sample_weight=sw, batch_size=6, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_fit_is_deterministic_under_set_random_seed():
    x, y = datasets.moons(40, noise=0.1, seed=0)

    def run():
        model = _mlp(seed=4, dropout=0.3)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    utils.set_random_seed(5)
    model = _mlp(seed=4, dropout=0.3)
    utils.set_random_seed(6)  # a different shuffle
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert not np.array_equal(model.get_weights()[0], first[0])


def test_shuffle_false_keeps_order():
    seen = []

    class Spy(losses.MeanSquaredError):
        def __call__(self, y_true, y_pred, sample_weight=None):
            seen.append(np.asarray(y_true, dtype=float).ravel().tolist())
            return super().__call__(y_true, y_pred, sample_weight)

        def check(self, y_true, y_pred):   # fit's up-front check of the labels (no loss computed)
            seen.append(np.asarray(y_true, dtype=float).ravel().tolist())
            return super().check(y_true, y_pred)

        def unchecked(self, y_true, y_pred, sample_weight=None):   # each batch's loss of the checked labels
            seen.append(np.asarray(y_true, dtype=float).ravel().tolist())
            return super().unchecked(y_true, y_pred, sample_weight)

    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(1,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(), loss=Spy(), engine="scalar")
    model.fit(np.arange(5.0)[:, None], np.arange(5.0), batch_size=2, shuffle=False, verbose=0)
    assert seen[0] == [0.0, 1.0, 2.0, 3.0, 4.0]  # fit's up-front label check sees all labels once
    assert seen[1:] == [[0.0, 1.0], [2.0, 3.0], [4.0]]


def test_dropout_only_in_training():
    model = _mlp(dropout=0.5)
    x = RNG.normal(size=(5, 2))
    np.testing.assert_allclose(model.predict(x), _forward(model.get_weights(), x), rtol=1e-12)
    loss_eval = model.evaluate(x, np.ones(5), verbose=0)
    loss_train, _ = model.compute_gradients(x, np.ones(5))
    assert loss_eval == pytest.approx(_bce(np.ones(5), _forward(model.get_weights(), x)[:, 0]))
    assert loss_train != pytest.approx(loss_eval)


def test_recompile_keeps_weights_and_metrics_directions():
    model = _mlp()
    model.fit(RNG.normal(size=(8, 2)), RNG.integers(0, 2, 8), epochs=1, verbose=0)
    before = model.get_weights()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "mae"], engine="scalar")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.evaluate(np.zeros((2, 2)), np.zeros(2), verbose=0)
    assert [(m.name, m.direction) for m in model.metrics] == [("accuracy", "up"), ("mae", "down")]


def test_non_finite_loss_stops_with_warning_and_keeps_history():
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(1,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=1e6), loss="mse", engine="scalar")
    x = np.linspace(-1, 1, 16)[:, None] * 100
    with pytest.warns(RuntimeWarning, match=r"epoch \d+, batch \d+.*learning rate"):
        history = model.fit(x, 3 * x[:, 0], batch_size=4, epochs=50, verbose=0)
    assert 0 < len(history.epoch) < 50
    assert all(math.isfinite(w) for weights in model.get_weights() for w in weights.ravel())
    assert not math.isfinite(history.history["loss"][-1])
    assert all(math.isfinite(v) for v in history.history["loss"][:-1])


@pytest.mark.parametrize("verbose, pattern", [(1, "4/4 ━"), (2, "4/4 - ")])  # captured: no terminal
def test_verbose_output(capsys, verbose, pattern):
    model = _mlp()
    model.fit(RNG.normal(size=(16, 2)), RNG.integers(0, 2, 16), batch_size=4, epochs=2, verbose=verbose)
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert pattern in out and "loss: " in out
    model.fit(RNG.normal(size=(16, 2)), RNG.integers(0, 2, 16), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_stream_lines():
    stream = io.StringIO()
    bar = callbacks.ProgbarLogger(verbose=1, stream=stream, dynamic=True)  # redrawn as in a terminal
    bar.set_params({"epochs": 1, "steps": 2})
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(0, {"loss": 1.23456789})
    bar.on_train_batch_end(1, {"loss": 1.0})
    bar.on_epoch_end(0, {"loss": 1.0})
    text = stream.getvalue()
    assert text.startswith("Epoch 1/1\n") and text.endswith("\n") and text.count("\r") == 3
    assert "1/2" in text and "2/2" in text and "loss: 1.2346" in text


def test_predict_batches_and_shapes():
    model = _mlp()
    x = RNG.normal(size=(70, 2))
    out = model.predict(x, batch_size=32)
    assert out.shape == (70, 1)
    np.testing.assert_allclose(out, _forward(model.get_weights(), x), rtol=1e-12)


# ------------------------------------------------------------ bad input
def test_bad_inputs_raise_clear_errors():
    model = _mlp()
    x = RNG.normal(size=(8, 2))
    y = np.ones(8)
    with pytest.raises(ValueError, match="'x' sizes: 8 'y' sizes: 7"):
        model.fit(x, y[:7], verbose=0)
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 2"):
        model.fit(np.ones((8, 3)), y, verbose=0)
    with pytest.raises(ValueError, match="2-D"):
        model.fit(np.ones(8), y, verbose=0)
    with pytest.raises(TypeError, match="argument `x`"):
        model.fit([["a", "b"]], [1.0], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match=r"argument `x`: no samples \(shape \(0, 2\)\)"):
        model.predict(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"argument `x`: no samples"):
        model.fit(np.zeros((0, 2)), np.zeros(0), verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=(x,), verbose=0)


@pytest.mark.parametrize("engine", ["scalar", "cpu"])
def test_non_finite_inputs_raise_naming_the_argument_instead_of_a_nan_loss(engine):
    model = _mlp(engine)
    before = model.get_weights()
    x = RNG.normal(size=(8, 2))
    x[3, 1] = np.nan
    y = np.ones(8)
    with pytest.raises(ValueError, match=r"argument `x`: expected finite numbers, got nan at index \(3, 1\)"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"argument `x`: expected finite numbers, got nan at index \(3, 1\)"):
        model.predict(x, verbose=0)
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"argument `x`: expected finite numbers, got inf"):
        model.evaluate(x, y, verbose=0)
    weights = np.ones(8)
    weights[0] = np.nan
    with pytest.raises(ValueError, match=r"argument `sample_weight`: expected finite numbers, got nan at index \(0,\)"):
        model.fit(np.ones((8, 2)), y, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match=r"argument `val_x`: expected finite numbers, got nan"):
        model.fit(np.ones((8, 2)), y, validation_data=(np.full((2, 2), np.nan), np.ones(2)), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing was trained on the bad data
    broken = [w.copy() for w in before]
    broken[1][0] = np.inf
    with pytest.raises(ValueError, match=r"argument `weights\[1\] \(.*bias\)`: expected finite numbers, got inf "
                                         r"at index \(0,\)"):
        model.set_weights(broken)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_labels_are_rejected_before_training():
    model = _mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match="argument `y`.*BinaryCrossentropy"):
        model.fit(np.ones((4, 2)), np.array([0.0, 1.0, 2.0, 1.0]), verbose=0)
    with pytest.raises(ValueError, match="validation y"):
        model.fit(np.ones((4, 2)), np.ones(4), validation_data=(np.ones((2, 2)), np.array([3.0, 0.0])), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    utils.set_random_seed(0)
    softmax = Sequential([layers.Input(shape=(2,)), layers.Dense(3, activation="softmax")])
    softmax.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", engine="scalar")
    with pytest.raises(ValueError, match="argument `y`"):
        softmax.evaluate(np.ones((2, 2)), np.array([0.0, 3.0]), verbose=0)


def test_compile_errors():
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="compile"):
        model.evaluate(np.ones((2, 2)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="engine.*'tpu'"):
        model.compile(optimizer="sgd", loss="mse", engine="tpu")
    with pytest.raises(ValueError, match=r"Unknown loss 'not_a_loss'\. Known names: .*'binary_crossentropy'"):
        model.compile(optimizer="sgd", loss="not_a_loss", engine="scalar")
    with pytest.raises(ValueError, match=r"Unknown optimizer 'not_an_optimizer'\. Known names: .*'adam'"):
        model.compile(optimizer="not_an_optimizer", loss="mse", engine="scalar")
    with pytest.raises(ValueError, match="metrics.*'f1'"):
        model.compile(optimizer="sgd", loss="mse", metrics=["f1"], engine="scalar")
    with pytest.raises(TypeError, match="metrics"):
        model.compile(optimizer="sgd", loss="mse", metrics="accuracy", engine="scalar")
    with pytest.raises(ValueError, match="dtype"):
        model.compile(optimizer="sgd", loss="mse", engine="scalar", dtype="int32")
    model.compile(optimizer="sgd", engine="scalar")
    with pytest.raises(ValueError, match="loss"):
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)


# ----------------------------------------------------------------- metrics
def test_metrics_closed_forms():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.6], [0.4], [0.1]])
    np.testing.assert_array_equal(metrics.binary_accuracy(y, p), [1, 0, 0, 1])
    onehot = np.eye(3)[[0, 2, 1]]
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.7, 0.2]])
    np.testing.assert_array_equal(metrics.categorical_accuracy(onehot, probs), [1, 0, 1])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(np.array([0, 2, 1]), probs), [1, 0, 1])
    np.testing.assert_allclose(metrics.mean_absolute_error(y, p), [0.1, 0.6, 0.6, 0.1])
    np.testing.assert_allclose(metrics.mean_squared_error(y, p), [0.01, 0.36, 0.36, 0.01])
    assert metrics.get("accuracy", y, p).fn is metrics.binary_accuracy
    assert metrics.get("acc", np.array([0, 2, 1]), probs).fn is metrics.sparse_categorical_accuracy
    assert metrics.get("accuracy", onehot, probs).fn is metrics.categorical_accuracy
    assert metrics.get("mse").direction == "down" and metrics.get("mae").name == "mae"


def test_metrics_align_a_trailing_unit_dimension_and_reject_other_shapes():
    # Keras squeezes (B, 1) labels to (B,) predictions, a 1-D array being one sample: mean |[0, 0, 0.5]| = 1/6,
    # not a (B, B) broadcast (which gave [1, 2/3, 1])
    column, flat = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.5])
    assert float(metrics.mean_absolute_error(column, flat)) == pytest.approx(0.5 / 3, rel=1e-15)
    # (B,) labels against (B, 1) predictions are expanded: per sample (y - p)**2
    np.testing.assert_allclose(metrics.mean_squared_error(flat, column), [0.0, 0.0, 0.25], rtol=1e-15)
    with pytest.raises(ValueError, match=r"argument `y_true`: shape \(3,\) does not match `y_pred` of shape \(4,\)"):
        metrics.binary_accuracy(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not match `y_pred` of shape \(2, 2\)"):
        metrics.mean_absolute_error(np.ones((2, 3)), np.ones((2, 2)))


# ------------------------------------------------------- micrograd's demo
@pytest.mark.slow
def test_micrograd_demo_on_the_scalar_engine():
    """karpathy/micrograd demo.ipynb through this API: MLP 2-16-16-1, 100 moons, hinge, SGD with
    lr = 1.0 - 0.9 k / 100, full batch, 100 steps -> 100% training accuracy."""
    x, y01 = datasets.moons(100, noise=0.1, seed=1)
    y = 2 * y01 - 1  # labels -1 / +1 like the demo
    utils.set_random_seed(1337)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(16, activation="relu"),
                        layers.Dense(16, activation="relu"), layers.Dense(1)])
    schedule = optimizers.PolynomialDecay(1.0, decay_steps=100, end_learning_rate=0.1)
    assert [schedule(k) for k in (0, 50, 99)] == pytest.approx([1.0 - 0.9 * k / 100 for k in (0, 50, 99)])
    model.compile(optimizer=optimizers.SGD(learning_rate=schedule), loss="hinge", engine="scalar")
    history = model.fit(x, y, batch_size=100, epochs=100, verbose=0, shuffle=False)
    scores = model.predict(x)[:, 0]
    accuracy = np.mean((scores > 0) == (y > 0))
    assert accuracy == 1.0, (accuracy, history.history["loss"][-1])
    # the hinge loss mean(max(0, 1 - y s)) at the end, recomputed by hand
    assert model.evaluate(x, y, batch_size=100, verbose=0) == pytest.approx(
        float(np.mean(np.maximum(0.0, 1 - y * scores))), rel=1e-12)


def test_recompile_with_another_engine_keeps_weights_and_training_agrees():
    """scalar -> cpu (float64) -> scalar: weights carried over; one epoch agrees across engines."""
    pytest.importorskip("numba")
    x, y = datasets.moons(24, noise=0.1, seed=2)
    model = _mlp(dropout=0.25)
    start = model.get_weights()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", engine="cpu",
                  dtype="float64")
    for a, b in zip(start, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    utils.set_random_seed(8)
    cpu_history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    cpu_weights = model.get_weights()

    model.set_weights(start)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", engine="scalar")
    for a, b in zip(start, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    utils.set_random_seed(8)
    scalar_history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_allclose(scalar_history.history["loss"], cpu_history.history["loss"], rtol=1e-10)
    for a, b in zip(model.get_weights(), cpu_weights):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("engine", ["scalar", "cpu"])
def test_reduction_none_trains_on_the_sum_of_per_sample_losses(engine):
    """``reduction="none"`` in compile: every engine minimises (and reports) sum_i L_i, like tf.keras.

    Oracle, one sigmoid unit p = s(x w + b) with BCE: L_i = -(y ln p + (1-y) ln(1-p)),
    d sum L / d w = x^T (p - y), d sum L / d b = sum (p - y).
    """
    if engine == "cpu":
        pytest.importorskip("numba")
    x = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 0.5], [0.2, 0.3]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    w, b = np.array([[0.3], [-0.6]]), np.array([0.1])
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.set_weights([w, b])
    learning_rate = 0.1
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate),
                  loss=losses.BinaryCrossentropy(reduction="none"), engine=engine, dtype="float64")
    p = 1 / (1 + np.exp(-(x @ w + b)))[:, 0]
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    grad_w, grad_b = x.T @ (p - y)[:, None], np.array([np.sum(p - y)])

    loss, grads = model.compute_gradients(x, y)
    assert loss == pytest.approx(per_sample.sum(), rel=1e-12)
    np.testing.assert_allclose(grads[0], grad_w, rtol=1e-10)
    np.testing.assert_allclose(grads[1], grad_b, rtol=1e-10)
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(per_sample.sum(), rel=1e-12)
    assert model.evaluate(x, y, batch_size=2, verbose=0) == pytest.approx(per_sample.sum() / 2, rel=1e-12)
    assert model.to_graph(x, y).data == pytest.approx(per_sample.sum(), rel=1e-12)

    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"] == pytest.approx([per_sample.sum()], rel=1e-12)
    np.testing.assert_allclose(model.get_weights()[0], w - learning_rate * grad_w, rtol=1e-10)
    np.testing.assert_allclose(model.get_weights()[1], b - learning_rate * grad_b, rtol=1e-10)


@pytest.mark.parametrize("stack", [[], [layers.Input(shape=(2,))]])
def test_a_model_without_layers_is_rejected_when_it_meets_data(stack):
    model = Sequential(stack)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2)), np.ones(4)
    for call in (lambda: model.predict(x, verbose=0), lambda: model.fit(x, y, verbose=0),
                 lambda: model.evaluate(x, y, verbose=0), lambda: model(x)):
        with pytest.raises(ValueError, match=r"has no layers: it cannot compute anything from `x`"):
            call()
    with pytest.raises(ValueError, match="has no layers"):
        model.build((None, 2))
