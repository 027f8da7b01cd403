# %% [markdown]
# # 7. Overfitting, dropout and early stopping
#
# *Lecture slides: "The Problem of Overfitting" (underfitting, optimal fit, overfitting), "Regularization",
# "Regularization I: Dropout", "Regularization 2: Early Stopping".*
#
# A model that is too simple cannot represent the data (underfitting); one that is too flexible, trained for
# too long on too few samples, memorises their noise (overfitting): its training loss keeps falling while its
# loss on *unseen* data rises. Regularisation constrains the optimisation to discourage complex models.

# %%
import inspect

import numpy as np

import microgradx as mgx
from microgradx.viz.curves import plot_training_curves
from microgradx.viz.early_stopping import describe, early_stopping_runs, plot_early_stopping_arguments
from microgradx.viz.fitting import (REGIMES, SEEDS, make_problem, plot_dropout_noise_shapes, plot_fitting_regimes,
                                    plot_regularization, regularization_runs, train_seeds)

# %% [markdown]
# ## Three models, one small dataset with noisy labels
#
# 80 two-moons training samples, a quarter of them with the **wrong label** (as if labelled carelessly), and 500
# validation samples from the same distribution, labelled correctly: validation accuracy says how well a model
# learned the moons. The three models of the slide: one neuron (a straight line), a small hidden layer, and a
# wide two-layer network trained long. Training is random (initial weights), so each model is trained from
# 5 seeds; the curves show their mean, the band their spread.

# %%
problem = make_problem()
runs = {name: train_seeds(problem, config, seeds=SEEDS) for name, config in REGIMES.items()}
for name, run in runs.items():
    print(f"{name:13} training accuracy {run.train_scores[:, 1].mean():.0%}, validation accuracy "
          f"{run.val_scores[:, 1].mean():.0%} (seeds: {np.round(run.val_scores[:, 1], 3).tolist()}); "
          f"answers {run.answers_flipped(problem).mean():.0%} of the wrong labels with the wrong label")
fig = plot_fitting_regimes(problem, runs=runs, save="07_fitting_regimes.png")
fig

# %% [markdown]
# **What you should see:** the one-neuron model draws a straight line through the moons; the small network
# follows the moons and ignores most of the ringed, wrongly labelled points; the wide network bends its boundary
# around them, answering almost all of them with their wrong label: its training loss keeps falling while its
# validation loss climbs, and its validation accuracy is more than 5 points below the optimal fit's. The better
# models' training loss stays *above* their validation loss: a quarter of the training labels are wrong.

# %%
accuracy = {name: run.val_scores[:, 1].mean() for name, run in runs.items()}
over = runs["overfitting"]
assert accuracy["optimal fit"] - accuracy["overfitting"] >= 0.05          # overfitting costs > 5 points
assert over.answers_flipped(problem).mean() > 0.8 > 0.3 > runs["optimal fit"].answers_flipped(problem).mean()
train_curve, val_curve = np.nanmean(over.curve("loss"), axis=0), np.nanmean(over.curve("val_loss"), axis=0)
assert train_curve[-1] < 0.2 * train_curve[0] and val_curve[-1] > 1.5 * val_curve.min()
for name in ("underfitting", "optimal fit"):
    assert runs[name].train_scores[:, 0].mean() > runs[name].val_scores[:, 0].mean()

# %% [markdown]
# ## Regularization I: Dropout
#
# During training, randomly set some activations to 0 (typically half), so that the network cannot rely on any
# single node. The layer has the slide's signature:
#
# ```
# tf.keras.layers.Dropout(rate, noise_shape=None, seed=None, **kwargs)
# ```

# %%
signature = inspect.signature(mgx.layers.Dropout)
print("mgx.layers.Dropout" + str(signature))
assert signature.parameters["rate"].default is inspect.Parameter.empty     # rate is required
assert signature.parameters["noise_shape"].default is None and signature.parameters["seed"].default is None

dropout = mgx.layers.Dropout(0.5, seed=1)
activations = np.ones((4, 10))
dropped = dropout(activations, training=True)
print(dropped)
assert set(np.unique(dropped)) <= {0.0, 2.0}           # dropped, or kept and scaled by 1 / (1 - rate)
assert 0.3 < (dropped == 0).mean() < 0.7                # about half dropped
assert np.array_equal(dropout(activations), activations)   # outside training: the identity

# %% [markdown]
# Kept units are scaled by $1/(1 - \text{rate})$ so that the expected activation does not change; at
# prediction time dropout does nothing. `noise_shape` is the shape of the mask, broadcast over the
# activations; `None` in it takes that size from the input. For a `(batch, units)` input, `(None, 1)` drops
# whole samples and `(1, None)` drops the same units for every sample of the batch (for sequences,
# `(batch, 1, features)` drops the same features at every time step).

