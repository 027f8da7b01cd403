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

import matplotlib.pyplot as plt
import numpy as np

import microgradx as mgx
from microgradx.viz.boundaries import draw_decision_boundary
from microgradx.viz.curves import plot_training_curves
from microgradx.viz.fitting import REGIMES, make_problem, train_regime

# %% [markdown]
# ## Three models, one small noisy dataset
#
# 40 noisy two-moons training samples and 400 validation samples from the same distribution. The three models
# of the slide: one neuron (a straight line), a small hidden layer, and a wide two-layer network trained long.

# %%
problem = make_problem(n_train=40, n_val=400, noise=0.2, seed=0)
runs = {name: train_regime(problem, **config) for name, config in REGIMES.items()}
for name, config in REGIMES.items():
    logs = runs[name][1].history
    print(f"{name:13} hidden={config['hidden']!s:9} epochs={config['epochs']:3}: train loss "
          f"{logs['loss'][-1]:.3f}, validation loss {logs['val_loss'][-1]:.3f} "
          f"(lowest {min(logs['val_loss']):.3f})")

# %%
fig, axes = plt.subplots(2, 3, figsize=(15, 8.4), layout="constrained")
for column, (name, (model, history)) in enumerate(runs.items()):
    draw_decision_boundary(axes[0, column], model, problem.x_train, problem.y_train, title=f"{name}, training set")
    epochs = np.arange(1, len(history.history["loss"]) + 1)
    axes[1, column].plot(epochs, history.history["loss"], label="training loss")
    axes[1, column].plot(epochs, history.history["val_loss"], "--", label="validation loss")
    axes[1, column].set(xlabel="epoch", ylabel="binary cross-entropy", title=name)
    axes[1, column].legend(fontsize=8)
fig.suptitle("Underfitting, optimal fit, overfitting")
fig.savefig("07_fitting_regimes.png", dpi=90)

# %% [markdown]
# **What you should see:** the one-neuron model draws a straight line through the moons (both losses stay
# high); the small network follows the moons; the wide network bends its boundary around single noisy points:
# its training loss goes to almost 0 while its validation loss turns around and climbs.

# %%
under, optimal, over = (runs[name][1].history for name in REGIMES)
assert under["loss"][-1] > optimal["loss"][-1] > over["loss"][-1]       # more capacity, lower training loss
assert over["loss"][-1] < 0.01                                          # overfitting memorises the training set
assert over["val_loss"][-1] > 2 * min(over["val_loss"])                # ... and its validation loss climbs
assert optimal["val_loss"][-1] < 0.8 * min(under["val_loss"][-1], over["val_loss"][-1])  # clearly the best

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
# prediction time dropout does nothing. Now the overfitting network again, with `Dropout(0.5)` after each
# hidden layer:

# %%
dropout_model, dropout_history = train_regime(problem, **REGIMES["overfitting"], dropout=0.5)
print(f"validation loss at the end: without dropout {over['val_loss'][-1]:.3f}, "
      f"with dropout {dropout_history.history['val_loss'][-1]:.3f}")
assert dropout_history.history["val_loss"][-1] < over["val_loss"][-1]

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
mgx.utils.set_random_seed(0)             # the same initial weights as the overfitting run above
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

# %%
fig = plot_training_curves(history, early_stopping=stopper, save="07_early_stopping.png")
fig

# %% [markdown]
# **What you should see:** the validation loss (dashed) falls, bottoms out and starts to rise while the training
# loss keeps falling; the green line marks the best epoch (its weights are restored), the grey dotted line the
# epoch where training stopped, `patience` epochs later.
#
# ## The three side by side

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
compared = {"no regularisation": runs["overfitting"][0], "Dropout(0.5)": dropout_model,
            f"EarlyStopping: epoch {best + 1} restored": model}
validation = {}
for ax, (name, trained) in zip(axes, compared.items()):
    validation[name] = trained.evaluate(problem.x_val, problem.y_val, verbose=0)[0]
    draw_decision_boundary(ax, trained, problem.x_val, problem.y_val,
                           title=f"{name}: val loss {validation[name]:.3f}")
plain, with_dropout, early = validation.values()
assert with_dropout < plain and early < plain
fig.suptitle("On the validation set: both regularisers lower the loss on data the model never saw")
fig.savefig("07_regularization.png", dpi=90)

# %% [markdown]
# **What you should see:** on unseen data the unregularised network pays for its confident fingers around
# single training points; dropout lowers the validation loss, and early stopping keeps the smooth boundary of
# its best epoch, with the lowest validation loss of the three.

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
