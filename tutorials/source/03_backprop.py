# %% [markdown]
# # 3. Backpropagation, step by step
#
# *Lecture slides: "Backpropagation" (how does a small change in one weight affect the final loss?),
# "Let's use the chain rule!", "Apply the chain rule!", "Repeat this for every weight in the network".*
#
# The lecture's network has one input $x$, one hidden unit $z_1$ and one output $\hat y$:
#
# $$x \xrightarrow{\;w_1\;} z_1 \xrightarrow{\;w_2\;} \hat y \longrightarrow J(W)$$
#
# and asks for $\partial J / \partial w_2$ and $\partial J / \partial w_1$. The chain rule answers with
# products of local derivatives:
#
# $$\frac{\partial J}{\partial w_2} = \frac{\partial J}{\partial \hat y} \cdot \frac{\partial \hat y}{\partial w_2}
# \qquad
# \frac{\partial J}{\partial w_1} = \frac{\partial J}{\partial \hat y} \cdot \frac{\partial \hat y}{\partial z_1}
# \cdot \frac{\partial z_1}{\partial w_1}$$

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image

from microgradx import Value
from microgradx.explain import explain
from microgradx.gradcheck import gradcheck
from microgradx.nn import MLP
from microgradx.viz import explore
from microgradx.viz.frames import backward_frames
from microgradx.viz.graph import draw_graph, render

# %% [markdown]
# ## The forward pass
#
# $z_1 = \tanh(w_1 x)$, $\hat y = \sigma(w_2 z_1)$ and the squared error $J = (\hat y - y)^2$ for the
# label $y = 1$.

# %%
def network(w1: Value, w2: Value, x: float = 1.5, y: float = 1.0) -> Value:
    """J(w1, w2) of the lecture's two-weight network; every intermediate node is labelled."""
    x = Value(x, label="x")
    a1 = w1 * x
    a1.label = "a1"
    z1 = a1.tanh()
    z1.label = "z1"
    a2 = w2 * z1
    a2.label = "a2"
    y_hat = a2.sigmoid()
    y_hat.label = "y_hat"
    error = y_hat - Value(y, label="y")
    error.label = "error"
    J = error ** 2
    J.label = "J"
    return J


w1 = Value(0.6, label="w1", requires_grad=True)
w2 = Value(-0.8, label="w2", requires_grad=True)
J = network(w1, w2)
print(f"J = {J.data:.6f}")

# %% [markdown]
# ## The question of the slide: nudge $w_2$ and watch $J$
#
# Move $w_2$ by a tiny $h$ and measure how much $J$ moves. The ratio is (approximately) the derivative we
# are after. Backpropagation will give it exactly, for every weight at once.

# %%
h = 1e-6
nudged = network(Value(0.6), Value(-0.8 + h)).data
print(f"(J(w2 + h) - J(w2)) / h = {(nudged - J.data) / h:.6f}")

# %% [markdown]
# ## One backward pass
#
# `J.backward()` visits the graph from $J$ back to the inputs. For every edge it performs one step of the chain
# rule, `input.grad += local derivative * upstream gradient`, and returns the record of those steps:

# %%
trace = J.backward()
print(trace.table())
print(f"\nw1.grad = {w1.grad:.6f}   w2.grad = {w2.grad:.6f}")

# %% [markdown]
# Read the table from the top: `J` pushes $2 \cdot \text{error}$ into `error`, `error` passes it unchanged to
# `y_hat`, `sigmoid` multiplies by $\hat y (1 - \hat y)$, and so on down to the weights.
#
# ## Step through it: the backprop explorer
#
# `explore(J, trace)` shows the graph and lets you act on it. **Backward** steps through the rows of the table
# above, with the same numbers (step k is row k; step 0 is the seed $\partial J / \partial J = 1$): the blue
# box pushes its gradient, the orange edge carries the local derivative, the purple dashed box receives their
# product, and the formula above the picture writes the step with the three factors in the same three
# colours. Boxes the gradient has not reached yet read `grad ?`. **Forward** shows the values appearing in
# topological order; **Paths** lists, for a weight you choose, every path up to $J$ with its product.
# Use the buttons or the keyboard (click the widget first): ← → one step, Shift+→ next phase, Home/End, Space
# plays. If the widget does not show, `microgradx.viz.save_html(J, "explorer.html")` writes the same explorer
# as a page you can open in a browser.

# %%
explorer = explore(J, trace)
explorer