# %%
fig = plot_dropout_noise_shapes(save="07_dropout_noise_shape.png")
by_sample = mgx.layers.Dropout(0.5, noise_shape=(None, 1), seed=2)(np.ones((8, 16)), training=True)
by_unit = mgx.layers.Dropout(0.5, noise_shape=(1, None), seed=2)(np.ones((8, 16)), training=True)
assert np.all(by_sample == by_sample[:, :1]) and np.all(by_unit == by_unit[:1])   # rows / columns constant
fig

# %% [markdown]
# Now the overfitting network again, with `Dropout(0.5)` after each hidden layer, from the same 5 seeds.

# %%
regularized = regularization_runs(problem, plain=over)
plain, with_dropout, early = regularized.values()
print("final validation loss per seed, without dropout:", np.round(plain.val_scores[:, 0], 3).tolist())
print("                                   with dropout:", np.round(with_dropout.val_scores[:, 0], 3).tolist())
assert len(with_dropout.seeds) >= 5 and np.all(with_dropout.val_scores[:, 0] < plain.val_scores[:, 0])

# %% [markdown]
# ## Regularization 2: Early stopping
#
# Stop training before we have a chance to overfit: watch the validation loss and stop when it has not
# improved for `patience` epochs; `restore_best_weights=True` then puts back the weights of the best epoch.
# The signature is the slide's:
#
# ```
# tf.keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0, patience=0, verbose=0, mode='auto',
#                                  baseline=None, restore_best_weights=False, start_from_epoch=0)
# ```

# %%
signature = inspect.signature(mgx.callbacks.EarlyStopping)
print("mgx.callbacks.EarlyStopping" + str(signature))
slide_defaults = {"monitor": "val_loss", "min_delta": 0, "patience": 0, "verbose": 0, "mode": "auto",
                  "baseline": None, "restore_best_weights": False, "start_from_epoch": 0}
for argument, default in slide_defaults.items():
    assert signature.parameters[argument].default == default, argument

# %% [markdown]
# The same wide network, written out in full (this is what `train_regime` does), with two callbacks: early
# stopping, and a small callback of our own that keeps a copy of the weights after every epoch, so that we can
# check which weights the model ends with.

