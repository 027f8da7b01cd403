"""Keras 3's JSON description of a ``Sequential`` model and of its ``compile`` call, both ways.

Keras writes ``config.json`` inside a ``.keras`` archive (``keras/src/saving/saving_lib.py``,
``serialization_lib.serialize_keras_object``)::

    {"module": "keras", "class_name": "Sequential",
     "config": {"name": ..., "trainable": true, "dtype": <DTypePolicy>,
                "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                            "config": {"batch_shape": [null, 3], ...}}, <Dense>, <Dropout>, ...],
                "build_input_shape": [null, 3]},
     "build_config": {"input_shape": [null, 3]},
     "compile_config": {"optimizer": <serialized optimizer>, "loss": ..., "metrics": [...], ...}}

These functions go between that dict and microgradx's own objects (``Input``/``Dense``/``Dropout``,
optimizers, losses, metric names). Only what exists here is accepted: any other layer class, or a
Dense/Dropout option microgradx does not have (constraints, a non-trainable layer, a mixed-precision
policy, a quantization config, an initializer or activation it lacks), raises ``ValueError`` naming it,
so a model never loads as something other than what was saved.
"""

from __future__ import annotations

from typing import Any

from .. import initializers, layers as layers_module, losses, optimizers, regularizers

__all__ = ["sequential_config", "sequential_from_config", "compile_config", "compile_from_config"]

DTYPES = ("float32", "float64")

# microgradx initializer class -> (Keras class name, config keys read from the instance)
_INITIALIZERS = {
    initializers.GlorotUniform: ("GlorotUniform", ("seed",)),
    initializers.GlorotNormal: ("GlorotNormal", ("seed",)),
    initializers.HeUniform: ("HeUniform", ("seed",)),
    initializers.HeNormal: ("HeNormal", ("seed",)),
    initializers.RandomNormal: ("RandomNormal", ("mean", "stddev", "seed")),
    initializers.RandomUniform: ("RandomUniform", ("minval", "maxval", "seed")),
    initializers.Zeros: ("Zeros", ()),
    initializers.Ones: ("Ones", ()),
}
_INITIALIZERS_BY_KERAS_NAME = {name: (cls, keys) for cls, (name, keys) in _INITIALIZERS.items()}


def _serialized(module: str, class_name: str, config: dict) -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _dtype_policy(dtype: str) -> dict:
    return _serialized("keras", "DTypePolicy", {"name": dtype})


def _initializer_config(init: initializers.Initializer) -> dict:
    try:
        name, keys = _INITIALIZERS[type(init)]
    except KeyError:
        raise ValueError(f"Cannot describe initializer {init!r} in Keras' format: microgradx knows "
                         f"{sorted(n for n, _ in _INITIALIZERS.values())}") from None
    return _serialized("keras.initializers", name, {k: getattr(init, k) for k in keys})


def _initializer_from(config: Any, where: str) -> initializers.Initializer:
    if isinstance(config, str):
        return initializers.get(config, where)
    if not isinstance(config, dict) or config.get("class_name") not in _INITIALIZERS_BY_KERAS_NAME:
        name = config.get("class_name") if isinstance(config, dict) else config
        raise ValueError(f"{where}: initializer {name!r} does not exist in microgradx; it has "
                         f"{sorted(_INITIALIZERS_BY_KERAS_NAME)}")
    cls, keys = _INITIALIZERS_BY_KERAS_NAME[config["class_name"]]
    settings = dict(config.get("config") or {})
    for key in ("input_axes", "output_axes"):          # Keras 3.15 variance-scaling extras
        if settings.pop(key, None) is not None:
            raise ValueError(f"{where}: option {key!r} of {config['class_name']} does not exist in microgradx")
    unknown = sorted(set(settings) - set(keys))
    if unknown:
        raise ValueError(f"{where}: option(s) {unknown} of {config['class_name']} do not exist in microgradx")
    return cls(**settings)


