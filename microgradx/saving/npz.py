"""The pickle-free ``.npz`` layout: named arrays plus a JSON header, readable with ``allow_pickle=False``.

``np.savez`` stores each array as a ``.npy`` member of a zip file; the header is UTF-8 JSON kept as a
``uint8`` array named ``header``. Object arrays (which NumPy would pickle) are refused when writing, and
files are read with ``allow_pickle=False``, so loading a file never runs code from it.
"""

from __future__ import annotations

import json
from typing import IO, Mapping

import numpy as np

__all__ = ["write_npz", "read_npz"]


def write_npz(target: str | IO[bytes], header: dict, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``header`` and ``arrays`` (numeric arrays only) to ``target`` (a path or a binary file)."""
    if "header" in arrays:
        raise ValueError("'header' is reserved for the JSON header")
    members = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which .npz could only store by pickling")
        members[name] = array
    members["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(target, **members)


def read_npz(source: str | IO[bytes]) -> tuple[dict, dict[str, np.ndarray]]:
    """``(header, arrays)`` of a file written by :func:`write_npz` (never unpickles)."""
    with np.load(source, allow_pickle=False) as archive:
        if "header" not in archive.files:
            raise ValueError(f"{source!r} has no 'header' member: it was not written by microgradx")
        header = json.loads(bytes(archive["header"]).decode("utf-8"))
        arrays = {name: archive[name] for name in archive.files if name != "header"}
    return header, arrays
