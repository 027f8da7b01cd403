"""The numbers behind the teaching plots of ``microgradx.viz`` (losses, curves, learning rates, optimizers,
landscapes, boundaries, fitting), each checked against an independent oracle: closed forms, the Keras
early-stopping goldens, hand-written update rules, a NumPy forward pass, central differences."""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing

import numpy as np
import pytest

from microgradx.viz import boundaries, curves, landscape, learning_rate, losses, optimizers
from microgradx.viz._style import save_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.exists() and path.read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------------------------------------ saving
def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    fig = losses.plot_bce()
    target = tmp_path / "sub" / "bce.png"
    save_figure(fig, target)
    assert _is_png(target)
    assert [p.name for p in target.parent.iterdir()] == ["bce.png"]
    with pytest.raises(ValueError, match="suffix"):
        save_figure(fig, tmp_path / "no_suffix")


# ------------------------------------------------------------------------------------------ losses
def test_lecture_bce_and_mse_numbers():
    bce = losses.binary_crossentropy_per_sample(losses.LECTURE_BCE["y_true"], losses.LECTURE_BCE["y_pred"])
    np.testing.assert_allclose(bce, [-math.log(0.1), -math.log(1 - 0.8), -math.log(0.6)], rtol=1e-12)
    assert bce.mean() == pytest.approx(1.4742829, abs=1e-6)
    mse = losses.squared_error_per_sample(losses.LECTURE_MSE["y_true"], losses.LECTURE_MSE["y_pred"])
    np.testing.assert_array_equal(mse, [3600.0, 3600.0, 0.0])


def test_loss_figure_marks_the_lecture_points(tmp_path):
    fig = losses.plot_losses(save=tmp_path / "losses.png")
    assert _is_png(tmp_path / "losses.png")
    bce_ax, mse_ax = fig.axes[:2]
    marked = {(round(float(line.get_xdata()[0]), 6), round(float(line.get_ydata()[0]), 6))
              for line in bce_ax.lines if len(line.get_xdata()) == 1}
    assert marked == {(0.1, round(-math.log(0.1), 6)), (0.8, round(-math.log(0.2), 6)), (0.6, round(-math.log(0.6), 6))}
    assert "1.4743" in bce_ax.get_title() and "2400" in mse_ax.get_title()
    for ax in (bce_ax, mse_ax):  # every dot is drawn whole: at least 4% of the axis height from its edges
        low, high = ax.get_ylim()
        dots = [float(line.get_ydata()[0]) for line in ax.lines if len(line.get_ydata()) == 1]
        assert min(dots) - low > 0.04 * (high - low) and high - max(dots) > 0.04 * (high - low)
    for ax in (bce_ax, mse_ax):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None


def test_bce_rejects_values_outside_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        losses.binary_crossentropy_per_sample([1.0], [1.5])


# ------------------------------------------------------------------------------------------ curves
class _RecordingModel:
    """Just enough of a model for the EarlyStopping callback: weights are the epoch they were taken at."""

    def __init__(self) -> None:
        self.epoch = -1
        self.stop_training = False
        self.metrics = []

    def get_weights(self):
        return [np.array([self.epoch])]

    def set_weights(self, weights):
        self.epoch = int(weights[0][0])


@pytest.mark.parametrize("scenario", ["A_improve_then_plateau", "F_patience_0", "D_runs_to_the_end"])
def test_early_stopping_markers_sit_at_the_golden_epochs(keras_golden, scenario, tmp_path):
    from microgradx.callbacks import EarlyStopping, History

    scenarios = keras_golden["early_stopping"]["scenarios"]
    key = next(k for k in scenarios if k.startswith(scenario.split("_")[0] + "_"))
    case = scenarios[key]
    golden = case["restore_best_weights=True"]["direct_callback_protocol"]
    stopper = EarlyStopping(monitor=case["monitor"], restore_best_weights=True, **case["kwargs"])
    history = History()
    model = _RecordingModel()
    for callback in (stopper, history):
        callback.set_model(model)
        callback.on_train_begin()
    for epoch, value in enumerate(case["sequence"]):
        model.epoch = epoch
        logs = {"loss": 2.0 - 0.1 * epoch, case["monitor"]: value}
        stopper.on_epoch_end(epoch, logs)
        history.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    stopper.on_train_end()
    assert model.epoch == golden["final_weights_are_from_epoch"]  # the callback did restore that epoch

    fig = curves.plot_training_curves(history, stopper, save=tmp_path / "curves.png")
    assert _is_png(tmp_path / "curves.png")
    lines = {line.get_gid(): line for line in fig.axes[0].lines if line.get_gid()}
    assert lines["restored-epoch"].get_xdata()[0] == golden["final_weights_are_from_epoch"] + 1
    if golden["stopped_by_callback"]:
        stopped = lines["stopped-epoch"].get_xdata()[0]
        assert stopped == golden["stopped_epoch_attr"] + 1
        low, high = fig.axes[0].get_xlim()       # the marker sits inside the plot, not on its right edge
        assert high - stopped >= max(1.0, 0.05 * (high - low))
    else:
        assert "stopped-epoch" not in lines
    # every epoch run is drawn, 1-based, train and validation
    drawn = [line for line in fig.axes[0].lines if line.get_label().endswith("loss")]
    assert len(drawn) == 2 and list(drawn[1].get_xdata()) == list(range(1, golden["epochs_run"] + 1))


def test_curves_reject_unknown_metrics():
    with pytest.raises(ValueError, match="accuracy"):
        curves.plot_training_curves({"loss": [1.0, 0.5]}, metrics=["accuracy"])


