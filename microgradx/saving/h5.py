"""Keras 3's HDF5 weights layout (``model.weights.h5`` inside a ``.keras`` file, and ``*.weights.h5``).

Keras walks the model and writes one group per layer, named by the layer's **class** and position
(``keras/src/saving/saving_lib.py``: ``to_snake_case(class name)``, made unique with ``_1``, ``_2``...),
not by the layer's name; the variables are datasets ``vars/0``, ``vars/1``, ... in the layer's order
(a Dense: kernel, then bias), and each ``vars`` group carries the object's name as an attribute::

    layers/dense/vars/0      (in, out)   kernel       layers/dense/vars  attrs {"name": "dense"}
    layers/dense/vars/1      (out,)      bias
    layers/dropout/vars      (empty)
    layers/dense_1/vars/...
    optimizer/vars/0, 1, ... Keras' optimizer variables (iterations, learning_rate, slots)
    vars                     (empty; attrs {"name": <model name>})

h5py is imported only here, on first use (``pip install microgradx[hdf5]``).
"""

from __future__ import annotations

import re
from typing import IO, Any, Sequence

import numpy as np

__all__ = ["layer_group_names", "write_weights_h5", "read_weights_h5", "require_h5py"]


def require_h5py() -> Any:
    """The ``h5py`` module, or an ImportError that says how to get it."""
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras' HDF5 files (.weights.h5, and the weights inside .keras) need h5py: "
                          "pip install 'microgradx[hdf5]' (or h5py). The .npz weights format needs nothing.") from None
    return h5py


def _snake_case(name: str) -> str:
    """Keras' ``to_snake_case``: ``Dense`` -> ``dense``, ``InputLayer`` -> ``input_layer``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def layer_group_names(class_names: Sequence[str]) -> list[str]:
    """The group of each layer: ``["Dense", "Dropout", "Dense"]`` -> ``["dense", "dropout", "dense_1"]``."""
    counts: dict[str, int] = {}
    names = []
    for class_name in class_names:
        base = _snake_case(class_name)
        count = counts.get(base, 0)
        counts[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    return names


def write_weights_h5(target: str | IO[bytes], model_name: str,
                     layer_entries: Sequence[tuple[str, str, Sequence[np.ndarray]]],
                     optimizer_entry: tuple[str, Sequence[np.ndarray]] | None = None) -> None:
    """Write Keras' layout to ``target`` (a path or a binary file object).

    ``layer_entries``: one ``(class_name, layer_name, arrays)`` per layer of the Sequential model, in order;
    ``optimizer_entry``: ``(optimizer_name, variables in Keras' order)`` or ``None``.
    """
    h5py = require_h5py()
    with h5py.File(target, "w") as handle:
        layers_group = handle.create_group("layers")
        groups = layer_group_names([class_name for class_name, _, _ in layer_entries])
        for group_name, (_, layer_name, arrays) in zip(groups, layer_entries):
            variables = layers_group.create_group(group_name).create_group("vars")
            variables.attrs["name"] = layer_name
            for i, array in enumerate(arrays):
                variables.create_dataset(str(i), data=np.asarray(array))
        if optimizer_entry is not None:
            name, arrays = optimizer_entry
            variables = handle.create_group("optimizer").create_group("vars")
            variables.attrs["name"] = name
            for i, array in enumerate(arrays):
                variables.create_dataset(str(i), data=np.asarray(array))
        handle.create_group("vars").attrs["name"] = model_name


def _read_vars(group: Any) -> list[np.ndarray]:
    if "vars" not in group:
        return []
    variables = group["vars"]
    keys = sorted(variables.keys(), key=int)
    if keys != [str(i) for i in range(len(keys))]:
        raise ValueError(f"HDF5 group {variables.name!r}: datasets {keys} are not numbered 0, 1, ...")
    return [np.array(variables[k]) for k in keys]


def read_weights_h5(source: str | IO[bytes]) -> dict:
    """``{"layers": {group: [arrays]}, "optimizer": [arrays] | None}`` from a file in Keras' layout."""
    h5py = require_h5py()
    try:
        handle = h5py.File(source, "r")
    except OSError as error:
        raise ValueError(f"Cannot read {source!r} as HDF5: {error}") from None
    with handle:
        if "layers" not in handle:
            raise ValueError(f"{source!r} is not a Keras 3 weights file: it has no 'layers' group "
                             f"(found {sorted(handle.keys())})")
        layers = {name: _read_vars(group) for name, group in handle["layers"].items()}
        optimizer = _read_vars(handle["optimizer"]) if "optimizer" in handle else None
    return {"layers": layers, "optimizer": optimizer}
