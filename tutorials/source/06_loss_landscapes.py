# %% [markdown]
# # 6. Loss landscapes
#
# *Lecture slides: "Training Neural Networks is Difficult" ("Visualizing the loss landscape of neural nets",
# Li et al., Dec 2017), "Loss Functions Can Be Difficult to Optimize".*
#
# The loss $J(W)$ is a function of *all* the weights: thousands of dimensions even for a small network. Li et
# al. look at it on a line or a plane through the trained weights $\theta^*$:
#
# $$f(\alpha) = J(\theta^* + \alpha\,\delta) \qquad f(\alpha, \beta) = J(\theta^* + \alpha\,\delta + \beta\,\eta)$$
#
# with random directions $\delta, \eta$ that are **filter-normalised**: each neuron's slice of the direction is
# as long as that neuron's weights, so that $\alpha = 1$ means "move every neuron by its own size".

# %%
import math

import numpy as np

import microgradx as mgx
from microgradx.viz.landscape import (WeightTrajectory, filter_normalized_direction, hard_landscape, loss_line,
                                      plot_hard_landscape, plot_landscape, plot_trajectory, trajectory_pca,
                                      unflatten)

# %% [markdown]
# ## Train a small network, recording its weights after every epoch
#
# Two moons, a 2-16-16-1 ReLU network, Adam. The `WeightTrajectory` callback keeps a copy of the weights after
# each epoch so that we can draw the path training took.

