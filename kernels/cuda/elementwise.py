"""Row gathers, dropout and row-wise softmax on the device (one thread per element, or per row).

* ``gather_rows``: ``dst[i, :] = src[index[i], :]`` (an epoch's shuffled copy of x, y and the sample
  weights, made once per epoch so that every batch is a contiguous slice).
* dropout, the CPU kernel's rule (:mod:`microgradx.kernels.dropout`) with the same counter-based
  hash (:func:`microgradx.kernels.rng.hash_uniform`, compiled for the device), so the mask is the
  same bit for bit. For an (n, f) input and a resolved noise shape (mn, mf)::

      scale[i, j] = (1 / (1 - rate)) * [hash_uniform(seed, step, a * mf + b) >= rate]
                    with a = i if mn > 1 else 0 and b = j if mf > 1 else 0   (0 when rate == 1)
      Y = X * scale                  dX = dY * scale * f'(A)

  The backward recomputes the mask from the hash instead of storing it, and fuses the derivative
  ``f'`` of the activation of the Dense layer feeding the dropout (``A`` that layer's output;
  ``f = linear`` for none).
* softmax over rows, forward ``p = exp(z - max z) / sum exp(z - max z)`` (sum in float64) and the
  Jacobian-vector product backward ``dz_k = p_k (dp_k - sum_j p_j dp_j)``, for a softmax layer that is
  not fused with the loss: one thread per row running the CPU kernels' row functions
  (:func:`microgradx.kernels.activations.softmax_row`, ``softmax_backward_row``).
"""

from __future__ import annotations

from numba import cuda

from ..activations import LINEAR
from .device import activate_derivative, hash_uniform, softmax_backward_row, softmax_row
from .launch import launch

__all__ = [
    "THREADS", "launch_shape", "gather_rows", "dropout_forward", "dropout_backward", "softmax_rows",
    "softmax_backward",
]

#: threads per block of the elementwise kernels.
THREADS = 256


def launch_shape(count: int, threads: int = THREADS) -> tuple[int, int]:
    """``(blocks, threads per block)`` covering ``count`` threads: at most ``threads`` per block, fewer
    (the next power of two) for tiny launches, which keeps the simulator's one-OS-thread-per-GPU-thread
    cost down and costs nothing on a GPU."""
    per_block = min(threads, 1 << max(0, (count - 1).bit_length()))
    return max(1, -(-count // per_block)), per_block


@cuda.jit
def _gather_rows(src, index, dst):
    e = cuda.grid(1)
    cols = dst.shape[1]
    if e < dst.shape[0] * cols:
        i = e // cols
        j = e - i * cols
        dst[i, j] = src[index[i], j]


@cuda.jit(device=True)
def _dropout_scale(i, j, seed, step, rate, mask_rows, mask_cols):
    """``scale[i, j]`` of the module docstring: ``1 / (1 - rate)`` where the hash keeps the unit, else 0."""
    a = i if mask_rows > 1 else 0
    b = j if mask_cols > 1 else 0
    keep_value = 0.0 if rate >= 1.0 else 1.0 / (1.0 - rate)
    u = hash_uniform(seed, step, a * mask_cols + b)
    return keep_value if u >= rate else 0.0


@cuda.jit
def _dropout_forward(x, y, seed, step, rate, mask_rows, mask_cols):
    e = cuda.grid(1)
    cols = x.shape[1]
    if e < x.shape[0] * cols:
        i = e // cols
        j = e - i * cols
        y[i, j] = x[i, j] * _dropout_scale(i, j, seed, step, rate, mask_rows, mask_cols)


@cuda.jit
def _dropout_backward(dy, dx, seed, step, rate, mask_rows, mask_cols, code, act_out):
    e = cuda.grid(1)
    cols = dy.shape[1]
    if e < dy.shape[0] * cols:
        i = e // cols
        j = e - i * cols
        v = dy[i, j] * _dropout_scale(i, j, seed, step, rate, mask_rows, mask_cols)
        if code != LINEAR:
            v = v * activate_derivative(code, act_out[i, j])
        dx[i, j] = v


@cuda.jit
def _softmax_rows(z, out):
    i = cuda.grid(1)
    if i < z.shape[0]:
        softmax_row(z, out, i)


@cuda.jit
def _softmax_backward(y, dy, dz):
    i = cuda.grid(1)
    if i < y.shape[0]:
        softmax_backward_row(y, dy, dz, i)


def gather_rows(src, index, dst, stream=0) -> None:
    """``dst[i, :] = src[index[i], :]`` for 2-D ``src``/``dst`` and an integer ``index`` (device arrays)."""
    count = dst.shape[0] * dst.shape[1]
    if count:
        launch(_gather_rows, *launch_shape(count), src, index, dst, stream=stream)


def dropout_forward(x, y, seed: int, step: int, rate: float, mask_shape: tuple[int, int], stream=0) -> None:
    """``y = x * scale`` with the hash-RNG keep mask of noise shape ``mask_shape`` (``y`` may alias ``x``)."""
    count = x.shape[0] * x.shape[1]
    if count:
        launch(_dropout_forward, *launch_shape(count), x, y, int(seed), int(step), float(rate),
               int(mask_shape[0]), int(mask_shape[1]), stream=stream)


def dropout_backward(dy, dx, seed: int, step: int, rate: float, mask_shape: tuple[int, int],
                     activation: int = LINEAR, activation_output=None, stream=0) -> None:
    """``dx = dy * scale * f'(activation_output)`` (``f`` = ``activation``; ``dx`` may alias ``dy``)."""
    count = dy.shape[0] * dy.shape[1]
    if count:
        aux = activation_output if activation_output is not None else dy
        code = activation if activation_output is not None else LINEAR
        launch(_dropout_backward, *launch_shape(count), dy, dx, int(seed), int(step), float(rate),
               int(mask_shape[0]), int(mask_shape[1]), int(code), aux, stream=stream)


def softmax_rows(z, out, stream=0) -> None:
    """Row-wise softmax of ``z`` into ``out`` (may alias)."""
    if z.shape[0]:
        launch(_softmax_rows, *launch_shape(z.shape[0]), z, out, stream=stream)


def softmax_backward(y, dy, dz, stream=0) -> None:
    """``dz = y * (dy - rowsum(y * dy))`` (softmax's Jacobian-vector product; ``dz`` may alias ``dy``)."""
    if y.shape[0]:
        launch(_softmax_backward, *launch_shape(y.shape[0]), y, dy, dz, stream=stream)
