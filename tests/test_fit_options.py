"""fit(class_weight=..., validation_freq=...) and Sequential.pop against Keras 3.15.1's recorded numbers
(tests/data/keras_issue11.json) and closed forms; compiled metrics are unweighted, as in Keras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import microgradx as mgx
from microgradx import fit_options

GOLDEN = json.loads((Path(__file__).parent / "data" / "keras_issue11.json").read_text())["training"]
X, Y = np.array(GOLDEN["x"]), np.array(GOLDEN["y"])
W0 = [np.array(w) for w in GOLDEN["initial_weights"]]


def build(engine="cpu", metrics=("accuracy", "mse"), lr=0.1) -> mgx.Sequential:
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(4, activation="tanh"),
                            mgx.layers.Dense(1, activation="sigmoid")])
    model.set_weights(W0)
    model.compile(optimizer=mgx.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy",
                  metrics=list(metrics), engine=engine, dtype="float64")
    return model


@pytest.mark.parametrize("engine", ["scalar", "cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
@pytest.mark.parametrize("name", ["class_weight_0", "class_weight_both"])
def test_class_weight_matches_keras(name, engine):
    case = GOLDEN["cases"][name]
    class_weight = {int(k): v for k, v in case["class_weight"].items()}
    model = build(engine)
    history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0, class_weight=class_weight)
    for key in ("loss", "accuracy", "mse"):        # Keras logs are float32 means
        assert history.history[key] == pytest.approx(case["history"][key], rel=2e-6), key
    for ours, theirs in zip(model.get_weights(), case["weights"]):
        np.testing.assert_allclose(ours, np.array(theirs), rtol=2e-6, atol=1e-7)


def test_class_weight_is_a_per_sample_weight_and_metrics_stay_unweighted():
    model = build(lr=0.0)
    p = model.predict(X)[:, 0]
    y = Y[:, 0]
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    weights = np.where(y == 0, 3.0, 1.0)                      # class 1 missing from the dict: weight 1
    history = model.fit(X, Y, batch_size=10, epochs=1, verbose=0, class_weight={0: 3.0})
    assert history.history["loss"][0] == pytest.approx(np.sum(weights * per_sample) / 10, rel=1e-12)
    assert history.history["accuracy"][0] == pytest.approx(np.mean((p > 0.5) == y), rel=1e-12)
    assert history.history["mse"][0] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    accuracy = model.evaluate(X, Y, sample_weight=np.where(y == 0, 0.0, 1.0), verbose=0)[1]
    assert accuracy == pytest.approx(np.mean((p > 0.5) == y), rel=1e-12)   # Keras: metrics ignore weights


def test_class_weight_labels_and_errors():
    one_hot = np.eye(3)[[0, 2, 1, 2]]
    np.testing.assert_array_equal(fit_options.class_weight_to_sample_weights(one_hot, {2: 5.0, 0: 0.5}),
                                  [0.5, 5.0, 1.0, 5.0])
    np.testing.assert_array_equal(fit_options.class_weight_to_sample_weights(np.array([[1.0], [0.0]]), {1: 2}),
                                  [2.0, 1.0])
    with pytest.raises(ValueError, match="integer keys representing class indices. Received an invalid key: '0'"):
        fit_options.class_weight_to_sample_weights(np.zeros(2), {"0": 1.0})
    with pytest.raises(ValueError, match="must be a dict-like mapping"):
        fit_options.class_weight_to_sample_weights(np.zeros(2), [1.0, 2.0])
    with pytest.raises(ValueError, match="class 0 has weight nan"):
        fit_options.class_weight_to_sample_weights(np.zeros(2), {0: float("nan")})
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight` at the same time"):
        build().fit(X, Y, verbose=0, class_weight={0: 1.0}, sample_weight=np.ones(10))


def test_validation_freq_matches_keras():
    case = GOLDEN["validation_freq_2"]
    model = build(metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=4, epochs=5, shuffle=False, verbose=0, validation_data=(X[:6], Y[:6]),
                        validation_freq=2)
    assert sorted(history.history) == sorted(case["history"])
    for key, values in case["history"].items():
        assert history.history[key] == pytest.approx(values, rel=2e-6), key


def test_validation_freq_values():
    assert [fit_options.should_validate(e, 3) for e in range(6)] == [False, False, True, False, False, True]
    assert [fit_options.should_validate(e, [1, 4]) for e in range(5)] == [True, False, False, True, False]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int >= 1"):
            fit_options.check_validation_freq(bad)
    seen = []
    build().fit(X, Y, epochs=3, verbose=0, validation_split=0.2, validation_freq=[1, 3],
                callbacks=[mgx.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append("val_loss" in logs))])
    assert seen == [True, False, True]


def test_pop_removes_the_last_layer_and_its_weights():
    model = build()
    model.fit(X, Y, epochs=1, verbose=0)
    weights = model.get_weights()
    layer = model.pop()
    assert layer.name.startswith("dense") and layer._model is None and len(model.layers) == 1
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,)]
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])
    np.testing.assert_allclose(model.predict(X), np.tanh(X @ weights[0] + weights[1]), rtol=1e-12)
    with pytest.raises(ValueError, match=r"popped from\) model .* call `compile\(\)` again"):
        model.fit(X, np.zeros((10, 4)), verbose=0)
    model.add(mgx.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="binary_crossentropy", engine="cpu")
    model.fit(X, Y, epochs=1, verbose=0)
    model.pop()
    model.pop()
    with pytest.raises(ValueError, match="There are no layers in model"):
        model.pop()
