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
transposed; the next step's tiles are already loaded into registers while the current ones are
multiplied), synchronise, and every thread multiplies a ``thread_m`` column fragment by a ``thread_n``
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
from .launch import launch

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
#: products with fewer tiles of :data:`SMALL_TILES` than this (one block per SM of an H100), even after
#: splitting the inner dimension, use :data:`THIN_TILES`.
SMALL_TILES_MIN_BLOCKS = 128
#: split-K: at most this many slices of the inner dimension, each at least this long (per tile size).
SPLIT_K_MAX = 8
SPLIT_K_MIN_CHUNK_SMALL = 512
SPLIT_K_MIN_CHUNK_THIN = 128
#: products with a shorter inner dimension are never split. On an H100, splitting the MLP's forward
#: products (k <= 784) made them slower at every batch size (64 x 784 x 256: 30 µs whole, 41-44 µs split,
#: the second launch included), and splitting at batch 256 made a step slower (0.46 against 0.34 ms),
#: while the weight gradients of batch 1024 need it (256 x 256 with k = 1024 is 64 blocks of 64 tile
#: steps: 0.60 ms/step split against 0.86), and 256 x 10 with k = 8192 runs 512 tile steps in a row in
#: only 8 blocks unless it is split (batch 8192: 2.30 ms/step against 2.75).
SPLIT_K_MIN_INNER = 1024


@cuda.jit(device=True)
def _epilogue(v, epilogue, code, use_bias, bias, aux, gm, gn):
    """The fused epilogue of one output element ``v = (op(A) op(B))[gm, gn]`` (see the EPILOGUE_* codes)."""
    if epilogue == EPILOGUE_BIAS_ACTIVATE:
        if use_bias:
            v += bias[gn]
        return activate(code, v)
    if epilogue == EPILOGUE_ACTIVATION_GRAD:
        return v * activate_derivative(code, aux[gm, gn])
    return v


@cuda.jit
def _split_k_reduce(partial, colsum_partial, out, bias, aux, colsum, epilogue, code, use_bias, do_colsum):
    """``out = epilogue(sum_z partial[z])`` and ``colsum = sum_z colsum_partial[z]``, summed in float64 in
    split order (deterministic); one thread per output element."""
    e = cuda.grid(1)
    n_size = out.shape[1]
    if e < out.shape[0] * n_size:
        gm = e // n_size
        gn = e - gm * n_size
        v = float64(0.0)
        for z in range(partial.shape[0]):
            v += partial[z, gm, gn]
        out[gm, gn] = _epilogue(v, epilogue, code, use_bias, bias, aux, gm, gn)
        if do_colsum and gm == 0:
            c = float64(0.0)
            for z in range(colsum_partial.shape[0]):
                c += colsum_partial[z, gn]
            colsum[gn] = c


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

    @cuda.jit(device=True)
    def a_position(e):
        """(k, m) in the A tile of the e-th element a block copies: consecutive threads read
        consecutive addresses (m when A is read transposed, k otherwise)."""
        if trans_a:
            return e // bm, e % bm
        return e % bk, e // bk

    @cuda.jit(device=True)
    def b_position(e):
        """(k, n) in the B tile of the e-th element a block copies (coalesced, as for A)."""
        if trans_b:
            return e % bk, e // bk
        return e // bn, e % bn

    @cuda.jit(device=True)
    def load_a(a, e, row0, k0, m_size, k_end):
        kk, mm = a_position(e)
        gm = row0 + mm
        gk = k0 + kk
        if gm < m_size and gk < k_end:
            if trans_a:
                return a[gk, gm]
            return a[gm, gk]
        return value_type(0)

    @cuda.jit(device=True)
    def load_b(b, e, col0, k0, n_size, k_end):
        kk, nn = b_position(e)
        gn = col0 + nn
        gk = k0 + kk
        if gn < n_size and gk < k_end:
            if trans_b:
                return b[gn, gk]
            return b[gk, gn]
        return value_type(0)

    @cuda.jit
    def gemm(a, b, out, bias, aux, colsum, partial, colsum_partial, epilogue, code, use_bias, do_colsum,
             k_chunk):
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
        split = cuda.gridDim.z > 1          # split-K: this block adds up k in [k_begin, k_end) only
        z = cuda.blockIdx.z
        k_begin = z * k_chunk
        k_end = min(k_begin + k_chunk, k_size)
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

        # software pipelining: the global loads of the next tiles are issued into registers before
        # the products of the current tiles, so their latency hides behind the arithmetic
        a_stage = cuda.local.array(a_loads, value_type)
        b_stage = cuda.local.array(b_loads, value_type)
        for r in range(a_loads):
            a_stage[r] = load_a(a, tid + r * threads, row0, k_begin, m_size, k_end)
        for r in range(b_loads):
            b_stage[r] = load_b(b, tid + r * threads, col0, k_begin, n_size, k_end)
        k0 = k_begin
        while k0 < k_end:
            for r in range(a_loads):
                kk, mm = a_position(tid + r * threads)
                a_tile[kk, mm] = a_stage[r]
            for r in range(b_loads):
                kk, nn = b_position(tid + r * threads)
                b_tile[kk, nn] = b_stage[r]
            cuda.syncthreads()
            k_next = k0 + bk
            if k_next < k_end:
                for r in range(a_loads):
                    a_stage[r] = load_a(a, tid + r * threads, row0, k_next, m_size, k_end)
                for r in range(b_loads):
                    b_stage[r] = load_b(b, tid + r * threads, col0, k_next, n_size, k_end)
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
            k0 = k_next

        for i in range(tm):
            gm = row0 + ty + i * nty
            if gm < m_size:
                for j in range(tn):
                    gn = col0 + tx + j * ntx
                    if gn < n_size:
                        if split:
                            partial[z, gm, gn] = acc[i, j]
                        else:
                            out[gm, gn] = _epilogue(acc[i, j], epilogue, code, use_bias, bias, aux, gm, gn)
        if summing:
            for j in range(tn):
                gn = col0 + tx + j * ntx
                if gn < n_size:
                    if split:
                        colsum_partial[z, gn] = sums[j]
                    else:
                        colsum[gn] = sums[j]

    return gemm


