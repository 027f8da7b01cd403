"""An update that overflows the weights is undone and stops ``fit`` with the non-finite warning;
``predict`` and ``save_weights`` refuse non-finite weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from microgradx import layers, optimizers, utils
from microgradx.models import Sequential

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [-2.0, 1.0]])
Y = np.array([1.0, -2.0, 0.5, 3.0])


def _model(engine: str, learning_rate: float, dtype: str = "float32") -> Sequential:
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(3, activation="linear"), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate), loss="mse", engine=engine, dtype=dtype)
    return model


# float32 weights overflow with a step of 1e38 x gradient; the scalar engine's float64 ones need 1e308
CASES = [("cpu", 1e38, "float32"), ("cpu", 1e308, "float64"), ("scalar", 1e308, "float64"),
         ("cuda", 1e38, "float32")]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the CUDA simulator's numpy scalars
@pytest.mark.parametrize("engine, learning_rate, dtype", CASES)
def test_an_update_that_overflows_the_weights_is_undone_and_stops_fit(engine, learning_rate, dtype):
    if engine == "cuda":
        pytest.importorskip("numba.cuda")
    model = _model(engine, learning_rate, dtype)
    before = model.get_weights()
    # the loss of the first batch is finite: only the update overflows
    assert np.isfinite(model.evaluate(X, Y, batch_size=4, verbose=0))
    with pytest.warns(RuntimeWarning, match=r"fit stopped: the updated weights became non-finite .* epoch 1, "
                                            r"batch 1; the update of that batch was skipped"):
        history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)  # the last finite weights: those before the batch
    assert model.optimizer.iterations == 0
    assert np.all(np.isfinite(model.predict(X, verbose=0)))


def test_the_check_looks_at_every_batch_not_only_the_first():
    """A step that overflows after finite steps restores the weights of the step before it."""
    model = _model("cpu", 1e-3)
    model.fit(X, Y, batch_size=2, epochs=1, shuffle=False, verbose=0)      # two finite steps
    after_two = model.get_weights()
    model.optimizer.learning_rate = 1e38
    with pytest.warns(RuntimeWarning, match="updated weights became non-finite .* batch 1"):
        model.fit(X, Y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    for w, w0 in zip(model.get_weights(), after_two):
        np.testing.assert_array_equal(w, w0)
    assert model.optimizer.iterations == 2


def test_finite_training_warns_nothing():
    model = _model("cpu", 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y, batch_size=2, epochs=3, verbose=0)


@pytest.mark.parametrize("engine", ["cpu", "scalar", "cuda"])
def test_predict_with_a_non_finite_weight_is_a_clear_error(engine):
    if engine == "cuda":
        pytest.importorskip("numba.cuda")
    model = _model(engine, 0.01, "float64")
    weights = model.get_weights()
    assert model.engine.weights_finite()
    if engine == "cpu":
        model.engine.weight_views[2][1, 0] = np.inf   # dense_1/kernel[1, 0], behind set_weights' back
    elif engine == "scalar":
        model.engine._weights[2][1, 0] = np.inf
    else:
        host = model.engine._host_params
        host[:] = np.concatenate([w.ravel() for w in weights])
        host[model.engine.segments[2][0] + 1 * 1 + 0] = np.inf   # kernel (3, 1): [1, 0] is element 1
        model.engine.params.copy_to_device(host)
    with pytest.raises(ValueError, match=r"non-finite weight .*dense_\d*/?.*kernel\[1, 0\] = inf.*`predict\(\)`"):
        model.predict(X, verbose=0)


@pytest.mark.parametrize("name", ["w.npz", "w.weights.h5", "m.keras"])
def test_saving_refuses_a_non_finite_weight(tmp_path, name):
    model = _model("cpu", 0.01, "float64")
    model.engine.weight_views[1][2] = np.nan
    path = tmp_path / name
    with pytest.raises(ValueError, match=rf"Cannot save .*{path.name}.*not finite.*bias\[2\] = nan"):
        model.save(path) if name.endswith(".keras") else model.save_weights(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("feedback", [True, False])
def test_the_cuda_engine_undoes_an_overflowing_update_in_its_device_loop(feedback):
    """The device epoch loop without per-batch feedback: the flag comes back with the losses."""
    pytest.importorskip("numba.cuda")
    model = _model("cuda", 1e-3)
    engine = model.engine
    x, y = np.ascontiguousarray(X, np.float32), np.ascontiguousarray(Y, np.float32)
    batches = [np.array([0, 1]), np.array([2, 3]), np.array([0, 1])]
    engine.train_epoch(x, y, None, batches[:1])                       # one finite step
    after_one = model.get_weights()
    model.optimizer.learning_rate = 1e38
    seen = []
    kwargs = {"on_batch_end": lambda i, loss, _: seen.append(loss)} if feedback else {}
    losses = engine.train_epoch(x, y, None, batches, **kwargs)
    assert len(losses) == 1 and np.isfinite(losses[0]) and engine.rejected_update
    assert model.optimizer.iterations == 1
    for w, w0 in zip(model.get_weights(), after_one):
        np.testing.assert_array_equal(w, w0)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the CUDA simulator's numpy scalars
@pytest.mark.parametrize("engine", ["cpu", "scalar", "cuda"])
def test_huge_finite_weights_count_as_finite(engine):
    """1e200 squares beyond the float64 range: the check must still call it finite."""
    if engine == "cuda":
        pytest.importorskip("numba.cuda")
    model = _model(engine, 0.01, "float64")
    model.set_weights([np.full(w.shape, 1e200) for w in model.get_weights()])
    assert model.engine.weights_finite()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_fused_check_finds_one_bad_entry_anywhere(dtype, bad):
    from microgradx.kernels.optimizers import all_finite

    a = np.linspace(-3e38 if dtype == np.float32 else -1e300, 1e30, 1031).astype(dtype)
    assert all_finite(a) and all_finite(a[:0])
    for position in (0, 7, 512, 1030):
        b = a.copy()
        b[position] = bad
        assert not all_finite(b), position