# ------------------------------------------------------------------------------------------ learning rates
def test_gradient_1d_matches_central_differences():
    w = np.linspace(-5, 5, 41)
    h = 1e-6
    numeric = (learning_rate.loss_1d(w + h) - learning_rate.loss_1d(w - h)) / (2 * h)
    np.testing.assert_allclose(learning_rate.gradient_1d(w), numeric, rtol=1e-6, atol=1e-7)


def test_descend_is_the_gradient_descent_rule():
    rate = 0.3
    w, expected = learning_rate.START, [learning_rate.START]
    for _ in range(10):
        w = w - rate * float(learning_rate.gradient_1d(w))  # W <- W - eta dJ/dW, by hand
        expected.append(w)
    np.testing.assert_allclose(learning_rate.descend(rate, steps=10), expected, rtol=1e-12)


def test_the_three_lecture_rates_behave_as_the_slide_says():
    rates = learning_rate.LECTURE_RATES
    grid = np.linspace(-6, 6, 120001)
    global_min = grid[np.argmin(learning_rate.loss_1d(grid))]
    right = grid[grid > 2.2]
    false_min = right[np.argmin(learning_rate.loss_1d(right))]
    # too large: the loss explodes (far from the bump J ~ w^2/2, so w is multiplied by 1 - eta = -1.2 per step)
    large = learning_rate.descend(rates["large"], steps=30)
    large_loss = learning_rate.loss_1d(large[np.isfinite(large)])
    assert large_loss[-1] > 1e4 * large_loss[0]
    assert np.all(np.abs(np.diff(np.abs(large[np.isfinite(large)][2:]))) > 0)  # |w| grows every step
    assert np.all(np.sign(large[2:-1]) != np.sign(large[3:]))                  # overshoots: flips side
    # too small: stuck in the false minimum; stable: reaches the global one
    assert learning_rate.descend(rates["small"], steps=200)[-1] == pytest.approx(false_min, abs=1e-3)
    assert learning_rate.descend(rates["stable"], steps=60)[-1] == pytest.approx(global_min, abs=1e-3)


def test_diverging_run_is_cut_at_the_divergence_threshold():
    path = learning_rate.descend(3.0, steps=200)
    assert np.isnan(path[-1]) and np.isfinite(path[0])
    finite = path[np.isfinite(path)]
    assert learning_rate.loss_1d(finite).max() <= learning_rate.DIVERGED_LOSS


def test_learning_rate_figures_are_written(tmp_path):
    learning_rate.plot_learning_rates(save=tmp_path / "lr.png")
    learning_rate.plot_gradient_descent(steps=5, save=tmp_path / "gd.png")
    assert _is_png(tmp_path / "lr.png") and _is_png(tmp_path / "gd.png")


def test_logistic_gradient_matches_central_differences():
    x, y = learning_rate._logistic_problem(0, n=20)
    w = np.array([0.3, -0.7])
    h = 1e-6
    numeric = [(learning_rate.logistic_loss(w + h * e, x, y) - learning_rate.logistic_loss(w - h * e, x, y)) / (2 * h)
               for e in np.eye(2)]
    np.testing.assert_allclose(learning_rate.logistic_gradient(w, x, y), numeric, rtol=1e-6)


