"""Saving and loading in Keras 3's file formats, as pure functions over configs and arrays.

* :mod:`~microgradx.saving.keras_config`: the JSON of a ``Sequential`` model and its ``compile`` call;
* :mod:`~microgradx.saving.h5`: Keras' HDF5 weights layout (h5py, imported on first use);
* :mod:`~microgradx.saving.npz`: the pickle-free ``.npz`` layout (NumPy only);
* :mod:`~microgradx.saving.optimizer_state`: an optimizer's variables in Keras' order;
* :mod:`~microgradx.saving.archive`: the ``.keras`` zip archive and the ``.weights.h5`` file.

Nothing here imports h5py or keras at import time, and nothing ever unpickles.
"""

from .archive import flat_weights, h5py_available, layer_entries, read_keras, read_weights, write_keras, write_weights
from .keras_config import compile_config, compile_from_config, sequential_config, sequential_from_config
from .optimizer_state import keras_optimizer_variables, set_keras_optimizer_variables

__all__ = ["flat_weights", "layer_entries", "h5py_available", "read_keras", "read_weights", "write_keras", "write_weights", "compile_config",
           "compile_from_config", "sequential_config", "sequential_from_config", "keras_optimizer_variables",
           "set_keras_optimizer_variables"]
