# %% [markdown]
# # 4. Gradient descent and the learning rate
#
# *Lecture slides: "Loss Optimization" (randomly pick an initial $(w_0, w_1)$, compute the gradient, take a
# small step in the opposite direction, repeat until convergence), "Gradient Descent: Algorithm", "Setting
# the Learning Rate", "How to deal with this? Idea I".*
#
# We want the weights with the lowest loss, $W^* = \operatorname{argmin}_W J(W)$. The algorithm of the slide:
#
# 1. Initialize weights randomly $\sim \mathcal{N}(0, \sigma^2)$
# 2. Loop until convergence:
#    3. Compute gradient, $\partial J(W) / \partial W$
#    4. Update weights, $W \leftarrow W - \eta \, \partial J(W) / \partial W$
# 5. Return weights

# %%
import concurrent.futures
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradx import Value
from microgradx.viz.learning_rate import (LECTURE_RATES, descend, gradient_1d, learning_rate_sweep, loss_1d,
                                          plot_learning_rate_sweep, plot_learning_rates)

# %% [markdown]
# ## A problem with two weights
#
# Twenty points on a noisy line; the model $f(x) = w_0 + w_1 x$ has exactly the two weights of the slide, so
# the whole loss landscape $J(w_0, w_1)$ (mean squared error) fits in one picture.

# %%
data_rng = np.random.default_rng(0)
xs = np.linspace(0.0, 2.0, 20)
ys = 1.0 + 2.0 * xs + 0.3 * data_rng.normal(size=xs.size)


def loss_value(w0: Value, w1: Value) -> Value:
    """J(w0, w1) = mean of (y - (w0 + w1 x))^2, built from Values."""
    return sum((float(y) - (w0 + w1 * float(x))) ** 2 for x, y in zip(xs, ys)) / len(xs)