def test_gradient_descent_figure_marks_the_minimum_and_reports_the_loss_of_the_steps_drawn():
    x, y = learning_rate._logistic_problem(0)
    best = learning_rate.logistic_minimum(x, y)
    h = 1e-6
    numeric = [(learning_rate.logistic_loss(best + h * e, x, y) - learning_rate.logistic_loss(best - h * e, x, y))
               / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(numeric, 0.0, atol=1e-8)          # a stationary point of a convex loss: W*
    fig = learning_rate.plot_gradient_descent(learning_rate=2.0, steps=25)
    ax_path, ax_loss = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"][:2]
    star = [line for line in ax_path.lines if line.get_label().startswith("W* = argmin")][0]
    np.testing.assert_allclose([star.get_xdata()[0], star.get_ydata()[0]], best)
    w = np.array([-3.0, 3.5])
    for _ in range(25):                                           # the 25 drawn steps, by hand
        w = w - 2.0 * learning_rate.logistic_gradient(w, x, y)
    assert f"to {learning_rate.logistic_loss(w, x, y):.4f}" in ax_loss.get_title()
    assert "25 steps" in ax_path.get_title()


def test_sweep_colours_of_neighbouring_rates_are_easy_to_tell_apart():
    from matplotlib.colors import to_rgb

    styles = [learning_rate.sweep_style(k) for k in range(12)]
    for (c1, s1), (c2, s2) in zip(styles, styles[1:]):
        distance = np.linalg.norm(np.subtract(to_rgb(c1), to_rgb(c2)))   # viridis' neighbours: about 0.1
        assert distance > 0.35 or s1 != s2, (c1, c2)
    assert len({style for style in styles}) == 12                 # no two rates drawn alike


SWEEP = {"n_samples": 48, "hidden": (4,), "epochs": 2, "batch_size": 16, "engine": "cpu"}


def test_sweep_runs_through_a_thread_pool_in_order():
    rates = [0.5, 0.01, 0.1]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = learning_rate.learning_rate_sweep(rates, executor=pool, **SWEEP)
    assert [r.learning_rate for r in results] == rates
    serial = learning_rate.train_with_learning_rate(learning_rate.SweepConfig(learning_rate=0.01, **SWEEP))
    assert results[1].history["val_loss"] == pytest.approx(serial.history["val_loss"], rel=1e-6)
    assert all(len(r.history["loss"]) == 2 for r in results)


@pytest.mark.slow
def test_sweep_runs_through_a_process_pool_and_plots(tmp_path):
    rates = [0.01, 1.0]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = learning_rate.learning_rate_sweep(rates, executor=pool, **SWEEP)
    serial = learning_rate.train_with_learning_rate(learning_rate.SweepConfig(learning_rate=1.0, **SWEEP))
    assert results[1].history["loss"] == pytest.approx(serial.history["loss"], rel=1e-6)
    fig = learning_rate.plot_learning_rate_sweep(results, save=tmp_path / "sweep.png")
    assert _is_png(tmp_path / "sweep.png")
    star = [line for line in fig.axes[1].lines if "just right" in line.get_label()][0]
    best = min(results, key=lambda r: r.final_loss)
    assert star.get_xdata()[0] == best.learning_rate


@pytest.mark.slow
def test_sweep_runs_on_a_dask_cluster_through_its_executor():
    """"Idea I" on a cluster: a Dask client's executor drives the sweep with no scheduling code of ours."""
    distributed = pytest.importorskip("distributed")
    rates = [0.5, 0.01]
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        results = learning_rate.learning_rate_sweep(rates, executor=client.get_executor(), **SWEEP)
    assert [r.learning_rate for r in results] == rates
    serial = learning_rate.train_with_learning_rate(learning_rate.SweepConfig(learning_rate=0.5, **SWEEP))
    assert results[0].history["val_loss"] == pytest.approx(serial.history["val_loss"], rel=1e-6)


def test_sweep_rejects_bad_rates():
    with pytest.raises(ValueError, match="learning_rates"):
        learning_rate.learning_rate_sweep([0.1, -1.0])


# ------------------------------------------------------------------------------------------ optimizers
def test_sgd_on_the_ravine_follows_the_closed_form():
    surface = optimizers.SURFACES["ravine"]
    lr, steps = 0.3, 12
    path = optimizers.run_optimizer(optimizers.make_optimizers({"SGD": lr}, ["SGD"])["SGD"], surface, steps)
    k = np.arange(steps + 1)
    x0, y0 = surface.start
    # f = 0.05 x^2 + 2 y^2: each step multiplies x by (1 - 0.1 lr) and y by (1 - 4 lr)
    np.testing.assert_allclose(path[:, 0], x0 * (1 - 0.1 * lr) ** k, rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], y0 * (1 - 4.0 * lr) ** k, rtol=1e-10, atol=1e-15)


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate():
    # After one step m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps') ~ lr * sign(g) per coordinate
    for name in ("ravine", "rosenbrock"):
        surface = optimizers.SURFACES[name]
        path = optimizers.run_optimizer(optimizers.make_optimizers({"Adam": 0.05}, ["Adam"])["Adam"], surface, 1)
        g = surface.gradient(np.array(surface.start))
        np.testing.assert_allclose(path[1] - path[0], -0.05 * np.sign(g), rtol=1e-5)


