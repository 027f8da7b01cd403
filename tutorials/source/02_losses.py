# %% [markdown]
# # 2. Quantifying loss: binary cross-entropy and mean squared error
#
# *Lecture slides: "Quantifying Loss", "Empirical Loss", "Binary Cross Entropy Loss", "Mean Squared Error
# Loss".*
#
# The **loss** $L(f(x^{(i)}; W), y^{(i)})$ measures the cost of one wrong prediction; the **empirical loss**
# averages it over the dataset:
#
# $$J(W) = \frac{1}{n} \sum_{i=1}^n L\big(f(x^{(i)}; W), y^{(i)}\big)$$
#
# We compute the lecture's two examples by hand, with microgradx's Keras-style loss classes, and on `Value`s
# to see the chain rule inside a loss.

# %%
import inspect
import math

import numpy as np

import microgradx as mgx
from microgradx import Value
from microgradx.engine import sum_values
from microgradx.explain import explain
from microgradx.viz.losses import plot_losses

# %% [markdown]
# ## Binary cross-entropy
#
# A classifier outputs a probability $f(x) \in (0, 1)$. The lecture's predictions are $0.1, 0.8, 0.6$ for the
# labels $1, 0, 1$: the first two are wrong (×), the third is right (✓).
#
# $$J(W) = -\frac{1}{n} \sum_{i=1}^n y^{(i)} \log f(x^{(i)}) + (1 - y^{(i)}) \log\big(1 - f(x^{(i)})\big)$$
#
# By hand: only one of the two terms is non-zero per sample, so
# $J = -\frac{1}{3}(\log 0.1 + \log(1 - 0.8) + \log 0.6)$.

# %%
y_true = np.array([[1.0], [0.0], [1.0]])   # 3 samples, 1 output each
y_pred = np.array([[0.1], [0.8], [0.6]])

bce_by_hand = -(math.log(0.1) + math.log(0.2) + math.log(0.6)) / 3
bce = mgx.losses.BinaryCrossentropy()
bce_value = float(bce(y_true, y_pred))
print(f"by hand: {bce_by_hand:.6f}   microgradx: {bce_value:.6f}")
assert math.isclose(bce_value, bce_by_hand, rel_tol=1e-6)
assert math.isclose(bce_by_hand, 1.474283, rel_tol=1e-6)

# %% [markdown]
# The constructor is the one on the slide, with the same defaults:
#
# ```
# tf.keras.losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1,
#                                    reduction='sum_over_batch_size', name='binary_crossentropy')
# ```

# %%
signature = inspect.signature(mgx.losses.BinaryCrossentropy)
print("mgx.losses.BinaryCrossentropy" + str(signature))
slide_defaults = {"from_logits": False, "label_smoothing": 0.0, "axis": -1,
                  "reduction": "sum_over_batch_size", "name": "binary_crossentropy"}
for argument, default in slide_defaults.items():
    assert signature.parameters[argument].default == default, argument

# %% [markdown]
# ## One number, four names
#
# The slide lists the other names of the empirical loss $J(W)$: the **objective function** (what training
# minimises), the **cost function** and the **empirical risk** (the average loss on the data we have,
# standing in for the expected loss on all data). All four are the same number: the mean over the $n$
# samples of the per-sample loss $L(f(x^{(i)}; W), y^{(i)})$. A loss object shows both: with
# `reduction="none"` it returns the $n$ per-sample losses, with the default reduction their mean, $J$.

# %%
per_sample = np.asarray(mgx.losses.BinaryCrossentropy(reduction="none")(y_true, y_pred), dtype=float)
print("L(f(x_i), y_i) =", np.round(per_sample, 4), "  mean =", round(per_sample.mean(), 6), "= J(W)")
assert per_sample.shape == (3,)
assert np.allclose(per_sample, [-math.log(0.1), -math.log(1 - 0.8), -math.log(0.6)], rtol=1e-6)
assert math.isclose(per_sample.mean(), bce_value, rel_tol=1e-12)

# %% [markdown]
# ## Mean squared error
#
# A regressor outputs any real number. The lecture's predictions are $30, 80, 85$ for the targets
# $90, 20, 85$:
#
# $$J(W) = \frac{1}{n} \sum_{i=1}^n \big(y^{(i)} - f(x^{(i)}; W)\big)^2 = \frac{60^2 + 60^2 + 0^2}{3} = 2400$$

# %%
targets = np.array([[90.0], [20.0], [85.0]])
predictions = np.array([[30.0], [80.0], [85.0]])

mse = mgx.losses.MeanSquaredError()
mse_value = float(mse(targets, predictions))
print(f"by hand: {(60**2 + 60**2 + 0**2) / 3}   microgradx: {mse_value}")
assert mse_value == 2400.0

signature = inspect.signature(mgx.losses.MeanSquaredError)
print("mgx.losses.MeanSquaredError" + str(signature))
assert signature.parameters["reduction"].default == "sum_over_batch_size"
assert signature.parameters["name"].default == "mean_squared_error"

# %% [markdown]
# ## Each sample's loss as a function of its prediction

# %%
fig = plot_losses(save="02_losses.png")
fig

# %% [markdown]
# **What you should see:** left, the two BCE curves $-\log p$ (label 1) and $-\log(1 - p)$ (label 0); the
# confident wrong answer $p = 0.1$ for label 1 sits high on its curve ($-\log 0.1 = 2.30$), the hesitant right
# answer $p = 0.6$ low ($0.51$). Right, one parabola per target; the perfect prediction 85 costs 0 and each of
# the two misses by 60 costs 3600.