@functools.lru_cache(maxsize=None)
def _placeholder(dtype_name: str, ndim: int):
    """A one-element device array standing in for an unused optional operand (kept per dtype/rank)."""
    return cuda.to_device(np.zeros((1,) * ndim, dtype=dtype_name))


#: when set, every product uses these tiles (tests in the simulator use tiny tiles: it runs one OS
#: thread per GPU thread, so fewer threads per block make a test step much faster).
FORCED_TILES: TileConfig | None = None


def choose_tiles(m: int, n: int, k: int = 0) -> tuple[TileConfig, int]:
    """Tiles and split-K factor for an ``(m x k) @ (k x n)`` product: enough blocks to fill the GPU.

    :data:`LARGE_TILES` when the output alone gives ``LARGE_TILES_MIN_BLOCKS`` blocks; else
    :data:`SMALL_TILES` when its blocks, times a split of the inner dimension into chunks of at least
    ``SPLIT_K_MIN_CHUNK_SMALL``, reach ``SMALL_TILES_MIN_BLOCKS``; else :data:`THIN_TILES`, split into
    chunks of at least ``SPLIT_K_MIN_CHUNK_THIN``. At most ``SPLIT_K_MAX`` splits, and none for an
    inner dimension below ``SPLIT_K_MIN_INNER``. With
    :data:`FORCED_TILES` set, those tiles and no split.
    """
    if FORCED_TILES is not None:
        return FORCED_TILES, 1
    return _choose_tiles(m, n, k)