def test_surface_gradients_match_central_differences():
    h = 1e-6
    for surface in optimizers.SURFACES.values():
        for point in ([0.3, -0.4], [-1.2, 1.1]):
            p = np.array(point)
            numeric = [(surface.loss(p + h * e) - surface.loss(p - h * e)) / (2 * h) for e in np.eye(2)]
            np.testing.assert_allclose(surface.gradient(p), numeric, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def races():
    """Every surface's race at the racers' best rates, with the Keras-default Adadelta run beside it."""
    out = {}
    for name, surface in optimizers.SURFACES.items():
        adadelta_default = optimizers.make_optimizers(optimizers.KERAS_DEFAULT_RATES, ["Adadelta"])["Adadelta"]
        out[name] = {"rates": optimizers.best_learning_rates(name), "paths": optimizers.race(name),
                     "adadelta_default": optimizers.run_optimizer(adadelta_default, surface)}
    return out


def _final_gap(surface_name, path):
    return float(optimizers.loss_gaps(surface_name, path)[-1])


def test_sgd_best_rate_on_the_ravine_is_the_largest_stable_one_and_its_gap_the_closed_form(races):
    """Caption: SGD's rate is capped by the steep direction (η < 2/4), so it crawls along the flat one."""
    rate = races["ravine"]["rates"]["SGD"]
    stable = [r for r in optimizers.SWEEP_RATES if r < 2 / 4.0]   # |1 - 4 η| < 1
    assert rate == max(stable)
    too_large = optimizers.race("ravine", ["SGD"], learning_rates={"SGD": 1.0})["SGD"]
    assert optimizers.race_score("ravine", too_large) == math.inf  # above the cap: diverges
    x0, y0 = optimizers.SURFACES["ravine"].start
    steps = optimizers.SURFACES["ravine"].steps
    closed = 0.05 * (x0 * (1 - 0.1 * rate) ** steps) ** 2 + 2 * (y0 * (1 - 4 * rate) ** steps) ** 2
    assert _final_gap("ravine", races["ravine"]["paths"]["SGD"]) == pytest.approx(closed, rel=1e-9)
    assert closed > 1e-3                                           # still crawling after 100 steps


def test_best_rate_beats_every_other_rate_of_the_sweep():
    scores = optimizers.sweep_learning_rates("saddle", "Adam")
    best = optimizers.best_learning_rates("saddle", ["Adam"])["Adam"]
    assert scores[optimizers.SWEEP_RATES.index(best)] == min(scores)
    assert len(optimizers.SWEEP_RATES) == 15
    assert optimizers.SWEEP_RATES[0] == pytest.approx(1e-4) and optimizers.SWEEP_RATES[-1] == pytest.approx(1e3)


def test_race_outcomes_the_captions_state(races):
    gap = {s: {n: _final_gap(s, p) for n, p in r["paths"].items()} for s, r in races.items()}
    # ravine: momentum and Adam get within 1e-3, Adagrad settles within 10 steps, SGD is behind them
    assert max(gap["ravine"]["SGD+momentum"], gap["ravine"]["Adam"]) < 1e-3 < gap["ravine"]["SGD"]
    adagrad = optimizers.loss_gaps("ravine", races["ravine"]["paths"]["Adagrad"])
    assert np.all(adagrad[10:] < optimizers.REACHED)
    # saddle: at its best rate every racer leaves the ridge y = 0 for a minimum y = ±1; SGD's sideways
    # coordinate grows by about (1 + η) per step, so it escapes too
    for name, path in races["saddle"]["paths"].items():
        assert abs(path[-1, 1]) > 0.75, name
    assert gap["saddle"]["SGD"] < optimizers.REACHED
    # Rosenbrock: only Adam and momentum get near (1, 1); SGD (η held to 1e-3), Adagrad, Adadelta, RMSprop do not
    assert max(gap["rosenbrock"]["Adam"], gap["rosenbrock"]["SGD+momentum"]) < 0.05
    assert min(gap["rosenbrock"][n] for n in ("SGD", "Adagrad", "Adadelta", "RMSprop")) > 0.5
    assert races["rosenbrock"]["rates"]["SGD"] == pytest.approx(1e-3)
    # RMSprop keeps bouncing across the valley: its gap varies by more than 100x over the last 100 steps
    rms = optimizers.loss_gaps("rosenbrock", races["rosenbrock"]["paths"]["RMSprop"])[-100:]
    assert rms.max() > 100 * rms.min()


def test_adadelta_at_the_keras_default_rate_barely_moves(races):
    """Adadelta's first step is η sqrt(ε) g / sqrt((1 - ρ) g² + ε): about 3e-4 η, tiny at η = 0.001."""
    for name, result in races.items():
        path = result["adadelta_default"]
        assert np.abs(path - path[0]).max() < 2e-3, name
        assert result["rates"]["Adadelta"] >= 100            # it needs rates in the hundreds here
    first = races["ravine"]["adadelta_default"][1] - races["ravine"]["adadelta_default"][0]
    g = optimizers.SURFACES["ravine"].gradient(np.array(optimizers.SURFACES["ravine"].start))
    by_hand = -0.001 * math.sqrt(1e-7) / np.sqrt(0.05 * g * g + 1e-7) * g
    np.testing.assert_allclose(first, by_hand, rtol=1e-9)


def test_optimizer_race_figure_has_a_path_panel_with_a_legend_per_racer(tmp_path):
    from matplotlib.colors import to_hex

    from microgradx.viz._style import OPTIMIZER_COLORS

    fig = optimizers.plot_optimizer_race("ravine", steps=20, save=tmp_path / "race.png")
    assert _is_png(tmp_path / "race.png")
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title() in optimizers.RACERS}
    assert set(panels) == set(optimizers.RACERS)
    for name, ax in panels.items():
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts[0].startswith(f"{name}, η = ")
        assert to_hex(ax.lines[0].get_color()) == to_hex(OPTIMIZER_COLORS[name])
    loss_ax = [ax for ax in fig.axes if "loss gap" in ax.get_title()][0]
    legend = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert all(any(text.startswith(name + " (η") for text in legend) for name in optimizers.RACERS)
    assert any("Keras' default η = 0.001" in text for text in legend)
    with pytest.raises(ValueError, match="surface"):
        optimizers.race("volcano")


# ------------------------------------------------------------------------------------------ landscape
def test_filter_normalization_gives_each_filter_the_weight_filters_norm():
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=(5, 2)), rng.normal(size=2)]
    direction = landscape.filter_normalized_direction(weights, seed=7)
    for w, d in zip(weights, direction):
        assert d.shape == w.shape
        if w.ndim == 1:
            assert not d.any()  # biases: zero direction
        else:  # Dense kernel (in, out): column j feeds output neuron j
            np.testing.assert_allclose(np.linalg.norm(d, axis=0), np.linalg.norm(w, axis=0), rtol=1e-12)
            assert not np.allclose(d / np.linalg.norm(d, axis=0), w / np.linalg.norm(w, axis=0))
    kept = landscape.filter_normalized_direction(weights, seed=7, ignore_biases=False)
    np.testing.assert_array_equal(kept[1], weights[1])


def _tiny_model(seed: int = 0):
    from microgradx import datasets, layers, models, optimizers as opt, utils

    utils.set_random_seed(seed)
    x, y = datasets.moons(n=64, noise=0.1, seed=seed)
    x, y = x.astype(np.float64), y.reshape(-1, 1)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(4, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=opt.Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"],
                  engine="cpu", dtype="float64")
    return model, x, y


