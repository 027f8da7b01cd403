"""ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, CSVLogger and ModelCheckpoint against the
numbers Keras 3.15.1 recorded for the same model, data and injected val_loss sequences
(tests/data/keras_issue11.json, made by tests/data/record_keras_issue11.py); learning-rate assignment
taking effect at the next step on every engine."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import microgradx as mgx
from microgradx import callbacks

GOLDEN = json.loads((Path(__file__).parent / "data" / "keras_issue11.json").read_text())
PROBLEM = GOLDEN["training"]
X, Y = np.array(PROBLEM["x"]), np.array(PROBLEM["y"])
W0 = [np.array(w) for w in PROBLEM["initial_weights"]]
LR = GOLDEN["lr_callbacks"]


def build(engine: str = "cpu", lr: float = 0.1, metrics=None, optimizer=None) -> mgx.Sequential:
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(4, activation="tanh"),
                            mgx.layers.Dense(1, activation="sigmoid")])
    model.set_weights(W0)
    model.compile(optimizer=optimizer or mgx.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy",
                  metrics=metrics or [], engine=engine, dtype="float64")
    return model


class Inject(callbacks.Callback):
    """Puts a chosen val_loss into the logs before the callbacks after it read them (as the recorder did)."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


class RecordLR(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.begin, self.end = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(self.model.optimizer.learning_rate)

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(self.model.optimizer.learning_rate)


# ------------------------------------------------------------------------- ReduceLROnPlateau
@pytest.mark.parametrize("name", sorted(LR["plateau"]))
def test_reduce_lr_on_plateau_sequences_match_keras(name):
    case = LR["plateau"][name]
    model = build()
    recorder = RecordLR()
    history = model.fit(X, Y, batch_size=10, epochs=len(case["val_loss"]), shuffle=False, verbose=0,
                        callbacks=[Inject(case["val_loss"]), callbacks.ReduceLROnPlateau(**case["kwargs"]), recorder])
    assert recorder.begin == pytest.approx(case["lr_begin"], rel=1e-15)
    assert recorder.end == pytest.approx(case["lr_end"], rel=1e-15)
    assert history.history["learning_rate"] == pytest.approx(case["logged_learning_rate"], rel=1e-15)


def test_reduce_lr_on_plateau_validation_and_missing_monitor():
    with pytest.raises(ValueError, match=LR["errors"]["factor_1"].replace(".", r"\.")):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="cooldown"):
        callbacks.ReduceLROnPlateau(cooldown=-1)
    with pytest.raises(ValueError, match="min_lr"):
        callbacks.ReduceLROnPlateau(min_lr=float("nan"))
    model = build()
    with pytest.warns(UserWarning, match="conditioned on metric `val_loss` which is not available. Available "
                                         "metrics are: loss,learning_rate"):
        model.fit(X, Y, batch_size=10, epochs=1, verbose=0, callbacks=[callbacks.ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="ReduceLROnPlateau callback received monitor=val_mystery"):
        model.fit(X, Y, batch_size=10, epochs=1, verbose=0,
                  callbacks=[callbacks.ReduceLROnPlateau(monitor="val_mystery")])


def test_reduce_lr_on_plateau_verbose_message(capsys):
    model = build()
    model.fit(X, Y, batch_size=10, epochs=2, verbose=0, shuffle=False,
              callbacks=[Inject([1.0, 1.0]), callbacks.ReduceLROnPlateau(patience=1, factor=0.5, verbose=1)])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05." in capsys.readouterr().out


# --------------------------------------------------------------------- LearningRateScheduler
SCHEDULES = {
    "halve_from_epoch_2": lambda epoch, lr: lr if epoch < 2 else lr * 0.5,
    "inverse_epoch": lambda epoch, lr: 0.1 / (epoch + 1),
    "exp_decay": lambda epoch, lr: float(lr * np.exp(-0.1)),
}


@pytest.mark.parametrize("name, engine", [(name, engine) for name in sorted(SCHEDULES) for engine in ("scalar", "cpu")]
                         + [pytest.param("halve_from_epoch_2", "cuda", marks=pytest.mark.cuda)])
def test_learning_rate_scheduler_matches_keras_on_every_engine(name, engine):
    case = LR["schedules"][name]
    model = build(engine)
    recorder = RecordLR()
    history = model.fit(X, Y, batch_size=10, epochs=len(case["lr_begin"]), shuffle=False, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(SCHEDULES[name]), recorder])
    assert recorder.begin == pytest.approx(case["lr_begin"], rel=1e-15)
    assert history.history["learning_rate"] == pytest.approx(case["logged_learning_rate"], rel=1e-15)
    for ours, theirs in zip(model.get_weights(), case["weights"]):   # Keras means run in float32
        np.testing.assert_allclose(ours, np.array(theirs), rtol=2e-6, atol=1e-7)


