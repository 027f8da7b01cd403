"""``model.save``, ``load_model``, ``save_weights``/``load_weights`` in Keras' formats, for a Sequential model.

These functions use the model's public surface only (``layers``, ``input_dim``, ``name``, ``get_weights``,
``set_weights``, ``optimizer``, ``loss``, ``compile``, ``engine``), so the model class stays a thin caller.

What a ``.keras`` file keeps: the architecture (``config.json``), the compile configuration (optimizer with
its hyper-parameters, loss, metric names; microgradx's ``engine`` and ``dtype`` go to ``metadata.json``,
where Keras does not look), the weights, and the optimizer's state (iterations, learning rate, slots), so that
``fit`` resumed from a loaded model continues bit-identically to a ``fit`` that was never interrupted (same
weights, same optimizer step, so the same dropout masks; shuffled batches come from the global seed).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from . import archive, keras_config, optimizer_state

__all__ = ["save_model", "load_model", "save_weights_h5", "load_weights_h5"]


def _dtype_name(model: Any) -> str:
    engine = getattr(model, "engine", None)
    return engine.dtype.name if engine is not None else "float32"


def _metric_names(model: Any) -> list[str]:
    names = list(getattr(model, "_metric_ids", []) or [])
    bad = [m for m in names if not isinstance(m, str)]
    if bad:
        raise ValueError(f"Model {model.name!r} cannot be saved: its metrics {bad!r} are not metric names "
                         f"(strings), and only names can be written to a .keras file")
    return names


def _optimizer_entry(model: Any) -> tuple[str, list[np.ndarray]] | None:
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    return model.optimizer.name, optimizer_state.keras_optimizer_variables(model.optimizer)


def _check_built(model: Any) -> None:
    model._ensure_built()
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built (its input width is unknown): there is nothing to "
                         f"save yet. Give it an Input, or call it on data first.")


def save_model(model: Any, filepath: str | os.PathLike, weights_format: str = "auto") -> None:
    """Write ``model`` to a ``.keras`` archive (see the module docstring)."""
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving: {path!r}. Add a `.keras` extension (Keras' "
                         f"model format); for the weights alone use `save_weights`.")
    _check_built(model)
    config = keras_config.sequential_config(model.name, model.input_dim, model.layers, _dtype_name(model))
    metadata = {}
    if getattr(model, "compiled", False):
        config["compile_config"] = keras_config.compile_config(model.optimizer, model.loss, _metric_names(model))
        metadata["microgradx"] = {"engine": model._engine_name, "dtype": _dtype_name(model)}
    entries = archive.layer_entries(model.layers, model.get_weights())
    archive.write_keras(path, config, model.name, entries, _optimizer_entry(model), weights_format,
                        metadata=metadata)


def restore_optimizer_state(model: Any, arrays: list[np.ndarray]) -> None:
    """Put a saved optimizer state (Keras' order) into the compiled model's optimizer, building it for the
    engine's weight layout first (one flat buffer, Keras order, as every engine lays it out)."""
    optimizer, engine = model.optimizer, model.engine
    head = 2 if isinstance(optimizer._learning_rate, float) else 1
    if len(arrays) <= head:          # saved before the first step: no slots yet
        optimizer._raw_iterations = int(arrays[0]) if arrays else 0
        if head == 2 and len(arrays) == 2:
            optimizer.learning_rate = float(arrays[1])
        return
    dtype = engine.dtype if engine is not None else np.dtype(np.float64)
    optimizer.build([np.zeros(shape, dtype) for shape in model._weight_shapes()])
    optimizer_state.set_keras_optimizer_variables(optimizer, arrays)


def load_model(filepath: str | os.PathLike, compile: bool = True) -> Any:
    """The ``Sequential`` model of a ``.keras`` file written by microgradx or by Keras 3 (never unpickles;
    layers and options microgradx does not have raise ``ValueError`` naming them)."""
    from ..layers import Input
    from ..models import Sequential

    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    read = archive.read_keras(path)
    parts = keras_config.sequential_from_config(read["config"])
    if parts["input_dim"] is None:
        raise ValueError(f"{path!r}: the model has no input shape, so its weights cannot be placed")
    model = Sequential([Input(shape=(parts["input_dim"],))] + parts["layers"], name=parts["name"])
    model.set_weights(archive.flat_weights(model.layers, read["weights"]["layers"], path))
    compile_config = read["config"].get("compile_config")
    if compile and compile_config:
        settings = keras_config.compile_from_config(compile_config)
        extra = (read["metadata"].get("microgradx") or {}) if isinstance(read["metadata"], dict) else {}
        model.compile(**settings, engine=extra.get("engine", "auto"), dtype=extra.get("dtype", parts["dtype"]))
        if read["weights"]["optimizer"] is not None and settings["optimizer"] is not None:
            restore_optimizer_state(model, read["weights"]["optimizer"])
    return model


def save_weights_h5(model: Any, filepath: str | os.PathLike) -> None:
    """``*.weights.h5`` in Keras' layout: the layers' weights and, when compiled, the optimizer's variables."""
    _check_built(model)
    archive.write_weights(filepath, model.name, archive.layer_entries(model.layers, model.get_weights()),
                          _optimizer_entry(model))


def load_weights_h5(model: Any, filepath: str | os.PathLike) -> None:
    """Load ``*.weights.h5`` (microgradx's or Keras'); the optimizer's variables are restored too when the
    model is compiled with the same optimizer options (as Keras does), else left alone."""
    path = os.fspath(filepath)
    read = archive.read_weights(path)
    if not model.built and model.input_dim is None and model.layers:
        first = read["layers"].get(archive.layer_group_names([type(model.layers[0]).__name__])[0]) or []
        if first and first[0].ndim == 2:
            model.input_dim = int(first[0].shape[0])      # like load_weights of .npz: the file tells the width
    model._ensure_built()
    model.set_weights(archive.flat_weights(model.layers, read["layers"], path))
    saved = read["optimizer"]
    if saved and getattr(model, "compiled", False) and model.optimizer is not None:
        try:
            restore_optimizer_state(model, saved)
        except ValueError as error:
            warnings.warn(f"Skipping the optimizer state of {path!r}: {error}", stacklevel=3)
