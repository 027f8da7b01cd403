"""Training a compiled tape: full-batch steps driven by the library's one training loop.

Each step is one epoch of :func:`microgradx.training.fit_loop` (callbacks, validation, stopping):
``loss, grads = tape.batch(data)``, plus an optional regularizer tape, then one optimizer update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from .inputs import check_reduce, sample_matrix

if TYPE_CHECKING:  # pragma: no cover
    from ..callbacks import Callback
    from .tape import Tape

__all__ = ["fit_tape", "regularized"]


def fit_tape(tape: "Tape", inputs: np.ndarray | Mapping[str, Sequence[float]], optimizer, *, steps: int = 1,
             reduce: str = "mean", regularizer: "Tape | None" = None,
             on_step: Callable[[int, float], None] | None = None,
             callbacks: "Sequence[Callback] | None" = None,
             validation_data: np.ndarray | Mapping[str, Sequence[float]] | None = None) -> list[float]:
    """Full-batch training of ``tape``: ``steps`` times ``loss, grads = tape.batch(inputs)``,
    then one optimizer update.

    The arguments and the result are :meth:`Tape.fit <microgradx.tape.tape.Tape.fit>`'s."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"Tape.fit: steps must be an int >= 0, got {steps!r}")
    if not (hasattr(optimizer, "apply") or callable(optimizer)):
        raise TypeError(f"Tape.fit: argument `optimizer` must be an optimizer (with apply(grads, "
                        f"variables)) or a callable optimizer(step, params, grads), got {optimizer!r}")
    if regularizer is not None and regularizer.param_leaves != tape.param_leaves:
        raise ValueError("Tape.fit: regularizer must be compiled with params=tape.param_leaves")
    from ..callbacks import CallbackList   # imported when training: a tape runs without them
    from ..training import fit_loop

    reduce = check_reduce(reduce)
    data = sample_matrix(tape, inputs)           # the samples checked once, for every step
    validation = None if validation_data is None else sample_matrix(tape, validation_data)
    callback_list = CallbackList(callbacks, model=tape, params={"verbose": 0, "epochs": steps, "steps": 1})
    losses: list[float] = []

    def run_epoch(step: int) -> dict[str, float]:   # one epoch = one full-batch update
        value, grads = regularized(tape, tape._batch_rows(data, reduce), regularizer)
        if hasattr(optimizer, "apply"):
            optimizer.apply([grads], tape.parameters)
        else:
            optimizer(step, tape.params, grads)
        losses.append(value)
        if on_step is not None:
            on_step(step, value)
        return {"loss": value}

    def validate(step: int) -> dict[str, float]:
        if validation is None:
            return {}
        return {"val_loss": regularized(tape, tape._batch_rows(validation, reduce), regularizer)[0]}

    fit_loop(tape, callback_list, range(steps), run_epoch, validate)
    tape.write_back()
    return losses


def regularized(tape: "Tape", result: Any, regularizer: "Tape | None") -> tuple[float, np.ndarray]:
    """``(value, grads)`` of ``result`` plus the regularizer tape's value and gradients at the same
    parameters."""
    value, grads = result
    if regularizer is None:
        return value, grads
    extra = regularizer.run(params=tape.params)
    return value + extra.value, grads + extra.grads