# %% [markdown]
# ## The loss is part of the graph
#
# Training needs $\partial J / \partial f(x^{(i)})$: how the loss changes when a prediction moves. The loss
# classes also accept arrays of `Value`s; they then build the graph of $J$ and `backward()` gives those
# derivatives. By the chain rule through $\log$:
#
# $$\frac{\partial J}{\partial p_i} = -\frac{1}{n}\left(\frac{y_i}{p_i} - \frac{1 - y_i}{1 - p_i}\right)$$

# %%
p = np.array([[Value(0.1, label="p1")], [Value(0.8, label="p2")], [Value(0.6, label="p3")]], dtype=object)
J = bce(y_true, p)
J.backward()
print(f"J = {J.data:.6f}")
for (p_i,), (y_i,) in zip(p, y_true):
    expected = -(y_i / p_i.data - (1 - y_i) / (1 - p_i.data)) / 3
    print(f"dJ/d{p_i.label} = {p_i.grad:+.6f}   (formula: {expected:+.6f})")
    assert math.isclose(p_i.grad, expected, rel_tol=1e-9)
assert math.isclose(J.data, bce_by_hand, rel_tol=1e-6)

# %% [markdown]
# The confident wrong prediction $p_1 = 0.1$ gets the largest push ($-3.33$: raise it), $p_2 = 0.8$ is pushed
# down ($+1.67$), and the right answer $p_3 = 0.6$ only gently up ($-0.56$).
#
# ## The same loss written from scratch on `Value`s
#
# Nothing in the library is magic: the formula of the slide in `Value` arithmetic gives the same $J$ and the
# same gradients. We label every node so that the chain rule can be read step by step: per sample
# $t_i = y_i \log q_i$, $u_i = (1 - y_i) \log(1 - q_i)$, $s_i = t_i + u_i$ and $L_i = -s_i$; then
# $S = L_1 + L_2 + L_3$ and $J = S / 3$.

# %%
def named(node: Value, label: str) -> Value:
    node.label = label
    return node


def bce_term(q: Value, y: float, i: int) -> Value:
    """L_i = -(y log q + (1 - y) log(1 - q)) = -(t_i + u_i), every node labelled."""
    log_q = named(q.log(), f"log_q{i}")
    log_1mq = named(named(1 - q, f"one_minus_q{i}").log(), f"log_1mq{i}")
    t = named(y * log_q, f"t{i}")            # y log q
    u = named((1 - y) * log_1mq, f"u{i}")    # (1 - y) log(1 - q)
    return named(-named(t + u, f"s{i}"), f"L{i}")


q = [Value(0.1, label="q1"), Value(0.8, label="q2"), Value(0.6, label="q3")]
labels = [1.0, 0.0, 1.0]
total = named(sum_values([bce_term(q_i, y, i) for i, (q_i, y) in enumerate(zip(q, labels), 1)]), "S")
J_scratch = named(total / len(q), "J")
trace = J_scratch.backward()
assert math.isclose(J_scratch.data, bce_by_hand, rel_tol=1e-12)
for q_i, (p_i,) in zip(q, p):
    assert math.isclose(q_i.grad, p_i.grad, rel_tol=1e-9)
print(f"J = {J_scratch.data:.6f}; gradients {[round(q_i.grad, 4) for q_i in q]}")

# %% [markdown]
# `backward()` recorded every chain-rule step; these are the ones that end in $q_1$ (their contributions add
# up to `q1.grad`):

# %%
for step in trace.into(q[0]):
    print(step)

# %% [markdown]
# `explain` writes the same gradient as the lecture does: a sum over the paths from $q_1$ to $J$ of the
# products of local derivatives. $q_1$ reaches $J$ twice, through $\log q_1$ and through $\log(1 - q_1)$;
# the second path is multiplied by $1 - y_1 = 0$, so only $-\frac{1}{3} \cdot \frac{1}{q_1}$ remains.

# %%
explanation = explain(J_scratch, q[0])
print(explanation)
assert explanation.count == 2
assert math.isclose(explanation.total, -1 / (3 * 0.1), rel_tol=1e-12)

# %% [markdown]
# ## Exercises
#
# Each exercise cell ends with a checker from `microgradx.exercises` (graded on the spot, with a hint when the
# answer is wrong; "not attempted yet" while the placeholder is there). Solutions:
# `tutorials/solutions/02_losses.py`.
#
# **2.1** Write the lecture's binary cross-entropy $J(W)$ for lists of labels and predicted probabilities, with
# `math.log` only (no library loss).

# %%
from microgradx.exercises import losses as exercises


def my_bce(y_true: list[float], y_pred: list[float]) -> float:
    raise NotImplementedError("your code")


exercises.check_bce(my_bce)

# %% [markdown]
# **2.2** By the chain rule, what is $\partial J / \partial p_1$ for the lecture's predictions $(0.1, 0.8, 0.6)$
# and labels $(1, 0, 1)$? Work it out on paper (one term of the sum contains $p_1$), then check it.

# %%
bce_gradient_p1 = None   # your number
exercises.check_bce_gradient(bce_gradient_p1)

# %% [markdown]
# **2.3** Write the lecture's mean squared error.

# %%
def my_mse(y_true: list[float], y_pred: list[float]) -> float:
    raise NotImplementedError("your code")


exercises.check_mse(my_mse)
