"""Callbacks against Keras 3.15.1 goldens (``keras_golden.json -> early_stopping``) and the fit protocol."""

from __future__ import annotations

import io
import sys
import math
import warnings

import numpy as np
import pytest

from microgradx import callbacks, layers, optimizers, utils
from microgradx.models import Sequential

SCENARIOS = ["A_improve_then_plateau", "B_baseline_never_beaten_but_improving", "C_start_from_epoch_2",
             "D_runs_to_end_best_near_end", "E_baseline_beaten_later", "F_patience0",
             "G_mode_max_accuracy", "H_nan_value_counts_as_no_improvement",
             "I_negative_min_delta_same_as_positive"]


def _sequence(scenario: dict) -> list[float]:
    # the JSON stores NaN as null / "NaN"
    return [math.nan if v is None or v == "NaN" else float(v) for v in scenario["sequence"]]


class FakeModel:
    """Just the surface callbacks may touch: weights are the index of the epoch they come from."""

    def __init__(self) -> None:
        self.stop_training = False
        self.current = [np.array([-1.0])]
        self.metrics: list = []

    def get_weights(self):
        return [w.copy() for w in self.current]

    def set_weights(self, weights):
        self.current = [np.array(w, copy=True) for w in weights]


@pytest.mark.parametrize("restore", [False, True])
@pytest.mark.parametrize("name", SCENARIOS)
def test_early_stopping_direct_protocol(keras_golden, name, restore):
    scenario = keras_golden["early_stopping"]["scenarios"][name]
    expected = scenario[f"restore_best_weights={restore}"]["direct_callback_protocol"]
    values = _sequence(scenario)
    model = FakeModel()
    es = callbacks.EarlyStopping(monitor=scenario["monitor"], restore_best_weights=restore, **scenario["kwargs"])
    es.set_model(model)
    es.on_train_begin()
    epochs_run = 0
    for epoch, value in enumerate(values):
        es.on_epoch_begin(epoch)
        model.current = [np.array([float(epoch)])]  # "training" this epoch gives weights == epoch
        es.on_epoch_end(epoch, {"loss": 1.0, scenario["monitor"]: value})
        epochs_run += 1
        if model.stop_training:
            break
    es.on_train_end()
    assert epochs_run == expected["epochs_run"]
    assert model.stop_training == expected["stopped_by_callback"]
    assert es.stopped_epoch == expected["stopped_epoch_attr"]
    assert es.best_epoch == expected["best_epoch_attr"]
    assert es.best == pytest.approx(expected["best_attr"])
    assert es.wait == expected["wait_attr"]
    assert model.current[0][0] == expected["final_weights_are_from_epoch"]


class InjectLogs(callbacks.Callback):
    """Writes the scenario's monitored value into the shared logs dict before EarlyStopping reads it."""

    def __init__(self, key: str, values: list[float]) -> None:
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        if self.key != "val_loss":
            logs["val_loss"] = 1.0


class Snapshots(callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _tiny_model(engine: str = "scalar") -> Sequential:
    utils.set_random_seed(3)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse", engine=engine)
    return model


@pytest.mark.parametrize("restore", [False, True])
@pytest.mark.parametrize("name", SCENARIOS)
def test_early_stopping_real_fit(keras_golden, name, restore):
    scenario = keras_golden["early_stopping"]["scenarios"][name]
    expected = scenario[f"restore_best_weights={restore}"]["real_fit"]
    values = _sequence(scenario)
    model = _tiny_model()
    x = np.arange(16, dtype=float).reshape(8, 2) / 16.0
    y = x.sum(axis=1)
    snaps = Snapshots()
    es = callbacks.EarlyStopping(monitor=scenario["monitor"], restore_best_weights=restore, **scenario["kwargs"])
    history = model.fit(x, y, batch_size=4, epochs=len(values), verbose=0, shuffle=False,
                        callbacks=[InjectLogs(scenario["monitor"], values), snaps, es])
    assert history is model.history
    assert history.epoch == expected["history.epoch"]
    assert sorted(history.history) == sorted(expected["history_keys"])
    got = history.history[scenario["monitor"]]
    want = [math.nan if v is None or v == "NaN" else v for v in expected["history.history[monitor]"]]
    np.testing.assert_allclose(got, want)
    assert history.params == expected["history.params"]
    assert es.stopped_epoch == expected["stopped_epoch_attr"]
    assert es.best_epoch == expected["best_epoch_attr"]
    final = model.get_weights()
    target = snaps.weights[expected["final_weights_equal_snapshot_of_epoch"]]
    for a, b in zip(final, target):
        np.testing.assert_array_equal(a, b)
    # weights really changed between epochs, so the comparison above can fail
    assert not np.array_equal(snaps.weights[0][0], snaps.weights[-1][0])


def test_missing_monitor_warns_and_never_stops(keras_golden):
    golden = keras_golden["early_stopping"]["missing_monitor"]
    for key, mode in (("monitor=val_loss,mode=auto (logs only has 'loss')", "auto"),
                      ("monitor=val_missing,mode=min (logs only has 'loss')", "min")):
        monitor = key.split(",")[0].split("=")[1]
        model = FakeModel()
        es = callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=0, restore_best_weights=True)
        es.set_model(model)
        es.on_train_begin()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in range(3):
                es.on_epoch_end(epoch, {"loss": 1.0 - 0.1 * epoch})
        messages = [str(w.message) for w in caught]
        assert messages[0] == golden[key]["warnings"][0]
        assert model.stop_training == golden[key]["stop_training"]
        assert (es.best_weights is None) == golden[key]["best_weights_is_None"]
        assert es.wait == 0  # missing epochs do not advance wait


