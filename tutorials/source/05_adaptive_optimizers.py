# %% [markdown]
# # 5. Adaptive learning rates: SGD, momentum, Adam, Adadelta, Adagrad, RMSprop
#
# *Lecture slides: "How to deal with this? Idea II: design an adaptive learning rate that adapts to the
# landscape", "Adaptive Learning Rates", "Gradient Descent Algorithms".*
#
# Learning rates are no longer fixed: they grow or shrink with how large the gradient is, how fast learning
# is happening, the size of particular weights... Each optimizer keeps a little **state** per weight (running
# averages of the gradient or of its square) and scales its steps with it.

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np

import microgradx as mgx
from microgradx.viz._style import OPTIMIZER_COLORS
from microgradx.viz.optimizers import SURFACES, SWEEP_RATES, best_learning_rates, plot_optimizer_races, race

# %% [markdown]
# ## The slide's table, with the microgradx names
#
# microgradx follows Keras 3: the same class names, arguments and defaults (the slide's "Adadelata" is
# spelled `Adadelta`).

# %%
slide_table = {"SGD": "tf.keras.optimizers.SGD()", "Adam": "tf.keras.optimizers.Adam()",
               "Adadelta": "tf.keras.optimizers.Adadelta()", "Adagrad": "tf.keras.optimizers.Adagrad()",
               "RMSprop": "tf.keras.optimizers.RMSprop()"}
print(f"{'algorithm':10} {'TF implementation':34} {'microgradx':34} default learning rate")
for name, tf_name in slide_table.items():
    cls = getattr(mgx.optimizers, name)
    default_lr = inspect.signature(cls).parameters["learning_rate"].default
    print(f"{name:10} {tf_name:34} {'mgx.optimizers.' + name + '()':34} {default_lr}")
    assert default_lr == (0.01 if name == "SGD" else 0.001)   # Keras' defaults

# %% [markdown]
# ## One step of each, by hand
#
# With every state starting at zero, the first step of each rule has a closed form (Keras' formulas, with
# $g$ the gradient, $\eta$ the learning rate):
#
# | optimizer | first step $\Delta w$ |
# |---|---|
# | SGD | $-\eta g$ |
# | SGD + momentum $\mu$ | $v = -\eta g$, then $w \leftarrow w + v$ (the same first step; later $v \leftarrow \mu v - \eta g$) |
# | Adam | $m = (1-\beta_1) g$, $v = (1-\beta_2) g^2$, $\Delta w = -\eta \frac{\sqrt{1-\beta_2}}{1-\beta_1} \frac{m}{\sqrt{v} + \epsilon} \approx -\eta\,\mathrm{sign}(g)$ |
# | Adagrad | $a = a_0 + g^2$, $\Delta w = -\eta\, g / \sqrt{a + \epsilon}$ |
# | RMSprop | $v = (1-\rho) g^2$, $\Delta w = -\eta\, g / \sqrt{v + \epsilon}$ |
# | Adadelta | $E[g^2] = (1-\rho) g^2$, $\Delta w = -\eta \sqrt{\epsilon} / \sqrt{E[g^2] + \epsilon}\; g$ |

# %%
def first_step(optimizer, gradient: float) -> float:
    """The change of a weight w = 1.0 after one optimizer step with the given gradient."""
    w = np.array([1.0])
    optimizer.apply([np.array([gradient])], [w])
    return float(w[0] - 1.0)


