"""Solutions to the exercises of tutorial 5."""

import numpy as np

from microgradx.exercises.optimizers import ADAGRAD_GRADIENTS, ADAGRAD_INITIAL, RMSPROP_GRADIENT


# 5.1
def adam_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    m_hat = m / (1 - beta_1 ** t)
    v_hat = v / (1 - beta_2 ** t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


# 5.2: a plain sum of squares, from the initial value
adagrad_sum = ADAGRAD_INITIAL + sum(g ** 2 for g in ADAGRAD_GRADIENTS)

# 5.3: v = 0.1 g^2 after one step, so |step| / lr = |g| / sqrt(0.1 g^2 + 1e-7), about sqrt(10)
rmsprop_ratio = abs(RMSPROP_GRADIENT) / np.sqrt(0.1 * RMSPROP_GRADIENT ** 2 + 1e-7)
