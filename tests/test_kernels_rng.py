"""The dropout hash RNG against splitmix64's published outputs and the formula written out with Python ints.

Every dropout test compares an engine's mask with ``uniform_array``/``hash_uniform``; these tests pin
those two functions themselves to an independent oracle, so a wrong constant or shift cannot pass by
being wrong the same way everywhere.
"""

import numpy as np
import pytest

from microgradx.kernels.rng import hash_uniform, keep_mask, uniform_array

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    """splitmix64's finalizer (Steele, Lea & Flood 2014) in arbitrary-precision ints, masked to 64 bits."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _uniform(seed: int, step: int, index: int) -> float:
    h = _mix((_mix(_mix((seed + GAMMA) & M64) ^ step) + index * GAMMA) & M64)
    return (h >> 11) * 2.0 ** -53


def test_python_oracle_matches_published_splitmix64_outputs():
    # splitmix64 seeded with 0: next() = mix(k * GAMMA) for k = 1, 2, 3 (reference implementation's outputs)
    assert [_mix((k * GAMMA) & M64) for k in (1, 2, 3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("seed, step", [(0, 0), (1, 0), (12345, 7), (2**40 + 3, 99)])
def test_hash_uniform_and_uniform_array_equal_the_formula_bit_for_bit(seed, step):
    want = [_uniform(seed, step, i) for i in range(24)]
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        assert [float(hash_uniform(seed, step, i)) for i in range(24)] == want
    np.testing.assert_array_equal(uniform_array(seed, step, (4, 6)), np.reshape(want, (4, 6)))


def test_keep_mask_is_uniform_at_least_rate():
    u = np.array([_uniform(3, 5, i) for i in range(40)])
    np.testing.assert_array_equal(keep_mask(3, 5, 40, 0.3), u >= 0.3)
    assert 0.0 <= u.min() and u.max() < 1.0


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_the_hash_run_as_python_wraps_without_warnings(target, monkeypatch):
    # NUMBA_DISABLE_JIT=1 (CPU) and the CUDA simulator run the compiled hash as Python, on NumPy uint64
    # scalars, in threads of their own (the simulator's): its by-design wrap-around must warn nobody
    import importlib
    import threading
    import warnings

    import numba

    if target == "cpu":
        monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
        module = importlib.reload(importlib.import_module("microgradx.kernels.dropout"))
        draw = module._hash_uniform
    else:
        if not numba.config.ENABLE_CUDASIM:
            pytest.skip("a real GPU: the device hash is compiled")
        draw = importlib.import_module("microgradx.kernels.cuda.device").hash_uniform
    draws: list[float] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worker = threading.Thread(target=lambda: draws.extend(draw(9, 2**40, i) for i in range(20)))
        worker.start()
        worker.join()
    if target == "cpu":
        monkeypatch.undo()
        importlib.reload(importlib.import_module("microgradx.kernels.dropout"))
    assert draws == [_uniform(9, 2**40, i) for i in range(20)]
    assert [str(w.message) for w in caught] == []