def _numpy_bce(weights, x, y):
    """Oracle: the network's forward pass and the mean binary cross-entropy, written out in NumPy."""
    k1, b1, k2, b2 = weights
    hidden = np.maximum(x @ k1 + b1, 0.0)
    p = 1.0 / (1.0 + np.exp(-(hidden @ k2 + b2)))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def test_landscape_centre_is_the_trained_loss_and_the_grid_moves_along_the_directions(tmp_path):
    model, x, y = _tiny_model()
    trajectory = landscape.WeightTrajectory()
    model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=[trajectory])
    trained = model.get_weights()
    rng = np.random.default_rng(1)
    d1 = landscape.filter_normalized_direction(trained, rng)
    d2 = landscape.filter_normalized_direction(trained, rng)
    alphas = np.linspace(-1, 1, 5)
    a, b, grid = landscape.loss_plane(model, x, y, (d1, d2), alphas=alphas)
    assert grid[2, 2] == pytest.approx(_numpy_bce(trained, x, y), rel=1e-9)
    moved = [w + a[4] * u + b[0] * v for w, u, v in zip(trained, d1, d2)]
    assert grid[0, 4] == pytest.approx(_numpy_bce(moved, x, y), rel=1e-9)
    for before, after in zip(trained, model.get_weights()):  # the model's weights are put back
        np.testing.assert_array_equal(before, after)
    alphas_1d, line, accuracy = landscape.loss_line(model, x, y, d1, alphas=alphas)
    np.testing.assert_allclose(line, grid[2], rtol=1e-12)
    assert accuracy is not None and accuracy.shape == (5,)

    assert len(trajectory.snapshots) == 5  # initial weights + one per epoch
    np.testing.assert_array_equal(trajectory.snapshots[-1], landscape.flatten(trained))
    for name, plot in (("l1", landscape.plot_landscape_1d), ("l2", landscape.plot_landscape_2d),
                       ("l3", landscape.plot_landscape_3d), ("all", landscape.plot_landscape)):
        plot(model, x, y, points=5, save=tmp_path / f"{name}.png")
        assert _is_png(tmp_path / f"{name}.png")
    landscape.plot_trajectory(model, x, y, trajectory, points=5, save=tmp_path / "trajectory.png")
    assert _is_png(tmp_path / "trajectory.png")


def test_count_local_minima_on_a_surface_with_known_minima():
    a = np.linspace(-2, 2, 41)
    ga, gb = np.meshgrid(a, a)
    bowl = ga ** 2 + gb ** 2
    assert landscape.count_local_minima(bowl) == 1
    egg_crate = np.cos(np.pi * ga) * np.cos(np.pi * gb)   # minima at (±1, 0) and (0, ±1) inside the grid
    assert landscape.count_local_minima(egg_crate) == 4
    with pytest.raises(ValueError, match="3 x 3"):
        landscape.count_local_minima(np.zeros((2, 5)))


def test_interpolation_losses_follow_the_straight_line():
    model, x, y = _tiny_model()
    start = model.get_weights()
    end = [w + 0.5 for w in start]
    ts = [0.0, 0.25, 1.0]
    losses_on_line = landscape.interpolation_losses(model, x, y, start, end, ts)
    for t, loss in zip(ts, losses_on_line):
        assert loss == pytest.approx(_numpy_bce([(1 - t) * a + t * b for a, b in zip(start, end)], x, y), rel=1e-9)
    for before, after in zip(start, model.get_weights()):
        np.testing.assert_array_equal(before, after)


@pytest.fixture(scope="module")
def hard():
    """The tour's configuration: 41 x 41 planes, three seed pairs per network."""
    return landscape.hard_landscape()


def test_deep_narrow_landscape_is_chaotic_and_minima_are_separated_by_barriers(hard, tmp_path):
    shallow, deep = hard.networks
    assert hard.networks[deep] == landscape.DEEP_NARROW and hard.networks[shallow] == landscape.SHALLOW
    assert hard.planes[deep][2].shape == (41, 41)
    # the captions: one basin for the shallow network, several local minima for the deep narrow one
    assert hard.minima(shallow) <= 2 and hard.minima(deep) >= 4
    # both trained well, so the barriers are between two good minima, not a failed training
    assert all(accuracy >= 0.9 for _, accuracy in hard.trained.values())
    # non-convex: on the straight line between two minima the loss rises by a barrier, for every pair
    for name in hard.networks:
        assert hard.lines[name].shape == (3, 21)
        assert np.all(hard.barriers(name) > 0.1), name
    assert hard.barriers(deep).mean() > 0.5
    fig = landscape.plot_hard_landscape(hard, save=tmp_path / "hard.png")
    assert _is_png(tmp_path / "hard.png")
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert f"local minima of the grid: {hard.minima(deep)}" in texts
    assert any(f"mean barrier {hard.barriers(deep).mean():.2f}" in text for text in texts)


def _rendered(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_landscape_figure_layout_legend_off_the_curve_z_label_clear_of_ticks():
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    fig = landscape.plot_landscape(model, x, y, points=41)
    renderer = _rendered(fig)
    ax1d = [ax for ax in fig.axes if ax.get_title() == "1-D slice"][0]
    legend_box = ax1d.get_legend().get_window_extent(renderer)
    for ax in [a for a in fig.axes if a.bbox.bounds == ax1d.bbox.bounds]:   # the slice and its accuracy twin
        for line in ax.lines:
            points = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
            assert not any(legend_box.contains(px, py) for px, py in points), line.get_label()
    ax3d = [ax for ax in fig.axes if ax.name == "3d"][0]
    z_label = ax3d.zaxis.label.get_window_extent(renderer)
    ticks = [t.label1.get_window_extent(renderer) for t in ax3d.zaxis.get_major_ticks() if t.label1.get_text()]
    assert ticks and not any(z_label.overlaps(t) for t in ticks)
    grid_panel = [ax for ax in fig.axes if ax.get_title().startswith("2-D")][0]
    assert len(grid_panel.collections[0].get_paths()) > 0


def test_trajectory_caption_says_whether_the_plane_goes_lower_than_the_end():
    model, x, y = _tiny_model()
    trajectory = landscape.WeightTrajectory()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[trajectory])
    start_loss, end_loss = (_numpy_bce(landscape.unflatten(s, model.get_weights()), x, y)
                            for s in (trajectory.snapshots[0], trajectory.snapshots[-1]))
    lower = np.full((5, 5), end_loss)
    lower[0, 0] = 0.5 * end_loss
    caption = landscape.trajectory_caption(model, x, y, trajectory.snapshots, lower)
    assert f"from {start_loss:.3f} to {end_loss:.3f}" in caption and "not converged" in caption
    caption = landscape.trajectory_caption(model, x, y, trajectory.snapshots, np.full((5, 5), end_loss))
    assert caption.endswith("converged") and "not converged" not in caption
    # after 3 epochs of a 4-unit network the plane through the end still goes down: the figure says so
    fig = landscape.plot_trajectory(model, x, y, trajectory, points=9)
    assert "not converged" in fig._suptitle.get_text()