# %%
mgx.utils.set_random_seed(0)
x, y = mgx.datasets.moons(n=300, noise=0.2, seed=0)
model = mgx.Sequential([
    mgx.layers.Input(shape=(2,)),
    mgx.layers.Dense(16, activation="relu"),
    mgx.layers.Dense(16, activation="relu"),
    mgx.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=mgx.optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy",
              metrics=["accuracy"], engine="cpu", dtype="float64")
trajectory = WeightTrajectory()
history = model.fit(x, y, batch_size=32, epochs=40, callbacks=[trajectory], verbose=0)
trained_loss, trained_accuracy = model.evaluate(x, y, verbose=0)
print(f"{model.count_params()} weights; after 40 epochs: loss {trained_loss:.4f}, accuracy {trained_accuracy:.3f}")
assert trained_accuracy > 0.9
assert len(trajectory.snapshots) == 41   # the initial weights + one snapshot per epoch

# %% [markdown]
# ## A filter-normalised direction
#
# For a Dense kernel of shape `(inputs, units)`, column $j$ holds the weights of neuron $j$. The direction is
# Gaussian noise rescaled column by column to the norm of that column; biases get a zero direction.

# %%
weights = model.get_weights()
direction = filter_normalized_direction(weights, seed=0)
for w, d in zip(weights, direction):
    if w.ndim == 2:
        assert np.allclose(np.linalg.norm(d, axis=0), np.linalg.norm(w, axis=0))  # one norm per neuron
    else:
        assert not d.any()                                                          # biases: zero
print([f"{w.shape}" for w in weights])

# %% [markdown]
# ## The 1-D slice: its centre is the trained model

# %%
alphas, losses, accuracies = loss_line(model, x, y, direction, alphas=np.linspace(-1, 1, 21))
centre = losses[len(alphas) // 2]
print(f"J(θ* + 0 δ) = {centre:.6f}   model.evaluate = {trained_loss:.6f}")
assert alphas[len(alphas) // 2] == 0.0 and math.isclose(centre, trained_loss, rel_tol=1e-9)
assert losses[0] > centre and losses[-1] > centre    # moving a whole neuron-length away costs loss
assert accuracies[len(alphas) // 2] == accuracies.max()  # and the accuracy is highest at the trained weights
assert np.allclose(model.get_weights()[0], weights[0])   # the model got its own weights back

# %% [markdown]
# ## 1-D, 2-D and 3-D pictures of the landscape

# %%
fig = plot_landscape(model, x, y, points=41, save="06_landscape.png")
fig

# %% [markdown]
# **What you should see:** left, a valley with the trained weights (star) at the bottom and the accuracy
# (dashed) highest there; middle, closed contours around the star; right, the same plane as a bowl-shaped
# surface. Around this small network's weights the landscape is smooth: the opposite of the lecture's slide.
#
# ## Why the slide says "difficult": deep narrow networks and barriers between minima
#
# Li et al.'s chaotic surface belongs to a *deep* network without skip connections. We can see the same thing
# at our scale: the same two moons, a shallow 2-16-1 network and a deep narrow one (six hidden layers of 8
# units), each plane drawn as $\log_{10}$ of the loss, with the local minima of the sampled grid marked. And
# a second, direction-free test of convexity: train from two seeds $a$ and $b$ and walk the straight line
# $(1 - t)\,\theta_a + t\,\theta_b$. A convex loss could not rise above its two ends on that line.

# %%
hard = hard_landscape()          # 41 x 41 planes, three pairs of seeds per network (a few seconds)
shallow, deep = hard.networks
for name in hard.networks:
    print(f"{name}: {hard.minima(name)} local minima on the grid; barriers between minima "
          f"{np.round(hard.barriers(name), 3).tolist()}")
assert hard.minima(shallow) <= 2 and hard.minima(deep) >= 4          # one basin vs a chaotic surface
assert all(np.all(hard.barriers(name) > 0.1) for name in hard.networks)   # every line crosses a barrier
assert hard.barriers(deep).mean() > 0.5
fig = plot_hard_landscape(hard, save="06_hard_landscape.png")
fig

# %% [markdown]
# Swapping two hidden units (their incoming weights, their bias and their outgoing weights) gives *the same*
# function, so every minimum has many copies in weight space:

# %%
k1, b1, k2, b2, k3, b3 = model.get_weights()
swap = np.arange(16)
swap[[0, 1]] = [1, 0]
permuted = [k1[:, swap], b1[swap], k2[swap], b2, k3, b3]
before = model.predict(x, verbose=0)
model.set_weights(permuted)
after = model.predict(x, verbose=0)
model.set_weights([k1, b1, k2, b2, k3, b3])
assert np.allclose(before, after, rtol=1e-12) and not np.allclose(permuted[0], k1)
print("the same predictions from different weights: units 1 and 2 of the first hidden layer swapped")

# %% [markdown]
# **What you should see:** left, one basin; middle, a narrow, steep basin around the trained weights with
# several other dips and ridges around it; right, the loss rising in the middle of the line between two good
# minima: for the deep network by most of the loss of a random guess (0.69), even for the shallow one. Part of
# the reason: swapping two hidden units gives the same function, so the same minimum exists at many places
# in weight space, and the straight line between two copies leaves the valley.
#
# ## The path training took
#
# The weights after every epoch, $\theta_0 \dots \theta_T$, are projected on the two directions along which they
# moved the most (the principal components of $\theta_t - \theta_T$) and drawn over the loss in that plane.

# %%
coords, directions, explained = trajectory_pca(trajectory.snapshots)
print(f"the two principal directions explain {explained[0]:.0%} and {explained[1]:.0%} of the movement")
assert np.allclose(coords[-1], 0.0) and 0 < explained.sum() <= 1 + 1e-12
assert np.allclose(directions @ directions.T, np.eye(2), atol=1e-10)   # orthonormal directions

fig = plot_trajectory(model, x, y, trajectory, points=41, save="06_trajectory.png")
fig

# %% [markdown]
# **What you should see:** the path starts at the square (the random initial weights, on higher ground) and runs
# downhill across the contours to the star; most of the movement lies along one direction. The title says
# whether the plane still goes lower beyond the star (training had not converged yet) or not.

# %%
model.set_weights(unflatten(trajectory.snapshots[0], weights))   # the weights before training
initial_loss = model.evaluate(x, y, verbose=0)[0]
model.set_weights(weights)
final_loss = model.evaluate(x, y, verbose=0)[0]
print(f"loss at the initial weights {initial_loss:.3f}, at the end {final_loss:.3f}; "
      f"{explained[0]:.0%} of the movement along the first direction")
assert initial_loss > final_loss and explained[0] > 0.5

# %% [markdown]
# ## Exercises
#
# Graded on the spot by `microgradx.exercises` ("not attempted yet" while the placeholder is there).
# Solutions: `tutorials/solutions/06_loss_landscapes.py`.
#
# **6.1** Filter normalisation for one Dense kernel of shape `(inputs, units)`: rescale each neuron's slice
# of the random direction to the length of that neuron's weights.

# %%
from microgradx.exercises import landscapes as exercises


def my_normalize(direction: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    raise NotImplementedError("your code")


exercises.check_filter_normalize(my_normalize)

# %% [markdown]
# **6.2** Along the straight line between two minima the loss may rise: the *barrier* is how far its highest
# point lies above the higher of the two ends (0 if it never does). Write `barrier(losses)`.

# %%
def my_barrier(losses: list[float]) -> float:
    raise NotImplementedError("your code")


exercises.check_barrier(my_barrier)
