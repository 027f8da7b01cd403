"""Is a CUDA GPU usable here, and if not, why: the device probing of the CUDA engine.

:func:`cuda_status` gives numba's own reason (no driver, no libNVVM, ...). Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) is a test mode: ``engine="cuda"`` runs in it (slowly), ``engine="auto"``
never picks it (:func:`gpu_available` is False there).
"""

from __future__ import annotations

__all__ = ["SIMULATOR_HINT", "cuda_status", "gpu_available", "require_cuda", "simulator_active"]

SIMULATOR_HINT = ("To run the CUDA engine without a GPU (slowly, for tests), switch on Numba's CUDA "
                  "simulator before numba is imported: NUMBA_ENABLE_CUDASIM=1 python ... ; or use "
                  "engine='cpu'.")


def simulator_active() -> bool:
    """True when Numba's CUDA simulator replaces ``numba.cuda`` in this process (a test mode)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a hard dependency
        return False
    return bool(numba.config.ENABLE_CUDASIM)


def cuda_status() -> tuple[bool, str]:
    """``(usable, reason)``: whether a real CUDA GPU can run this engine, and why not.

    ``usable`` is False in the simulator (a test mode, never a GPU), without numba-cuda, without a
    driver or a device (numba's ``cuda.cuda_error()``), or without libNVVM (the compiler numba-cuda
    needs: ``pip install "numba-cuda[cu13]"`` or ``[cu12]`` to match the driver, or set
    ``CUDA_HOME`` to a CUDA toolkit). Importing ``numba.cuda`` takes about a second; it happens here,
    on first use, never at ``import microgradx``.
    """
    if simulator_active():
        return False, ("Numba's CUDA simulator is active (NUMBA_ENABLE_CUDASIM=1): it runs the CUDA "
                       "kernels on the CPU, one Python thread per GPU thread, as a test mode; it is "
                       "not a GPU")
    try:
        from numba import cuda
    except ImportError as error:
        return False, (f"numba-cuda is not installed ({error}); install it with "
                       "pip install 'microgradx[cuda]'")
    try:
        if cuda.is_available():
            device = cuda.get_current_device()
            name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
            return True, f"CUDA GPU {name} (compute capability {device.compute_capability})"
        driver_error = cuda.cuda_error()
    except Exception as error:  # a broken driver install: report it, do not crash
        return False, f"the CUDA driver failed to initialise: {error!r}"
    if driver_error:
        return False, f"no usable CUDA driver or device: {str(driver_error).strip()}"
    try:
        from numba.cuda.cudadrv import nvvm
        nvvm_ok = nvvm.is_available()
    except Exception:  # pragma: no cover - depends on the installed toolkit
        nvvm_ok = False
    if not nvvm_ok:
        return False, ("libNVVM (the CUDA compiler library numba-cuda needs) cannot be found: install "
                       "pip install 'numba-cuda[cu13]' (or [cu12] for a CUDA 12 driver) or set CUDA_HOME "
                       "to a CUDA toolkit")
    return False, "numba.cuda.is_available() is False for an unknown reason"


def gpu_available() -> bool:
    """True when :func:`cuda_status` finds a real, usable GPU (what ``engine="auto"`` asks)."""
    return cuda_status()[0]


def require_cuda() -> None:
    """Raise ``RuntimeError`` with numba's reason and how to simulate, unless a GPU (or the simulator) runs."""
    if simulator_active():
        return
    usable, reason = cuda_status()
    if not usable:
        raise RuntimeError(f"engine='cuda' cannot run here: {reason}. {SIMULATOR_HINT}")