def test_trajectory_pca_recovers_a_path_in_a_plane():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(30, 2)))  # two orthonormal directions in a 30-d weight space
    t = np.linspace(0, 1, 12)
    plane = np.stack([5 * (1 - t), np.sin(3 * t)], axis=1)   # coordinates in the plane, ending at (0, 0)
    final = rng.normal(size=30)
    snapshots = final + plane @ basis.T
    coords, directions, explained = landscape.trajectory_pca(snapshots)
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-12)
    # a path that lies in a plane keeps all its distances when projected on that plane
    distances = np.linalg.norm(snapshots[:, None] - snapshots[None], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(coords[:, None] - coords[None], axis=-1), distances, atol=1e-10)
    assert explained.sum() == pytest.approx(1.0) and explained[0] > explained[1]
    with pytest.raises(ValueError, match="at least 3"):
        landscape.trajectory_pca(snapshots[:2])


def test_unflatten_inverts_flatten():
    weights = [np.arange(6.0).reshape(2, 3), np.arange(3.0)]
    back = landscape.unflatten(landscape.flatten(weights), weights)
    for w, b in zip(weights, back):
        np.testing.assert_array_equal(w, b)
    with pytest.raises(ValueError, match="numbers"):
        landscape.unflatten(np.zeros(4), weights)


# ------------------------------------------------------------------------------------------ boundaries
class _LinearModel:
    """Oracle model: P(class 1) = sigmoid(4 x0), so the decision boundary is the line x0 = 0."""

    def predict(self, x, verbose=0):
        return 1.0 / (1.0 + np.exp(-4.0 * np.asarray(x)[:, :1]))


def test_decision_boundary_is_drawn_where_the_probability_is_one_half(tmp_path):
    x = np.array([[-1.0, 0.0], [1.0, 0.5], [0.5, -1.0], [-0.5, 1.0]])
    y = np.array([0, 1, 0, 0])  # sample 3 is on the wrong side: accuracy 3/4
    fig = boundaries.plot_decision_boundary(_LinearModel(), x, y, resolution=41, save=tmp_path / "b.png")
    assert _is_png(tmp_path / "b.png")
    ax = fig.axes[0]
    assert "75%" in ax.get_title()
    boundary = [c for c in ax.collections if hasattr(c, "get_paths") and getattr(c, "levels", None) is not None
                and list(c.levels) == [0.5]][0]
    vertices = np.concatenate([p.vertices for p in boundary.get_paths()])
    np.testing.assert_allclose(vertices[:, 0], 0.0, atol=1e-9)


def test_boundary_grid_rejects_non_2d_inputs():
    with pytest.raises(ValueError, match="shape"):
        boundaries.boundary_grid(np.zeros((5, 3)))


@pytest.mark.slow
def test_trained_classifier_separates_a_dataset(tmp_path):
    fig = boundaries.plot_dataset_boundaries(["moons"], epochs=40,
                                             save=tmp_path / "moons.png")
    assert _is_png(tmp_path / "moons.png")
    assert "accuracy" in fig.axes[0].get_title()
    accuracy = int(fig.axes[0].get_title().split("accuracy ")[1].rstrip("%"))
    assert accuracy >= 90


# ------------------------------------------------------------------------------------------ fitting
@pytest.fixture(scope="module")
def fits():
    """The tour's fitting runs: every regime, dropout and early stopping, 5 seeds each, on the noisy moons."""
    from microgradx.viz import fitting

    problem = fitting.make_problem()
    runs = {name: fitting.train_seeds(problem, config) for name, config in fitting.REGIMES.items()}
    regularized = fitting.regularization_runs(problem, plain=runs["overfitting"])
    return problem, runs, regularized


def test_noisy_problem_flips_a_quarter_of_the_training_labels_only():
    from microgradx import datasets
    from microgradx.viz import fitting

    problem = fitting.make_problem()
    assert problem.flipped.sum() == 20 and len(problem.x_train) == 80 and len(problem.x_val) == 500
    x, y = datasets.moons(n=580, noise=0.2, seed=0)            # the clean labels, by position
    truth = {tuple(np.round(point, 5)): label for point, label in zip(x.astype(np.float32), y)}
    train_truth = np.array([truth[tuple(np.round(p, 5))] for p in problem.x_train])
    val_truth = np.array([truth[tuple(np.round(p, 5))] for p in problem.x_val])
    np.testing.assert_array_equal(train_truth != problem.y_train.reshape(-1), problem.flipped)
    np.testing.assert_array_equal(val_truth, problem.y_val.reshape(-1))
    with pytest.raises(ValueError, match="flip"):
        fitting.make_problem(flip=0.6)