def _layer_config(layer: layers_module.Layer, dtype: str) -> dict:
    common = {"name": layer.name, "trainable": True, "dtype": _dtype_policy(dtype)}
    if isinstance(layer, layers_module.Dense):
        config = {
            **common, "units": layer.units, "activation": layer.activation, "use_bias": layer.use_bias,
            "kernel_initializer": _initializer_config(layer.kernel_initializer),
            "bias_initializer": _initializer_config(layer.bias_initializer),
        }
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            reg = getattr(layer, key, None)
            config[key] = None if reg is None else regularizers.serialize(reg)
        config.update(kernel_constraint=None, bias_constraint=None, quantization_config=None)
        out = _serialized("keras.layers", "Dense", config)
        out["build_config"] = {"input_shape": [None, layer.input_dim]}
        return out
    if isinstance(layer, layers_module.Dropout):
        noise = None if layer.noise_shape is None else list(layer.noise_shape)
        return _serialized("keras.layers", "Dropout",
                           {**common, "rate": layer.rate, "seed": layer.seed, "noise_shape": noise})
    raise ValueError(f"Layer {layer.name!r} of type {type(layer).__name__} has no Keras description here; "
                     f"microgradx saves Input, Dense and Dropout")


def sequential_config(name: str, input_dim: int, model_layers: list, dtype: str = "float32") -> dict:
    """Keras' ``config.json`` body (without ``compile_config``) for a built Sequential model."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    input_layer = _serialized("keras.layers", "InputLayer", {
        "batch_shape": [None, int(input_dim)], "dtype": dtype, "sparse": False, "ragged": False,
        "name": "input_layer", "optional": False})
    return {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": name, "trainable": True, "dtype": _dtype_policy(dtype),
                   "layers": [input_layer] + [_layer_config(layer, dtype) for layer in model_layers],
                   "build_input_shape": [None, int(input_dim)]},
        "registered_name": None, "build_config": {"input_shape": [None, int(input_dim)]},
    }


# ------------------------------------------------------------------------------------ reading
def _check_keys(config: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"{what}: option(s) {unknown} do not exist in microgradx")


def _policy_name(policy: Any, what: str) -> str | None:
    if policy is None:
        return None
    name = policy if isinstance(policy, str) else (policy.get("config") or {}).get("name") \
        if isinstance(policy, dict) else None
    if name not in DTYPES:
        raise ValueError(f"{what}: dtype policy {name!r} does not exist in microgradx (it computes in "
                         f"{' or '.join(DTYPES)})")
    return name


def _dense_from(config: dict, what: str) -> layers_module.Dense:
    _check_keys(config, {"name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
                         "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                         "kernel_constraint", "bias_constraint", "quantization_config", "lora_rank",
                         "lora_alpha"}, what)
    for key in ("kernel_constraint", "bias_constraint", "quantization_config"):
        if config.get(key) is not None:
            raise ValueError(f"{what}: option {key}={config[key]!r} does not exist in microgradx")
    if config.get("lora_rank"):
        raise ValueError(f"{what}: option lora_rank={config['lora_rank']!r} does not exist in microgradx")
    if config.get("trainable", True) is not True:
        raise ValueError(f"{what}: a non-trainable layer (trainable=False) does not exist in microgradx")
    _policy_name(config.get("dtype"), what)
    kwargs: dict[str, Any] = {
        "units": config["units"], "activation": config.get("activation"), "use_bias": config.get("use_bias", True),
        "name": config.get("name"),
        "kernel_initializer": _initializer_from(config.get("kernel_initializer", "glorot_uniform"),
                                                f"{what} kernel_initializer"),
        "bias_initializer": _initializer_from(config.get("bias_initializer", "zeros"), f"{what} bias_initializer"),
    }
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
        if config.get(key) is not None:
            kwargs[key] = regularizers.get(config[key])
    try:
        return layers_module.Dense(**kwargs)
    except TypeError as error:       # an option this version's Dense does not take
        raise ValueError(f"{what}: {error}") from None


def _dropout_from(config: dict, what: str) -> layers_module.Dropout:
    _check_keys(config, {"name", "trainable", "dtype", "rate", "seed", "noise_shape"}, what)
    _policy_name(config.get("dtype"), what)
    return layers_module.Dropout(config["rate"], noise_shape=config.get("noise_shape"), seed=config.get("seed"),
                                 name=config.get("name"))


def sequential_from_config(config: dict) -> dict:
    """The parts of a Keras ``Sequential`` config: ``{"name", "input_dim", "layers", "dtype"}`` (layers are
    fresh microgradx ``Dense``/``Dropout`` objects). Anything microgradx does not have raises ``ValueError``."""
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"Model class {found!r} does not exist in microgradx: it loads Keras Sequential models")
    body = config.get("config") or {}
    _check_keys(body, {"name", "trainable", "dtype", "layers", "build_input_shape"}, "Sequential")
    dtype = _policy_name(body.get("dtype"), "Sequential") or "float32"
    input_dim = None
    built = []
    for index, entry in enumerate(body.get("layers") or []):
        class_name = entry.get("class_name") if isinstance(entry, dict) else None
        settings = (entry.get("config") or {}) if isinstance(entry, dict) else {}
        what = f"layer {index} ({class_name} {settings.get('name', '')!r})"
        if class_name == "InputLayer":
            shape = settings.get("batch_shape") or settings.get("batch_input_shape")
            if index != 0 or not isinstance(shape, list) or len(shape) != 2 or not isinstance(shape[1], int):
                raise ValueError(f"{what}: microgradx takes one first InputLayer of batch_shape [None, features], "
                                 f"got batch_shape={shape!r}")
            if settings.get("sparse") or settings.get("ragged") or settings.get("optional"):
                raise ValueError(f"{what}: sparse, ragged and optional inputs do not exist in microgradx")
            input_dim = shape[1]
        elif class_name == "Dense":
            built.append(_dense_from(settings, what))
        elif class_name == "Dropout":
            built.append(_dropout_from(settings, what))
        else:
            raise ValueError(f"{what}: layer class {class_name!r} does not exist in microgradx, which has "
                             f"InputLayer, Dense and Dropout")
    if input_dim is None:
        shape = body.get("build_input_shape") or (config.get("build_config") or {}).get("input_shape")
        if isinstance(shape, list) and len(shape) == 2:
            input_dim = shape[1]
    return {"name": body.get("name"), "input_dim": input_dim, "layers": built, "dtype": dtype}


# ------------------------------------------------------------------------------------ compile
def compile_config(optimizer: optimizers.Optimizer | None, loss: losses.Loss | None,
                   metrics: list[str] | None) -> dict:
    """Keras' ``compile_config``: the serialized optimizer and loss, and the metric names."""
    for metric in metrics or []:
        if not isinstance(metric, str):
            raise ValueError(f"Metric {metric!r} cannot be saved: only metric names (strings) can")
    return {
        "optimizer": None if optimizer is None else _serialized(
            "keras.optimizers", type(optimizer).__name__, optimizer.get_config()),
        "loss": None if loss is None else _serialized("keras.losses", type(loss).__name__, loss.get_config()),
        "loss_weights": None, "metrics": list(metrics) if metrics else None, "weighted_metrics": None,
        "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
    }


def compile_from_config(config: dict) -> dict:
    """``{"optimizer", "loss", "metrics"}`` for ``model.compile`` from a Keras ``compile_config``."""
    _check_keys(config, {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                         "steps_per_execution", "jit_compile", "auto_scale_loss"}, "compile_config")
    for key in ("loss_weights", "weighted_metrics"):
        if config.get(key):
            raise ValueError(f"compile_config: {key}={config[key]!r} does not exist in microgradx")
    if config.get("steps_per_execution", 1) != 1:
        raise ValueError(f"compile_config: steps_per_execution={config['steps_per_execution']!r} does not exist "
                         f"in microgradx")
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = {"class_name": optimizer.get("class_name"), "config": dict(optimizer.get("config") or {})}
    loss = config.get("loss")
    if isinstance(loss, dict):
        settings = {k: v for k, v in (loss.get("config") or {}).items() if not (k == "dtype" and v is None)}
        loss = {"class_name": loss.get("class_name"), "config": settings}
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"compile_config: metrics {metrics!r} are not a list of metric names; microgradx "
                         f"loads named metrics only")
    return {"optimizer": None if optimizer is None else optimizers.get(optimizer),
            "loss": losses.get(loss), "metrics": metrics}
