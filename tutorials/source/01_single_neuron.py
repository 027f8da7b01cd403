# %% [markdown]
# # 1. A single neuron and its forward pass
#
# *Lecture slides: "Neural Networks", "Single Layer Neural Network".*
#
# A neuron takes inputs $x_1, \dots, x_m$, multiplies each by a weight, adds a bias $w_0$ and passes the sum
# through a nonlinearity $g$:
#
# $$\hat y = g\Big(w_0 + \sum_{i=1}^m x_i w_i\Big) = g(z)$$
#
# In microgradx every number of that computation is a `Value`: a node of a graph that remembers which
# operation made it and from which inputs. The graph is what backpropagation (notebook 3) walks backwards.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradx import Value
from microgradx.nn import Layer, Neuron
from microgradx.viz.graph import draw_graph, render

# %% [markdown]
# ## The forward pass, one operation at a time
#
# Two inputs, two weights, a bias, and the sigmoid $g(z) = 1 / (1 + e^{-z})$. Labels name the nodes in the
# drawing and in every table of the next notebooks.

# %%
x1, x2 = Value(2.0, label="x1"), Value(-1.0, label="x2")
w1 = Value(0.8, label="w1", requires_grad=True)
w2 = Value(-0.5, label="w2", requires_grad=True)
w0 = Value(-0.4, label="w0", requires_grad=True)  # the bias

z = w0 + x1 * w1 + x2 * w2
z.label = "z"
y_hat = z.sigmoid()
y_hat.label = "y_hat"
print(z)
print(y_hat)

# %% [markdown]
# The same numbers by hand: $z = -0.4 + 2 \cdot 0.8 + (-1)(-0.5) = 1.7$ and $\hat y = 1/(1+e^{-1.7})$.

# %%
z_by_hand = -0.4 + 2.0 * 0.8 + (-1.0) * (-0.5)
assert math.isclose(z.data, 1.7) and math.isclose(z.data, z_by_hand)
assert math.isclose(y_hat.data, 1.0 / (1.0 + math.exp(-1.7)))
print(f"z = {z.data:.4f}, y_hat = g(z) = {y_hat.data:.4f}")

# %% [markdown]
# ## The graph of the neuron
#
# Each box is a `Value` (its label, its number and its gradient, still 0 because nothing has been
# backpropagated yet); each small node is the operation that produced it. Inputs are blue, weights green,
# intermediate results white and the output gold.

# %%
graph = draw_graph(y_hat)
render(graph, "01_neuron_graph.svg")
graph

# %% [markdown]
# **What you should see:** inputs and weights on the left flowing through `*`, `+` and `sigmoid` into
# `y_hat` on the right; every gradient is 0.

# %% [markdown]
# ## The nonlinearity $g$ and its slope
#
# The activation function decides how the neuron responds to $z$. Its slope $g'(z)$ is what
# backpropagation will multiply by. We compute both with `Value`: the forward pass gives $g(z)$ and a
# `backward()` from $g(z)$ gives $g'(z)$ in `z.grad`.

# %%
zs = np.linspace(-5, 5, 201)
curves = {}
for name in ("sigmoid", "tanh", "relu"):
    outputs, slopes = [], []
    for z_number in zs:
        z_node = Value(float(z_number), label="z")
        out = getattr(z_node, name)()
        out.backward()
        outputs.append(out.data)
        slopes.append(z_node.grad)
    curves[name] = (np.array(outputs), np.array(slopes))

# closed forms at z = 0: sigmoid'(0) = 1/4, tanh'(0) = 1
assert math.isclose(curves["sigmoid"][1][100], 0.25) and math.isclose(curves["tanh"][1][100], 1.0)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
for ax, (name, (outputs, slopes)) in zip(axes, curves.items()):
    ax.plot(zs, outputs, label=f"g(z) = {name}(z)")
    ax.plot(zs, slopes, "--", label="g'(z) from backward()")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set(xlabel="z", ylabel="output", title=name)
    ax.legend(fontsize=8)
fig.suptitle("Activation functions and their slopes (the local derivatives of backpropagation)")
fig.savefig("01_activations.png", dpi=100)

# %% [markdown]
# **What you should see:** the sigmoid squashes $z$ into (0, 1) and its slope peaks at 1/4 at $z = 0$;
# tanh squashes into (-1, 1) with slope 1 at 0; ReLU lets positive $z$ through with slope 1 and is flat
# (slope 0) for negative $z$.

