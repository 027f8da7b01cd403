"""Device functions: the scalar and row maths the CUDA kernels share with the CPU kernels.

Written once as plain Python in :mod:`microgradx.kernels.activations`, :mod:`microgradx.kernels.losses`
and :mod:`microgradx.kernels.rng` (the CPU kernels compile the same functions with
``njit(inline="always")``), compiled here with ``cuda.jit(device=True)`` by
:func:`microgradx.kernels.jit.compile_functions`, which binds the names the functions call to their
device versions (no copy of any formula):

* ``activate(code, z)`` and ``activate_derivative(code, y)`` (derivative from the output ``y``);
* ``softmax_row`` and ``softmax_backward_row``: a softmax layer's row, forward and backward;
* ``crossentropy_row`` and ``elementwise_row``: one row of every loss (forward, backward and the
  fused variants), with ``elementwise_term`` for one element of the losses averaged over the last axis;
* ``hash_uniform(seed, step, index)``: the counter-based dropout RNG, bit-identical on both targets.

Optimizer rules are compiled where they are used (:mod:`microgradx.kernels.cuda.optimizers`).
"""

from __future__ import annotations

import numba
from numba import cuda

from .. import activations as _activations
from .. import losses as _losses
from .. import rng as _rng
from ..jit import compile_functions, wrapping

__all__ = ["activate", "activate_derivative", "softmax_row", "softmax_backward_row", "elementwise_term",
           "crossentropy_row", "elementwise_row", "hash_uniform", "mix64"]

_device = cuda.jit(device=True)

activate, activate_derivative, softmax_row, softmax_backward_row = compile_functions(
    _device, _activations.activate, _activations.activate_derivative, _activations.softmax_row,
    _activations.softmax_backward_row)
elementwise_term, _, _, crossentropy_row, elementwise_row = compile_functions(_device, *_losses.ROW_FUNCTIONS)
mix64, hash_uniform = compile_functions(wrapping(_device, numba.config.ENABLE_CUDASIM), _rng.mix64, _rng.hash_uniform)
