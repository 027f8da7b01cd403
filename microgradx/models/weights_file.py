"""The weights file of :meth:`Sequential.save_weights <microgradx.models.Sequential.save_weights>`.

A NumPy ``.npz`` archive, read with ``allow_pickle=False``, holding ``header`` (UTF-8 JSON as a uint8
array: ``{"format": "microgradx.weights", "version": 1, "names": [...], "shapes": [...],
"dtypes": [...]}``) and one array ``w0``, ``w1``, ... per weight in ``get_weights()`` order. Written
atomically; read header first, so a file that promises other arrays than the model's is refused
before any array is allocated. (Keras' own ``.keras`` / ``.weights.h5`` files: :mod:`microgradx.saving`.)
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .. import utils
from .finite_weights import refuse_non_finite_weights

__all__ = ["WEIGHTS_FORMAT", "WEIGHTS_VERSION", "save_weights", "load_weights"]


#: the ``format`` tag in the header of a weights file.
WEIGHTS_FORMAT = "microgradx.weights"
WEIGHTS_VERSION = 1


def save_weights(model: Any, path: str | os.PathLike) -> None:
    """Write the weights to ``path`` (``.npz``: a JSON header + one array per weight), atomically
    (:func:`microgradx.utils.atomic_write`). A NaN or inf weight is refused (``ValueError`` naming it):
    :func:`load_weights` would refuse the file."""
    model._ensure_built()
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built: there are no weights to save.")
    refuse_non_finite_weights(model, path)
    weights = model.get_weights()
    header = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "model": model.name,
              "names": model._weight_names(), "shapes": [list(w.shape) for w in weights],
              "dtypes": [w.dtype.name for w in weights]}
    arrays = {f"w{i}": w for i, w in enumerate(weights)}
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    utils.atomic_write(path, write)


def load_weights(model: Any, path: str | os.PathLike) -> None:
    """Load weights written by :func:`save_weights` (never unpickles; checks names and shapes).

    The JSON header is checked against the model before any weight array is read, and each array's
    own shape and dtype (from its ``.npy`` header) before its data is: a file that promises
    arrays other than the model's is refused without allocating them."""
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"Cannot read weights file {path!r}: it is not a microgradx weights file or it is "
                         f"corrupted ({type(error).__name__}: {error}).") from None
    with archive:
        header = _read_weights_header(archive, path)
        shapes = header["shapes"]
        if not model.built and model.input_dim is None:
            if not shapes or len(shapes[0]) != 2 or shapes[0][0] == 0:
                raise ValueError(f"Weights file {path!r} does not match model {model.name!r}: the model is not "
                                 f"built and the file's first weight, of shape "
                                 f"{shapes[0] if shapes else None}, is not a kernel (inputs, units).")
            model.input_dim = shapes[0][0]
        model._ensure_built()
        expected = model._weight_shapes()
        if shapes != expected:
            raise ValueError(f"Weights file {path!r} does not match model {model.name!r}: the file holds "
                             f"{len(shapes)} weights with shapes {shapes} ({header['names']}), the model "
                             f"has {len(expected)} weights with shapes {expected} ({model._weight_names()}).")
        weights = [_read_weights_array(archive, path, f"w{i}", shape) for i, shape in enumerate(shapes)]
    model.set_weights(weights)


#: the largest JSON header a weights file may have (a header names and shapes a model's weights).
_MAX_HEADER_BYTES = 1 << 20


def _corrupted(path: str, problem: str) -> ValueError:
    return ValueError(f"Cannot read weights file {path!r}: it is not a microgradx weights file or it is "
                      f"corrupted ({problem}).")


def _member_header(archive: zipfile.ZipFile, path: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the array ``name`` of the archive, from its ``.npy`` header alone."""
    try:
        with archive.open(f"{name}.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f".npy format version {version} (expected 1.0 or 2.0)")
            shape, _, dtype = read_header(member)
    except KeyError:
        raise _corrupted(path, f"no array {name!r}") from None
    except Exception as error:
        raise _corrupted(path, f"array {name!r}: {type(error).__name__}: {error}") from None
    return tuple(shape), dtype


def _read_member(archive: zipfile.ZipFile, path: str, name: str) -> np.ndarray:
    try:
        with archive.open(f"{name}.npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except Exception as error:
        raise _corrupted(path, f"array {name!r}: {type(error).__name__}: {error}") from None


def _read_weights_header(archive: zipfile.ZipFile, path: str) -> dict[str, Any]:
    """The JSON header of a weights file, every field checked (``shapes`` as a list of tuples)."""
    shape, dtype = _member_header(archive, path, "header")
    if dtype != np.uint8 or len(shape) != 1 or shape[0] > _MAX_HEADER_BYTES:
        raise _corrupted(path, f"the header is a {dtype} array of shape {shape}, expected UTF-8 bytes "
                               f"(uint8, at most {_MAX_HEADER_BYTES} of them)")
    try:
        header = json.loads(bytes(_read_member(archive, path, "header")).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupted(path, f"the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise _corrupted(path, f"the header is a {type(header).__name__}, expected a JSON object")
    if header.get("format") != WEIGHTS_FORMAT or header.get("version") != WEIGHTS_VERSION:
        raise _corrupted(path, f"unknown format {header.get('format')!r} version {header.get('version')!r}")
    shapes = header.get("shapes")
    if not isinstance(shapes, list) or not all(
            isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in s)
            for s in shapes):
        raise _corrupted(path, f"the header's `shapes` must be a list of shapes (lists of integers >= 0), "
                               f"got {shapes!r}"[:400])
    names = header.get("names", [f"w{i}" for i in range(len(shapes))])
    if not isinstance(names, list) or len(names) != len(shapes) or not all(isinstance(n, str) for n in names):
        raise _corrupted(path, f"the header's `names` must be a list of {len(shapes)} strings, got {names!r}"[:400])
    header["shapes"] = [tuple(s) for s in shapes]
    header["names"] = names
    return header


def _read_weights_array(archive: zipfile.ZipFile, path: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array ``name``, after its ``.npy`` header showed the expected ``shape`` and a float dtype."""
    stored_shape, dtype = _member_header(archive, path, name)
    if stored_shape != shape or dtype.kind != "f":
        raise _corrupted(path, f"array {name!r} is {dtype} of shape {stored_shape}, the header and the model "
                               f"expect floats of shape {shape}")
    return _read_member(archive, path, name)
