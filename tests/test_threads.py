"""One model, several threads: inference is safe, concurrent training is an error, and each ``fit``
shuffles with its own generator (so concurrent fits of two models equal lone runs)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from microgradx import callbacks, initializers, layers, optimizers, utils
from microgradx.models import Sequential


def _model(engine: str, seed: int = 0, width: int = 32) -> Sequential:
    init = {"kernel_initializer": initializers.GlorotUniform(seed=seed)}
    model = Sequential([layers.Input(shape=(width,)), layers.Dense(16, activation="tanh", **init),
                        layers.Dense(3, activation="softmax", **init)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                  engine=engine)
    return model


def _run_in_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(k: int) -> None:
        barrier.wait()
        try:
            target(k)
        except BaseException as error:  # collected and re-raised by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("engine", ["cpu", "scalar", "cuda"])
def test_predict_and_evaluate_from_several_threads_give_the_lone_results(engine):
    if engine == "cuda":
        pytest.importorskip("numba.cuda")
    utils.set_random_seed(1)
    model = _model(engine)
    rng = np.random.default_rng(0)
    # two batch shapes per thread, so that threads share workspace sizes (the cache that was shared)
    inputs = [rng.standard_normal((64 if k % 2 else 48, 32)) for k in range(4)]
    labels = [rng.integers(0, 3, len(x)) for x in inputs]
    expected = [model.predict(x, verbose=0) for x in inputs]
    expected_loss = [model.evaluate(x, y, verbose=0) for x, y in zip(inputs, labels)]
    rounds = {"cpu": 60, "scalar": 3, "cuda": 2}[engine]
    wrong: list[str] = []

    def work(k: int) -> None:
        for r in range(rounds):
            i = (k + r) % len(inputs)
            out = model.predict(inputs[i], verbose=0)
            if not np.array_equal(out, expected[i]):
                wrong.append(f"predict thread {k} round {r}: off by {np.max(np.abs(out - expected[i]))}")
            loss = model.evaluate(inputs[i], labels[i], verbose=0)
            if loss != expected_loss[i]:
                wrong.append(f"evaluate thread {k} round {r}: {loss} != {expected_loss[i]}")

    errors = _run_in_threads(work, 4)
    assert not errors, errors
    assert not wrong, wrong[:5]


def test_workspaces_are_per_thread():
    """The mechanism: the engine's workspace for a batch size differs between threads."""
    utils.set_random_seed(1)
    model = _model("cpu")
    cache = model.engine._workspace
    mine = cache(8)
    seen = []
    thread = threading.Thread(target=lambda: seen.append(cache(8)))
    thread.start()
    thread.join()
    assert seen[0] is not mine and cache(8) is mine


class _Gate(callbacks.Callback):
    """Holds the first fit inside its first batch until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    def on_train_batch_begin(self, batch, logs=None):
        self.inside.set()
        self.release.wait(timeout=30)


@pytest.mark.parametrize("method", ["fit", "compute_gradients"])
def test_training_one_model_from_two_threads_is_a_clear_error(method):
    utils.set_random_seed(2)
    model = _model("cpu")
    x = np.random.default_rng(0).standard_normal((16, 32))
    y = np.arange(16) % 3
    gate = _Gate()
    first = threading.Thread(target=lambda: model.fit(x, y, epochs=1, verbose=0, callbacks=[gate]))
    first.start()
    try:
        assert gate.inside.wait(timeout=60)
        call = (lambda: model.fit(x, y, epochs=1, verbose=0)) if method == "fit" else \
            (lambda: model.compute_gradients(x[:4], y[:4]))
        with pytest.raises(RuntimeError, match=rf"already being trained .*another thread.*`{method}\(\)`"):
            call()
        # predict from another thread is allowed while fit runs
        assert model.predict(x[:2], verbose=0).shape == (2, 3)
    finally:
        gate.release.set()
        first.join()
    model.fit(x, y, epochs=1, verbose=0)  # the lock is released when fit ends
    # the same thread may call compute_gradients from inside its own fit (a callback)
    inner = []

    class Inner(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            inner.append(model.compute_gradients(x[:4], y[:4])[0])

    model.fit(x, y, epochs=1, verbose=0, callbacks=[Inner()])
    assert len(inner) == 1 and np.isfinite(inner[0])


class _Interleave(callbacks.Callback):
    """Makes two fits alternate epoch by epoch (a shared barrier at each epoch's start)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    def on_epoch_begin(self, epoch, logs=None):
        self.barrier.wait(timeout=60)


def test_two_threads_fitting_two_models_with_shuffle_get_the_lone_results():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 32))
    y = rng.integers(0, 3, 40)
    epochs = 6

    def make_pair() -> tuple[Sequential, Sequential]:
        utils.set_random_seed(11)
        return _model("cpu", seed=1), _model("cpu", seed=2)

    # lone runs, one after the other: a draws its shuffle seed first, then b
    a, b = make_pair()
    a.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    b.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    lone = [a.get_weights(), b.get_weights()]

    # the same two fits in two threads whose epochs alternate; b starts after a drew its seed
    a, b = make_pair()
    barrier = threading.Barrier(2)
    a_started = threading.Event()

    class Started(callbacks.Callback):
        def on_train_begin(self, logs=None):
            a_started.set()

    def fit_a() -> None:
        a.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[Started(), _Interleave(barrier)])

    def fit_b() -> None:
        assert a_started.wait(timeout=60)
        b.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[_Interleave(barrier)])

    threads = [threading.Thread(target=fit_a), threading.Thread(target=fit_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for lone_weights, model in zip(lone, (a, b)):
        for w_lone, w in zip(lone_weights, model.get_weights()):
            np.testing.assert_array_equal(w, w_lone)


def test_each_fit_draws_one_seed_from_the_global_generator():
    """shuffle=True consumes exactly one draw of the global generator per fit, whatever the epochs."""
    x = np.random.default_rng(0).standard_normal((12, 32))
    y = np.arange(12) % 3
    draws = []
    for epochs in (1, 5):
        utils.set_random_seed(5)
        model = _model("cpu", seed=3)
        model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)
        draws.append(utils.get_rng().integers(0, 2**31 - 1))
    assert draws[0] == draws[1]
