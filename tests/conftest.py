"""Test-session set-up shared by every test file.

The CUDA tests run in Numba's CUDA simulator on machines without a GPU. The simulator must be switched
on before numba is first imported, so it happens here, at the top of the root conftest. Set
``MICROGRADX_REAL_GPU=1`` to run the same tests on a real GPU instead.
"""

import os

if os.environ.get("MICROGRADX_REAL_GPU") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import json  # noqa: E402
import pathlib  # noqa: E402

import pytest  # noqa: E402

# The browser fixtures are registered here, once: a session fixture imported into two test modules would be
# two fixtures, and a second sync Playwright cannot start while the first one's event loop runs.
from browser import chromium, page  # noqa: E402,F401

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def keras_golden() -> dict:
    """Keras 3.15.1 golden values (a copy of ``shared/reference/keras_golden.json``, produced by real Keras)."""
    return json.loads((REPO / "tests" / "data" / "keras_golden.json").read_text())


@pytest.fixture(scope="session")
def keras():
    """Real Keras 3 on its PyTorch backend (with h5py for its files); the test is skipped where any is absent."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    return pytest.importorskip("keras")
