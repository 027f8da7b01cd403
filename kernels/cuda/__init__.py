"""numba-cuda kernels of the CUDA engine (imported as ``microgradx.kernels.cuda``).

One concept per module:

* :mod:`.device`: the plain scalar math shared with the CPU kernels (activations, the hash RNG),
  compiled as ``cuda.jit(device=True)`` functions;
* :mod:`.gemm`: the tiled shared-memory matrix product ``op(A) @ op(B)`` with the Dense layer's
  epilogues fused (bias + activation forward; activation derivative and bias column sums backward);
* :mod:`.elementwise`: row gathers, dropout forward/backward, row-wise softmax;
* :mod:`.losses`: every loss's forward and backward in one row kernel (softmax + cross-entropy fused),
  reduced in float64 inside one block;
* :mod:`.optimizers`: gradient norms (block reductions) and the fused update kernel compiled from
  an optimizer's scalar rule, with clipping and weight decay, on flat device buffers;
* :mod:`.reduce`: the deterministic block-wide sum those one-block reductions share;
* :mod:`.launch`: every launch goes through ``launch(kernel, grid, block, *args)``, which caches the
  compiled kernel, the marshalled device arrays and the launch configuration (about 11 µs a launch
  on an H100 instead of 25-70 µs), and ``rows``, a batch's rows of an epoch array without slicing it.

Importing this package imports ``numba.cuda`` (through the submodules, on first use); ``import
microgradx`` and the CPU engine never do. Kernels work on device arrays and numbers only.
"""

from . import _compat  # noqa: F401,E402  (before numba-cuda compiles anything)
