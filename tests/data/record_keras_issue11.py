"""Record Keras 3's numbers for regularizers, class weights, validation_freq and the learning-rate
callbacks into ``keras_issue11.json`` next to this file, and save two small Keras files
(``keras_sequential.keras``, ``keras_sequential.weights.h5``) that tests load without Keras.

Run from the repository root in an environment with keras 3 and torch (the test extra):

    KERAS_BACKEND=torch .venv/bin/python tests/data/record_keras_issue11.py

Only public Keras API is used. Training cases run with ``floatx = "float64"`` so that the learning
rates are exact floats (Keras keeps a float learning rate in a floatx variable); Keras still computes
means in float32 on its torch backend, so compare with a relative tolerance of about 1e-6.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else ("NaN" if value != value else
                                                    ("Infinity" if value > 0 else "-Infinity"))
    if isinstance(value, np.integer):
        return int(value)
    return value


# ----------------------------------------------------------------------------- regularizers
def record_regularizers() -> dict:
    R = keras.regularizers
    x = np.array([[0.5, -1.25, 0.0, 2.0], [-0.75, 0.0, 3.5, -0.1], [1e-3, -2.5, 0.25, 1.0]])
    cases = []
    for name, kwargs in [("L1", {"l1": 0.1}), ("L2", {"l2": 0.1}), ("L1L2", {"l1": 0.01, "l2": 0.02}),
                         ("L1", {}), ("L2", {}), ("L1L2", {}), ("L1L2", {"l2": 0.3}), ("L1", {"l1": 0.3}),
                         ("L2", {"l2": 0.0})]:
        reg = getattr(R, name)(**kwargs)
        cases.append({
            "class_name": name, "kwargs": kwargs, "config": reg.get_config(),
            "float64": float(reg(keras.ops.convert_to_tensor(x, dtype="float64"))),
            "float32": float(reg(keras.ops.convert_to_tensor(x.astype(np.float32), dtype="float32"))),
            "serialized": R.serialize(reg),
        })
    identifiers = {}
    for ident in ["l1", "l2", "l1l2", "L1", "L2", "L1L2", "l1_l2", "unknown"]:
        try:
            reg = R.get(ident)
            identifiers[ident] = {"class_name": type(reg).__name__, "config": reg.get_config()}
        except ValueError as error:
            identifiers[ident] = {"error": "ValueError", "message": str(error)}
    validation = {}
    for value in [-1.0, float("nan"), float("inf"), "x", 0, 2]:
        try:
            validation[repr(value)] = {"config": R.L2(value).get_config()}
        except ValueError as error:
            validation[repr(value)] = {"error": "ValueError", "message": str(error)}
    return {"x": x, "cases": cases, "identifiers": identifiers, "validation": validation}


# ------------------------------------------------------------------------ training problems
def problem():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(10, 3))
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype(np.float64)
    y[3] = 1.0 - y[3]                     # one noisy label
    w = [rng.normal(scale=0.5, size=(3, 4)), rng.normal(scale=0.1, size=(4,)),
         rng.normal(scale=0.5, size=(4, 1)), rng.normal(scale=0.1, size=(1,))]
    return x, y, w


def build(weights, regs=None, metrics=None, lr=0.1, loss="binary_crossentropy"):
    regs = regs or {}
    model = keras.Sequential([
        keras.layers.Input(shape=(3,)),
        keras.layers.Dense(4, activation="tanh", **{k: keras.regularizers.deserialize(v)
                                                    for k, v in regs.items()}),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.set_weights([np.array(w) for w in weights])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss=loss, metrics=metrics or [])
    return model


REG_CASES = {
    "none": {},
    "kernel_l2": {"kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.05}}},
    "kernel_l1": {"kernel_regularizer": {"class_name": "L1", "config": {"l1": 0.05}}},
    "bias_l1l2": {"bias_regularizer": {"class_name": "L1L2", "config": {"l1": 0.02, "l2": 0.03}}},
    "activity_l2": {"activity_regularizer": {"class_name": "L2", "config": {"l2": 0.05}}},
    "activity_l1": {"activity_regularizer": {"class_name": "L1", "config": {"l1": 0.05}}},
    "all": {"kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
            "bias_regularizer": {"class_name": "L2", "config": {"l2": 0.04}},
            "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.03, "l2": 0.01}}},
}


def record_training() -> dict:
    x, y, w = problem()
    out = {"x": x, "y": y, "initial_weights": w, "batch_size": 4, "epochs": 3, "optimizer": "SGD(0.1)",
           "model": "Input(3) -> Dense(4, tanh, <regularizers>) -> Dense(1, sigmoid); BCE", "cases": {}}
    for name, regs in REG_CASES.items():
        model = build(w, regs)
        before = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
        history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
        after = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
        out["cases"][name] = {"regularizers": regs, "history": history.history,
                              "evaluate_before": before, "evaluate_after": after,
                              "weights": model.get_weights()}
    # class weights: loss is sum(w * l) / batch size; compiled metrics are unweighted
    for name, class_weight in [("class_weight_0", {0: 3.0}), ("class_weight_both", {0: 0.5, 1: 2.0})]:
        model = build(w, metrics=["accuracy", "mse"])
        history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, class_weight=class_weight)
        out["cases"][name] = {"class_weight": class_weight, "history": history.history,
                              "weights": model.get_weights()}
    model = build(w, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
                        validation_data=(x[:6], y[:6]), validation_freq=2)
    out["validation_freq_2"] = {"history": history.history, "epochs": 5}
    return out


# -------------------------------------------------------------------- learning-rate callbacks
class Inject(keras.callbacks.Callback):
    """Puts a chosen val_loss into the logs before the callbacks after it read them."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