# %%
class WeightHistory(mgx.callbacks.Callback):
    """Keeps a copy of the model's weights after every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.weights.append([w.copy() for w in self.model.get_weights()])


config = REGIMES["overfitting"]          # the wide network: hidden sizes, epochs, learning rate
mgx.utils.set_random_seed(0)             # the same initial weights as the overfitting run of seed 0
model = mgx.Sequential(
    [mgx.layers.Input(shape=(2,))]
    + [mgx.layers.Dense(units, activation="relu") for units in config["hidden"]]
    + [mgx.layers.Dense(1, activation="sigmoid")]
)
model.compile(optimizer=mgx.optimizers.Adam(learning_rate=config["learning_rate"]),
              loss="binary_crossentropy", metrics=["accuracy"], engine="cpu")
stopper = mgx.callbacks.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
snapshots = WeightHistory()
history = model.fit(problem.x_train, problem.y_train, batch_size=len(problem.x_train), epochs=config["epochs"],
                    validation_data=(problem.x_val, problem.y_val), callbacks=[stopper, snapshots], verbose=0)
val_losses = history.history["val_loss"]
print(f"trained {len(val_losses)} of {config['epochs']} epochs; best epoch {stopper.best_epoch + 1} "
      f"(validation loss {min(val_losses):.4f}); stopped after epoch {stopper.stopped_epoch + 1}")

# %% [markdown]
# The checks that matter: training stopped `patience` epochs after the best epoch, and the model holds **the
# weights of the best epoch**, not those of the last one.

# %%
best = int(np.argmin(val_losses))
assert stopper.best_epoch == best and stopper.stopped_epoch == best + 20 == len(val_losses) - 1
for restored, recorded in zip(model.get_weights(), snapshots.weights[best]):
    assert np.array_equal(restored, recorded)               # the best epoch's weights, exactly
assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots.weights[-1]))
final_val_loss = model.evaluate(problem.x_val, problem.y_val, verbose=0)[0]
assert np.isclose(final_val_loss, val_losses[best], rtol=1e-5)
print(f"the restored model's validation loss: {final_val_loss:.4f} = the best epoch's {val_losses[best]:.4f}")
assert max(val_losses[best:best + 5]) > val_losses[best]   # after the best epoch the validation loss rises

# %%
fig = plot_training_curves(history, early_stopping=stopper, save="07_early_stopping.png")
fig

# %% [markdown]
# **What you should see:** the validation loss (dashed) falls to its best epoch, rises and does not beat it
# again within `patience` epochs, while the training loss keeps falling; the green line marks the best epoch
# (its weights are restored), the grey dotted line the epoch where training stopped, `patience` epochs later.
#
# ## Every argument of the slide, one training each
#
# Each panel is one training of the wide network (seed 0) with the `EarlyStopping` written above it, drawn
# over the same training without the callback (grey). Training is deterministic, so every stopped run repeats
# the grey curve up to its stop.

# %%
stopping = early_stopping_runs(problem)
fig = plot_early_stopping_arguments(stopping, save="07_early_stopping_arguments.png")
print(describe(stopping).replace("; ", ";\n"))
fig

# %%
reference_val = np.asarray(stopping.reference["val_loss"])
demo = stopping.runs
for name, run in demo.items():    # every stopped run is the reference run, cut short
    monitor = run.kwargs["monitor"]
    assert np.allclose(run.history[monitor], stopping.reference[monitor][:run.epochs_run], rtol=1e-6), name
assert demo["monitor"].marks["stopped"] is None                          # the training loss keeps improving
assert demo["min_delta"].marks["best"] < demo["verbose"].marks["best"]   # the small drop did not count
assert demo["patience"].marks["stopped"] == demo["patience"].marks["best"] + 20 < reference_val.argmin() + 1
assert demo["verbose"].printed.startswith(f"Epoch {demo['verbose'].marks['stopped']}: early stopping")
assert demo["mode"].marks["stopped"] <= 3                                # 'min' on an accuracy: stops at once
assert reference_val[:10].min() > 0.35 and demo["baseline"].marks["stopped"] == 10
assert demo["restore_best_weights"].final_val[0] < demo["restore_best_weights"].history["val_loss"][-1]
assert demo["start_from_epoch"].marks["stopped"] > 10

# %% [markdown]
# **What you should see:** `monitor="loss"` never stops: on noisy labels the training loss keeps falling, so
# only the validation loss tells overfitting. `min_delta=0.01` does not count epoch 4's tiny drop, so the best
# epoch stays 3 and training stops one epoch earlier than the same `patience=5` without it (the `verbose`
# panel, which also prints where it stopped). `patience=20` waits out the first bump but still stops before the
# lower valley that comes later: patience is how long a dip is waited out. `mode="min"` on an accuracy stops at
# once, `baseline=0.35` stops after `patience` epochs because no epoch got below it, `restore_best_weights`
# leaves the model at its best epoch, and `start_from_epoch=10` keeps a noisy start from triggering
# `patience=0`.
#
# ## The three side by side, 5 seeds each

# %%
fig = plot_regularization(problem, runs=regularized, save="07_regularization.png")
fig

# %% [markdown]
# **What you should see:** on unseen data the unregularised network pays for its confident fingers around
# the wrong labels; dropout lowers the validation loss for every seed, and early stopping, stopped after a few
# epochs, has the lowest mean validation loss of the three.
#
# **Lowest validation loss, but not the highest accuracy?** Accuracy only counts on which side of 0.5 an
# answer falls; the loss also charges for how sure the answer is. The early-stopped model is unsure almost
# everywhere (its answers lie closer to 0.5), so its mistakes cost it little; the dropout model is surer, right
# more often here, but pays more for each confident mistake. The two numbers measure different things, and
# the model to keep depends on which one matters.

# %%
loss = {name: run.val_scores[:, 0].mean() for name, run in regularized.items()}
acc = {name: run.val_scores[:, 1].mean() for name, run in regularized.items()}
sure = {name: np.mean([np.abs(m.predict(problem.x_val, verbose=0) - 0.5).mean() for m in run.models])
        for name, run in regularized.items()}
for name in regularized:
    print(f"{name:28} validation loss {loss[name]:.3f}, accuracy {acc[name]:.1%}, mean |p - 0.5| {sure[name]:.3f}")
early_name, dropout_name = list(regularized)[2], list(regularized)[1]
assert min(loss, key=loss.get) == early_name and acc[early_name] < acc[dropout_name]
assert sure[early_name] < sure[dropout_name]


def mistake_cost(run) -> float:
    """The mean binary cross-entropy of the wrong answers (p on the wrong side of 0.5), over the seeds."""
    costs = []
    for trained in run.models:
        p = np.clip(trained.predict(problem.x_val, verbose=0).reshape(-1), 1e-7, 1 - 1e-7)
        y = problem.y_val.reshape(-1)
        wrong = (p >= 0.5) != (y >= 0.5)
        costs.append(-(y * np.log(p) + (1 - y) * np.log(1 - p))[wrong].mean())
    return float(np.mean(costs))


print(f"mean loss of a wrong answer: early stopping {mistake_cost(early):.3f}, dropout {mistake_cost(with_dropout):.3f}")
assert mistake_cost(early) < mistake_cost(with_dropout)

# %% [markdown]
# ## Your turn: noise, width, dropout and patience
#
# A two-layer ReLU network (`width` units per layer) trained full-batch with Adam for 200 epochs on 40 noisy
# two-moons samples and validated on 300 more. One training per noise, width and dropout setting records the
# weights after every epoch; the patience slider replays `EarlyStopping(patience=...)` on the recorded
# validation losses and shows the **restored** epoch's boundary (the panel title gives its training and
# validation accuracy; the caption adds those of the last epoch, without early stopping). Checked below:
#
# * with the most noise and the widest network, no dropout, the last epoch is 100% right on the training set
#   but at least 10 points worse on the validation set, and its validation loss ends at more than twice its
#   lowest value: it has memorised the noise;
# * dropout 0.5 in the same network keeps it off 100% training accuracy and ends with less than half the
#   validation loss;
# * early stopping (patience 20) restores an epoch whose validation loss is less than half the last one's;
#   a smaller patience stops earlier. The lowest validation *loss* need not have the highest validation
#   *accuracy*: the loss also rewards confident right answers and punishes confident wrong ones;
# * 4 units per layer never reach 95% training accuracy: too little capacity (underfitting).
#
# (It trains 18 small networks: about half a minute.)

# %%
from microgradx.viz import slider_demos, sliders

fitting_sliders = slider_demos.fitting_spec()


def fit_at(**values) -> dict:
    return sliders.parts_at(fitting_sliders, **values)[-1]["data"]


memorised = fit_at(noise=0.4, width=64, dropout=0.0, patience=20)
assert memorised["final_train"] >= 0.99 and memorised["final_val"] <= memorised["final_train"] - 0.10
assert memorised["final_val_loss"] > 2 * memorised["min_val_loss"]
dropped = fit_at(noise=0.4, width=64, dropout=0.5, patience=20)
assert dropped["final_train"] < 0.99 and dropped["final_val_loss"] < memorised["final_val_loss"] / 2
assert memorised["val_loss"] < memorised["final_val_loss"] / 2
stops = [fit_at(noise=0.4, width=64, dropout=0.0, patience=p)["stopped"] for p in (5, 20, 60)]
assert stops == sorted(stops) and stops[0] < stops[-1]
assert all(fit_at(noise=n, width=4, dropout=0.0)["final_train"] < 0.95 for n in (0.1, 0.25, 0.4))
frames = [part["data"] for part in fitting_sliders["layers"][-1]["frames"].values()]
# somewhere on the sliders the restored epoch has the lower validation loss but the lower validation accuracy
assert any(f["val_loss"] < f["final_val_loss"] and f["val"] < f["final_val"] for f in frames)
sliders.slider_widget(fitting_sliders)

# %% [markdown]
# ## Exercises
#
# Graded on the spot by `microgradx.exercises` ("not attempted yet" while the placeholder is there).
# Solutions: `tutorials/solutions/07_overfitting.py`.
#
# **7.1** Inverted dropout with a given mask (`keep` is `True` where the unit survives): write what
# `Dropout(rate)` does during training.

# %%
from microgradx.exercises import regularization as exercises


def my_dropout(x: np.ndarray, keep: np.ndarray, rate: float) -> np.ndarray:
    raise NotImplementedError("your code")


exercises.check_dropout(my_dropout)

# %% [markdown]
# **7.2** A recorded validation loss, one number per epoch. Choose `patience` (at most 5) and `min_delta` so
# that `EarlyStopping(monitor="val_loss", patience=..., min_delta=...)` stops training at the end of epoch 12.

# %%
print(exercises.VAL_LOSSES)
patience, min_delta = None, None   # your choice
exercises.check_early_stopping(patience, min_delta)

# %% [markdown]
# **7.3** Predict: with `patience=5, min_delta=0.01, restore_best_weights=True` on the same losses, whose
# weights does the model hold after `fit`? Answer with the epoch, counted from 1.

# %%
restored_epoch = None   # your prediction
exercises.check_restored_epoch(restored_epoch)