# %% [markdown]
# The widget's state is Python's too: set `explorer.step` and the view moves. The step that pushes into
# $w_2$ carries exactly the gradient backward() left in `w2.grad` ($w_2$ is used once, so it is one step).

# %%
step_w2 = next(step.number for step in trace if step.target is w2)
explorer.step = step_w2
print(f"step {step_w2}: " + explorer.script["backward"][step_w2]["text"])
assert explorer.script["backward"][step_w2]["numbers"]["contribution"] == f"{w2.grad:.4g}"

# %% [markdown]
# ## The same steps as pictures
#
# `backward_frames` draws one picture per row of the table, on the explorer's fixed layout (nothing moves
# between frames), with the same colours, and writes them as an animated GIF too.

# %%
files = backward_frames(J, "03_backward_frames", trace=trace)
frames, gif = files[:-1], files[-1]
assert len(frames) == len(trace) + 1  # the seed dJ/dJ = 1 (frame 0), then frame k for row k of the table
print(f"{len(frames)} frames and the animation {gif}")
Image(filename=str(frames[4]))

# %%
Image(filename=str(gif))

# %% [markdown]
# **What you should see:** the gradient starts at `J` (1.0, at the bottom) and climbs up to the weights, one
# orange edge per frame; boxes it has not reached yet still read `grad ?`.

# %% [markdown]
# ## $\partial J / \partial w_2$: two factors
#
# `explain(J, w2)` writes the gradient as the lecture does: a product of the local derivatives along the path
# from $w_2$ up to $J$ (with our intermediate nodes spelled out).

# %%
print(explain(J, w2))

# %% [markdown]
# Grouping the factors as on the slide, by hand:
#
# * purple: $\partial J / \partial \hat y = 2(\hat y - y)$
# * red: $\partial \hat y / \partial w_2 = \hat y (1 - \hat y) \cdot z_1$

# %%
y_hat_n = 1 / (1 + math.exp(-(-0.8 * math.tanh(0.6 * 1.5))))
z1_n = math.tanh(0.6 * 1.5)
dJ_dyhat = 2 * (y_hat_n - 1.0)
dyhat_dw2 = y_hat_n * (1 - y_hat_n) * z1_n
print(f"dJ/dy_hat * dy_hat/dw2 = {dJ_dyhat:.6f} * {dyhat_dw2:.6f} = {dJ_dyhat * dyhat_dw2:.6f}")
assert math.isclose(w2.grad, dJ_dyhat * dyhat_dw2, rel_tol=1e-12)
assert math.isclose(explain(J, w2).total, w2.grad, rel_tol=1e-12)

# %% [markdown]
# ## $\partial J / \partial w_1$: apply the chain rule again
#
# $w_1$ sits one layer further back, so its path is longer and **reuses** $\partial J / \partial \hat y$:
#
# * purple: $\partial J / \partial \hat y = 2(\hat y - y)$
# * red: $\partial \hat y / \partial z_1 = \hat y (1 - \hat y) \cdot w_2$
# * orange: $\partial z_1 / \partial w_1 = (1 - z_1^2) \cdot x$

# %%
print(explain(J, w1))
dyhat_dz1 = y_hat_n * (1 - y_hat_n) * (-0.8)
dz1_dw1 = (1 - z1_n**2) * 1.5
print(f"\ndJ/dy_hat * dy_hat/dz1 * dz1/dw1 = {dJ_dyhat:.6f} * {dyhat_dz1:.6f} * {dz1_dw1:.6f} "
      f"= {dJ_dyhat * dyhat_dz1 * dz1_dw1:.6f}")
assert math.isclose(w1.grad, dJ_dyhat * dyhat_dz1 * dz1_dw1, rel_tol=1e-12)

# %% [markdown]
# The path of that product, drawn on the graph (the edges whose local derivatives are multiplied are red):

# %%
path_w1 = explain(J, w1).paths[0]
assert [node.label for node in path_w1.nodes] == ["J", "error", "y_hat", "a2", "z1", "a1", "w1"]
graph_w1 = draw_graph(J, highlight_path=path_w1, title="dJ/dw1: the path from w1 to J")
render(graph_w1, "03_path_w1.svg")
graph_w1

# %% [markdown]
# The whole graph after the backward pass, every node with its gradient:

# %%
graph = draw_graph(J)
render(graph, "03_backprop_graph.svg")
graph

# %% [markdown]
# ## Check it: central differences
#
# A gradient can be checked without the chain rule: $\frac{J(w + \epsilon) - J(w - \epsilon)}{2\epsilon}$.
# `gradcheck` does that for every input and compares with `backward()`.

