"""Gradient clipping and weight decay on the CUDA engine (Numba's simulator), with gradient norms far ABOVE the
limits, so that switching any of them off changes the result.

Oracles: the closed forms of one SGD step after Keras 3's order (clip, then decoupled weight decay, then the
update), ``w1 = w0 (1 - lr wd) - lr clip(g)`` with ``clipnorm c: g c / max(|g|, c)`` per variable,
``global_clipnorm c: g c / max(N, c)`` with N the norm over all variables and ``clipvalue v: clip(g, -v, v)``;
and for the other optimizers the NumPy reference (``Optimizer.apply`` on float64 arrays, the path the
recorded Keras values test). The raw gradient comes from ``compute_gradients``, which no optimizer option
touches. Last, the documented outcome of an inf gradient (or a global norm that overflows) under
``global_clipnorm`` on the fused path (CPU and CUDA engines): the clip factor is NaN (Keras), the updated
weights are not finite, so the update is undone, ``fit`` stops with a warning and the weights and step
counter are those before the step.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from microgradx import layers, optimizers
from microgradx.models import Sequential

pytestmark = pytest.mark.cuda

RNG = np.random.default_rng(14)
X = 10.0 * RNG.standard_normal((4, 3))     # large inputs: gradient norms in the tens to hundreds
Y = RNG.standard_normal((4, 2))
W0 = [RNG.standard_normal((3, 2)), RNG.standard_normal(2)]
LR = 0.05


def _model(optimizer, engine: str = "cuda", dtype: str = "float64") -> Sequential:
    model = Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse", engine=engine, dtype=dtype)
    model.set_weights(W0)
    return model


def _one_step(optimizer) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(raw gradients at W0, weights after one full-batch step)`` on the CUDA engine."""
    model = _model(optimizer)
    _, grads = model.compute_gradients(X, Y)
    model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 1
    return grads, model.get_weights()


def _norm(arrays) -> float:
    with np.errstate(over="ignore"):  # an overflowing norm is inf, as the test of it expects
        return float(np.sqrt(sum(np.sum(np.square(np.asarray(a, dtype=np.float64))) for a in arrays)))


@pytest.mark.parametrize("options", [
    {"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 2.0}, {"weight_decay": 0.3},
    {"clipnorm": 1.0, "weight_decay": 0.3},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_sgd_step_matches_the_closed_form(options):
    grads, weights = _one_step(optimizers.SGD(LR, **options))
    if "clipnorm" in options:
        c = options["clipnorm"]
        assert min(_norm([g]) for g in grads) > 5 * c  # every variable's gradient is far above the limit
        clipped = [g * c / max(_norm([g]), c) for g in grads]
    elif "global_clipnorm" in options:
        c = options["global_clipnorm"]
        assert _norm(grads) > 5 * c
        clipped = [g * c / _norm(grads) for g in grads]
    elif "clipvalue" in options:
        v = options["clipvalue"]
        assert all(np.mean(np.abs(g) > v) > 0.5 for g in grads)  # most entries are clipped
        clipped = [np.clip(g, -v, v) for g in grads]
    else:
        clipped = grads
    decay = 1.0 - LR * options.get("weight_decay", 0.0)
    for w0, g, w1 in zip(W0, clipped, weights):
        np.testing.assert_allclose(w1, w0 * decay - LR * g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make, options", [  # every optimizer, every option at least once (the simulator is slow)
    (lambda **o: optimizers.Adam(0.01, **o), {"weight_decay": 0.3, "global_clipnorm": 2.0}),
    (lambda **o: optimizers.RMSprop(0.01, momentum=0.5, centered=True, **o), {"clipnorm": 1.0}),
    (lambda **o: optimizers.Adagrad(0.1, **o), {"clipvalue": 0.5}),
    (lambda **o: optimizers.Adadelta(1.0, **o), {"global_clipnorm": 2.0}),
    (lambda **o: optimizers.SGD(0.01, momentum=0.9, nesterov=True, **o), {"weight_decay": 0.3, "clipvalue": 0.5}),
], ids=["adam-wd-global_clipnorm", "rmsprop-clipnorm", "adagrad-clipvalue", "adadelta-global_clipnorm",
        "sgd-nesterov-wd-clipvalue"])
def test_every_optimizer_and_option_matches_the_numpy_reference_for_two_steps(make, options):
    model = _model(make(**options))
    reference = make(**options)
    variables = [w.copy() for w in W0]
    for _ in range(2):
        _, grads = model.compute_gradients(X, Y)
        reference.apply([g.astype(np.float64) for g in grads], variables)
        model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), variables):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    assert not np.allclose(variables[0], W0[0])  # the steps moved the weights


@pytest.mark.parametrize("engine", ["cpu", "cuda"])
@pytest.mark.parametrize("case", ["inf-gradient", "overflowing-global-norm"])
def test_non_finite_global_norm_undoes_the_update_and_stops(engine, case):
    """float32: an input of 3e38 gives a finite loss (169) but a weight gradient of 7.8e39 = inf; float64:
    two gradients of 2e201 are finite but the sum of their squares overflows, so the global norm is inf."""
    model = Sequential([layers.Input(shape=(1,) if case == "inf-gradient" else (2,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.1, global_clipnorm=1.0), loss="mse", engine=engine,
                  dtype="float32" if case == "inf-gradient" else "float64")
    if case == "inf-gradient":
        start, x, y = [np.array([[1e-38]]), np.zeros(1)], np.array([[3e38]]), np.array([[-10.0]])
    else:
        start, x, y = [np.array([[1e-201], [1e-201]]), np.zeros(1)], np.array([[1e200, 1e200]]), np.array([[-8.0]])
    model.set_weights(start)
    before = [w.copy() for w in model.get_weights()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, grads = model.compute_gradients(x, y)
        history = model.fit(x, y, epochs=3, verbose=0, shuffle=False)
    assert np.isinf(_norm(grads))
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])  # a finite loss
    assert any("weights became non-finite" in str(w.message) for w in caught)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    assert int(model.optimizer.iterations) == 0