lr, eps = 0.1, 1e-7
by_hand = {
    "SGD": lambda g: -lr * g,
    "SGD+momentum": lambda g: -lr * g,
    "Adam": lambda g: -lr * math.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / (math.sqrt(0.001 * g * g) + eps),
    "Adagrad": lambda g: -lr * g / math.sqrt(0.1 + g * g + eps),
    "RMSprop": lambda g: -lr * g / math.sqrt(0.1 * g * g + eps),
    "Adadelta": lambda g: -lr * math.sqrt(eps) / math.sqrt(0.05 * g * g + eps) * g,
}
makers = {
    "SGD": lambda: mgx.optimizers.SGD(learning_rate=lr),
    "SGD+momentum": lambda: mgx.optimizers.SGD(learning_rate=lr, momentum=0.9),
    "Adam": lambda: mgx.optimizers.Adam(learning_rate=lr),
    "Adagrad": lambda: mgx.optimizers.Adagrad(learning_rate=lr),
    "RMSprop": lambda: mgx.optimizers.RMSprop(learning_rate=lr),
    "Adadelta": lambda: mgx.optimizers.Adadelta(learning_rate=lr),
}
for name in makers:
    for g in (0.01, 1.0, 100.0):
        assert math.isclose(first_step(makers[name](), g), by_hand[name](g), rel_tol=1e-9), (name, g)
print("every first step matches its formula")

# %% [markdown]
# ## "Adapts to how large the gradient is"
#
# The same first step, for gradients from $10^{-4}$ to $10^{4}$: SGD's step is proportional to the gradient;
# Adam's and RMSprop's are (almost) the same size whatever the gradient, Adagrad's saturates at $\eta$.

# %%
gradients = np.logspace(-4, 4, 81)
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
for name, make in makers.items():
    if name == "SGD+momentum":
        continue  # its first step is SGD's
    steps = [abs(first_step(make(), g)) for g in gradients]
    ax.loglog(gradients, steps, label=name, color=OPTIMIZER_COLORS[name])   # the same colour in every figure
ax.set(xlabel="gradient g (log scale)", ylabel="|first step| (log scale)",
       title=f"Size of the first step at learning rate {lr}: fixed rate vs adaptive rates")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.savefig("05_first_step.png", dpi=100)

adam_steps = [abs(first_step(makers["Adam"](), g)) for g in (1e-2, 1e2)]
assert all(math.isclose(s, lr, rel_tol=1e-3) for s in adam_steps)   # Adam: ~lr for any gradient size

# %% [markdown]
# **What you should see:** SGD a straight line of slope 1 (10 times the gradient, 10 times the step); Adam and
# RMSprop flat lines (a step of about $\eta$ and $3.16\eta$); Adagrad rising then flat at $\eta$; Adadelta tiny
# (its steps start at $\sqrt{\epsilon}$ and grow with its own history).
#
# ## The optimizer race
#
# Each optimizer steps a two-weight "model" on three loss surfaces: a **ravine** (40 times steeper across than
# along), a **saddle** (flat at the start) and **Rosenbrock's** curved valley. A race is only fair when every
# racer runs at its own best learning rate, so each one is first tried at 15 rates from $10^{-4}$ to $10^{3}$
# and keeps the rate whose loss is lowest on average over the race.

# %%
for surface_name in SURFACES:
    best_rates = best_learning_rates(surface_name)
    print(f"{surface_name:10} best rates: " + ", ".join(f"{n} {r:.3g}" for n, r in best_rates.items()))
print(f"tried: {len(SWEEP_RATES)} rates, {SWEEP_RATES[0]:g} to {SWEEP_RATES[-1]:g}")

# %%
fig = plot_optimizer_races(save="05_optimizer_race.png")
fig

# %%
def final_gaps(surface_name: str) -> dict[str, float]:
    """f(w) - f(minimum) after the race, per optimizer, each at its best rate."""
    surface = SURFACES[surface_name]
    paths = race(surface_name)
    return {name: surface.loss(path[-1]) - surface.minimum for name, path in paths.items()}


ravine, saddle, rosenbrock = (final_gaps(name) for name in ("ravine", "saddle", "rosenbrock"))
for name in ravine:
    print(f"{name:13} ravine {ravine[name]:9.2g}   saddle {saddle[name]:9.2g}   rosenbrock {rosenbrock[name]:9.2g}")
assert max(ravine["Adam"], ravine["SGD+momentum"], ravine["Adagrad"]) < 1e-3 < ravine["SGD"]
assert max(saddle.values()) < 0.25                  # everyone left the saddle (f = 0) for a minimum (f = -1/4)
assert max(rosenbrock["Adam"], rosenbrock["SGD+momentum"]) < 0.05 < 0.5 < rosenbrock["SGD"]