@pytest.mark.slow
def test_overfitting_costs_validation_accuracy_and_bends_around_the_wrong_labels(fits, tmp_path):
    from microgradx.viz import fitting

    problem, runs, _ = fits
    accuracy = {name: run.val_scores[:, 1].mean() for name, run in runs.items()}
    assert max(accuracy.values()) - accuracy["overfitting"] >= 0.05          # at least 5 points, mean of 5 seeds
    assert accuracy["optimal fit"] - accuracy["overfitting"] >= 0.05
    assert runs["overfitting"].answers_flipped(problem).mean() > 0.8          # answers the wrong labels
    assert runs["optimal fit"].answers_flipped(problem).mean() < 0.3
    over = runs["overfitting"]
    train, val = np.nanmean(over.curve("loss"), axis=0), np.nanmean(over.curve("val_loss"), axis=0)
    assert train[-1] < 0.2 * train[0] and val[-1] > 1.5 * val.min()           # memorises while validation rises
    for name in ("underfitting", "optimal fit"):                              # noisy training labels cost more
        assert runs[name].train_scores[:, 0].mean() > runs[name].val_scores[:, 0].mean()
    fig = fitting.plot_fitting_regimes(problem, runs=runs, save=tmp_path / "fit.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert any(f"validation accuracy {runs['overfitting'].val_scores[0, 1]:.0%}" in t and "training accuracy" in t
               for t in titles)
    assert any(f"validation accuracy {accuracy['overfitting']:.0%}" in t for t in titles)
    curves_ax = [ax for ax in fig.axes if ax.get_xlabel() == "epoch"][0]
    assert len(curves_ax.collections) >= 2                                    # the seed bands


@pytest.mark.slow
def test_dropout_and_early_stopping_claims(fits, tmp_path):
    from microgradx.viz import fitting

    problem, _, reg = fits
    plain, dropout, early = reg.values()
    assert len(dropout.seeds) >= 5
    assert np.all(dropout.val_scores[:, 0] < plain.val_scores[:, 0])          # lower for every seed
    loss = {name: run.val_scores[:, 0].mean() for name, run in reg.items()}
    assert min(loss, key=loss.get) == list(reg)[2]                            # early stopping: lowest loss
    assert early.val_scores[:, 1].mean() < dropout.val_scores[:, 1].mean()    # ... but not the highest accuracy

    def confidence(run):
        return np.mean([np.abs(np.asarray(m.predict(problem.x_val, verbose=0)) - 0.5).mean() for m in run.models])

    assert confidence(early) < confidence(dropout)                            # unsure answers ...

    def mistake_cost(run):                                                    # ... and cheap mistakes
        costs = []
        for model in run.models:
            p = np.clip(np.asarray(model.predict(problem.x_val, verbose=0)).reshape(-1), 1e-7, 1 - 1e-7)
            y = problem.y_val.reshape(-1)
            wrong = (p >= 0.5) != (y >= 0.5)
            costs.append(-(y * np.log(p) + (1 - y) * np.log(1 - p))[wrong].mean())
        return np.mean(costs)

    assert mistake_cost(early) < mistake_cost(dropout)
    assert dropout.answers_flipped(problem).mean() < 0.5
    for stopper in early.stoppers:
        assert stopper.restore_best_weights and stopper.stopped_epoch > 0
    fig = fitting.plot_regularization(problem, runs=reg, save=tmp_path / "reg.png")
    assert _is_png(tmp_path / "reg.png")
    assert any(f"{loss[list(reg)[1]]:.3f} (mean)" in ax.get_title() for ax in fig.axes)


def test_dropout_noise_shape_masks_whole_samples_or_whole_units(tmp_path):
    from microgradx.layers import Dropout
    from microgradx.viz import fitting

    ones = np.ones((8, 16))
    masks = {shape: Dropout(0.5, noise_shape=shape, seed=2)(ones, training=True)
             for shape in fitting.NOISE_SHAPES.values()}
    for mask in masks.values():
        assert set(np.unique(mask)) <= {0.0, 2.0} and 0 < (mask == 0).mean() < 1
    rows, columns = masks[(None, 1)], masks[(1, None)]
    assert np.all(rows == rows[:, :1]) and not np.all(rows == rows[:1])         # whole samples
    assert np.all(columns == columns[:1]) and not np.all(columns == columns[:, :1])  # the same units in every row
    free = masks[None]
    assert not np.all(free == free[:, :1]) and not np.all(free == free[:1])
    fig = fitting.plot_dropout_noise_shapes(save=tmp_path / "masks.png")
    assert _is_png(tmp_path / "masks.png")
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    np.testing.assert_array_equal(images[1], rows)


def test_fitting_figures_are_written(tmp_path):
    from microgradx.viz import fitting

    regimes = {name: dict(config, epochs=4) for name, config in fitting.REGIMES.items()}
    problem = fitting.make_problem(n_train=20, n_val=40)
    fitting.plot_fitting_regimes(problem, regimes=regimes, seeds=(0,), save=tmp_path / "fit.png")
    fig = fitting.plot_regularization(problem, patience=1, config=regimes["overfitting"], seeds=(0,),
                                      save=tmp_path / "reg.png")
    assert _is_png(tmp_path / "fit.png") and _is_png(tmp_path / "reg.png")
    assert len(fig.axes) >= 6 and all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")


