"""How a ``Sequential`` model trains and evaluates: its epoch of mini-batches inside the one loop.

:func:`fit` checks the arguments and the data once (:mod:`.data`), splits off the validation data,
and runs :func:`microgradx.training.fit_loop` with an epoch that hands every batch to the engine
(``engine.train_epoch``) and keeps Keras' logs: the epoch ``loss`` is the mean of the batch losses
weighted by batch size, a metric the mean of its per-sample values over the epoch (computed on the
training-mode outputs of each batch, before its update), and ``val_*`` come from :func:`evaluate_arrays`
after the epoch.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np

from .. import losses as losses_module
from .. import fit_options, regularizers, utils
from ..callbacks import Callback, CallbackList, History
from ..engines.base import Targets
from ..training import Mean, fit_loop
from . import data

__all__ = ["fit", "evaluate", "evaluate_arrays", "train_epoch"]


def fit(model: Any, x: Any, y: Any, batch_size: int | None, epochs: int, verbose: int | str,
        callbacks: Sequence[Callback] | None, validation_split: float, validation_data: tuple | None,
        shuffle: bool, sample_weight: Any, initial_epoch: int, class_weight: dict | None = None,
        validation_freq: int | list[int] = 1) -> History:
    """``model.fit`` (see :meth:`Sequential.fit <microgradx.models.Sequential.fit>`)."""
    model._assert_compiled("fit")
    validation_freq = fit_options.check_validation_freq(validation_freq)
    if class_weight is not None and sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    batch_size = data.check_batch_size(batch_size)
    verbose = data.check_verbose(verbose)
    for argument, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise ValueError(f"Invalid value received for argument `{argument}`: {value!r}. "
                             f"Expected a non-negative integer.")
    if isinstance(validation_split, bool) or not isinstance(validation_split, Real) \
            or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"Invalid value received for argument `validation_split`: {validation_split!r}. "
                         f"Expected a float in [0, 1).")
    x, y, sample_weight = data.check_xy(model, x, y, sample_weight)

    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("Invalid value received for argument `validation_data`: expected a tuple "
                             "(x_val, y_val) or (x_val, y_val, sample_weight_val).")
        val = data.check_xy(model, validation_data[0], validation_data[1],
                            validation_data[2] if len(validation_data) == 3 else None, prefix="val_")
    elif validation_split:
        split_at = int(math.floor(len(x) * (1.0 - validation_split)))
        if split_at == 0 or split_at == len(x):
            raise ValueError(f"validation_split={validation_split} leaves no samples for "
                             f"{'training' if split_at == 0 else 'validation'} out of {len(x)}.")
        val = (x[split_at:], y[split_at:], None if sample_weight is None else sample_weight[split_at:])
        x, y = x[:split_at], y[:split_at]
        sample_weight = None if sample_weight is None else sample_weight[:split_at]

    data.check_targets(model, y)                  # every label checked once, here, for every epoch
    if class_weight is not None:
        sample_weight = fit_options.class_weight_to_sample_weights(y, class_weight)
    if val is not None:
        data.check_targets(model, val[1], "validation y")
    data.build_metrics(model, y)
    x, y_cast, sample_weight = data.engine_arrays(model, x=x, y=y, sample_weight=sample_weight)
    targets = data.engine_targets(model, y, sample_weight)   # laid out once for the engine, every epoch
    y = y_cast                                                # for the metrics
    if val is not None:
        prefix = "" if validation_data is None else "val_"   # a validation_split's rows are the user's x
        val = tuple(data.engine_arrays(model, prefix, x=val[0], y=val[1], sample_weight=val[2]))

    steps = math.ceil(len(x) / batch_size)
    rng = np.random.default_rng(utils.draw_seed()) if shuffle else None
    callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                                 model=model, params={"verbose": verbose, "epochs": epochs, "steps": steps})
    model.history = callback_list.history

    def run_epoch(epoch: int) -> dict[str, float]:
        order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
        batches = [order[start:start + batch_size] for start in range(0, len(x), batch_size)]
        logs, bad_batch, what = train_epoch(model, x, y, targets, batches, callback_list)
        if bad_batch >= 0:
            warnings.warn(
                f"fit stopped: {what} became non-finite (NaN or inf) in epoch {epoch + 1}, batch "
                f"{bad_batch + 1}; the update of that batch was skipped (the weights are the last finite "
                f"ones). The learning rate is probably too large for this model and data (optimizer "
                f"{type(model.optimizer).__name__}); lower it or scale the inputs.", RuntimeWarning,
                stacklevel=5)
            model.stop_training = True
        return logs

    def validate(epoch: int) -> dict[str, float]:
        if val is None or not fit_options.should_validate(epoch, validation_freq):
            return {}
        logs = evaluate_arrays(model, *val, batch_size=batch_size, callback_list=callback_list)
        return {f"val_{key}": value for key, value in sorted(logs.items())}

    fit_loop(model, callback_list, range(initial_epoch, epochs), run_epoch, validate)
    return model.history


def train_epoch(model: Any, x: np.ndarray, y: np.ndarray, targets: Targets,
                batches: list[np.ndarray], callback_list: CallbackList) -> tuple[dict[str, float], int, str]:
    """Run one epoch on the engine (``targets``: the labels and weights laid out once per ``fit``; ``y``, in
    the engine's dtype, for the metrics); returns the logs, the index of the batch that stopped it (-1: none)
    and what became non-finite there (``"the loss"`` or ``"the updated weights"``)."""
    engine = model.engine
    loss_mean = Mean()
    metric_means = [Mean() for _ in model.metrics]
    state = {"bad": -1}

    def batch_logs() -> dict[str, float]:
        logs = {"loss": loss_mean.result()}
        logs.update({m.name: mean.result() for m, mean in zip(model.metrics, metric_means)})
        return dict(sorted(logs.items()))

    def on_batch_end(i: int, loss: float, y_pred: np.ndarray | None) -> None:
        index = batches[i]
        loss_mean.update(loss, len(index))
        if y_pred is not None and np.all(np.isfinite(y_pred)):
            for metric, mean in zip(model.metrics, metric_means):   # unweighted, as Keras' compiled metrics
                mean.update(metric(y[index], y_pred))
        if not math.isfinite(loss) and state["bad"] < 0:
            state["bad"] = i
        callback_list.on_train_batch_end(i, batch_logs())

    losses = engine.train_epoch(x, targets, None, batches, on_batch_end,
                                on_batch_begin=callback_list.on_train_batch_begin, outputs=bool(model.metrics),
                                should_stop=lambda: model.stop_training)
    if state["bad"] < 0 and engine.rejected_update:
        return batch_logs(), len(losses) - 1, "the updated weights"
    return batch_logs(), state["bad"], "the loss"


def evaluate_arrays(model: Any, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, *,
                    batch_size: int, callback_list: CallbackList | None = None) -> dict[str, float]:
    """Loss and metrics of checked arrays (already in the engine's dtype; the labels checked once by
    :func:`~.data.check_targets`, so each batch's loss checks only its predictions), batch by batch,
    ``training=False``."""
    engine = model.engine
    loss_mean = Mean()
    metric_means = [Mean() for _ in model.metrics]
    # Keras' evaluate reports the compiled loss plus the regularization penalties (activity ones of the
    # inference-mode outputs, per batch); the weights are fixed during evaluation
    penalized = any(getattr(layer, option, None) is not None for layer in model.layers
                    for option in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"))
    weights = model.get_weights() if penalized else []
    if callback_list is not None:
        callback_list.on_test_begin()
    for i, start in enumerate(range(0, len(x), batch_size)):
        if callback_list is not None:
            callback_list.on_test_batch_begin(i)
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        swb = None if sample_weight is None else sample_weight[start:start + batch_size]
        y_pred = engine.predict(xb)
        if np.all(np.isfinite(y_pred)):
            loss = float(losses_module.training_loss(model.loss.unchecked(yb, y_pred, swb)))   # labels checked
            if penalized:
                loss += regularizers.model_penalty(model.layers, weights, xb)
            loss_mean.update(loss, len(xb))
            for metric, mean in zip(model.metrics, metric_means):
                mean.update(metric(yb, y_pred))   # unweighted, as Keras' compiled metrics
        else:
            loss_mean.update(math.nan, len(xb))
        if callback_list is not None:
            callback_list.on_test_batch_end(i, {"loss": loss_mean.result()})
    logs = {"loss": loss_mean.result()}
    logs.update({m.name: mean.result() for m, mean in zip(model.metrics, metric_means)})
    if callback_list is not None:
        callback_list.on_test_end(logs)
    return logs


def evaluate(model: Any, x: Any, y: Any, batch_size: int | None, verbose: int | str, sample_weight: Any,
             return_dict: bool) -> "float | list[float] | dict[str, float]":
    """``model.evaluate`` (see :meth:`Sequential.evaluate <microgradx.models.Sequential.evaluate>`)."""
    model._assert_compiled("evaluate")
    batch_size = data.check_batch_size(batch_size)
    data.check_verbose(verbose)
    x, y, sample_weight = data.check_xy(model, x, y, sample_weight)
    data.check_targets(model, y)
    data.build_metrics(model, y)
    x, y, sample_weight = data.engine_arrays(model, x=x, y=y, sample_weight=sample_weight)
    logs = evaluate_arrays(model, x, y, sample_weight, batch_size=batch_size)
    if return_dict:
        return dict(sorted(logs.items()))
    if not model.metrics:
        return logs["loss"]
    return [logs["loss"]] + [logs[m.name] for m in model.metrics]
