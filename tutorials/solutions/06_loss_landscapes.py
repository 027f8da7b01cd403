"""Solutions to the exercises of tutorial 6."""

import numpy as np


# 6.1: column j (neuron j) rescaled to the kernel's column norm
def normalize(direction, kernel):
    return direction / np.linalg.norm(direction, axis=0) * np.linalg.norm(kernel, axis=0)


# 6.2
def barrier(losses):
    return max(0.0, max(losses) - max(losses[0], losses[-1]))