# %%
report = gradcheck(network, Value(0.6, label="w1"), Value(-0.8, label="w2"))
print(report)
assert report.ok

# %% [markdown]
# ## "Repeat this for every weight in the network"
#
# A real network has many weights and many paths between each weight and the loss. One backward pass gives
# all the gradients at once, reusing each layer's gradient for the layer before it. Here a 2-3-1 network
# (13 parameters) on two samples; we check every gradient against central differences computed from the
# forward pass only.

# %%
model = MLP(2, [3, 1], activation="tanh", seed=0)
params = model.parameters()
samples = [([0.5, -1.0], 1.0), ([-0.3, 0.8], -1.0)]


def loss_of_model() -> Value:
    return sum((model(x) - y) ** 2 for x, y in samples) / len(samples)


model.zero_grad()
loss = loss_of_model()
loss.label = "J"
loss.backward()
backprop = np.array([p.grad for p in params])

eps = 1e-6
numeric = []
for p in params:
    p.data += eps
    plus = loss_of_model().data
    p.data -= 2 * eps
    minus = loss_of_model().data
    p.data += eps
    numeric.append((plus - minus) / (2 * eps))
numeric = np.array(numeric)
print(f"{len(params)} weights, largest |backprop - central difference| = {np.abs(backprop - numeric).max():.2e}")
assert np.allclose(backprop, numeric, rtol=1e-5, atol=1e-8)

# explain() counts the paths from each weight to J: first-layer weights reach J along several paths, and
# their gradient is the sum over all of them.
print(f"{'weight':10} {'paths':>5} {'sum of path products':>21} {'backprop':>10}")
for p in params:
    explanation = explain(loss, p)
    print(f"{p.label:10} {explanation.count:5d} {explanation.total:21.6f} {p.grad:10.6f}")
    assert math.isclose(explanation.total, p.grad, rel_tol=1e-9, abs_tol=1e-15)

# %%
fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
positions = np.arange(len(params))
ax.bar(positions - 0.2, backprop, width=0.4, label="backprop (one backward pass)")
ax.bar(positions + 0.2, numeric, width=0.4, label=f"central differences ({2 * len(params)} forward passes)")
ax.set_xticks(positions, [p.label for p in params], rotation=60, ha="right", fontsize=8)
ax.set(ylabel="dJ/dw", title="Every weight's gradient: backpropagation agrees with central differences")
ax.axhline(0, color="grey", linewidth=0.5)
ax.legend(fontsize=8)
fig.savefig("03_every_weight.png", dpi=100)

# %% [markdown]
# **What you should see:** two bars of the same height for every weight: backpropagation computes, in one
# pass, what central differences need two forward passes *per weight* to estimate.

# %% [markdown]
# ## Exercises
#
# Graded on the spot by `microgradx.exercises` against central differences and the rules of `backward()`
# ("not attempted yet" while the placeholder is there). Solutions: `tutorials/solutions/03_backprop.py`.
#
# **3.1** A chain like the lecture's: $z_1 = \tanh(w_1 x)$, $\hat y = w_2 z_1$, $J = (\hat y - y)^2$ with
# $x = 2$, $w_1 = 0.5$, $w_2 = -1$, $y = 0.5$. Compute $\partial J / \partial w_1$ as a product of local
# derivatives (no `Value`, no `backward()`: `math` only).

# %%
from microgradx.exercises import backprop as exercises

print(exercises.CHAIN)
chain_rule_answer = None   # your number
exercises.check_chain_rule(chain_rule_answer)

# %% [markdown]
# **3.2** Predict, then run: `a = Value(3.0)`, `b = a * a`, `b.backward()`. What is `a.grad`? Write your
# prediction first; the cell after it runs the code.

# %%
reused_answer = None   # your prediction
exercises.check_reused_node(reused_answer)

# %%
a = Value(3.0, label="a")
b = a * a
b.backward()
print(f"a.grad = {a.grad}: the two edges from a into b each contribute {a.data}")
assert a.grad == 2 * a.data

# %% [markdown]
# **3.3** Predict, then run: `w = Value(2.0)`, `L = 3 * w`, then `L.backward()` **twice**, without resetting.
# What is `w.grad`?

# %%
two_passes_answer = None   # your prediction
exercises.check_two_backward_passes(two_passes_answer)

# %%
w = Value(2.0, label="w")
L = 3 * w
L.backward()
L.backward()
print(f"w.grad = {w.grad}")
assert w.grad == 2 * 3.0   # leaves accumulate: a training loop resets them (zero_grad) every step
