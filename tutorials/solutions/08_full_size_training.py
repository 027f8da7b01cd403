"""Solutions to the exercises of tutorial 8."""

import numpy as np

# 8.1: (64 x 64 + 64) + (64 x 10 + 10)
weight_count = 64 * 64 + 64 + 64 * 10 + 10


# 8.2: one permutation for x and y; the last `fraction` of it is the validation part
def split(x_train, y_train, fraction, seed):
    order = np.random.default_rng(seed).permutation(len(x_train))
    n_val = int(round(fraction * len(x_train)))
    fit, val = order[n_val:], order[:n_val]
    return x_train[fit], y_train[fit], x_train[val], y_train[val]
