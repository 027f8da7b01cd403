"""Array-in, array-out compiled kernels (Numba CPU; CUDA under :mod:`microgradx.kernels.cuda`).

Kernels work on NumPy arrays and plain numbers only: nothing here imports the model layer
(``microgradx.models``, ``layers``, ``losses``, ``optimizers``). The engines in
:mod:`microgradx.engines` translate the model into calls of these functions.

Submodules are imported on first use, so ``import microgradx`` compiles nothing.
"""
