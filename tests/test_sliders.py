"""The lecture's sliders (microgradx.viz.sliders, slider_demos) without a browser: specs are complete and
checked, the notebook widget syncs a valid selection and rejects a bad one, the static fragment needs no
network, and what each frame's caption states holds against an independent computation (the closed form of
gradient descent on a quadratic, the divergence bound of (heavy-ball) SGD, Keras' early-stopping rule as
re-stated in microgradx.exercises)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from microgradx.exercises.regularization import early_stopping_run
from microgradx.viz import slider_demos as demos
from microgradx.viz.optimizers import best_learning_rates
from microgradx.viz import sliders as sl


def _tiny_spec():
    controls = [sl.control("a", "a", [1.0, 2.0], index=1), sl.control("b", "b", ["x", "y", "z"])]
    layers = [sl.layer([0], lambda i: sl.part({0: {"lines": [sl.line([(0, i), (1, i)], "tab:blue")]}}, f"a{i}"), [2]),
              sl.layer([0, 1], lambda i, j: sl.part({}, f"{i}{j}", {"n": 10 * i + j}), [2, 3])]
    return sl.make_spec("t", controls, [{"title": "p", "xlim": [0, 1], "ylim": [0, 2]}], layers)


def test_a_spec_has_a_part_for_every_combination_and_reads_back_by_value():
    spec = _tiny_spec()
    assert sorted(spec["layers"][1]["frames"]) == ["0-0", "0-1", "0-2", "1-0", "1-1", "1-2"]
    assert sl.selection_of(spec) == [1, 0] and sl.selection_of(spec, b="z") == [1, 2]
    assert [p["text"] for p in sl.parts_at(spec, a=1.0, b="y")] == ["a0", "01"]
    assert sl.parts_at(spec, a=2.0, b="z")[1]["data"] == {"n": 12}
    assert spec["layers"][0]["frames"]["0"]["panels"]["0"]["lines"][0]["color"] == "#1f77b4"   # CSS, not tab:blue
    with pytest.raises(ValueError, match="no value 3.0"):
        sl.selection_of(spec, a=3.0)
    with pytest.raises(ValueError, match="no control named 'c'"):
        sl.parts_at(spec, c=1)


def test_bad_specs_and_selections_are_named():
    control = sl.control("a", "a", [1.0, 2.0])
    with pytest.raises(ValueError, match="missing or extra"):
        sl.make_spec("t", [control], [{}], [{"controls": [0], "frames": {"0": sl.part()}}])
    with pytest.raises(ValueError, match="panel 3 does not exist"):
        sl.make_spec("t", [control], [{}], [sl.layer([0], lambda i: sl.part({3: {}}), [2])])
    with pytest.raises(ValueError, match="index=5 must be between 0 and 1"):
        sl.control("a", "a", [1.0, 2.0], index=5)
    with pytest.raises(ValueError, match="2 labels for 1 values"):
        sl.control("a", "a", [1.0], ["x", "y"])
    with pytest.raises(ValueError, match="index 7 of control 'b'"):
        sl.slider_fragment(_tiny_spec(), element_id="x", selection=[0, 7])


def test_numbers_are_rounded_and_gaps_are_none():
    drawn = sl.line([(0.123456789, float("nan")), (1e-20, float("inf"))], "#000")
    assert drawn["points"] == [[0.1235, None], [1e-20, None]]


def test_the_notebook_widget_syncs_a_valid_selection_and_rejects_a_bad_one():
    pytest.importorskip("anywidget")
    import traitlets

    widget = sl.slider_widget(_tiny_spec())
    assert widget.selection == [1, 0] and widget.value("a") == 2.0 and widget.value("b") == "x"
    assert widget.trait_metadata("selection", "sync") and widget.trait_metadata("spec", "sync")
    widget.selection = [0, 2]
    assert widget.value("b") == "z"
    with pytest.raises(traitlets.TraitError, match="index 3 of control 'b'"):
        widget.selection = [0, 3]
    with pytest.raises(KeyError, match="no control named 'c'"):
        widget.value("c")
    bundle = widget._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_the_static_fragment_carries_everything_and_loads_nothing():
    fragment = sl.slider_fragment(_tiny_spec(), element_id="s1")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", fragment) + re.findall(r"import\s*\(\s*['\"]http", fragment)
    assert urls == []
    state = json.loads(re.search(r'id="s1-state">(.*?)</script>', fragment, re.S).group(1))
    assert state["selection"] == [1, 0] and state["spec"]["title"] == "t"


# ------------------------------------------------------------------------------ gradient descent
@pytest.fixture(scope="module")
def descent():
    problem = demos.descent_problem()
    return problem, demos.descent_spec(problem)


def test_descent_captions_agree_with_the_closed_form(descent):
    """For a quadratic J the error after k plain steps is (I − ηH)^k e0 and J − J* = ½ eᵀHe."""
    problem, spec = descent
    e0 = np.array(demos.DESCENT_START) - problem.minimum
    for rate in spec["controls"][0]["values"]:
        data = sl.parts_at(spec, learning_rate=rate, momentum=0.0)[1]["data"]
        step = np.eye(2) - rate * problem.hessian
        radius = max(abs(np.linalg.eigvals(step)))
        if radius > 1:
            assert data["verdict"] == "diverging"
            continue
        e = np.linalg.matrix_power(step, demos.DESCENT_STEPS) @ e0
        assert data["gap"] == pytest.approx(0.5 * e @ problem.hessian @ e, rel=1e-6, abs=1e-12)
        assert data["verdict"] == ("converged" if data["gap"] < 1e-6 else "still descending")


def test_descent_rates_straddle_the_critical_rate_and_momentum_rescues_the_largest(descent):
    problem, spec = descent
    rates = spec["controls"][0]["values"]
    assert problem.critical == pytest.approx(2 / max(np.linalg.eigvalsh(problem.hessian)))
    verdicts = [sl.parts_at(spec, learning_rate=r, momentum=0.0)[1]["data"]["verdict"] for r in rates]
    assert verdicts[0] == "still descending" and verdicts[-1] == "diverging" and "converged" in verdicts
    # heavy ball converges for η λ < 2 (1 + μ): at 1.05 × 2/λmax, momentum 0.5 and 0.9 do not diverge
    for momentum in (0.5, 0.9):
        assert sl.parts_at(spec, learning_rate=rates[-1], momentum=momentum)[1]["data"]["verdict"] != "diverging"
    slow = rates[1]
    assert (sl.parts_at(spec, learning_rate=slow, momentum=0.9)[1]["data"]["gap"]
            < sl.parts_at(spec, learning_rate=slow, momentum=0.0)[1]["data"]["gap"])


# ------------------------------------------------------------------------------ the race
RACED = ("SGD", "SGD+momentum", "Adam")


@pytest.fixture(scope="module")
def race():
    return demos.race_spec(surfaces=("ravine",), racers=RACED)


def test_race_sgd_diverges_exactly_above_its_stability_bound_on_the_ravine(race):
    """f = 0.05 x² + 2 y²: curvature 4 across the valley. Plain SGD diverges for η > 2/4; heavy-ball SGD
    (momentum 0.9) for η > 2 (1 + 0.9) / 4."""
    for name, bound in (("SGD", 2 / 4), ("SGD+momentum", 2 * 1.9 / 4)):
        for rate in demos.RACE_RATES:
            data = sl.parts_at(race, **{f"lr_{name}": rate})[RACED.index(name) + 1]["data"]
            assert data["diverged"] == (rate > bound), (name, rate)


def test_race_has_one_slider_per_optimizer_and_captions_name_their_rate(race):
    names = [c["name"] for c in race["controls"]]
    assert names == ["surface"] + [f"lr_{n}" for n in RACED]
    for layer, name in zip(race["layers"][1:], RACED):
        for key, frame in layer["frames"].items():
            rate = demos.RACE_RATES[int(key.split("-")[1])]
            assert frame["text"].startswith(f"{name} (η = {rate:.3g}; best of the sweep here: ")
    best = best_learning_rates("ravine", RACED)
    for c, name in enumerate(RACED, start=1):                   # each slider starts at its best rate
        control = race["controls"][c]
        assert control["values"][control["index"]] == pytest.approx(best[name])


# ------------------------------------------------------------------------------ fitting
@pytest.fixture(scope="module")
def fitting():
    controls = (("noise", "noise", (0.4,), 0), ("width", "width", (4, 64), 1), ("dropout", "dropout", (0.0,), 0),
                ("patience", "patience", (3, 10, 30), 0))
    return demos.fitting_spec(controls=controls, epochs=40, n_val=200)


def test_fitting_stops_where_keras_rule_says_and_restores_the_lowest_validation_loss(fitting):
    curves = fitting["layers"][1]["frames"]
    for key, frame in fitting["layers"][2]["frames"].items():
        a, b, c, d = map(int, key.split("-"))
        patience = fitting["controls"][3]["values"][d]
        val_losses = [y for _, y in curves[f"{a}-{b}-{c}"]["panels"]["1"]["lines"][1]["points"]]
        data = frame["data"]
        assert (data["stopped"], data["best"]) == early_stopping_run(val_losses, patience, 0.0)
        assert data["val_loss"] == pytest.approx(min(val_losses[:data["stopped"]]), rel=1e-3)
        assert data["min_val_loss"] <= data["val_loss"]
        assert f"stopped after epoch {data['stopped']} of 40, restored epoch {data['best']}" in frame["text"]
    stops = [sl.parts_at(fitting, width=64, patience=p)[2]["data"]["stopped"] for p in (3, 10, 30)]
    assert stops == sorted(stops)                                          # more patience, later stop


def test_replayed_early_stopping_matches_keras_recorded_runs(keras_golden):
    for name in ("A_improve_then_plateau", "F_patience0"):
        scenario = keras_golden["early_stopping"]["scenarios"][name]
        if scenario["kwargs"].get("min_delta"):
            continue                                    # the demo uses min_delta=0
        recorded = scenario["restore_best_weights=True"]["direct_callback_protocol"]
        assert demos.replay_early_stopping(scenario["sequence"], scenario["kwargs"]["patience"]) == \
            (recorded["epochs_run"], recorded["best_epoch_attr"] + 1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        losses = list(np.cumsum(rng.normal(0, 0.1, size=40)) + 5)
        for patience in (0, 1, 4, 10):
            assert demos.replay_early_stopping(losses, patience) == early_stopping_run(losses, patience, 0.0)


def test_simplified_paths_stay_within_the_tolerance_of_every_dropped_point():
    rng = np.random.default_rng(1)
    path = np.cumsum(rng.normal(size=(300, 2)), axis=0) * np.array([1.0, 10.0])
    scale, tolerance = (50.0, 500.0), 0.01
    kept = demos.simplify(path, tolerance, scale=scale)
    assert 2 < len(kept) < len(path) and np.array_equal(kept[0], path[0]) and np.array_equal(kept[-1], path[-1])
    p, k = path / scale, kept / scale
    for q in p:                                   # distance from every original point to the simplified polyline
        a, b = k[:-1], k[1:]
        t = np.clip(np.einsum("ij,ij->i", q - a, b - a) / np.maximum(np.einsum("ij,ij->i", b - a, b - a), 1e-300), 0, 1)
        assert np.min(np.hypot(*(a + t[:, None] * (b - a) - q).T)) <= tolerance + 1e-12


# ------------------------------------------------------------------------------ the lecture's 1-D picture
def test_lecture_slider_verdicts_agree_with_the_roots_of_the_gradient():
    """dJ/dw = w − 12 (w − 2) exp(−2 (w − 2)²), written out here: its roots near 0 and 2.78 are the global and
    the false minimum; away from the bump J'' → 1, so rates above 2 diverge."""
    from scipy.optimize import brentq

    def slope(w):
        return w - 12.0 * (w - 2.0) * np.exp(-2.0 * (w - 2.0) ** 2)

    global_min, false_min = brentq(slope, -0.5, 0.5), brentq(slope, 2.5, 3.2)
    spec = demos.lecture_spec()
    verdicts = {}
    for rate in spec["controls"][0]["values"]:
        data = sl.parts_at(spec, learning_rate=rate)[1]["data"]
        verdicts[rate] = data["verdict"]
        if data["verdict"] == "false minimum":
            assert abs(data["w"] - false_min) < 1e-3
        if data["verdict"] == "global minimum":
            assert abs(data["w"] - global_min) < 1e-3
        assert (data["verdict"] == "diverging") == (rate > 2.0), rate
    assert verdicts[0.05] == "false minimum" and verdicts[0.6] == "global minimum"     # the lecture's small, stable
    labels = spec["controls"][0]["labels"]
    assert "0.05 (small)" in labels and "0.6 (stable)" in labels and "2.2 (large)" in labels
