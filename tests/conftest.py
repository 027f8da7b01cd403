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

REPO = pathlib.Path(__file__).resolve().parent.parent


def _find_shared() -> pathlib.Path | None:
    """``shared/`` sits beside the checkout (or inside it on the device machine)."""
    for candidate in (REPO.parent / "shared", REPO / "shared"):
        if (candidate / "reference" / "keras_golden.json").exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def keras_golden() -> dict:
    """The Keras 3 golden values recorded in ``shared/reference/keras_golden.json``."""
    shared = _find_shared()
    if shared is None:
        pytest.skip("shared/reference/keras_golden.json not found beside the checkout")
    return json.loads((shared / "reference" / "keras_golden.json").read_text())