def test_auto_mode_unknown_metric_raises(keras_golden):
    expected = keras_golden["early_stopping"]["auto_mode_unknown_metric"]
    es = callbacks.EarlyStopping(monitor="val_f1")
    es.set_model(FakeModel())
    es.on_train_begin()
    with pytest.raises(ValueError) as info:
        es.on_epoch_end(0, {"val_f1": 0.5})
    assert f"ValueError: {info.value}" == expected


def test_auto_mode_missing_monitor_warns_with_the_logged_keys(keras_golden):
    """Keras 3.15.1 raises its mode error here (golden "error"); microgradx deliberately warns as Keras does
    in min mode, naming the keys the logs do have, and resolves the direction once the monitor appears."""
    golden = keras_golden["early_stopping"]["missing_monitor"]
    keras_error = golden["monitor=val_missing,mode=auto (logs only has 'loss')"]["error"]
    min_mode_warning = golden["monitor=val_missing,mode=min (logs only has 'loss')"]["warnings"][0]
    es = callbacks.EarlyStopping(monitor="val_missing", patience=0)
    model = FakeModel()
    es.set_model(model)
    es.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(3):
            es.on_epoch_end(epoch, {"loss": 1.0 - 0.1 * epoch})
    assert [str(w.message) for w in caught] == [min_mode_warning] * 3  # "... Available metrics are: loss"
    assert "mode" not in min_mode_warning and "mode" in keras_error
    assert not model.stop_training and es.monitor_op is None
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        es.on_epoch_end(3, {"val_missing": 0.5})  # present but of unknown direction: Keras's error


@pytest.mark.parametrize("kwargs, argument", [
    ({"patience": "3"}, "patience"), ({"patience": -1}, "patience"), ({"patience": 2.5}, "patience"),
    ({"patience": True}, "patience"), ({"min_delta": "a"}, "min_delta"), ({"min_delta": float("nan")}, "min_delta"),
    ({"baseline": "0.5"}, "baseline"), ({"start_from_epoch": -2}, "start_from_epoch"), ({"monitor": None}, "monitor"),
])
def test_early_stopping_rejects_bad_arguments_at_construction(kwargs, argument):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError) as info:
        callbacks.EarlyStopping(**kwargs)
    assert f"`{argument}`" in str(info.value) and repr(value) in str(info.value)


def test_early_stopping_accepts_keras_argument_types():
    es = callbacks.EarlyStopping(patience=np.int64(3), min_delta=np.float32(-0.5), baseline=1, start_from_epoch=0)
    assert (es.patience, es.min_delta, es.baseline) == (3, 0.5, 1.0)


def test_auto_mode_resolution_after_fit(keras_golden):
    golden = keras_golden["early_stopping"]["auto_mode_resolution"]
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy", "mae"], engine="scalar")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    model.fit(x, y, epochs=1, verbose=0)
    for monitor, want in golden.items():
        es = callbacks.EarlyStopping(monitor=monitor, min_delta=0.1)
        es.set_model(model)
        es.on_train_begin()
        es.on_epoch_end(0, {monitor: 0.5})
        assert es.monitor_op.__name__.strip("_") == want["monitor_op"]
        assert es.min_delta == pytest.approx(want["internal_min_delta"])


def test_auto_mode_before_fit_raises_for_metric():
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(), loss="binary_crossentropy", metrics=["accuracy"], engine="scalar")
    es = callbacks.EarlyStopping(monitor="val_accuracy")
    es.set_model(model)
    with pytest.raises(ValueError, match="maximized or minimized"):
        es.on_epoch_end(0, {"val_accuracy": 0.5})