# %% [markdown]
# ## The same neuron from `microgradx.nn`
#
# `Neuron(nin, activation)` packages the forward pass above: `act(b + w0*x0 + w1*x1 + ...)`, with labelled
# parameters. Given the same weights it gives the same number.

# %%
neuron = Neuron(2, "sigmoid", weights=[0.8, -0.5], bias=-0.4, name="neuron")
out = neuron([2.0, -1.0])
print(neuron, "->", out)
print([p.label for p in neuron.parameters()])
assert math.isclose(out.data, y_hat.data)

# %% [markdown]
# ## What a neuron computes over the whole input plane
#
# The output is a function of $(x_1, x_2)$. Where $z = 0$ it is exactly $1/2$: a straight line splits the
# plane, so one neuron draws one linear boundary.

# %%
grid = np.linspace(-3, 3, 61)
plane = np.array([[neuron([float(a), float(b)]).data for a in grid] for b in grid])

fig, ax = plt.subplots(figsize=(5.2, 4.2), layout="constrained")
filled = ax.contourf(grid, grid, plane, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
ax.contour(grid, grid, plane, levels=[0.5], colors="black", linewidths=2)
ax.plot([2.0], [-1.0], "k*", markersize=12, label=f"x = (2, -1): y_hat = {y_hat.data:.2f}")
fig.colorbar(filled, ax=ax, label="y_hat")
ax.set(xlabel="x1", ylabel="x2", title="y_hat = sigmoid(-0.4 + 0.8 x1 - 0.5 x2)")
ax.legend(loc="upper left", fontsize=8)
fig.savefig("01_neuron_plane.png", dpi=100)

# %% [markdown]
# **What you should see:** a smooth ramp from blue (output near 0) to red (near 1); the black line
# $-0.4 + 0.8 x_1 - 0.5 x_2 = 0$ is where the output is 1/2.

# %% [markdown]
# ## A single layer
#
# A layer is several neurons reading the same inputs; each has its own weights, so each draws its own line.
# `Layer(nin, nout)` returns one output per neuron.

# %%
layer = Layer(2, 3, "sigmoid", weights=np.array([[0.8, -0.5], [-1.0, 0.3], [0.2, 0.9]]), name="L0")
outputs = layer([2.0, -1.0])
print(layer)
for index, output in enumerate(outputs):
    w = np.array([p.data for p in layer.neurons[index].w])
    assert math.isclose(output.data, 1.0 / (1.0 + math.exp(-(w @ [2.0, -1.0]))))
    print(f"neuron {index}: y_hat = {output.data:.4f}")

# %% [markdown]
# ## The lecture's single-hidden-layer network
#
# Stack two layers and you get the network of the slide "Single Layer Neural Network": inputs
# $x_1 \dots x_m$, a hidden layer of $d_1$ units and the outputs $\hat y_1, \hat y_2$. Every input reaches
# every hidden unit through a weight of $W^{(1)}$, every hidden unit reaches every output through a weight of
# $W^{(2)}$, and each unit adds its own bias:
#
# $$z_i = w_{0,i}^{(1)} + \sum_{j=1}^{m} x_j\, w_{j,i}^{(1)} \qquad
# \hat y_i = g\Big(w_{0,i}^{(2)} + \sum_{j=1}^{d_1} g(z_j)\, w_{j,i}^{(2)}\Big)$$
#
# In code: `MLP(m, [d1, 2])` holds both layers (its last layer is linear, so we apply the output's $g$
# ourselves). The drawing has one line per weight; the code has one `Value` per weight and bias.

# %%
from microgradx.nn import MLP

m, d1, n_out = 3, 4, 2
network = MLP(m, [d1, n_out], activation="sigmoid", seed=0)
x_in = [0.5, -1.0, 2.0]
y_hats = [o.sigmoid() for o in network(x_in)]          # ŷ_i = g(...) on the output layer too

fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
columns = {"input": (0.0, [f"$x_{j + 1}$" for j in range(m)]),
           "hidden": (2.0, [f"$z_{j + 1}$" for j in range(d1)]),
           "output": (4.0, [f"$\\hat y_{j + 1}$" for j in range(n_out)])}
position = {name: [(x, (len(labels) - 1) / 2 - k) for k in range(len(labels))]
            for name, (x, labels) in columns.items()}
lines = 0
for (left, right), color, weights_name in ((("input", "hidden"), "tab:blue", "$W^{(1)}$"),
                                           (("hidden", "output"), "tab:orange", "$W^{(2)}$")):
    for start in position[left]:
        for end in position[right]:
            ax.plot(*zip(start, end), color=color, linewidth=1, zorder=1)
            lines += 1
    ax.text((position[left][0][0] + position[right][0][0]) / 2, 2.1, weights_name, ha="center", color=color,
            fontsize=12)
for name, (x, labels) in columns.items():
    for (px, py), label in zip(position[name], labels):
        ax.add_patch(plt.Circle((px, py), 0.3, facecolor="white", edgecolor="black", zorder=2))
        ax.text(px, py, label, ha="center", va="center", fontsize=11, zorder=3)
    ax.text(x, -2.4, {"input": "inputs", "hidden": "hidden layer", "output": "final output"}[name],
            ha="center", fontsize=10)
ax.set(xlim=(-0.6, 4.6), ylim=(-2.7, 2.5), aspect="equal",
       title=f"MLP({m}, [{d1}, {n_out}]): {lines} weights (lines) and {d1 + n_out} biases")
ax.axis("off")
fig.savefig("01_single_hidden_layer.png", dpi=100)

# one drawn line per weight, plus one bias per hidden and output unit: every Value of the model
assert lines == m * d1 + d1 * n_out
assert len(network.parameters()) == lines + d1 + n_out
# the formulas above, with NumPy and the model's own numbers, give the model's outputs
W1 = np.array([[p.data for p in neuron.w] for neuron in network.layers[0].neurons])   # (d1, m)
b1 = np.array([neuron.b.data for neuron in network.layers[0].neurons])
W2 = np.array([[p.data for p in neuron.w] for neuron in network.layers[1].neurons])   # (n_out, d1)
b2 = np.array([neuron.b.data for neuron in network.layers[1].neurons])


def g(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


z_hidden = b1 + W1 @ np.array(x_in)
assert np.allclose(g(b2 + W2 @ g(z_hidden)), [y.data for y in y_hats], rtol=1e-12)
print(f"ŷ = {[round(y.data, 4) for y in y_hats]} from {len(network.parameters())} parameters")

# %% [markdown]
# **What you should see:** three inputs on the left, each joined to all four hidden units (blue lines, the
# weights $W^{(1)}$), each hidden unit joined to both outputs (orange, $W^{(2)}$): $3 \cdot 4 + 4 \cdot 2 = 20$
# lines, and with the $4 + 2$ biases the 26 parameters of `network.parameters()`.

# %% [markdown]
# ## Exercises
#
# Each exercise cell ends with a checker from `microgradx.exercises` that grades your answer on the spot
# against an independent oracle (a closed form, central differences) and, when it is wrong, gives a hint.
# Left as it is, a cell answers "not attempted yet". Solutions: `tutorials/solutions/01_single_neuron.py`
# (try first!).
#
# **1.1** A neuron with inputs $x = (1.5, -2)$, weights $w = (0.4, 0.3)$, bias $w_0 = 0.2$ and the sigmoid.
# Compute $\hat y$ by hand (a calculator is fine) and put the number in `neuron_output`.

# %%
from microgradx.exercises import neuron as exercises

print(exercises.NEURON)
neuron_output = None   # your number
exercises.check_neuron_output(neuron_output)

# %% [markdown]
# **1.2** Every `Value` operation stores, next to its result, its *local derivative*: the number
# `backward()` multiplies the upstream gradient by. Write tanh's, using the output `t` (replace the `...`).
# The checker differentiates your op with `backward()` and compares with central differences of `math.tanh`,
# alone and inside bigger expressions.

# %%
def my_tanh(a: Value) -> Value:
    t = math.tanh(a.data)
    local = ...          # d tanh(a) / da, written with t
    return Value(t, _children=(a,), _op="tanh", _local_grads=(local,))


exercises.check_tanh(my_tanh)

# %% [markdown]
# **1.3** The lecture's single-hidden-layer network joins every input to every hidden unit and every hidden
# unit to every output; each hidden and output unit has a bias. Write `count_parameters(inputs, hidden,
# outputs)`.

# %%
def count_parameters(inputs: int, hidden: int, outputs: int) -> int:
    raise NotImplementedError("your code")


exercises.check_parameter_count(count_parameters)
