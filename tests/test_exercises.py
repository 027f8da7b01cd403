"""The tutorials' exercises: every solution in tutorials/solutions passes its checker, typical wrong answers
get the hint that names their mistake, placeholders read "not attempted yet", no hint gives the answer away,
and the checkers' oracles agree with independent references (Keras' recorded Adam and EarlyStopping runs,
the library's own EarlyStopping, its Value.tanh)."""

from __future__ import annotations

import importlib.util
import math
import pathlib

import numpy as np
import pytest

from microgradx import Value
from microgradx.exercises import backprop, descent, engines, landscapes, losses, neuron, optimizers, \
    regularization
from microgradx.exercises.result import Result

SOLUTIONS = pathlib.Path(__file__).resolve().parent.parent / "tutorials" / "solutions"


def solution(stem: str):
    spec = importlib.util.spec_from_file_location(f"solution_{stem}", SOLUTIONS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_is_one_solution_file_per_tutorial():
    notebooks = sorted(p.stem for p in (SOLUTIONS.parent).glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.stem for p in SOLUTIONS.glob("[0-9][0-9]_*.py")) == notebooks


# ------------------------------------------------------------------------------ every solution passes
def _checks():
    s1, s2, s3, s4 = (solution(n) for n in ("01_single_neuron", "02_losses", "03_backprop", "04_gradient_descent"))
    s5, s6, s7, s8 = (solution(n) for n in ("05_adaptive_optimizers", "06_loss_landscapes", "07_overfitting",
                                            "08_full_size_training"))
    return {
        "1.1": lambda: neuron.check_neuron_output(s1.neuron_output),
        "1.2": lambda: neuron.check_tanh(s1.tanh),
        "1.3": lambda: neuron.check_parameter_count(s1.count_parameters),
        "2.1": lambda: losses.check_bce(s2.bce),
        "2.2": lambda: losses.check_bce_gradient(s2.bce_gradient_p1),
        "2.3": lambda: losses.check_mse(s2.mse),
        "3.1": lambda: backprop.check_chain_rule(s3.chain_rule_answer),
        "3.2": lambda: backprop.check_reused_node(s3.reused_answer),
        "3.3": lambda: backprop.check_two_backward_passes(s3.two_passes_answer),
        "4.1": lambda: descent.check_step(s4.step),
        "4.2": lambda: descent.check_critical_rate(s4.critical_rate),
        "4.3": lambda: descent.check_prediction(s4.prediction, fraction=0.9),
        "4.4": lambda: descent.check_fast_rate(s4.fast_rate),
        "5.1": lambda: optimizers.check_adam_step(s5.adam_step),
        "5.2": lambda: optimizers.check_adagrad_sum(s5.adagrad_sum),
        "5.3": lambda: optimizers.check_rmsprop_first_step(s5.rmsprop_ratio),
        "6.1": lambda: landscapes.check_filter_normalize(s6.normalize),
        "6.2": lambda: landscapes.check_barrier(s6.barrier),
        "7.1": lambda: regularization.check_dropout(s7.dropout),
        "7.2": lambda: regularization.check_early_stopping(s7.patience, s7.min_delta),
        "7.3": lambda: regularization.check_restored_epoch(s7.restored_epoch),
        "8.1": lambda: engines.check_weight_count(s8.weight_count),
        "8.2": lambda: engines.check_validation_split(s8.split),
    }


CHECKS = _checks()


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_the_solution_passes(exercise):
    result = CHECKS[exercise]()
    assert isinstance(result, Result) and result.exercise == exercise
    assert result.passed, result
    assert str(result).startswith(f"✓ Exercise {exercise} passed")


# ------------------------------------------------------------------------------ wrong answers get hints
def tanh_with(local):
    def op(a: Value) -> Value:
        t = math.tanh(a.data)
        return Value(t, _children=(a,), _op="tanh", _local_grads=(local(a.data, t),))
    return op


def bce_with(term, reduce=lambda terms: sum(terms) / len(terms)):
    return lambda y_true, y_pred: reduce([term(y, p) for y, p in zip(y_true, y_pred)])


def adam_with(correct_m=True, correct_v=True, sqrt=True, sign=-1.0, keep_state=False):
    def step(w, g, m, v, t, lr, b1, b2, eps):
        m_new, v_new = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_used = m_new / (1 - b1 ** t) if correct_m else m_new
        v_used = v_new / (1 - b2 ** t) if correct_v else v_new
        scale = np.sqrt(v_used) if sqrt else v_used
        return w + sign * lr * m_used / (scale + eps), (m if keep_state else m_new), (v if keep_state else v_new)
    return step


def split_with(kind):
    def split(x, y, fraction, seed):
        n_val = int(round(fraction * len(x)))
        order = np.random.default_rng(seed).permutation(len(x))
        if kind == "overlap":
            return x, y, x[:n_val], y[:n_val]
        if kind == "misaligned":
            other = np.random.default_rng(seed + 1).permutation(len(x))
            return x[order[n_val:]], y[other[n_val:]], x[order[:n_val]], y[other[:n_val]]
        return x[order[n_val:]], y[order[n_val:]], x[order[: n_val // 2]], y[order[: n_val // 2]]
    return split


WRONG = [
    ("1.1", lambda: neuron.check_neuron_output(0.2), "no_activation"),
    ("1.1", lambda: neuron.check_neuron_output(0.5), "no_bias"),
    ("1.2", lambda: neuron.check_tanh(tanh_with(lambda a, t: t)), "output"),
    ("1.2", lambda: neuron.check_tanh(tanh_with(lambda a, t: 1 - a * a)), "input_squared"),
    ("1.2", lambda: neuron.check_tanh(tanh_with(lambda a, t: t * (1 - t))), "sigmoid"),
    ("1.2", lambda: neuron.check_tanh(tanh_with(lambda a, t: 1 + t * t)), "sign"),
    ("1.2", lambda: neuron.check_tanh(lambda a: Value(math.tanh(a.data))), "no_children"),
    ("1.2", lambda: neuron.check_tanh(lambda a: Value(a.data, _children=(a,), _local_grads=(1.0,))), "forward"),
    ("1.3", lambda: neuron.check_parameter_count(lambda m, d, n: m * d + d * n), "no_biases"),
    ("1.3", lambda: neuron.check_parameter_count(lambda m, d, n: m * d * n), "product"),
    ("2.1", lambda: losses.check_bce(bce_with(lambda y, p: y * math.log(p) + (1 - y) * math.log(1 - p))),
     "positive_sign"),
    ("2.1", lambda: losses.check_bce(bce_with(lambda y, p: -(y * math.log(p) + (1 - y) * math.log(1 - p)), sum)),
     "sum"),
    ("2.1", lambda: losses.check_bce(bce_with(lambda y, p: -y * math.log(p))), "only_label_one"),
    ("2.1", lambda: losses.check_bce(bce_with(lambda y, p: -(y * math.log10(p) + (1 - y) * math.log10(1 - p)))),
     "log10"),
    ("2.2", lambda: losses.check_bce_gradient(-10.0), "no_mean"),
    ("2.2", lambda: losses.check_bce_gradient(10 / 3), "sign"),
    ("2.3", lambda: losses.check_mse(lambda t, p: math.sqrt(sum((a - b) ** 2 for a, b in zip(t, p)) / len(t))),
     "rmse"),
    ("2.3", lambda: losses.check_mse(lambda t, p: sum((a - b) ** 2 for a, b in zip(t, p))), "sum"),
    ("3.1", lambda: backprop.check_chain_rule(2 * (-math.tanh(1) - 0.5) * -1.0 * 2.0), "no_tanh_slope"),
    ("3.1", lambda: backprop.check_chain_rule(2 * (-math.tanh(1) - 0.5) * -1.0), "last_layer_only"),
    ("3.2", lambda: backprop.check_reused_node(3.0), "assignment"),
    ("3.3", lambda: backprop.check_two_backward_passes(3.0), "reset"),
    ("4.1", lambda: descent.check_step(lambda w, g, lr: w + lr * g), "uphill"),
    ("4.1", lambda: descent.check_step(lambda w, g, lr: None), "returned_none"),
    ("4.2", lambda: descent.check_critical_rate(1 / (2 * descent.QUADRATIC_A)), "one_step"),
    ("4.2", lambda: descent.check_critical_rate(2 / descent.QUADRATIC_A), "forgot_two"),
    ("4.3", lambda: descent.check_prediction("a", fraction=0.9), "keeps_sign"),
    ("4.3", lambda: descent.check_prediction("c", fraction=0.9), "diverges"),
    ("4.3", lambda: descent.check_prediction("b", fraction=1.2), "oscillates"),
    ("4.4", lambda: descent.check_fast_rate(0.01), "too_small"),
    ("4.4", lambda: descent.check_fast_rate(0.5), "diverges"),
    ("5.1", lambda: optimizers.check_adam_step(adam_with(correct_m=False, correct_v=False)), "no_bias_correction"),
    ("5.1", lambda: optimizers.check_adam_step(adam_with(correct_v=False)), "only_m_corrected"),
    ("5.1", lambda: optimizers.check_adam_step(adam_with(sqrt=False)), "no_sqrt"),
    ("5.1", lambda: optimizers.check_adam_step(adam_with(sign=1.0)), "uphill"),
    ("5.1", lambda: optimizers.check_adam_step(adam_with(keep_state=True)), "state_not_updated"),
    ("5.2", lambda: optimizers.check_adagrad_sum((1 + 4 + 9) / 3), "running_average"),
    ("5.2", lambda: optimizers.check_adagrad_sum(14.0), "no_initial"),
    ("5.3", lambda: optimizers.check_rmsprop_first_step(1.0), "bias_corrected"),
    ("6.1", lambda: landscapes.check_filter_normalize(lambda d, k: d / np.linalg.norm(d, axis=0)), "unit_norm"),
    ("6.1", lambda: landscapes.check_filter_normalize(lambda d, k: d / np.linalg.norm(d) * np.linalg.norm(k)),
     "whole_matrix"),
    ("6.1", lambda: landscapes.check_filter_normalize(
        lambda d, k: d / np.linalg.norm(d, axis=1, keepdims=True) * np.linalg.norm(k, axis=1, keepdims=True)), "rows"),
    ("6.2", lambda: landscapes.check_barrier(max), "no_ends"),
    ("6.2", lambda: landscapes.check_barrier(lambda l: max(l) - min(l[0], l[-1])), "lower_end"),
    ("7.1", lambda: regularization.check_dropout(lambda x, keep, rate: x * keep), "no_scale"),
    ("7.1", lambda: regularization.check_dropout(lambda x, keep, rate: x * keep / rate), "scale_by_rate"),
    ("7.2", lambda: regularization.check_early_stopping(2, 0.0), "too_late"),
    ("7.2", lambda: regularization.check_early_stopping(1, 0.01), "too_early"),
    ("7.2", lambda: regularization.check_early_stopping(50, 0.01), "patience_too_large"),
    ("7.3", lambda: regularization.check_restored_epoch(13), "lowest_loss"),
    ("7.3", lambda: regularization.check_restored_epoch(12), "last_epoch"),
    ("8.1", lambda: engines.check_weight_count(64 * 64 + 64 * 10), "no_biases"),
    ("8.2", lambda: engines.check_validation_split(split_with("overlap")), "overlap"),
    ("8.2", lambda: engines.check_validation_split(split_with("misaligned")), "misaligned"),
    ("8.2", lambda: engines.check_validation_split(split_with("size")), "size"),
]


@pytest.mark.parametrize("exercise, run, hint_id", WRONG, ids=[f"{e}-{h}" for e, _, h in WRONG])
def test_a_typical_wrong_answer_gets_its_hint(exercise, run, hint_id):
    result = run()
    assert (result.exercise, result.status, result.hint_id) == (exercise, "wrong", hint_id), result
    assert str(result).startswith(f"✗ Exercise {exercise} wrong: ")


def test_every_exercise_recognises_a_typical_mistake():
    recognised = {}
    for exercise, _, hint_id in WRONG:
        recognised.setdefault(exercise, set()).add(hint_id)
    assert set(recognised) == set(CHECKS)


def test_hints_do_not_give_the_number_away():
    numeric = {"1.1": (neuron.check_neuron_output, 1 / (1 + math.exp(-0.2))),
               "2.2": (losses.check_bce_gradient, -1 / 0.3),
               "3.1": (backprop.check_chain_rule, solution("03_backprop").chain_rule_answer),
               "4.2": (descent.check_critical_rate, 1 / descent.QUADRATIC_A),
               "5.2": (optimizers.check_adagrad_sum, 14.1),
               "5.3": (optimizers.check_rmsprop_first_step, solution("05_adaptive_optimizers").rmsprop_ratio),
               "8.1": (engines.check_weight_count, 4810)}
    for exercise, (check, expected) in numeric.items():
        for wrong in (expected * 1.5, -expected, expected + 1):
            message = check(wrong).message
            for digits in (2, 3, 4):
                assert f"{expected:.{digits}f}" not in message, (exercise, message)
            assert f"{expected:g}" not in message, (exercise, message)


# ------------------------------------------------------------------------------ placeholders and errors
PLACEHOLDERS = {
    "1.1": lambda: neuron.check_neuron_output(None),
    "1.2": lambda: neuron.check_tanh(lambda a: Value(math.tanh(a.data), _children=(a,), _local_grads=(...,))),
    "2.1": lambda: losses.check_bce(lambda y, p: ...),
    "4.1": lambda: descent.check_step(_not_implemented),
    "4.3": lambda: descent.check_prediction(None, fraction=0.9),
    "7.2": lambda: regularization.check_early_stopping(None, None),
    "8.2": lambda: engines.check_validation_split(_not_implemented),
}


def _not_implemented(*args):
    raise NotImplementedError("write this")


@pytest.mark.parametrize("exercise", sorted(PLACEHOLDERS))
def test_a_placeholder_reads_not_attempted_yet(exercise):
    result = PLACEHOLDERS[exercise]()
    assert (result.status, result.hint_id, result.passed) == ("not attempted", "placeholder", False)
    assert "not attempted yet" in str(result)


def test_code_that_raises_is_reported_not_raised():
    result = losses.check_bce(lambda y, p: 1 / 0)
    assert (result.status, result.hint_id) == ("error", "raised")
    assert "ZeroDivisionError" in result.message
    result = descent.check_prediction("maybe", fraction=0.9)
    assert result.status == "error" and "'maybe'" in result.message
    assert neuron.check_neuron_output("two").status == "error"
    assert neuron.check_neuron_output(float("nan")).status == "error"


# ------------------------------------------------------------------------------ the oracles themselves
def test_tanh_oracle_accepts_the_engine_s_own_tanh():
    assert neuron.check_tanh(lambda a: a.tanh()).passed


def test_adam_reference_reproduces_keras_recorded_run(keras_golden):
    case = keras_golden["optimizers"]["cases"]["Adam,lr=0.1"]["float64"]["weights_after_each_step"]
    c = np.array([0.3, 0.1, -0.4])
    w, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, expected in enumerate(case, 1):
        w, m, v = optimizers._adam_reference(w, 2 * (w - c), m, v, t, 0.1, 0.9, 0.999, 1e-7)
        np.testing.assert_allclose(w, expected, rtol=0, atol=1e-6)   # Keras adds epsilon to the uncorrected sqrt(v)


def test_adam_checker_accepts_the_library_optimizer():
    import microgradx as mgx

    def library_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
        opt = mgx.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        opt.build([w])
        opt.get_slot(0, "m")[...], opt.get_slot(0, "v")[...] = m, v
        opt.iterations = t - 1
        opt.apply([g], [w])
        return w, opt.get_slot(0, "m").copy(), opt.get_slot(0, "v").copy()

    assert optimizers.check_adam_step(library_step).passed


@pytest.mark.parametrize("name", ["A_improve_then_plateau", "D_runs_to_end_best_near_end", "F_patience0",
                                  "I_negative_min_delta_same_as_positive"])
def test_early_stopping_rule_reproduces_keras_recorded_runs(keras_golden, name):
    scenario = keras_golden["early_stopping"]["scenarios"][name]
    recorded = scenario["restore_best_weights=True"]["direct_callback_protocol"]
    kwargs = {"patience": 0, "min_delta": 0.0, **scenario["kwargs"]}
    epochs_run, best = regularization.early_stopping_run(scenario["sequence"], **kwargs)
    assert (epochs_run, best) == (recorded["epochs_run"], recorded["best_epoch_attr"] + 1)


def test_early_stopping_rule_agrees_with_the_library_callback_on_the_exercise_losses():
    from microgradx.callbacks import EarlyStopping

    class Model:
        stop_training = False

        def get_weights(self):
            return [np.zeros(1)]

        def set_weights(self, weights):
            pass

    for patience, min_delta in ((5, 0.01), (3, 0.0), (2, 0.003), (1, 0.02)):
        stopper, model = EarlyStopping(patience=patience, min_delta=min_delta), Model()
        stopper.set_model(model)
        stopper.on_train_begin()
        epochs = 0
        for epoch, loss in enumerate(regularization.VAL_LOSSES):
            epochs += 1
            stopper.on_epoch_end(epoch, {"val_loss": loss})
            if model.stop_training:
                break
        assert regularization.early_stopping_run(regularization.VAL_LOSSES, patience, min_delta) == \
            (epochs, stopper.best_epoch + 1)


def test_the_early_stopping_exercise_has_an_answer_and_needs_min_delta():
    answers = [(p, d) for p in range(regularization.MAX_PATIENCE + 1) for d in np.linspace(0, 0.05, 51)
               if regularization.check_early_stopping(p, float(d)).passed]
    assert answers and all(d > 0 for _, d in answers)


def test_critical_rate_is_where_gradient_descent_stops_converging():
    rate = solution("04_gradient_descent").critical_rate
    for factor, converges in ((0.99, True), (1.01, False)):
        w = 1.0
        for _ in range(2000):
            w -= factor * rate * 2 * descent.QUADRATIC_A * w
        assert (abs(w) < 1e-3) == converges


# ------------------------------------------------------------------------------ the notebooks' exercise cells
def _exercise_cells(source: pathlib.Path) -> tuple[str, list[str]]:
    """The first code cell (the imports) and the code cells after the "## Exercises" heading."""
    spec = importlib.util.spec_from_file_location("tutorials_build", SOLUTIONS.parent / "_build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    cells = build.parse_cells(source.read_text(), source.name)
    start = next(i for i, (kind, text) in enumerate(cells) if kind == "markdown" and text.startswith("## Exercises"))
    imports = next(text for kind, text in cells if kind == "code")
    return imports, [text for kind, text in cells[start:] if kind == "code"]


@pytest.mark.parametrize("source", sorted((SOLUTIONS.parent / "source").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_each_tutorial_ends_with_exercises_that_read_not_attempted_yet(source):
    imports, cells = _exercise_cells(source)
    namespace: dict = {}
    exec(compile(imports, source.name, "exec"), namespace)
    verdicts = []
    for cell in cells:
        *body, last = cell.rstrip().splitlines()
        exec(compile("\n".join(body), source.name, "exec"), namespace)
        if last.startswith("exercises.check_"):
            verdicts.append(eval(last, namespace))
        else:
            exec(compile(last, source.name, "exec"), namespace)
    assert 2 <= len(verdicts) <= 4
    assert [v.status for v in verdicts] == ["not attempted"] * len(verdicts), verdicts
    assert [v.exercise for v in verdicts] == [f"{int(source.stem[:2])}.{i}" for i in range(1, len(verdicts) + 1)]