def test_unknown_mode_warns_and_falls_back(keras_golden):
    golden = keras_golden["early_stopping"]["unknown_mode_string"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        es = callbacks.EarlyStopping(mode="minimum")
    assert es.mode == golden["mode_after"]
    assert [str(w.message) for w in caught] == golden["warnings"]


def test_verbose_messages(keras_golden, capsys):
    scenario = keras_golden["early_stopping"]["scenarios"]["A_improve_then_plateau"]
    model = FakeModel()
    es = callbacks.EarlyStopping(verbose=1, restore_best_weights=True, **scenario["kwargs"])
    es.set_model(model)
    es.on_train_begin()
    for epoch, value in enumerate(_sequence(scenario)):
        es.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    es.on_train_end()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == keras_golden["early_stopping"]["verbose_messages_scenario_A_restore"]


def test_callback_order_and_shared_logs():
    """Keras 3 order: train_begin, (epoch_begin, batch hooks, epoch_end)*, train_end; user callbacks first."""
    events: list[str] = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None): events.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): events.append(f"epoch_begin {epoch}")
        def on_train_batch_begin(self, batch, logs=None): events.append(f"batch_begin {batch}")
        def on_train_batch_end(self, batch, logs=None): events.append(f"batch_end {batch}")
        def on_test_begin(self, logs=None): events.append("test_begin")
        def on_test_end(self, logs=None): events.append("test_end")
        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch}")
            logs["extra"] = 42.0  # later callbacks (History) see the same dict
        def on_train_end(self, logs=None): events.append("train_end")

    model = _tiny_model()
    x = np.ones((6, 2))
    y = np.ones(6)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x, y), callbacks=[Recorder()])
    epoch = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "test_begin", "test_end"]
    assert events == (["train_begin", "epoch_begin 0", *epoch, "epoch_end 0", "epoch_begin 1", *epoch,
                       "epoch_end 1", "train_end"])
    assert history.history["extra"] == [42.0, 42.0]
    assert list(history.history) == ["loss", "val_loss", "extra"]


def test_user_history_is_reused_and_keeps_appending():
    model = _tiny_model()
    x, y = np.ones((4, 2)), np.ones(4)
    mine = callbacks.History()
    first = model.fit(x, y, epochs=2, verbose=0, callbacks=[mine])
    second = model.fit(x, y, epochs=3, verbose=0, callbacks=[mine])
    assert first is mine and second is mine
    assert len(mine.history["loss"]) == 5
    assert mine.epoch == [0, 1, 2]
    fresh = model.fit(x, y, epochs=1, verbose=0)
    assert fresh is not mine and len(fresh.history["loss"]) == 1


def test_lambda_callback_and_stop_training():
    seen = []
    model = _tiny_model()

    def stop_after_two(epoch, logs):
        seen.append(epoch)
        if epoch == 1:
            model.stop_training = True

    history = model.fit(np.ones((4, 2)), np.ones(4), epochs=10, verbose=0,
                        callbacks=[callbacks.LambdaCallback(on_epoch_end=stop_after_two)])
    assert seen == [0, 1] and history.epoch == [0, 1]
    with pytest.raises(TypeError, match="on_epoch_end"):
        callbacks.LambdaCallback(on_epoch_end=3)


def test_initial_epoch_and_start_from_epoch_use_absolute_index():
    model = _tiny_model()
    es = callbacks.EarlyStopping(monitor="loss", start_from_epoch=3, patience=0)
    history = model.fit(np.ones((4, 2)), np.ones(4), epochs=5, initial_epoch=2, verbose=0, callbacks=[es])
    assert history.epoch[0] == 2
    assert es.best_epoch >= 3


def test_bad_callback_type():
    model = _tiny_model()
    with pytest.raises(TypeError, match="callbacks"):
        model.fit(np.ones((4, 2)), np.ones(4), verbose=0, callbacks=[print])


# ------------------------------------------------------------------------------------------ ProgbarLogger
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_progbar(stream, verbose: int = 1, epochs: int = 3, steps: int = 4) -> str:
    bar = callbacks.ProgbarLogger(verbose=verbose, stream=stream)
    bar.set_params({"epochs": epochs, "steps": steps})
    bar.on_train_begin()
    for epoch in range(epochs):
        bar.on_epoch_begin(epoch)
        for step in range(steps):
            bar.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
        bar.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.75})
    return stream.getvalue()


def test_progbar_writes_one_line_per_epoch_where_output_is_not_a_terminal():
    text = _run_progbar(io.StringIO())  # a log file, a pipe, CI
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all(line.startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ ") and line.endswith(" - loss: 0.5000 - val_loss: 0.7500")
               for line in lines[1::2])
    assert "0ms/step" not in text and "/step" in text


def test_progbar_redraws_the_bar_in_a_terminal():
    text = _run_progbar(_Terminal())
    assert text.count("\r") == 3 * 5  # four batch redraws and the final one, per epoch
    assert text.count("\n") == 6 and "1/4 ━━━━━" in text


@pytest.mark.parametrize("seconds, shown", [(0.0, "0s/step"), (4e-5, "40us/step"), (0.0004, "400us/step"),
                                             (0.0123, "12ms/step"), (2.4, "2s/step")])
def test_step_time_is_formatted_as_keras_does(seconds, shown):
    from microgradx.callbacks.progbar_logger import format_step_time

    assert format_step_time(seconds) == shown


def test_progbar_one_line_per_epoch_even_with_ipykernel_imported(monkeypatch):
    """A process that merely imported ipykernel (a test runner, a notebook executor) still writes one line
    per epoch to a plain stream; only a Jupyter kernel's own stream gets the redrawn bar."""
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert "\r" not in _run_progbar(io.StringIO())
    kernel_stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})()
    assert "\r" in _run_progbar(kernel_stream)