class RecordLR(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.begin, self.end = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(float(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(float(self.model.optimizer.learning_rate))


PLATEAU_CASES = {
    "patience_2": ({"patience": 2, "factor": 0.5},
                   [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.85, 0.86, 0.87, 0.88]),
    "cooldown_1": ({"patience": 1, "factor": 0.5, "cooldown": 1},
                   [1.0, 1.1, 1.2, 1.3, 1.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
    "cooldown_3_min_lr": ({"patience": 1, "factor": 0.2, "cooldown": 3, "min_lr": 0.005},
                          [1.0] * 12),
    "min_delta": ({"patience": 1, "factor": 0.1, "min_delta": 0.1},
                  [1.0, 0.95, 0.8, 0.75, 0.74, 0.5, 0.45, 0.44]),
    "mode_max": ({"patience": 1, "factor": 0.5, "mode": "max"},
                 [0.1, 0.2, 0.2, 0.3, 0.25, 0.24, 0.5]),
    "defaults": ({}, [1.0] * 13),
}

SCHEDULES = {
    "halve_from_epoch_2": (lambda epoch, lr: lr if epoch < 2 else lr * 0.5, 6),
    "inverse_epoch": (lambda epoch, lr: 0.1 / (epoch + 1), 5),
    "exp_decay": (lambda epoch, lr: float(lr * np.exp(-0.1)), 5),
}


def record_lr_callbacks() -> dict:
    x, y, w = problem()
    keras.config.set_floatx("float64")
    plateau = {}
    for name, (kwargs, values) in PLATEAU_CASES.items():
        model = build(w, lr=0.1)
        recorder = RecordLR()
        history = model.fit(x, y, batch_size=10, epochs=len(values), shuffle=False, verbose=0,
                            callbacks=[Inject(values), keras.callbacks.ReduceLROnPlateau(**kwargs), recorder])
        plateau[name] = {"kwargs": kwargs, "val_loss": values, "lr_begin": recorder.begin,
                         "lr_end": recorder.end, "logged_learning_rate": history.history["learning_rate"]}
    schedules = {}
    for name, (schedule, epochs) in SCHEDULES.items():
        model = build(w, lr=0.1)
        recorder = RecordLR()
        history = model.fit(x, y, batch_size=10, epochs=epochs, shuffle=False, verbose=0,
                            callbacks=[keras.callbacks.LearningRateScheduler(schedule), recorder])
        schedules[name] = {"lr_begin": recorder.begin, "logged_learning_rate": history.history["learning_rate"],
                           "weights": model.get_weights()}
    errors = {}
    try:
        keras.callbacks.ReduceLROnPlateau(factor=1.0)
    except ValueError as error:
        errors["factor_1"] = str(error)
    return {"plateau": plateau, "schedules": schedules, "errors": errors,
            "initial_learning_rate": 0.1, "batch_size": 10}


def record_files() -> dict:
    """CSVLogger text, ModelCheckpoint file names, and two Keras files saved for the loaders' tests."""
    x, y, w = problem()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = os.path.join(tmp, "log.csv")
        model = build(w, metrics=["accuracy"])
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.CSVLogger(csv_path)])
        out["csv_no_validation"] = open(csv_path, newline="").read()
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_data=(x[:4], y[:4]),
                  callbacks=[keras.callbacks.CSVLogger(csv_path, separator=";", append=True)])
        out["csv_appended_with_validation"] = open(csv_path, newline="").read()
        values = [0.9, 0.7, 0.8, 0.7, 0.6]
        pattern = os.path.join(tmp, "ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5")
        model = build(w)
        model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
                  callbacks=[Inject(values), keras.callbacks.ModelCheckpoint(
                      pattern, save_best_only=True, save_weights_only=True)])
        out["checkpoint_best_only"] = {"val_loss": values, "files": sorted(os.listdir(tmp))}
    # the files a test loads without Keras
    model = keras.Sequential([keras.layers.Input(shape=(3,)),
                              keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dropout(0.25),
                              keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.array(v) for v in problem()[2][:2]] +
                      [np.arange(8.0).reshape(4, 2) / 10 - 0.3, np.array([0.05, -0.05])])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, np.eye(2)[y[:, 0].astype(int)], batch_size=5, epochs=2, shuffle=False, verbose=0)
    model.save(HERE / "keras_sequential.keras")
    model.save_weights(HERE / "keras_sequential.weights.h5")
    out["saved_model"] = {"x": x, "predict": model.predict(x, verbose=0), "weights": model.get_weights(),
                          "optimizer_iterations": int(model.optimizer.iterations),
                          "optimizer_variables": [v.numpy() for v in model.optimizer.variables]}
    return out


def main() -> None:
    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(0)
    result = {
        "meta": {"keras": keras.__version__, "torch": torch.__version__, "numpy": np.__version__,
                 "backend": keras.backend.backend(), "floatx": keras.config.floatx()},
        "regularizers": record_regularizers(),
        "training": record_training(),
        "lr_callbacks": record_lr_callbacks(),
        "files": record_files(),
    }
    (HERE / "keras_issue11.json").write_text(json.dumps(jsonable(result), indent=1) + "\n")


if __name__ == "__main__":
    main()