# %% [markdown]
# **What you should see:** on the ravine, SGD's learning rate is capped by the steep direction (above
# $2/\lambda_{max} = 2/4$ it diverges), so it runs straight down the steep wall and then crawls along the flat
# floor; momentum and Adam swing around the minimum and get within $10^{-3}$; Adagrad lands in a few steps. On
# the saddle, at their best rates all of them escape, SGD included: its sideways coordinate grows by about
# $1 + \eta$ per step. On Rosenbrock's curved valley only Adam and momentum get near $(1, 1)$ in 400 steps;
# SGD, held to $\eta = 0.001$ by the steep walls, stalls. Adadelta at Keras' default rate 0.001 (the crosses
# and the dashed line) barely leaves the start: its steps begin at about $\sqrt{\epsilon}\,\eta$.
#
# ## What Adam remembers: its state
#
# Adam keeps two slots per weight: `m`, a running average of the gradient (the direction), and `v`, a running
# average of its square (the scale). The step is $\eta\, \hat m / (\sqrt{\hat v} + \epsilon)$. We follow both
# on the ravine, starting from the race's start.

# %%
surface = SURFACES["ravine"]
adam = mgx.optimizers.Adam(learning_rate=0.5)
point = np.array(surface.start)
grads, ms, vs, points = [], [], [], [point.copy()]
for _ in range(60):
    g = surface.gradient(point)
    adam.apply([g], [point])
    grads.append(g)
    ms.append(adam.get_slot(0, "m").copy())
    vs.append(adam.get_slot(0, "v").copy())
    points.append(point.copy())
grads, ms, vs, points = map(np.array, (grads, ms, vs, points))

# m and v are exponential moving averages of g and g^2: recompute them from the recorded gradients
m_check, v_check = np.zeros(2), np.zeros(2)
for g, m, v in zip(grads, ms, vs):
    m_check = 0.9 * m_check + (1 - 0.9) * g          # beta_1 = 0.9
    v_check = 0.999 * v_check + (1 - 0.999) * g**2   # beta_2 = 0.999
    assert np.allclose(m, m_check, rtol=1e-12) and np.allclose(v, v_check, rtol=1e-12)
t = np.arange(1, len(grads) + 1)

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
for coordinate, color in ((0, "tab:blue"), (1, "tab:orange")):
    axis_name = "x (along the valley)" if coordinate == 0 else "y (across the valley)"
    axes[0].plot(t, grads[:, coordinate], ":", color=color, label=f"gradient, {axis_name}")
    axes[0].plot(t, ms[:, coordinate], color=color, linewidth=2, label=f"m, {axis_name}")
    axes[1].semilogy(t, np.sqrt(vs[:, coordinate] / (1 - 0.999 ** t)), color=color,
                     label=f"sqrt(v_hat), {axis_name}")
    axes[2].plot(t, np.abs(np.diff(points[:, coordinate])), color=color, label=axis_name)
axes[0].set(xlabel="step", ylabel="value", title="m: the running average of the gradient")
axes[1].set(xlabel="step", ylabel="sqrt(v_hat) (log scale)", title="v: the running average of g² (its scale)")
axes[2].set(xlabel="step", ylabel="|step taken|", title="|step|: equal in x and y at first")
for ax in axes:
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
fig.suptitle("Adam's state on the ravine f = 0.05 x² + 2 y²")
fig.savefig("05_adam_state.png", dpi=100)

# %% [markdown]
# **What you should see:** at the start the gradient across the valley ($y$) is about 5 times larger than
# along it, and so is $\sqrt{\hat v}$; dividing one by the other gives steps of the same size ($\eta = 0.5$)
# in both directions, so Adam heads for the minimum instead of bouncing between the walls. $m$ (solid) smooths
# the oscillating gradient (dotted) of the steep direction.
