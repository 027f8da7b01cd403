"""An optimizer's state as the list of variables Keras 3 saves, in Keras' order, both ways.

Keras' optimizer (``keras/src/optimizers/base_optimizer.py``) creates its variables in this order,
and ``saving_lib`` writes them as ``optimizer/vars/0, 1, ...``:

1. ``iterations`` (the raw call counter, an int scalar), then ``learning_rate`` (a float scalar; absent
   when the learning rate is a schedule);
2. at ``build``: ``average`` per model variable (``use_ema``), then ``gradient_accumulator`` per model
   variable (``gradient_accumulation_steps``);
3. the subclass's slots, one group after another, each group interleaved per model variable
   (``add_optimizer_variables(vars, ["momentum", "velocity"])`` gives m0, v0, m1, v1, ...):

=========  =====================================================================
SGD        ``momentum`` (only when momentum != 0)
Adam       (``momentum``, ``velocity``) interleaved; then ``velocity_hat`` (amsgrad)
RMSprop    ``velocity``; then ``momentum`` (momentum > 0); then ``average_gradient`` (centered)
Adagrad    ``accumulator``
Adadelta   (``accumulated_grad``, ``accumulated_delta_var``) interleaved
=========  =====================================================================

microgradx keeps the same numbers under its own slot names (Adam's ``m``, ``v``, ``v_hat``), so a state
saved here resumes in Keras and the other way round.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import optimizers

__all__ = ["slot_groups", "keras_optimizer_variables", "set_keras_optimizer_variables"]


def slot_groups(optimizer: optimizers.Optimizer) -> list[tuple[str, ...]]:
    """The microgradx slot names of each Keras variable group, in Keras' order (see the table)."""
    if isinstance(optimizer, optimizers.Adam):
        return [("m", "v")] + ([("v_hat",)] if optimizer.amsgrad else [])
    if isinstance(optimizer, optimizers.SGD):
        return [("momentum",)] if optimizer.momentum != 0 else []
    if isinstance(optimizer, optimizers.RMSprop):
        return ([("velocity",)] + ([("momentum",)] if optimizer.momentum > 0 else [])
                + ([("average_gradient",)] if optimizer.centered else []))
    if isinstance(optimizer, optimizers.Adagrad):
        return [("accumulator",)]
    if isinstance(optimizer, optimizers.Adadelta):
        return [("accumulated_grad", "accumulated_delta_var")]
    raise ValueError(f"Optimizer {type(optimizer).__name__} has no Keras variable layout here")


def _has_learning_rate_variable(optimizer: optimizers.Optimizer) -> bool:
    return isinstance(optimizer._learning_rate, float)


def _views(optimizer: optimizers.Optimizer) -> list[np.ndarray]:
    """Views of every state array after the two scalars, in Keras' order (writable)."""
    count = len(optimizer.shapes)
    views = []
    if optimizer.use_ema:
        views += [optimizer.moving_average(i) for i in range(count)]
    if optimizer.gradient_accumulation_steps:
        views += [optimizer._accumulator[o:o + s].reshape(shape)
                  for (o, s), shape in zip(optimizer.segments, optimizer.shapes)]
    for group in slot_groups(optimizer):
        views += [optimizer.get_slot(i, name) for i in range(count) for name in group]
    return views


def keras_optimizer_variables(optimizer: optimizers.Optimizer) -> list[np.ndarray]:
    """Copies of the optimizer's variables in Keras' order (only the two scalars before it is built)."""
    head = [np.array(optimizer._raw_iterations, dtype=np.int64)]
    if _has_learning_rate_variable(optimizer):
        head.append(np.array(optimizer._learning_rate, dtype=np.float64))   # the exact float (Keras casts it)
    if not optimizer.built:
        return head
    return head + [view.copy() for view in _views(optimizer)]


def set_keras_optimizer_variables(optimizer: optimizers.Optimizer, arrays: Sequence[np.ndarray]) -> None:
    """Restore a state written by :func:`keras_optimizer_variables` (or by Keras) into a **built**
    optimizer with the same options and variable shapes; a mismatch raises ``ValueError`` naming it."""
    if not optimizer.built:
        raise ValueError("the optimizer must be built (its variables known) before its state is restored")
    arrays = [np.asarray(a) for a in arrays]
    with_lr = _has_learning_rate_variable(optimizer)
    views = _views(optimizer)
    expected = (2 if with_lr else 1) + len(views)
    if len(arrays) != expected:
        raise ValueError(f"The saved state of optimizer {optimizer.name!r} holds {len(arrays)} variables; this "
                         f"{type(optimizer).__name__} with these options has {expected} (iterations"
                         f"{', learning_rate' if with_lr else ''} and {len(views)} slot arrays)")
    for i, (view, array) in enumerate(zip(views, arrays[expected - len(views):])):
        if view.shape != array.shape:
            raise ValueError(f"optimizer variable {i + expected - len(views)} has shape {array.shape}, "
                             f"expected {view.shape}")
    iterations = arrays[0]
    if iterations.shape != () or not np.issubdtype(iterations.dtype, np.integer) or int(iterations) < 0:
        raise ValueError(f"optimizer variable 0 (iterations) must be an integer scalar >= 0, got {iterations!r}")
    for view, array in zip(views, arrays[expected - len(views):]):
        view[...] = array
    optimizer._raw_iterations = int(iterations)
    if with_lr:
        optimizer.learning_rate = float(arrays[1])