@functools.lru_cache(maxsize=1024)
def _choose_tiles(m: int, n: int, k: int) -> tuple[TileConfig, int]:
    if k < SPLIT_K_MIN_INNER:
        k = 0                         # no split: see SPLIT_K_MIN_INNER

    def blocks(tiles: TileConfig) -> int:
        return -(-m // tiles.block_m) * -(-n // tiles.block_n)

    def splits(tiles: TileConfig, min_chunk: int) -> int:
        wanted = -(-LARGE_TILES_MIN_BLOCKS // blocks(tiles))
        return max(1, min(SPLIT_K_MAX, wanted, k // min_chunk))

    if blocks(LARGE_TILES) >= LARGE_TILES_MIN_BLOCKS:
        return LARGE_TILES, 1
    if blocks(SMALL_TILES) * max(1, min(SPLIT_K_MAX, k // SPLIT_K_MIN_CHUNK_SMALL)) >= SMALL_TILES_MIN_BLOCKS:
        return SMALL_TILES, splits(SMALL_TILES, SPLIT_K_MIN_CHUNK_SMALL)
    return THIN_TILES, splits(THIN_TILES, SPLIT_K_MIN_CHUNK_THIN)


#: split-K scratch buffers, one growing flat buffer per (role, dtype)
_SCRATCH: dict[tuple[str, str], object] = {}
#: the views of those buffers handed out so far, per (role, dtype, shape) (slicing costs host time)
_SCRATCH_VIEWS: dict[tuple[str, str, tuple[int, ...]], object] = {}


def _scratch(role: str, dtype_name: str, shape: tuple[int, ...]):
    """A device array of ``shape`` carved from the growing buffer of ``role`` ("products" or "colsums").

    Launches on one stream run in order, so one buffer serves every split product in turn.
    """
    view = _SCRATCH_VIEWS.get((role, dtype_name, shape))
    if view is not None:
        return view
    count = 1
    for d in shape:
        count *= d
    buffer = _SCRATCH.get((role, dtype_name))
    if buffer is None or buffer.shape[0] < count:
        buffer = cuda.device_array(max(count, 1 << 16), dtype_name)
        _SCRATCH[(role, dtype_name)] = buffer
        for key in [key for key in _SCRATCH_VIEWS if key[:2] == (role, dtype_name)]:
            del _SCRATCH_VIEWS[key]
    view = _SCRATCH_VIEWS[(role, dtype_name, shape)] = buffer[:count].reshape(shape)
    return view


def matmul(a, b, out, *, trans_a: bool = False, trans_b: bool = False, bias=None,
           activation: int = LINEAR, activation_grad_of=None, colsum=None,
           tiles: TileConfig | None = None, split_k: int | None = None, stream=0) -> None:
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
        tiles, split_k: the tile configuration and the number of slices of the inner dimension
            (default: :func:`choose_tiles`). With ``split_k > 1`` each slice's products go to a scratch
            buffer and a second launch adds them up (in a fixed order) and applies the epilogue.
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
    chosen, chosen_split = choose_tiles(m, n, k)
    config = tiles if tiles is not None else chosen
    splits = split_k if split_k is not None else (chosen_split if tiles is None else 1)
    k_chunk = -(-max(k, 1) // max(1, splits))
    k_chunk = -(-k_chunk // config.block_k) * config.block_k      # whole tiles per slice
    splits = max(1, -(-k // k_chunk))
    kernel = gemm_kernel(bool(trans_a), bool(trans_b), config, dtype_name)
    grid = (-(-n // config.block_n), -(-m // config.block_m), splits)
    bias_arg = bias if bias is not None else _placeholder(dtype_name, 1)
    aux_arg = activation_grad_of if activation_grad_of is not None else _placeholder(dtype_name, 2)
    colsum_arg = colsum if colsum is not None else _placeholder(dtype_name, 1)
    if splits > 1:
        partial = _scratch("products", dtype_name, (splits, m, n))
        colsum_partial = _scratch("colsums", "float64", (splits, n))
    else:
        partial, colsum_partial = _placeholder(dtype_name, 3), _placeholder("float64", 2)
    launch(kernel, grid, config.threads, a, b, out, bias_arg, aux_arg, colsum_arg, partial, colsum_partial,
           epilogue, int(activation), bias is not None, colsum is not None, k_chunk, stream=stream)
    if splits > 1:
        count = m * n
        per_block = 256
        launch(_split_k_reduce, -(-count // per_block), per_block, partial, colsum_partial, out, bias_arg,
               aux_arg, colsum_arg, epilogue, int(activation), bias is not None, colsum is not None,
               stream=stream)
