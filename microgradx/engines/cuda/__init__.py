"""The CUDA engine: the same model trained by numba-cuda kernels, the data kept on the GPU.

One concept per module: :mod:`~microgradx.engines.cuda.device` (is a GPU usable here, and if not, why;
the simulator as a test mode), :mod:`~microgradx.engines.cuda.passes` (the launches of one step:
forward, loss, backward, update, over a batch size's device workspace) and
:mod:`~microgradx.engines.cuda.engine` (:class:`CudaEngine`: the flat device buffers, weights, the data
uploaded once per epoch, the engine seam).
"""

from .device import cuda_status, gpu_available, simulator_active
from .engine import CudaEngine

__all__ = ["CudaEngine", "cuda_status", "gpu_available", "simulator_active"]