# ------------------------------------------------------------------------------------------ early stopping
def _stop_by_the_rule(values, *, patience=0, min_delta=0.0, mode="min", baseline=None, start_from_epoch=0):
    """Oracle: Keras' documented rule, written out: ``(stopped epoch or None, best epoch)``, 1-based.

    An epoch improves when it beats the best so far by more than ``min_delta`` (in ``mode``'s direction); the
    count of epochs since the last improvement that also beat ``baseline`` reaching ``patience`` stops training.
    """
    sign = 1.0 if mode == "min" else -1.0
    best, best_epoch, since = None, None, 0
    for epoch in range(start_from_epoch, len(values)):
        value = sign * values[epoch]
        since += 1
        if best is None or value + min_delta < best:
            best, best_epoch = value, epoch + 1
            if baseline is None or value + min_delta < sign * baseline:
                since = 0
            continue
        if since >= patience and epoch > 0:
            return epoch + 1, best_epoch
    return None, best_epoch


@pytest.fixture(scope="module")
def stopping():
    from microgradx.viz import early_stopping

    return early_stopping.early_stopping_runs()


@pytest.mark.slow
def test_every_early_stopping_argument_stops_where_the_rule_says(stopping, tmp_path):
    from microgradx.viz import early_stopping

    assert set(stopping.runs) == {"monitor", "min_delta", "patience", "verbose", "mode", "baseline",
                                  "restore_best_weights", "start_from_epoch"}
    for name, run in stopping.runs.items():
        kwargs = dict(run.kwargs)
        monitor = kwargs.pop("monitor")
        kwargs.pop("verbose", None), kwargs.pop("restore_best_weights", None)
        reference = stopping.reference[monitor]
        # deterministic training: the stopped run repeats the reference run's first epochs
        np.testing.assert_allclose(run.history[monitor], reference[:run.epochs_run], rtol=1e-6)
        stopped, best = _stop_by_the_rule(reference, **kwargs)
        assert run.marks["stopped"] == stopped and run.marks["best"] == best, name
        assert run.epochs_run == (stopped or len(reference)), name
    runs, val = stopping.runs, np.asarray(stopping.reference["val_loss"])
    assert runs["monitor"].marks["stopped"] is None                                # the training loss never stops
    assert runs["min_delta"].marks["best"] < runs["verbose"].marks["best"]         # a small drop did not count
    assert runs["patience"].marks["stopped"] < int(val.argmin()) + 1                # stopped before the lowest
    assert runs["verbose"].printed.strip().splitlines()[0] == \
        f"Epoch {runs['verbose'].marks['stopped']}: early stopping"
    assert runs["mode"].marks["stopped"] <= 3
    assert runs["baseline"].marks["stopped"] == runs["baseline"].kwargs["patience"]
    assert val[:runs["baseline"].marks["stopped"]].min() > runs["baseline"].kwargs["baseline"]
    restored = runs["restore_best_weights"]
    assert restored.final_val[0] == pytest.approx(val[restored.marks["restored"] - 1], rel=1e-5)
    assert restored.final_val[0] < restored.history["val_loss"][-1]
    assert runs["start_from_epoch"].marks["stopped"] > runs["start_from_epoch"].kwargs["start_from_epoch"]
    text = early_stopping.describe(stopping)
    for name, run in runs.items():
        if run.marks["stopped"] and name != "verbose":                        # verbose: what it printed
            assert f"stops after epoch {run.marks['stopped']}" in text, name
    assert f"prints 'Epoch {runs['verbose'].marks['stopped']}: early stopping'" in text
    assert f"at epoch {int(val.argmin()) + 1}" in text
    fig = early_stopping.plot_early_stopping_arguments(stopping, save=tmp_path / "es.png")
    assert _is_png(tmp_path / "es.png")
    for ax in fig.axes:
        for line in (l for l in ax.lines if l.get_gid() == "stopped-epoch"):
            low, high = ax.get_xlim()
            assert low < line.get_xdata()[0] < high - 1                          # inside the plot, not its edge


def test_the_tours_shallow_landscape_is_one_smooth_basin_around_the_trained_weights():
    """Tour caption: the shallow network's plane (loss_landscape.png) is a smooth basin with θ* at its bottom."""
    from microgradx import tour

    settings = tour.TourSettings()
    model, x, y, _ = tour._trained_for_landscape(settings, 40)
    _, _, grid = landscape._plane_around_weights(model, x, y, 1.0, settings.landscape_points, 0)
    assert grid.shape == (31, 31) and landscape.count_local_minima(grid) <= 2
    assert grid[15, 15] <= grid.min() + 0.05 * (grid.max() - grid.min())


@pytest.mark.slow
def test_the_tours_sweep_shows_what_its_caption_says():
    """The tour's "Idea I" sweep (its own rates, epochs and data) against its caption "Too small: slow. Too
    large: unstable (worse than untrained). In between: just right": the smallest rate still improves at every
    epoch yet ends far above the best; the largest rates end worse than the untrained network (estimated
    independently, by a run whose steps are 1e-12 long); the best rate lies strictly inside the range."""
    import concurrent.futures

    from microgradx.tour import TourSettings

    settings = TourSettings()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = learning_rate.learning_rate_sweep(settings.sweep_rates + [1e-12], executor=pool,
                                                    epochs=settings.sweep_epochs, engine="cpu")
    untrained = results.pop().final_loss
    finals = [r.final_loss for r in results]
    best = int(np.argmin(finals))
    assert 0 < best < len(results) - 1
    slowest = np.asarray(results[0].history["val_loss"])
    assert (np.diff(slowest) < 0).all() and finals[0] > 10 * finals[best]
    for result in results[-2:]:
        assert result.final_loss > untrained > finals[best]
