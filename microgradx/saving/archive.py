"""The ``.keras`` archive and the ``.weights.h5`` file, written atomically and read without unpickling.

A ``.keras`` file is a zip archive (``keras/src/saving/saving_lib.py``) holding

* ``config.json``: the model and its ``compile_config`` (:mod:`microgradx.saving.keras_config`);
* ``metadata.json``: ``{"keras_version": ..., "date_saved": ...}`` (microgradx adds ``"saved_by"``);
* ``model.weights.h5``: the layers' and the optimizer's variables in Keras' HDF5 layout
  (:mod:`microgradx.saving.h5`).

Without h5py, microgradx stores the same arrays as ``microgradx.weights.npz`` (:mod:`microgradx.saving.npz`)
instead: such an archive loads in microgradx only (Keras then reports that it finds no
``model.weights.h5``), and it needs nothing beyond NumPy. Keras' own ``model.weights.npz`` pickles Python
dicts, so microgradx neither writes nor reads it.

The weights travel as a *bundle*: ``layers``, a list of ``(class_name, layer_name, arrays)`` per layer of
the Sequential model in order, and ``optimizer``, ``(optimizer_name, arrays in Keras' order)`` or ``None``.
Reading gives ``{"layers": {group: arrays}, "optimizer": arrays | None}`` with Keras' group names
(:func:`microgradx.saving.h5.layer_group_names`).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Sequence

import numpy as np

from .. import __version__, utils
from .h5 import layer_group_names, read_weights_h5, require_h5py, write_weights_h5
from .npz import read_npz, write_npz

__all__ = ["KERAS_FORMAT_VERSION", "write_keras", "read_keras", "write_weights", "read_weights", "h5py_available",
           "layer_entries", "flat_weights"]

#: The Keras release whose file layout these functions follow (written as ``keras_version``).
KERAS_FORMAT_VERSION = "3.15.1"
CONFIG, METADATA, WEIGHTS_H5, WEIGHTS_NPZ = "config.json", "metadata.json", "model.weights.h5", "microgradx.weights.npz"
NPZ_FORMAT = "microgradx.keras-weights"
#: Largest member read from an archive (a guard against zip bombs): 2 GiB.
MAX_MEMBER_BYTES = 2 ** 31

LayerEntries = Sequence[tuple[str, str, Sequence[np.ndarray]]]
OptimizerEntry = tuple[str, Sequence[np.ndarray]] | None


def h5py_available() -> bool:
    try:
        require_h5py()
    except ImportError:
        return False
    return True


def _npz_bytes(model_name: str, layers: LayerEntries, optimizer: OptimizerEntry) -> bytes:
    groups = layer_group_names([class_name for class_name, _, _ in layers])
    arrays = {f"layers/{group}/vars/{i}": array
              for group, (_, _, values) in zip(groups, layers) for i, array in enumerate(values)}
    if optimizer is not None:
        arrays.update({f"optimizer/vars/{i}": array for i, array in enumerate(optimizer[1])})
    header = {"format": NPZ_FORMAT, "version": 1, "model": model_name,
              "layers": [[group, name, len(values)] for group, (_, name, values) in zip(groups, layers)],
              "optimizer": None if optimizer is None else [optimizer[0], len(optimizer[1])]}
    buffer = io.BytesIO()
    write_npz(buffer, header, arrays)
    return buffer.getvalue()


def _read_npz_bundle(data: bytes) -> dict:
    header, arrays = read_npz(io.BytesIO(data))
    if header.get("format") != NPZ_FORMAT or header.get("version") != 1:
        raise ValueError(f"unknown weights format {header.get('format')!r} version {header.get('version')!r}")
    layers = {group: [arrays[f"layers/{group}/vars/{i}"] for i in range(count)]
              for group, _, count in header["layers"]}
    optimizer = None if header["optimizer"] is None else [arrays[f"optimizer/vars/{i}"]
                                                           for i in range(header["optimizer"][1])]
    return {"layers": layers, "optimizer": optimizer}


def write_keras(path: str | os.PathLike, config: dict, model_name: str, layers: LayerEntries,
                optimizer: OptimizerEntry = None, weights_format: str = "auto", metadata: dict | None = None) -> str:
    """Write a ``.keras`` archive atomically; ``weights_format`` is ``"h5"``, ``"npz"`` or ``"auto"`` (h5 when
    h5py is installed); ``metadata`` adds keys to ``metadata.json``. Returns the weights member's name."""
    if weights_format not in ("auto", "h5", "npz"):
        raise ValueError(f"weights_format must be 'auto', 'h5' or 'npz', got {weights_format!r}")
    use_h5 = weights_format == "h5" or (weights_format == "auto" and h5py_available())
    if use_h5:
        buffer = io.BytesIO()
        write_weights_h5(buffer, model_name, layers, optimizer)
        member, payload = WEIGHTS_H5, buffer.getvalue()
    else:
        member, payload = WEIGHTS_NPZ, _npz_bytes(model_name, layers, optimizer)
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"microgradx {__version__}", **(metadata or {})}

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA, json.dumps(metadata))
            archive.writestr(CONFIG, json.dumps(config))
            archive.writestr(member, payload)

    utils.atomic_write(path, write)
    return member


