"""Optimizers against Keras 3.15.1 (tests/data/keras_golden.json), closed forms and PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import microgradx as mgx
from microgradx import optimizers
from microgradx.optimizers import SGD, Adadelta, Adagrad, Adam, ExponentialDecay, RMSprop


def make_optimizer(case_name: str) -> optimizers.Optimizer:
    """Build the optimizer named like the golden cases: ``"Adam,amsgrad=True,beta_2=0.5,lr=0.1"``."""
    class_name, *arguments = case_name.split(",")
    kwargs = {}
    for argument in arguments:
        key, value = argument.split("=")
        if value == "default":
            continue
        kwargs["learning_rate" if key == "lr" else key] = True if value == "True" else float(value)
    return getattr(optimizers, class_name)(**kwargs)


def golden_trajectory(optimizer, problem: dict, dtype: str) -> np.ndarray:
    c = np.array(problem["c"], dtype=dtype)
    w = np.array(problem["w0"], dtype=dtype)
    path = []
    for _ in range(problem["steps"]):
        optimizer.apply([(2 * (w - c)).astype(dtype)], [w])
        path.append(w.copy())
    return np.array(path)


def golden_case_names():
    import json
    import pathlib
    data = json.loads((pathlib.Path(__file__).parent / "data" / "keras_golden.json").read_text())
    return list(data["optimizers"]["cases"])


@pytest.mark.parametrize("case_name", golden_case_names())
def test_every_keras_optimizer_case_float64(keras_golden, case_name):
    problem = keras_golden["optimizers"]["problem"]
    expected = np.array(keras_golden["optimizers"]["cases"][case_name]["float64"]["weights_after_each_step"])
    got = golden_trajectory(make_optimizer(case_name), problem, "float64")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case_name", golden_case_names())
def test_every_keras_optimizer_case_float32(keras_golden, case_name):
    problem = keras_golden["optimizers"]["problem"]
    expected = np.array(keras_golden["optimizers"]["cases"][case_name]["float32"]["weights_after_each_step"])
    optimizer = make_optimizer(case_name)
    got = golden_trajectory(optimizer, problem, "float32")
    assert got.dtype == np.float32
    assert all(b.dtype == np.float32 for b in optimizer.slot_buffers.values())
    # Keras' own float32 Adam at lr 0.1 is 3.8e-6 away from the exact rule (max_abs_diff_vs_pure_python_...)
    tolerance = 1e-5 if case_name.startswith("Adam") else 1e-6
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


# ------------------------------------------------------------------ shared options (Keras base class)
U0, D = [2.0, -1.0], [0.0, 0.5]

BASE_CASES = {
    "SGD,lr=0.1,weight_decay=0.1": (lambda: SGD(0.1, weight_decay=0.1), 1e-12),
    "Adam,lr=0.1,weight_decay=0.1": (lambda: Adam(0.1, weight_decay=0.1), 1e-12),
    "SGD,lr=0.1,clipnorm=1.0": (lambda: SGD(0.1, clipnorm=1.0), 1e-7),
    "SGD,lr=0.1,global_clipnorm=1.0": (lambda: SGD(0.1, global_clipnorm=1.0), 1e-7),
    "SGD,lr=0.1,clipvalue=0.5": (lambda: SGD(0.1, clipvalue=0.5), 1e-12),
    "SGD,lr=0.1,ema_momentum=0.9,use_ema=True": (lambda: SGD(0.1, use_ema=True, ema_momentum=0.9), 1e-12),
    "SGD,lr=0.1,ema_momentum=0.9,ema_overwrite_frequency=2,use_ema=True":
        (lambda: SGD(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2), 1e-12),
    "SGD,lr=0.1,gradient_accumulation_steps=2": (lambda: SGD(0.1, gradient_accumulation_steps=2), 1e-12),
    "Adam,lr=0.1,gradient_accumulation_steps=2": (lambda: Adam(0.1, gradient_accumulation_steps=2), 1e-12),
    "SGD,lr=0.1,loss_scale_factor=4.0": (lambda: SGD(0.1, loss_scale_factor=4.0), 1e-12),
    "SGD,momentum=0.9,lr=0.1,clipnorm=1.0,weight_decay=0.01":
        (lambda: SGD(0.1, momentum=0.9, clipnorm=1.0, weight_decay=0.01), 1e-7),
    "SGD,ExponentialDecay(0.1,decay_steps=2,decay_rate=0.5,staircase=False)":
        (lambda: SGD(ExponentialDecay(0.1, 2, 0.5)), 1e-12),
    "SGD,ExponentialDecay(0.1,decay_steps=2,decay_rate=0.5,staircase=True)":
        (lambda: SGD(ExponentialDecay(0.1, 2, 0.5, staircase=True)), 1e-12),
}


def _as_variables(step_weights) -> list[np.ndarray]:
    """Golden weights are ``[[w], [u]]`` (one or two variables) or a flat ``[w]``."""
    if isinstance(step_weights[0], float):
        return [np.array(step_weights)]
    return [np.array(v) for v in step_weights]


@pytest.mark.parametrize("flat", [False, True], ids=["apply", "apply_flat"])
@pytest.mark.parametrize("case_name", list(BASE_CASES))
def test_keras_base_option_cases(keras_golden, case_name, flat):
    case = keras_golden["optimizer_base_options"]["cases"][case_name]
    factory, atol = BASE_CASES[case_name]
    optimizer = factory()
    problem = keras_golden["optimizers"]["problem"]
    two = len(_as_variables(case["weights_after_each_step"][0])) == 2
    targets = [np.array(problem["c"])] + ([np.array(D)] if two else [])
    variables = [np.array(problem["w0"])] + ([np.array(U0)] if two else [])
    buffer = np.concatenate(variables)
    segments = [(0, 3), (3, 2)] if two else [(0, 3)]
    if flat:
        variables = [buffer[o:o + s] for o, s in segments]
    for k, expected in enumerate(case["weights_after_each_step"]):
        assert optimizer.learning_rate == pytest.approx(case["learning_rate_used"][k], rel=1e-12)
        grads = [2 * (v - t) for v, t in zip(variables, targets)]
        if flat:
            optimizer.apply_flat(np.concatenate(grads), buffer, segments)
        else:
            optimizer.apply(grads, variables)
        for got, want in zip(variables, _as_variables(expected)):
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)
        if "ema_after_each_step" in case:
            for i, want in enumerate(_as_variables(case["ema_after_each_step"][k])):
                np.testing.assert_allclose(optimizer.moving_average(i), want, rtol=0, atol=1e-12)
    if "final_iterations" in case:
        assert optimizer.iterations == case["final_iterations"]
    if "weights_after_finalize_variable_values" in case:
        optimizer.finalize_variable_values(variables)
        for got, want in zip(variables, _as_variables(case["weights_after_finalize_variable_values"])):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_loss_scale_factor_scales_the_loss():
    assert SGD(0.1, loss_scale_factor=4.0).scale_loss(2.5) == 10.0
    assert SGD(0.1).scale_loss(2.5) == 2.5


# --------------------------------------------------------------------------- hand-computed steps
def test_sgd_momentum_and_nesterov_by_hand():
    # v1 = -lr g1, w1 = w0 + v1; v2 = mu v1 - lr g2, w2 = w1 + v2 (nesterov: w1 + mu v2 - lr g2)
    lr, mu = 0.1, 0.5
    for nesterov in (False, True):
        w = np.array([1.0])
        opt = SGD(lr, momentum=mu, nesterov=nesterov)
        v, expected = 0.0, 1.0
        for g in (2.0, -4.0, 1.0):
            opt.apply([np.array([g])], [w])
            v = mu * v - lr * g
            expected += (mu * v - lr * g) if nesterov else v
            assert w[0] == pytest.approx(expected, abs=1e-15)
            assert opt.get_slot(0, "momentum")[0] == pytest.approx(v, abs=1e-15)


def test_adam_first_two_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w = np.array([1.0])
    opt = Adam(lr)
    m = v = 0.0
    expected = 1.0
    for t, g in enumerate((1.4, -0.6), start=1):
        opt.apply([np.array([g])], [w])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected -= lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (math.sqrt(v) + eps)
        assert w[0] == pytest.approx(expected, abs=1e-15)
        assert opt.slots[0]["m"][0] == pytest.approx(m, abs=1e-16)
        assert opt.slots[0]["v"][0] == pytest.approx(v, abs=1e-16)
    # the documented golden first step: 1.0 -> 0.9000002259 for g = 1.4 (= 2 * (1 - 0.3))
    w = np.array([1.0])
    Adam(0.1).apply([np.array([1.4])], [w])
    assert w[0] == pytest.approx(0.9000002259, abs=1e-10)


def test_adagrad_adadelta_rmsprop_first_step_by_hand():
    g = 1.4
    w = np.array([1.0])
    Adagrad(0.1).apply([np.array([g])], [w])
    assert w[0] == pytest.approx(1.0 - 0.1 * g / math.sqrt(0.1 + g * g + 1e-7), abs=1e-15)
    w = np.array([1.0])
    Adadelta(1.0, rho=0.95).apply([np.array([g])], [w])
    eg = 0.05 * g * g
    assert w[0] == pytest.approx(1.0 - math.sqrt(1e-7) / math.sqrt(eg + 1e-7) * g, abs=1e-15)
    w = np.array([1.0])
    RMSprop(0.1).apply([np.array([g])], [w])
    assert w[0] == pytest.approx(1.0 - 0.1 * g / math.sqrt(0.1 * g * g + 1e-7), abs=1e-15)
    w = np.array([1.0])
    RMSprop(0.1, centered=True).apply([np.array([g])], [w])
    assert w[0] == pytest.approx(1.0 - 0.1 * g / math.sqrt(0.1 * g * g - (0.1 * g) ** 2 + 1e-7), abs=1e-15)


def test_weight_decay_is_decoupled_and_applied_before_the_update():
    # zero gradient: only the decay moves w, by the factor (1 - wd lr) per step
    w = np.array([2.0, -1.0])
    opt = Adam(0.1, weight_decay=0.5)
    for _ in range(3):
        opt.apply([np.zeros(2)], [w])
    np.testing.assert_allclose(w, np.array([2.0, -1.0]) * (1 - 0.05) ** 3, rtol=1e-15)
    assert np.all(opt.get_slot(0, "m") == 0)   # never added to the gradient
    w, b = np.array([2.0]), np.array([2.0])
    opt = SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay([1])
    opt.apply([np.zeros(1), np.zeros(1)], [w, b])
    assert w[0] == pytest.approx(1.9) and b[0] == 2.0


# ----------------------------------------------------------------------------- validation
def test_keras_constructor_probes(keras_golden):
    probes = keras_golden["optimizer_validation"]["constructor_probes"]
    calls = {
        "SGD(momentum=0)  # int, not float": lambda: SGD(momentum=0),
        "SGD(momentum=1.5)": lambda: SGD(momentum=1.5),
        "SGD(learning_rate=1)  # int": lambda: SGD(learning_rate=1),
        "Adam(clipnorm=1.0, clipvalue=1.0)": lambda: Adam(clipnorm=1.0, clipvalue=1.0),
        "Adam(gradient_accumulation_steps=1)": lambda: Adam(gradient_accumulation_steps=1),
        "Adam(use_ema=True, ema_momentum=1.5)": lambda: Adam(use_ema=True, ema_momentum=1.5),
        "Adam(lr=0.1)  # legacy alias": lambda: Adam(lr=0.1),
    }
    assert set(calls) <= set(probes)
    for probe, call in calls.items():
        assert probes[probe]["result"] == "ValueError"
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value).startswith(probes[probe]["message"]), probe
    with pytest.warns(UserWarning, match=probes["Adam(decay=0.1)  # legacy kwarg"]["warnings"][0][:40]):
        Adam(decay=0.1)


@pytest.mark.parametrize("call, argument", [
    (lambda: Adam(beta_1=1.0), "beta_1"), (lambda: Adam(beta_2=-0.1), "beta_2"),
    (lambda: Adam(epsilon=0.0), "epsilon"), (lambda: RMSprop(rho=1.5), "rho"),
    (lambda: RMSprop(momentum=-1.0), "momentum"), (lambda: Adadelta(rho=2.0), "rho"),
    (lambda: Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: SGD(learning_rate=-0.1), "learning_rate"), (lambda: SGD(learning_rate=math.nan), "learning_rate"),
    (lambda: SGD(weight_decay=-1.0), "weight_decay"), (lambda: SGD(clipnorm=-1.0), "clipnorm"),
    (lambda: SGD(learning_rate="fast"), "learning_rate"),
    (lambda: Adam(use_ema=True, ema_overwrite_frequency=1.5), "ema_overwrite_frequency"),
])
def test_invalid_hyperparameters_name_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_int_learning_rate_rejected_like_keras_with_a_hint():
    with pytest.raises(ValueError, match=r"1\.0"):
        Adam(learning_rate=1)
    assert Adam(learning_rate=np.float64(0.5)).learning_rate == 0.5   # numpy floats are floats


def test_schedule_learning_rate_is_not_settable():
    opt = SGD(ExponentialDecay(0.1, 2, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.2
    plain = SGD(0.1)
    plain.learning_rate = 0.2
    assert plain.learning_rate == 0.2
    with pytest.raises(ValueError, match="learning_rate"):
        plain.learning_rate = 2


def test_callable_learning_rate_is_called_each_step():
    rates = iter([0.5, 0.25])
    w = np.array([1.0])
    opt = SGD(lambda: next(rates))
    opt.apply([np.array([1.0])], [w])
    opt.apply([np.array([1.0])], [w])
    assert w[0] == pytest.approx(1.0 - 0.5 - 0.25)


def test_bad_apply_inputs():
    w = np.array([1.0, 2.0])
    opt = SGD(0.1)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply([None], [w])
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(3,\)"):
        opt.apply([np.zeros(3)], [w])
    with pytest.raises(ValueError, match="2 variables"):
        opt.apply([np.zeros(2)], [w, w])
    with pytest.raises(TypeError, match="float32/float64"):
        SGD(0.1).apply([np.zeros(2)], [np.zeros(2, dtype=np.float16)])
    with pytest.raises(ValueError, match="one float dtype"):
        SGD(0.1).apply([np.zeros(1), np.zeros(1)], [np.zeros(1), np.zeros(1, dtype=np.float32)])
    with pytest.raises(TypeError, match="variables\\[0\\]"):
        SGD(0.1).apply([np.zeros(1)], [[1.0]])


def test_none_gradient_skips_that_variable_with_a_warning():
    a, b = np.array([1.0]), np.array([1.0])
    opt = SGD(0.1)
    with pytest.warns(UserWarning, match=r"positions \[1\]"):
        opt.apply([np.array([1.0]), None], [a, b])
    assert a[0] == pytest.approx(0.9) and b[0] == 1.0


# ---------------------------------------------------------------- Values, step(), slots, config
def test_apply_and_step_update_values():
    x = mgx.Value(1.0, label="x")
    loss = (x - 0.3) * (x - 0.3)
    loss.backward()
    opt = SGD(0.1)
    opt.step([x])
    assert x.data == pytest.approx(1.0 - 0.1 * 2 * 0.7)
    assert opt.iterations == 1
    # an object array of Values is one variable
    weights = np.array([[mgx.Value(1.0), mgx.Value(-2.0)]], dtype=object)
    adam = Adam(0.1)
    adam.apply([np.array([[1.4, -4.2]])], [weights])
    assert weights[0, 0].data == pytest.approx(0.9000002259, abs=1e-10)
    assert adam.get_slot(0, "m").shape == (1, 2)


def test_slots_are_views_of_one_flat_buffer_per_kind():
    a, b = np.ones((2, 3)), np.ones(4)
    opt = Adam(0.1, amsgrad=True)
    opt.apply([np.full((2, 3), 2.0), np.full(4, -1.0)], [a, b])
    assert set(opt.slot_buffers) == {"m", "v", "v_hat"}
    m = opt.slot_buffers["m"]
    assert m.ndim == 1 and m.size == 10 and m.flags.c_contiguous
    assert opt.slots[0]["m"].shape == (2, 3) and opt.slots[1]["m"].shape == (4,)
    assert np.shares_memory(opt.slots[0]["m"], m) and np.shares_memory(opt.get_slot(1, "v"), opt.slot_buffers["v"])
    np.testing.assert_allclose(m, [0.2] * 6 + [-0.1] * 4)   # (1 - beta_1) g
    assert opt.segments == [(0, 6), (6, 4)]
    with pytest.raises(KeyError, match="velocity"):
        opt.get_slot(0, "velocity")
    assert set(SGD(0.1).slot_initial_values) == set()
    assert set(RMSprop(centered=True, momentum=0.5).slot_initial_values) == {"velocity", "average_gradient",
                                                                             "momentum"}
    assert Adagrad().slot_initial_values == {"accumulator": 0.1}


def test_learning_rate_at_and_iterations():
    opt = SGD(ExponentialDecay(1.0, 1, 0.5))
    assert [opt.learning_rate_at(s) for s in range(3)] == [1.0, 0.5, 0.25]
    assert SGD(0.3).learning_rate_at(100) == 0.3
    w = np.array([0.0])
    for _ in range(3):
        opt.apply([np.array([1.0])], [w])
    assert opt.iterations == 3 and w[0] == pytest.approx(-1.75)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adadelta", "Adagrad", "RMSprop"])
def test_get_config_has_keras_keys_and_defaults(keras_golden, name):
    keras_config = keras_golden["optimizer_validation"]["get_config_defaults"][name]
    config = getattr(optimizers, name)().get_config()
    assert set(keras_config) <= set(config)
    for key, value in keras_config.items():
        if key == "learning_rate":   # Keras stores the rate in a float32 variable
            assert config[key] == pytest.approx(value, rel=1e-7)
        else:
            assert config[key] == value, key
    rebuilt = getattr(optimizers, name).from_config(config)
    assert rebuilt.get_config() == config


def test_schedule_round_trips_through_config():
    opt = SGD(ExponentialDecay(0.1, 2, 0.5, staircase=True), momentum=0.5)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    assert SGD.from_config(config).learning_rate_at(2) == 0.05


def test_get_resolves_names_and_objects():
    assert isinstance(optimizers.get("adam"), Adam)
    assert isinstance(optimizers.get("RMSprop"), RMSprop)
    assert optimizers.get("sgd").learning_rate == 0.01
    opt = Adagrad()
    assert optimizers.get(opt) is opt
    assert optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}).learning_rate == 0.5
    with pytest.raises(ValueError, match="adadelta.*adagrad.*adam.*rmsprop.*sgd"):
        optimizers.get("nadam")
    with pytest.raises(TypeError, match="optimizer identifier 3 of type int"):
        optimizers.get(3)


# ------------------------------------------------------------------------------ PyTorch oracle
def test_matches_torch_where_keras_and_torch_agree():
    """With equal hyper-parameters and a constant rate, Keras SGD-momentum and Adadelta equal
    torch.optim exactly (keras-semantics §7); Adam with Keras' epsilon mapped to torch's
    eps(t) = eps / sqrt(1 - beta_2^t) is checked by the golden cases instead."""
    torch = pytest.importorskip("torch")
    c = np.array([0.3, 0.1, -0.4])
    for ours, theirs in [
        (lambda: SGD(0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        (lambda: Adadelta(1.0, rho=0.9, epsilon=1e-6),
         lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6)),
    ]:
        w = np.array([1.0, -2.0, 0.5])
        tw = torch.tensor(w.copy(), requires_grad=True)
        opt, topt = ours(), theirs([tw])
        for _ in range(10):
            opt.apply([2 * (w - c)], [w])
            topt.zero_grad()
            ((tw - torch.tensor(c)) ** 2).sum().backward()
            topt.step()
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=0, atol=1e-12)


def test_no_warning_on_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = np.array([1.0])
        Adam(0.1).apply([np.array([0.5])], [w])
