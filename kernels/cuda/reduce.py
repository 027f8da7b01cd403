"""The block-wide sum shared by the one-block reductions (loss totals, gradient norms).

``block_sum(partial, value)``: every thread of a block of ``blockDim.x`` threads (a power of two, at
most ``partial.shape[0]``) passes its ``value``; a shared-memory tree adds them pairwise, halving the
active threads each round, in a fixed order, so the sum is deterministic::

    partial[t] = value_t;   for w = B/2, B/4, ..., 1:  partial[t] += partial[t + w]  (t < w)

Every thread must call it (it synchronises the block) and every thread gets the sum. ``partial`` is a
``cuda.shared.array`` the calling kernel declares (float64 for the engine's reductions).
"""

from __future__ import annotations

from numba import cuda

__all__ = ["block_sum"]


@cuda.jit(device=True)
def block_sum(partial, value):
    t = cuda.threadIdx.x
    partial[t] = value
    cuda.syncthreads()
    width = cuda.blockDim.x // 2
    while width > 0:
        if t < width:
            partial[t] += partial[t + width]
        cuda.syncthreads()
        width //= 2
    return partial[0]
