# %% [markdown]
# # 8. Full-size training: the same model on the scalar, CPU and CUDA engines
#
# *Lecture: everything so far, at the size of a real problem.*
#
# The scalar engine of notebooks 1-5 makes every multiplication a `Value`: perfect for seeing the chain rule,
# far too slow for real data. microgradx trains the **same** Keras-style model with Numba kernels on the CPU
# (`engine="cpu"`) or on an NVIDIA GPU (`engine="cuda"`): only the `engine=` argument changes, and in float64
# the engines agree to about 1e-10.
#
# The data: scikit-learn's handwritten digits, 1797 images of 8x8 pixels, 10 classes.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import microgradx as mgx
from microgradx.engines import cuda_available
from microgradx.viz.curves import plot_training_curves

# %%
x, y = mgx.datasets.load_digits()
x = x / 16.0                                   # pixels 0..16 -> 0..1
x_train, x_test, y_train, y_test = mgx.datasets.train_test_split(x, y, test_size=0.25, seed=0)
print(f"train {x_train.shape}, test {x_test.shape}, classes {np.unique(y).tolist()}")

fig, axes = plt.subplots(1, 8, figsize=(10, 1.6), layout="constrained")
for ax, image, label in zip(axes, x_train, y_train):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set(title=f"label {label}", xticks=[], yticks=[])
fig.savefig("08_digits.png", dpi=90)

# %% [markdown]
# ## One function builds the model; `engine` is its only argument
#
# 64 inputs, a hidden ReLU layer of 64 units, 10 softmax outputs: 4810 weights.

# %%
def make_model(engine: str, dtype: str = "float32") -> mgx.Sequential:
    mgx.utils.set_random_seed(0)               # the same initial weights on every engine
    model = mgx.Sequential([
        mgx.layers.Input(shape=(64,)),
        mgx.layers.Dense(64, activation="relu"),
        mgx.layers.Dense(10, activation="softmax"),
    ])
    model.build((None, 64))                    # draw the initial weights now, from the seed just set
    model.compile(optimizer=mgx.optimizers.Adam(learning_rate=0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], engine=engine, dtype=dtype)
    return model


print(make_model("cpu").count_params(), "weights")

# %% [markdown]
# ## The engines compute the same numbers
#
# In float64, the gradients of one batch from the scalar engine (a graph of `Value`s, differentiated by
# `backward()`) and from the CPU engine (Numba kernels) must agree to rounding error.

# %%
scalar_model, cpu_model = make_model("scalar", "float64"), make_model("cpu", "float64")
loss_scalar, grads_scalar = scalar_model.compute_gradients(x_train[:8], y_train[:8])
loss_cpu, grads_cpu = cpu_model.compute_gradients(x_train[:8], y_train[:8])
largest = max(np.abs(a - b).max() for a, b in zip(grads_scalar, grads_cpu))
print(f"loss: scalar {loss_scalar:.12f}, cpu {loss_cpu:.12f}; largest gradient difference {largest:.1e}")
assert abs(loss_scalar - loss_cpu) < 1e-10 and largest < 1e-10

# %% [markdown]
# ## Timed: the same `fit` on each engine
#
# The scalar engine gets 16 samples (one batch, no validation: a graph of about 150,000 `Value`s); the CPU
# engine the whole training set, of which `validation_split=0.2` holds back the last 20% to validate on after
# every epoch. The test set stays unseen until the very end: choosing anything (epochs, learning rate) by
# looking at test loss would make the final test score optimistic. We compare training **samples
# per second**. The CPU engine's first call also compiles its kernels (Numba caches them on
# disk, so the next session starts fast): we time that warm-up separately.

# %%
def timed_fit(model: mgx.Sequential, x: np.ndarray, y: np.ndarray, epochs: int,
              validate: bool = True) -> tuple[float, object]:
    """Seconds taken by model.fit (validating on the last 20% of ``x`` after each epoch when ``validate``)."""
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0,
                        validation_split=0.2 if validate else 0.0)
    return time.perf_counter() - start, history


throughput = {}
seconds, _ = timed_fit(make_model("scalar"), x_train[:16], y_train[:16], epochs=1, validate=False)
throughput["scalar"] = 16 / seconds
print(f"scalar: 16 samples in {seconds:.2f} s")

start = time.perf_counter()
timed_fit(make_model("cpu"), x_train[:64], y_train[:64], epochs=1, validate=False)
print(f"cpu: first call (kernel compilation or cache load) {time.perf_counter() - start:.2f} s")

