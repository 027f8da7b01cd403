"""numba-cuda kernels of the CUDA engine (imported as ``microgradx.kernels.cuda``).

One concept per module:

* :mod:`.device`: the plain scalar math shared with the CPU kernels (activations, the hash RNG),
  compiled as ``cuda.jit(device=True)`` functions;
* :mod:`.gemm`: the tiled shared-memory matrix product ``op(A) @ op(B)`` with the Dense layer's
  epilogues fused (bias + activation forward; activation derivative and bias column sums backward);
* :mod:`.elementwise`: row gathers, dropout forward/backward, row-wise softmax;
* :mod:`.losses`: every loss's forward and backward in one row kernel (softmax + cross-entropy fused),
  reduced in float64 inside one block;
* :mod:`.optimizers`: gradient norms (block reductions) and the fused update of all five optimizers
  on flat device buffers, with clipping and weight decay;
* :mod:`.metrics`: the number of correct predictions of a batch, accumulated on the device.

Importing this package imports ``numba.cuda`` (through the submodules, on first use); ``import
microgradx`` and the CPU engine never do. Kernels work on device arrays and numbers only.
"""

from . import _compat  # noqa: F401,E402  (before numba-cuda compiles anything)