def loss_numbers(w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """The same J on plain numbers (arrays of w0, w1), for the contour plot."""
    residuals = ys[:, None, None] - (w0[None] + w1[None] * xs[:, None, None])
    return (residuals ** 2).mean(axis=0)

# %% [markdown]
# ## The algorithm, line by line, on `Value`s

# %%
DIVERGED = 1e12   # a loss above this counts as diverged: stop instead of overflowing


def gradient_descent(learning_rate: float, sigma: float = 1.0, seed: int = 1, max_steps: int = 200,
                     tolerance: float = 1e-6) -> tuple[np.ndarray, list[float]]:
    """Run the slide's algorithm; return the path of (w0, w1) and the loss at each step."""
    rng = np.random.default_rng(seed)
    w0 = Value(rng.normal(0.0, sigma), label="w0", requires_grad=True)   # 1. initialize ~ N(0, sigma^2)
    w1 = Value(rng.normal(0.0, sigma), label="w1", requires_grad=True)
    path, losses = [(w0.data, w1.data)], []
    for _ in range(max_steps):                                           # 2. loop until convergence
        J = loss_value(w0, w1)
        losses.append(J.data)
        if not math.isfinite(J.data) or J.data > DIVERGED:
            break                                                        # diverged: stop
        w0.grad = w1.grad = 0.0
        J.backward(record=False)                                         # 3. compute the gradient
        w0.data -= learning_rate * w0.grad                               # 4. update the weights
        w1.data -= learning_rate * w1.grad
        path.append((w0.data, w1.data))
        if math.hypot(w0.grad, w1.grad) < tolerance:
            break
    return np.array(path), losses                                        # 5. return the weights


path, losses = gradient_descent(learning_rate=0.3)
w_gd = path[-1]
print(f"{len(losses)} steps: w0 = {w_gd[0]:.5f}, w1 = {w_gd[1]:.5f}, J = {losses[-1]:.5f}")

# %% [markdown]
# Linear least squares also has a closed-form solution; gradient descent must land on it.

# %%
design = np.column_stack([np.ones_like(xs), xs])
w_exact, *_ = np.linalg.lstsq(design, ys, rcond=None)
print(f"least squares: w0 = {w_exact[0]:.5f}, w1 = {w_exact[1]:.5f}")
assert np.allclose(w_gd, w_exact, atol=1e-5)
assert all(a >= b for a, b in zip(losses, losses[1:]))  # every step went downhill

# %%
grid0, grid1 = np.meshgrid(np.linspace(-1.5, 3.5, 120), np.linspace(-0.5, 4.0, 120))
surface = loss_numbers(grid0, grid1)

fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
ax_path.contour(grid0, grid1, surface, levels=np.geomspace(0.05, surface.max(), 20), cmap="viridis")
ax_path.plot(path[:, 0], path[:, 1], "r.-", markersize=4, label="gradient descent, η = 0.3")
ax_path.plot(*path[0], "ks", label="random start ~ N(0, 1)")
ax_path.plot(*w_exact, "y*", markersize=16, markeredgecolor="black", label="minimum (least squares)")
ax_path.set(xlabel="w0", ylabel="w1", title="Steps against the gradient on the contours of J(w0, w1)")
ax_path.legend(fontsize=8)
ax_loss.semilogy(losses, "r.-")
ax_loss.set(xlabel="step", ylabel="J(W) (log scale)", title="Loss against step")
fig.savefig("04_gradient_descent.png", dpi=100)

# %% [markdown]
# **What you should see:** the path starts at the random point, drops steeply into the valley (the
# steepest direction first) and then follows the valley floor into the star; the loss falls at every step
# and flattens at the noise level of the data.

# %% [markdown]
# ## Setting the learning rate: too small, too large, stable
#
# For this quadratic loss the boundary is known exactly: $J$ has the constant Hessian $H$, and the update
# multiplies the error by $(I - \eta H)$. Gradient descent converges for $\eta < 2 / \lambda_{max}(H)$ and
# diverges above it.

# %%
hessian = 2.0 * design.T @ design / len(xs)
critical = 2.0 / np.linalg.eigvalsh(hessian).max()
rates = {"too small": 0.01 * critical, "too large": 1.1 * critical, "stable": 0.5 * critical}
steps = {"too small": 40, "too large": 12, "stable": 40}   # the steps drawn below, and the only ones taken
runs = {name: gradient_descent(rate, max_steps=steps[name]) for name, rate in rates.items()}
print(f"critical learning rate 2 / lambda_max = {critical:.4f}")
lowest = float(np.mean((ys - design @ w_exact) ** 2))   # J at the least-squares weights
start_distance = np.linalg.norm(runs["stable"][0][0] - w_exact)
final_loss = {name: loss_numbers(*runs[name][0][-1]).item() for name in rates}   # J at the last drawn step
for name, (run_path, run_losses) in runs.items():
    print(f"{name:10} η = {rates[name]:.4f}: after {len(run_path) - 1} steps J = {final_loss[name]:.4g}, "
          f"distance to the minimum {np.linalg.norm(run_path[-1] - w_exact) / start_distance:.1%} of the start's")

small_path, large_path, stable_path = (runs[name][0] for name in rates)
distances = {name: np.linalg.norm(runs[name][0] - w_exact, axis=1) for name in rates}
assert distances["too small"][-1] > 0.4 * start_distance            # too small: still far after 40 steps
assert distances["stable"][-1] < 0.01 * start_distance              # stable: at the minimum
assert np.all(np.diff(distances["too large"][3:]) > 0)              # too large: further out at every step
assert distances["too large"][-1] > 3 * start_distance

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
for ax, (name, (run_path, run_losses)) in zip(axes, runs.items()):
    low = np.minimum(run_path.min(axis=0), w_exact) - 0.4     # each panel shows all of its steps
    high = np.maximum(run_path.max(axis=0), w_exact) + 0.4
    g0, g1 = np.meshgrid(np.linspace(low[0], high[0], 150), np.linspace(low[1], high[1], 150))
    view = loss_numbers(g0, g1)
    ax.contour(g0, g1, view, levels=np.geomspace(max(view.min(), 0.05), view.max(), 15), cmap="viridis",
               linewidths=0.8)
    ax.plot(run_path[:, 0], run_path[:, 1], "-", color="tab:red", linewidth=0.7, alpha=0.6)
    ax.plot(run_path[:, 0], run_path[:, 1], "o", color="tab:red", markersize=3.5)
    if name == "too large":                                     # number the steps: side to side, further out
        for k, (a, b) in enumerate(run_path):
            ax.annotate(str(k), (a, b), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.plot(*run_path[0], "ks", label="start")
    ax.plot(*w_exact, "y*", markersize=14, markeredgecolor="black", label="minimum W*")
    ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), xlabel="w0", ylabel="w1")
    ax.set_title(f"{name}: η = {rates[name]:.3f}, {len(run_path) - 1} steps drawn\n"
                 f"J after them = {final_loss[name]:.3g}  (J(W*) = {lowest:.3f})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
fig.suptitle("Too small crawls, too large overshoots and diverges, stable converges")
fig.savefig("04_learning_rates_2d.png", dpi=100)

# %% [markdown]
# **What you should see:** left, 40 short steps that still leave almost half of the way to the star; middle, 12
# steps that jump from one side of the valley to the other, further out each time (the view widens to hold
# them); right, 40 steps into the star.
#
# ## The lecture's picture: false local minima
#
# A loss with a bump: $J(w) = w^2/2 + 3 e^{-2(w-2)^2}$ has its minimum near 0 and a *false* local minimum at
# $w \approx 2.78$. `plot_learning_rates` runs the library's `SGD` from $w = 4.5$ with the lecture's three
# rates.

# %%
fig = plot_learning_rates(save="04_learning_rates.png")
fig

# %%
paths_1d = {name: descend(rate) for name, rate in LECTURE_RATES.items()}
small, large, stable = paths_1d["small"], paths_1d["large"], paths_1d["stable"]
for name, path_1d in paths_1d.items():
    print(f"{name:7} η = {LECTURE_RATES[name]}: w = {path_1d[-1]:.4g}, J(w) = {loss_1d(path_1d[-1]):.4g}")
assert abs(small[-1] - 2.78) < 0.05 and abs(gradient_1d(small[-1])) < 0.01   # stuck in the false minimum
assert np.all(np.abs(large[1:]) > np.abs(large[:-1])) and np.all(np.sign(large[1:]) != np.sign(large[:-1]))
assert abs(large[-1]) > 100 * abs(large[0])                                 # overshoots ever further: diverges
assert abs(gradient_1d(stable[-1])) < 1e-6 and loss_1d(stable[-1]) < 0.01  # the global minimum

# %% [markdown]
# **What you should see:** the small rate (blue) rolls into the dip behind the bump and stays there; the large
# rate (red) jumps from side to side with growing amplitude until it leaves the picture; the stable rate
# (green) jumps over the bump and settles at the global minimum.
#
# ## Idea I: try lots of learning rates
#
# `learning_rate_sweep` trains the same small network once per rate. The trainings are independent, so they go
# through any `concurrent.futures.Executor` (by default a process pool; a Dask cluster's
# `client.get_executor()` works the same). Here a thread pool keeps the notebook light.

# %%
sweep_rates = [0.01, 0.1, 1.0, 10.0, 300.0]
with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = learning_rate_sweep(sweep_rates, executor=pool, n_samples=200, epochs=15, hidden=(8,))
for result in results:
    print(f"η = {result.learning_rate:7g}: final validation loss {result.final_loss:.4g}"
          + ("  (diverged)" if result.diverged else ""))
best = min(results, key=lambda result: result.final_loss)
assert sweep_rates[0] < best.learning_rate < sweep_rates[-1]   # "just right" lies between the extremes
smallest, largest = results[0], results[-1]
assert smallest.final_loss > 2 * best.final_loss                   # the smallest rate is still far behind
assert largest.diverged or largest.final_loss > 2 * best.final_loss   # the largest blows up or gets stuck high
assert largest.diverged or max(largest.history["val_loss"]) - largest.final_loss < 0.01 * largest.final_loss
fig = plot_learning_rate_sweep(results, save="04_learning_rate_sweep.png")
fig

# %% [markdown]
# **What you should see:** the smallest rate creeps (after 15 epochs its loss is still more than twice the best
# one's), the largest one is stuck at a high loss that no longer moves, a middle rate ends lowest (the gold
# star): "just right".

# %% [markdown]
# ## Your turn: move the learning rate and the momentum
#
# The sliders run the library's `SGD` on the loss of this notebook for 50 steps from a fixed start. The learning
# rates are fractions of the critical rate $2/\lambda_{max}$ computed above; momentum is Keras' (heavy ball:
# $v \leftarrow \mu v - \eta g$, $w \leftarrow w + v$). Every position was computed when this cell ran (the tour,
# `microgradx tour`, shows the same sliders in a page that needs no Python). Things to look for, checked below:
#
# * without momentum, $0.02\times$ crawls ($J - J^*$ still above 0.5 after 50 steps), $0.9\times$ converges, and
#   $1.05\times$ grows: above the critical rate every step overshoots a little more;
# * momentum 0.5 converges in 50 steps from $0.6\times$ up, **including** $1.05\times$: heavy-ball momentum is
#   stable up to $2(1+\mu)/\lambda_{max}$;
# * momentum 0.9 speeds up the smallest rate twenty-fold, but at large rates it overshoots and circles the
#   minimum: after 50 steps it has not converged.

# %%
from microgradx.viz import slider_demos, sliders

descent = slider_demos.descent_spec()
assert np.isclose(slider_demos.descent_problem().critical, critical)     # the loss of this notebook


def run_at(fraction: float, momentum: float) -> dict:
    return sliders.parts_at(descent, learning_rate=fraction * critical, momentum=momentum)[1]["data"]


assert run_at(0.02, 0.0)["gap"] > 0.5 and run_at(0.9, 0.0)["verdict"] == "converged"
assert run_at(1.05, 0.0)["verdict"] == "diverging"
assert all(run_at(f, 0.5)["verdict"] == "converged" for f in (0.6, 0.9, 1.05))
assert run_at(0.02, 0.9)["gap"] < run_at(0.02, 0.0)["gap"] / 20
assert all(run_at(f, 0.9)["verdict"] == "still descending" for f in (0.6, 0.9, 1.05))
sliders.slider_widget(descent)

# %% [markdown]
# The lecture's picture with a slider: the same $J(w) = w^2/2 + 3 e^{-2(w-2)^2}$ and start as above. Checked
# below: every rate up to 0.2 (the lecture's small 0.05 among them) stops in the false minimum near 2.78;
# from 0.6 (the stable rate) to 1.5 the first step jumps over the bump and the run ends in the global minimum;
# the lecture's large rate 2.2 diverges: away from the bump $J'' \approx 1$, so every rate above
# $2/J'' = 2$ overshoots further at each step.

# %%
lecture = slider_demos.lecture_spec()


def lecture_run(rate: float) -> dict:
    return sliders.parts_at(lecture, learning_rate=rate)[1]["data"]


assert all(lecture_run(r)["verdict"] == "false minimum" for r in (0.05, 0.1, 0.2))
assert all(lecture_run(r)["verdict"] == "global minimum" for r in (0.6, 0.8, 1.0, 1.5))
assert lecture_run(2.2)["verdict"] == "diverging"
sliders.slider_widget(lecture)

# %% [markdown]
# ## Changing the rate during training: ReduceLROnPlateau
#
# The rate need not stay fixed. The `ReduceLROnPlateau` callback (Keras 3's, in `microgradx.callbacks`)
# watches a logged quantity (here the validation loss) and multiplies the learning rate by `factor` when it
# has not improved by more than `min_delta` for `patience` epochs, never going below `min_lr`. It writes the
# rate each epoch trained with into `history["learning_rate"]`. Below, a small two-moons network trains with
# Adam at 0.1 and `ReduceLROnPlateau(factor=0.5, patience=8)`: once the validation loss stops improving, the
# rate halves every 8 epochs until it reaches `min_lr = 1e-4`.

# %%
from microgradx.viz import plateau

run = plateau.plateau_run()
history = run["history"]
cuts = plateau.reduction_epochs(history)
print("rate cut before epochs:", cuts)
print("rates:", sorted(set(history["learning_rate"]), reverse=True))
fig = plateau.plot_reduce_lr_on_plateau(run, save="04_reduce_lr_on_plateau.png")
rates = history["learning_rate"]
assert all(rates[c - 1] == max(rates[c - 2] * 0.5, 1e-4) for c in cuts)      # each cut halves the rate
assert all(b - a == 8 for a, b in zip(cuts, cuts[1:]))                        # one cut per 8 stalled epochs
assert min(rates) == 1e-4                                                     # ... down to min_lr

# %% [markdown]
# ## Exercises
#
# Graded on the spot by `microgradx.exercises` ("not attempted yet" while the placeholder is there).
# Solutions: `tutorials/solutions/04_gradient_descent.py`.
#
# **4.1** Write step 4 of the algorithm: return the updated weights.

# %%
from microgradx.exercises import descent as exercises


def my_step(w: np.ndarray, grad: np.ndarray, learning_rate: float) -> np.ndarray:
    raise NotImplementedError("your code")


exercises.check_step(my_step)

# %% [markdown]
# **4.2** On $J(w) = a w^2$ with $a = 2.5$, above which learning rate does gradient descent diverge? (Write one
# step as $w \leftarrow (\dots)\, w$.)

# %%
critical_rate = None   # your number
exercises.check_critical_rate(critical_rate)

# %% [markdown]
# **4.3** Predict, then run. At 0.9 times that critical rate, from $w = 1$, what happens?

# %%
for letter, outcome in exercises.PREDICTIONS.items():
    print(f"{letter}: {outcome}")
prediction = None   # "a", "b" or "c"
exercises.check_prediction(prediction, fraction=0.9)

# %%
rate = 0.9 / exercises.QUADRATIC_A                    # 0.9 x the critical rate 1/a
ws = [1.0]
for _ in range(12):
    ws.append(ws[-1] - rate * 2 * exercises.QUADRATIC_A * ws[-1])
print(" ".join(f"{w:+.3f}" for w in ws))
ws = np.array(ws)
assert np.all(np.sign(ws[1:]) != np.sign(ws[:-1]))     # every step crosses the minimum ...
assert np.all(np.abs(ws[1:]) < np.abs(ws[:-1]))       # ... and lands closer to it

# %% [markdown]
# **4.4** Pick a learning rate with which gradient descent on the same $J$ gets from $w = 1$ to
# $|w| < 10^{-3}$ in at most 5 steps.

# %%
fast_rate = None   # your number
exercises.check_fast_rate(fast_rate)
