"""A model's weights must be finite: a NaN or inf weight is found, named (``dense/kernel[0, 3] = nan``)
and refused by ``predict`` (its outputs would be NaN/inf) and by the save methods (the file would not
load: ``set_weights`` refuses it)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

__all__ = ["first_non_finite_weight", "refuse_non_finite_weights", "check_weights_finite"]


def first_non_finite_weight(model: Any, weights: Sequence[np.ndarray]) -> str | None:
    """``"dense/kernel[0, 3] = nan"`` for the first NaN/inf entry of ``weights`` (model order), else None."""
    for name, w in zip(model._weight_names(), weights):
        bad = ~np.isfinite(w)
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return f"{name}{list(index)} = {w[index]} ({int(bad.sum())} non-finite value(s) in it)"
    return None


def refuse_non_finite_weights(model: Any, path: str | os.PathLike) -> None:
    """Saving a NaN/inf weight is refused (the file would not load: ``set_weights`` refuses it)."""
    where = first_non_finite_weight(model, model.get_weights()) if model.built else None
    if where is not None:
        raise ValueError(f"Cannot save the weights of model {model.name!r} to {os.fspath(path)!r}: a weight "
                         f"is not finite (NaN or inf): {where}.")


def check_weights_finite(model: Any, method: str) -> None:
    """Raise ``ValueError`` naming the first non-finite weight before ``method`` computes with it."""
    if model._engine is not None and model._engine.weights_finite():
        return
    where = first_non_finite_weight(model, model.get_weights())
    if where is not None:
        raise ValueError(f"Model {model.name!r} has a non-finite weight (NaN or inf): {where}. `{method}()` "
                         f"would return NaN/inf. Set finite weights (set_weights / load_weights) or "
                         f"build and train the model again with a lower learning rate.")