def test_learning_rate_scheduler_engines_agree_in_float64():
    finals = {}
    for engine in ("scalar", "cpu"):
        model = build(engine, optimizer=mgx.optimizers.Adam(0.05))
        model.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
        finals[engine] = model.get_weights()
    for a, b in zip(finals["scalar"], finals["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_learning_rate_scheduler_old_api_and_bad_output():
    model = build()
    seen = []
    model.fit(X, Y, batch_size=10, epochs=2, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda epoch: seen.append(epoch) or 0.01)])
    assert seen == [0, 1] and model.optimizer.learning_rate == 0.01
    with pytest.raises(ValueError, match="The output of the `schedule` function should be a float. Got: 1"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 1)])
    schedule = mgx.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
    scheduled = build(optimizer=mgx.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: 0.1)])


OPTIMIZERS = {"sgd": lambda: mgx.optimizers.SGD(0.1, momentum=0.9), "adam": lambda: mgx.optimizers.Adam(0.1),
              "rmsprop": lambda: mgx.optimizers.RMSprop(0.05)}


@pytest.mark.parametrize("engine, optimizer", [(e, OPTIMIZERS[o]) for e in ("scalar", "cpu") for o in OPTIMIZERS]
                         + [pytest.param("cuda", OPTIMIZERS["adam"], marks=pytest.mark.cuda)])
def test_assigned_learning_rate_takes_effect_at_the_next_step(engine, optimizer):
    """Train two batches with the rate changed in between (from a batch hook); the weights equal two
    NumPy optimizer steps on the gradients compute_gradients gives, with the two rates."""
    model = build(engine, optimizer=optimizer())
    reference_opt = optimizer()
    weights = [w.copy() for w in W0]
    reference = build("cpu", optimizer=optimizer())
    for batch, lr in ((slice(0, 5), 0.1 if not isinstance(reference_opt, mgx.optimizers.RMSprop) else 0.05),
                      (slice(5, 10), 0.003)):
        reference.set_weights(weights)
        _, grads = reference.compute_gradients(X[batch], Y[batch])
        reference_opt.learning_rate = lr
        reference_opt.apply(grads, weights)

    def slow_down(batch, logs):
        model.optimizer.learning_rate = 0.003

    model.fit(X, Y, batch_size=5, epochs=1, shuffle=False, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: b == 0 and slow_down(b, logs))])
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert model.optimizer.learning_rate == 0.003


# ----------------------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(1)])
    model.compile(optimizer=mgx.optimizers.SGD(1e120), loss="mse", engine="cpu", dtype="float64")
    seen = []
    with pytest.warns(RuntimeWarning, match="non-finite"):
        model.fit(X * 100, Y, batch_size=2, epochs=3, shuffle=False, verbose=0,
                  callbacks=[callbacks.TerminateOnNaN(),
                             callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["loss"]))])
    assert model.stop_training is True
    assert len(seen) == 3 and not math.isfinite(seen[-1]) and all(math.isfinite(v) for v in seen[:-1])
    assert f"Batch {len(seen) - 1}: Invalid loss, terminating training" in capsys.readouterr().out
    callback = callbacks.TerminateOnNaN(raise_error=True)
    callback.set_model(model)
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 3"):
        callback.on_train_batch_end(3, {"loss": float("inf")})
    callback.on_train_batch_end(4, {"loss": 1.0})      # a finite loss does nothing


