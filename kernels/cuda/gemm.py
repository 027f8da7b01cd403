"""The tiled shared-memory matrix product, with the Dense layer's epilogues fused.

One kernel family computes ``C = op(A) @ op(B)`` where ``op`` is the identity or the transpose, read
straight from memory (no transposed copy is ever made):

=====================  ==========================  ========================================
Dense layer step       product                      fused epilogue
=====================  ==========================  ========================================
forward                ``Y = X W``                  ``Y = f(Y + b)`` (bias, activation ``f``)
weight gradient        ``dW = X^T dZ``  (trans_a)   ``db = sum_rows dZ`` (float64 column sums)
input gradient         ``dX = dZ W^T``  (trans_b)   ``dX *= f_prev'(Y_prev)`` (previous layer's f')
=====================  ==========================  ========================================

Tiling (:class:`TileConfig`): each block computes a ``block_m x block_n`` tile of C. For each step of
``block_k`` along the shared dimension the block's threads copy an ``A`` tile and a ``B`` tile into
shared memory (coalesced: consecutive threads read consecutive addresses whichever operand is
transposed), synchronise, and every thread multiplies a ``thread_m`` column fragment by a ``thread_n``
row fragment into its ``thread_m x thread_n`` register accumulator (outer products, so each shared
value read feeds ``thread_m`` or ``thread_n`` multiply-adds). A thread owns rows ``ty + i * (block_m //
thread_m)`` and columns ``tx + j * (block_n // thread_n)`` of the tile: strided, so that a warp's global
stores are contiguous and its shared reads are conflict-free or broadcasts. Ragged edges (sizes that
are not a multiple of the tile) load zeros and skip the stores.

The bias-gradient column sums ride along in the weight-gradient product: ``dZ`` is the ``B`` operand
there, and the first row of blocks already reads every row of it, tile by tile, in a fixed order, so
its first thread row adds each shared tile's columns into float64 registers (deterministic).

Accumulation is in the array dtype (float32 like cuBLAS without TF32, or float64).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import cuda, float32, float64

from ..activations import LINEAR, SOFTMAX
from .device import activate, activate_derivative

__all__ = [
    "TileConfig", "THIN_TILES", "SMALL_TILES", "LARGE_TILES", "TILE", "EPILOGUE_STORE",
    "EPILOGUE_BIAS_ACTIVATE",
    "EPILOGUE_ACTIVATION_GRAD", "gemm_kernel", "matmul", "choose_tiles",
]


class TileConfig(NamedTuple):
    """Block tile ``block_m x block_n``, step ``block_k``, per-thread register tile ``thread_m x thread_n``.

    Threads per block: ``(block_m // thread_m) * (block_n // thread_n)``.
    """

    block_m: int
    block_n: int
    block_k: int
    thread_m: int
    thread_n: int

    @property
    def threads(self) -> tuple[int, int]:
        """The block shape ``(x, y)``: ``block_n // thread_n`` by ``block_m // thread_m`` threads."""
        return (self.block_n // self.thread_n, self.block_m // self.thread_m)


#: 64 x 64 tiles, 4 x 4 per thread, 256 threads: many blocks for the small products of a training step.
SMALL_TILES = TileConfig(64, 64, 16, 4, 4)
#: 128 x 128 tiles, 8 x 8 per thread, 256 threads: more work per shared read, for large products.
LARGE_TILES = TileConfig(128, 128, 8, 8, 8)
#: 32 x 32 tiles, 2 x 2 per thread, 256 threads: enough blocks for the thin products of small batches.
THIN_TILES = TileConfig(32, 32, 16, 2, 2)
#: the shared-memory step along the inner dimension of the default tiles.
TILE = SMALL_TILES.block_k

#: ``C = acc``
EPILOGUE_STORE = 0
#: ``C = f(acc + bias)`` (``f`` an elementwise activation code; bias optional)
EPILOGUE_BIAS_ACTIVATE = 1
#: ``C = acc * f'(aux)`` where ``aux`` is the output of the activation ``f`` (derivative from the output)
EPILOGUE_ACTIVATION_GRAD = 2

#: products with at least this many output tiles of :data:`LARGE_TILES` use them (two waves of blocks
#: on a 132-SM H100); smaller ones use :data:`SMALL_TILES` for more parallelism.
LARGE_TILES_MIN_BLOCKS = 264
#: products with fewer tiles of :data:`SMALL_TILES` than this (one block per SM of an H100) use
#: :data:`THIN_TILES`.
SMALL_TILES_MIN_BLOCKS = 132


@functools.lru_cache(maxsize=None)
def gemm_kernel(trans_a: bool, trans_b: bool, config: TileConfig, dtype_name: str):
    """The compiled kernel for one (transpose flags, tiles, dtype) combination (built once, cached).

    The flags and tile sizes are closure constants, so the compiler sees fixed loop bounds and can
    unroll the register tile into registers.
    """
    bm, bn, bk, tm, tn = config
    ntx, nty = config.threads
    threads = ntx * nty
    if bm * bk % threads or bk * bn % threads:
        raise ValueError(f"tile config {config} does not divide into {threads} threads")
    a_loads = bm * bk // threads
    b_loads = bk * bn // threads
    value_type = float32 if dtype_name == "float32" else float64
    a_tile_shape = (bk, bm + 1)  # +1 column of padding: transposing stores hit distinct banks
    b_tile_shape = (bk, bn + 1)
    acc_shape = (tm, tn)
    bias_act = EPILOGUE_BIAS_ACTIVATE
    act_grad = EPILOGUE_ACTIVATION_GRAD

    @cuda.jit
    def gemm(a, b, out, bias, aux, colsum, epilogue, code, use_bias, do_colsum):
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * ntx + tx
        row0 = cuda.blockIdx.y * bm
        col0 = cuda.blockIdx.x * bn
        if trans_a:
            m_size = a.shape[1]
            k_size = a.shape[0]
        else:
            m_size = a.shape[0]
            k_size = a.shape[1]
        n_size = out.shape[1]
        # one declaration per line: the simulator keys shared arrays by source line
        a_tile = cuda.shared.array(a_tile_shape, value_type)
        b_tile = cuda.shared.array(b_tile_shape, value_type)
        acc = cuda.local.array(acc_shape, value_type)
        a_frag = cuda.local.array(tm, value_type)
        b_frag = cuda.local.array(tn, value_type)
        sums = cuda.local.array(tn, float64)
        for i in range(tm):
            for j in range(tn):
                acc[i, j] = 0
        for j in range(tn):
            sums[j] = 0
        summing = do_colsum and cuda.blockIdx.y == 0 and ty == 0

        for k0 in range(0, k_size, bk):
            for r in range(a_loads):
                e = tid + r * threads
                if trans_a:  # A[m, k] = a[k, m]: consecutive threads walk m, contiguous in a
                    mm = e % bm
                    kk = e // bm
                else:  # consecutive threads walk k, contiguous in a
                    kk = e % bk
                    mm = e // bk
                gm = row0 + mm
                gk = k0 + kk
                if gm < m_size and gk < k_size:
                    if trans_a:
                        a_tile[kk, mm] = a[gk, gm]
                    else:
                        a_tile[kk, mm] = a[gm, gk]
                else:
                    a_tile[kk, mm] = 0
            for r in range(b_loads):
                e = tid + r * threads
                if trans_b:  # B[k, n] = b[n, k]: consecutive threads walk k, contiguous in b
                    kk = e % bk
                    nn = e // bk
                else:
                    nn = e % bn
                    kk = e // bn
                gn = col0 + nn
                gk = k0 + kk
                if gn < n_size and gk < k_size:
                    if trans_b:
                        b_tile[kk, nn] = b[gn, gk]
                    else:
                        b_tile[kk, nn] = b[gk, gn]
                else:
                    b_tile[kk, nn] = 0
            cuda.syncthreads()
            kk = 0
            while kk < bk:  # a counted while loop: the compiler unrolls it (a range loop it does not)
                for i in range(tm):
                    a_frag[i] = a_tile[kk, ty + i * nty]
                for j in range(tn):
                    b_frag[j] = b_tile[kk, tx + j * ntx]
                for i in range(tm):
                    for j in range(tn):
                        acc[i, j] += a_frag[i] * b_frag[j]
                kk += 1
            if summing:
                for kk in range(bk):
                    for j in range(tn):
                        sums[j] += b_tile[kk, tx + j * ntx]
            cuda.syncthreads()

        for i in range(tm):
            gm = row0 + ty + i * nty
            if gm < m_size:
                for j in range(tn):
                    gn = col0 + tx + j * ntx
                    if gn < n_size:
                        v = acc[i, j]
                        if epilogue == bias_act:
                            if use_bias:
                                v += bias[gn]
                            out[gm, gn] = activate(code, v)
                        elif epilogue == act_grad:
                            out[gm, gn] = v * activate_derivative(code, aux[gm, gn])
                        else:
                            out[gm, gn] = v
        if summing:
            for j in range(tn):
                gn = col0 + tx + j * ntx
                if gn < n_size:
                    colsum[gn] = sums[j]

    return gemm


@functools.lru_cache(maxsize=None)
def _placeholder(dtype_name: str, ndim: int):
    """A one-element device array standing in for an unused optional operand (kept per dtype/rank)."""
    return cuda.to_device(np.zeros((1,) * ndim, dtype=dtype_name))


#: when set, every product uses these tiles (tests in the simulator use tiny tiles: it runs one OS
#: thread per GPU thread, so fewer threads per block make a test step much faster).
FORCED_TILES: TileConfig | None = None


def choose_tiles(m: int, n: int) -> TileConfig:
    """The tiles for an ``m x n`` output: the largest of :data:`LARGE_TILES`, :data:`SMALL_TILES` and
    :data:`THIN_TILES` that still gives enough blocks to fill the GPU (:data:`FORCED_TILES` when set)."""
    if FORCED_TILES is not None:
        return FORCED_TILES
    def blocks(tiles: TileConfig) -> int:
        return -(-m // tiles.block_m) * -(-n // tiles.block_n)

    if blocks(LARGE_TILES) >= LARGE_TILES_MIN_BLOCKS:
        return LARGE_TILES
    if blocks(SMALL_TILES) >= SMALL_TILES_MIN_BLOCKS:
        return SMALL_TILES
    return THIN_TILES


def matmul(a, b, out, *, trans_a: bool = False, trans_b: bool = False, bias=None,
           activation: int = LINEAR, activation_grad_of=None, colsum=None,
           tiles: TileConfig | None = None, stream=0) -> None:
    """``out = op(a) @ op(b)`` on the device, with one optional fused epilogue.

    Args:
        a, b, out: 2-D C-contiguous device arrays of one float dtype; ``op(a)`` is ``a.T`` when
            ``trans_a`` (likewise ``b``), read in place.
        bias: ``out = f(out + bias)`` with ``f`` = ``activation`` (an elementwise code of
            :mod:`microgradx.kernels.activations`; softmax is row-wise: apply it separately).
        activation_grad_of: ``out *= f'(y)`` with ``y = activation_grad_of`` (same shape as ``out``),
            ``f`` = ``activation`` (the derivative from the activation's output).
        colsum: ``colsum[j] = sum_k op(b)[k, j]`` accumulated in float64 (the bias gradient when
            ``op(b) = dZ``); requires ``trans_b=False``.
        tiles: the tile configuration (default: :func:`choose_tiles`).
    """
    m, k = (a.shape[1], a.shape[0]) if trans_a else (a.shape[0], a.shape[1])
    kb, n = (b.shape[1], b.shape[0]) if trans_b else (b.shape[0], b.shape[1])
    if k != kb or out.shape != (m, n):
        raise ValueError(f"matmul shapes do not match: op(a) is {(m, k)}, op(b) is {(kb, n)}, "
                         f"out is {tuple(out.shape)}; expected out of shape {(m, n)}")
    if activation == SOFTMAX:
        raise ValueError("softmax is row-wise: multiply with activation=LINEAR, then apply softmax_rows")
    if colsum is not None and trans_b:
        raise ValueError("colsum (the bias gradient) needs the untransposed B operand (trans_b=False)")
    dtype_name = np.dtype(out.dtype).name
    if activation_grad_of is not None:
        epilogue = EPILOGUE_ACTIVATION_GRAD
    elif bias is not None or activation != LINEAR:
        epilogue = EPILOGUE_BIAS_ACTIVATE
    else:
        epilogue = EPILOGUE_STORE
    if m == 0 or n == 0:
        return
    config = tiles if tiles is not None else choose_tiles(m, n)
    kernel = gemm_kernel(bool(trans_a), bool(trans_b), config, dtype_name)
    grid = (-(-n // config.block_n), -(-m // config.block_m))
    kernel[grid, config.threads, stream](
        a, b, out,
        bias if bias is not None else _placeholder(dtype_name, 1),
        activation_grad_of if activation_grad_of is not None else _placeholder(dtype_name, 2),
        colsum if colsum is not None else _placeholder(dtype_name, 1),
        epilogue, int(activation), bias is not None, colsum is not None)