epochs = 20
cpu_model = make_model("cpu")
seconds, history = timed_fit(cpu_model, x_train, y_train, epochs=epochs)
throughput["cpu"] = epochs * round(0.8 * len(x_train)) / seconds     # samples trained on (80% of the set)
print(f"cpu: {epochs} epochs of {len(x_train)} samples in {seconds:.2f} s")

# %% [markdown]
# ## On a GPU, if there is one
#
# `cuda_available()` is true only with numba-cuda, a driver and a real device (never Numba's CUDA simulator).
# Without one this cell says so and moves on.

# %%
if cuda_available():
    timed_fit(make_model("cuda"), x_train[:64], y_train[:64], epochs=1, validate=False)   # compile kernels
    cuda_model = make_model("cuda")
    seconds, cuda_history = timed_fit(cuda_model, x_train, y_train, epochs=epochs)
    throughput["cuda"] = epochs * round(0.8 * len(x_train)) / seconds
    print(f"cuda: {epochs} epochs in {seconds:.2f} s")
    cuda_accuracy = cuda_model.evaluate(x_test, y_test, verbose=0)[1]
    assert cuda_accuracy > 0.9
else:
    print("no usable CUDA GPU here: skipping engine='cuda'")

# %%
test_loss, test_accuracy = cpu_model.evaluate(x_test, y_test, verbose=0)
print(f"cpu engine after {epochs} epochs: test loss {test_loss:.3f}, test accuracy {test_accuracy:.3f}")
assert test_accuracy > 0.9
for engine, rate in throughput.items():
    print(f"{engine:6}: {rate:12,.0f} samples/s  ({rate / throughput['scalar']:,.0f}x the scalar engine)")
assert throughput["cpu"] > 100 * throughput["scalar"]      # orders of magnitude apart
for key in ("loss", "val_loss"):                            # both curves of the right panel fall
    assert history.history[key][-1] < 0.5 * history.history[key][0], key
assert list(throughput) == ["scalar", "cpu"] + (["cuda"] if cuda_available() else [])   # one bar per engine

# %%
fig, (ax_speed, ax_curve) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
names = list(throughput)
ax_speed.bar(names, [throughput[n] for n in names], color=["tab:gray", "tab:blue", "tab:green"][:len(names)])
ax_speed.set_yscale("log")
ax_speed.set(xlabel="engine", ylabel="training samples per second (log scale)",
             title=f"The same model and fit() on the {len(names)} engines available here")
epochs_axis = np.arange(1, epochs + 1)
ax_curve.plot(epochs_axis, history.history["loss"], label="train loss")
ax_curve.plot(epochs_axis, history.history["val_loss"], "--", label="validation loss (20% held out)")
ax_curve.set(xlabel="epoch", ylabel="sparse categorical cross-entropy", title="CPU engine on the digits")
ax_curve.legend()
fig.savefig("08_engines.png", dpi=100)

# %% [markdown]
# **What you should see:** left, one bar per engine available here (scalar and CPU; a third for CUDA only on a
# machine with an NVIDIA GPU), orders of magnitude apart (the scalar engine builds and walks a graph of Python
# objects; the kernels work on whole arrays); right, both losses falling as the network learns the digits
# (above 90% accuracy on the test set, which no training decision looked at). On a GPU, compare the CUDA bar
# with the CPU bar yourself: a model this small, in batches of 32, launches a few dozen tiny kernels per step,
# and their launch cost can outweigh the GPU's speed; the GPU pays off with wide layers and large batches.

# %%
fig = plot_training_curves(history, save="08_training_curves.png")
fig

# %% [markdown]
# ## Exercises
#
# Graded on the spot by `microgradx.exercises` ("not attempted yet" while the placeholder is there).
# Solutions: `tutorials/solutions/08_full_size_training.py`.
#
# **8.1** How many weights (kernels and biases) does the 64 → 64 → 10 model of this notebook have? Count
# them from the layer sizes, then compare with `count_params()`.

# %%
from microgradx.exercises import engines as exercises

weight_count = None   # your number
exercises.check_weight_count(weight_count)

# %% [markdown]
# **8.2** Validation data must come from the *training* set, so that the test set stays unseen until the end.
# Write `split(x_train, y_train, fraction, seed)` returning `(x_fit, y_fit, x_val, y_val)`.

# %%
def my_split(x_train: np.ndarray, y_train: np.ndarray, fraction: float, seed: int) -> tuple:
    raise NotImplementedError("your code")


exercises.check_validation_split(my_split)