# --------------------------------------------------------------------------------- CSVLogger
def _cells(text: str, separator: str) -> list[list[str]]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return [line.split(separator) for line in text.split("\r\n")[:-1]]


def _assert_same_csv(ours: str, theirs: str, separator: str = ",") -> None:
    """Same lines and cells; numbers equal to Keras' float32 logs within 1e-6."""
    ours_rows = [row for line in ours.split("\r\n")[:-1] for row in [line]]
    theirs_rows = theirs.split("\r\n")[:-1]
    assert len(ours_rows) == len(theirs_rows)
    for a, b in zip(ours_rows, theirs_rows):
        sep = ";" if ";" in b else ","
        for x, y in zip(a.split(sep), b.split(sep), strict=True):
            try:
                assert float(x) == pytest.approx(float(y), rel=1e-6)
            except ValueError:
                assert x == y


def test_csv_logger_matches_keras(tmp_path):
    path = tmp_path / "log.csv"
    model = build(metrics=["accuracy"])
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    first = path.read_bytes().decode()
    _assert_same_csv(first, GOLDEN["files"]["csv_no_validation"])
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_data=(X[:4], Y[:4]),
              callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    _assert_same_csv(path.read_bytes().decode(), GOLDEN["files"]["csv_appended_with_validation"])
    assert path.read_bytes().decode().startswith(first)
    assert sorted(os.listdir(tmp_path)) == ["log.csv"]            # no temporary files left behind


def test_csv_logger_validation():
    with pytest.raises(ValueError, match="separator"):
        callbacks.CSVLogger("x.csv", separator=";;")


# --------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_names_and_best_only_match_keras(tmp_path):
    pytest.importorskip("h5py")
    case = GOLDEN["files"]["checkpoint_best_only"]
    model = build()
    model.fit(X, Y, batch_size=4, epochs=5, shuffle=False, verbose=0,
              callbacks=[Inject(case["val_loss"]), callbacks.ModelCheckpoint(
                  str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5"), save_best_only=True,
                  save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == [f for f in case["files"] if f != "log.csv"]
    restored = build()
    restored.load_weights(tmp_path / "ckpt-05-0.60.weights.h5")
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_npz_every_n_batches_and_threshold(tmp_path):
    model = build()
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0,        # 3 batches per epoch
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.npz"), save_weights_only=True,
                                                   save_freq=2)])
    assert sorted(os.listdir(tmp_path)) == ["e1-b2.npz", "e2-b1.npz", "e2-b3.npz"]
    saved = []
    model.save_weights = saved.append
    model.fit(X, Y, batch_size=10, epochs=3, shuffle=False, verbose=0,
              callbacks=[Inject([0.5, 0.3, 0.3]), callbacks.ModelCheckpoint(
                  "m{epoch}.npz", save_weights_only=True, save_best_only=True, initial_value_threshold=0.4)])
    assert saved == ["m2.npz"]                    # 0.5 does not beat 0.4; the tie at epoch 3 is no improvement


def test_model_checkpoint_validation(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint("m.h5")
    with pytest.raises(ValueError, match="Unrecognized save_freq: 'batch'"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    model = build()
    with pytest.raises(KeyError, match=r'Failed to format this callback filepath: ".*\{val_acc\}\.npz"'):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(
            str(tmp_path / "{val_acc}.npz"), save_weights_only=True)])


def test_model_checkpoint_saves_whole_models_that_load(tmp_path):
    model = build(metrics=["accuracy"])
    model.fit(X, Y, batch_size=5, epochs=2, shuffle=False, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"), monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["m-1.keras", "m-2.keras"]
    last = mgx.models.load_model(tmp_path / "m-2.keras")
    for a, b in zip(last.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert last.optimizer.iterations == model.optimizer.iterations == 4