def _member(archive: zipfile.ZipFile, name: str, path: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{path!r}: member {name!r} declares {info.file_size} bytes, more than microgradx reads")
    return archive.read(name)


def read_keras(path: str | os.PathLike) -> dict:
    """``{"config", "metadata", "weights": {"layers", "optimizer"}, "weights_member"}`` of a ``.keras`` file."""
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile:
        raise ValueError(f"{path!r} is not a .keras file (not a zip archive)") from None
    with archive:
        names = set(archive.namelist())
        if CONFIG not in names:
            raise ValueError(f"{path!r} is not a .keras file: it has no {CONFIG} (members: {sorted(names)})")
        config = json.loads(_member(archive, CONFIG, path).decode("utf-8"))
        metadata = json.loads(_member(archive, METADATA, path).decode("utf-8")) if METADATA in names else {}
        if WEIGHTS_H5 in names:
            require_h5py()
            member, weights = WEIGHTS_H5, read_weights_h5(io.BytesIO(_member(archive, WEIGHTS_H5, path)))
        elif WEIGHTS_NPZ in names:
            member, weights = WEIGHTS_NPZ, _read_npz_bundle(_member(archive, WEIGHTS_NPZ, path))
        elif "model.weights.npz" in names:
            raise ValueError(f"{path!r} holds Keras' model.weights.npz, which stores pickled objects; microgradx "
                             f"never unpickles. Save it from Keras with the default HDF5 weights instead.")
        else:
            raise ValueError(f"{path!r} holds no weights ({WEIGHTS_H5} or {WEIGHTS_NPZ}); members: {sorted(names)}")
    return {"config": config, "metadata": metadata, "weights": weights, "weights_member": member}


def write_weights(path: str | os.PathLike, model_name: str, layers: LayerEntries,
                  optimizer: OptimizerEntry = None) -> None:
    """Write ``*.weights.h5`` in Keras' layout, atomically (needs h5py)."""
    require_h5py()
    utils.atomic_write(path, lambda tmp: write_weights_h5(tmp, model_name, layers, optimizer))


def read_weights(path: str | os.PathLike) -> dict:
    """``{"layers": {group: arrays}, "optimizer": arrays | None}`` of a ``*.weights.h5`` file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    return read_weights_h5(path)


def layer_entries(model_layers: Sequence, weights: Sequence[np.ndarray]) -> list[tuple[str, str, list[np.ndarray]]]:
    """The bundle's ``layers`` for a model: its layers with their slices of ``weights`` (``get_weights()`` order)."""
    entries, position = [], 0
    for layer in model_layers:
        count = len(layer.weight_shapes())
        entries.append((type(layer).__name__, layer.name, list(weights[position:position + count])))
        position += count
    if position != len(weights):
        raise ValueError(f"{len(weights)} weights given for layers that hold {position}")
    return entries


def flat_weights(model_layers: Sequence, saved_layers: dict[str, list[np.ndarray]], source: str) -> list[np.ndarray]:
    """The weights of ``model_layers`` (``get_weights()`` order) from a read bundle's ``layers``, matched by
    Keras' group names; a missing group, an extra group or a wrong shape raises ``ValueError`` naming it."""
    groups = layer_group_names([type(layer).__name__ for layer in model_layers])
    extra = sorted(set(saved_layers) - set(groups))
    if extra:
        raise ValueError(f"{source}: the file holds layer groups {extra} that the model does not have "
                         f"(the model's groups are {groups})")
    out = []
    for group, layer in zip(groups, model_layers):
        shapes = [tuple(s) for s in layer.weight_shapes()]
        arrays = saved_layers.get(group)
        if arrays is None:
            raise ValueError(f"{source}: no weights for layer {layer.name!r} (group layers/{group})")
        found = [tuple(a.shape) for a in arrays]
        if found != shapes:
            raise ValueError(f"{source}: layer {layer.name!r} (group layers/{group}) expects weights of shapes "
                             f"{shapes}, the file holds {found}")
        out.extend(arrays)
    return out
