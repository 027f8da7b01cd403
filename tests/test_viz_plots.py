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
        assert lines["stopped-epoch"].get_xdata()[0] == golden["stopped_epoch_attr"] + 1
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


def test_race_shows_sgd_stalling_on_the_saddle_and_adaptive_methods_escaping():
    surface = optimizers.SURFACES["saddle"]
    paths = optimizers.race("saddle")
    assert set(paths) == set(optimizers.RACERS)
    final = {n: surface.loss(p[-1]) - surface.minimum for n, p in paths.items()}
    assert final["SGD"] > 0.15            # still near the saddle value f = 0 (minimum -0.25)
    assert final["Adam"] < 0.01 and final["RMSprop"] < 0.01


def test_optimizer_race_figure(tmp_path):
    fig = optimizers.plot_optimizer_race("ravine", steps=20, save=tmp_path / "race.png")
    assert _is_png(tmp_path / "race.png")
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert all(any(text.startswith(name + " ") for text in legend) for name in optimizers.RACERS)
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
def test_overfitting_network_memorises_while_validation_loss_rises():
    from microgradx.viz import fitting

    problem = fitting.make_problem()
    _, under = fitting.train_regime(problem, **fitting.REGIMES["underfitting"])
    config = dict(fitting.REGIMES["overfitting"], epochs=150)
    _, over = fitting.train_regime(problem, **config)
    val = np.asarray(over.history["val_loss"])
    assert over.history["loss"][-1] < 0.05 < under.history["loss"][-1]   # memorised the 40 training points
    assert val.argmin() < 50 and val[-1] > 1.5 * val.min()                 # ... while validation got worse


def test_the_three_regimes_are_clearly_distinct():
    """Training loss falls with capacity; the optimal fit has clearly the lowest final validation loss."""
    from microgradx.viz import fitting

    problem = fitting.make_problem()
    logs = {name: fitting.train_regime(problem, **config)[1].history for name, config in fitting.REGIMES.items()}
    under, optimal, over = (logs[name] for name in ("underfitting", "optimal fit", "overfitting"))
    assert under["loss"][-1] > optimal["loss"][-1] > over["loss"][-1]
    assert optimal["val_loss"][-1] < 0.8 * under["val_loss"][-1]
    assert optimal["val_loss"][-1] < 0.5 * over["val_loss"][-1]


def test_fitting_figures_are_written(tmp_path):
    from microgradx.viz import fitting

    regimes = {name: dict(config, epochs=4) for name, config in fitting.REGIMES.items()}
    problem = fitting.make_problem(n_train=20, n_val=40)
    fitting.plot_fitting_regimes(problem, regimes=regimes, save=tmp_path / "fit.png")
    fig = fitting.plot_regularization(problem, patience=1, config=regimes["overfitting"], save=tmp_path / "reg.png")
    assert _is_png(tmp_path / "fit.png") and _is_png(tmp_path / "reg.png")
    assert len(fig.axes) >= 6 and all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")
