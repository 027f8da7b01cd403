"""Device functions: the scalar math the CUDA kernels share with the CPU kernels, compiled for the GPU.

Written once as plain Python in :mod:`microgradx.kernels.activations` and :mod:`microgradx.kernels.rng`
(the CPU kernels compile the same functions with ``njit(inline="always")``), compiled here with
``cuda.jit(device=True)``:

* ``activate(code, z)`` and ``activate_derivative(code, y)`` (derivative from the output ``y``);
* ``hash_uniform(seed, step, index)``: the counter-based dropout RNG, bit-identical on both targets;
* ``elementwise_term(kind, y, x, from_logits, lo, hi, fused)``: one element's loss and derivative for the
  losses averaged over the last axis (BCE, MSE, MAE, hinge), from :mod:`microgradx.kernels.losses`.

Nothing else in this module: CUDA-only helpers live next to the kernels that use them.
"""

from __future__ import annotations

import types

from numba import cuda

from .. import activations as _activations
from .. import losses as _losses
from .. import rng as _rng

__all__ = ["activate", "activate_derivative", "elementwise_term", "hash_uniform", "mix64"]

activate = cuda.jit(device=True)(_activations.activate)
activate_derivative = cuda.jit(device=True)(_activations.activate_derivative)

elementwise_term = cuda.jit(device=True)(_losses.elementwise_term)

mix64 = cuda.jit(device=True)(_rng.mix64)


def _rebind(function: types.FunctionType, **names: object) -> types.FunctionType:
    """The same code as ``function`` with some of its global names bound to other objects.

    ``rng.hash_uniform`` calls ``mix64`` by its global name; the device version must call the device
    ``mix64``. Rebinding the name (not copying the source) keeps the formula written exactly once.
    """
    scope = dict(function.__globals__)
    scope.update(names)
    return types.FunctionType(function.__code__, scope, function.__name__, function.__defaults__,
                              function.__closure__)


hash_uniform = cuda.jit(device=True)(_rebind(_rng.hash_uniform, mix64=mix64))
