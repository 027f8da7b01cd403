"""Exercises of tutorial 7 (overfitting, dropout, early stopping): inverted dropout with a given mask, and
``patience`` / ``min_delta`` chosen so that early stopping stops where asked, and which weights it restores.

Oracles: the expectation of inverted dropout (the mean activation is kept) and its definition; Keras 3's
early-stopping rule written out here (``wait`` grows every epoch and is reset by an epoch whose loss beats
the best by more than ``min_delta``; training stops when ``wait >= patience``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .result import NotAttempted, Result, StudentError, as_number, call, diagnose, is_placeholder, passed, \
    run_student, wrong

__all__ = ["VAL_LOSSES", "STOP_EPOCH", "MAX_PATIENCE", "early_stopping_run", "check_dropout",
           "check_early_stopping", "check_restored_epoch", "RESTORE_SETTINGS"]


def check_dropout(dropout: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> Result:
    """Exercise 7.1: ``dropout(x, keep, rate)``, inverted dropout with a given boolean mask ``keep``
    (``True`` = the unit is kept)."""
    def check() -> Result:
        rng = np.random.default_rng(7)
        for rate in (0.5, 0.2, 0.8):
            x = rng.normal(size=(200, 50)) + 1.0
            keep = rng.random(x.shape) >= rate
            got = run_student(dropout, x.copy(), keep.copy(), rate)
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                raise StudentError from TypeError("dropout must return an array")
            if got.shape != x.shape:
                return wrong("7.1", "shape", "return an array of x's shape.")
            if np.allclose(got[~keep], 0.0) and np.allclose(got[keep], x[keep] / (1 - rate)) \
                    and abs(got.mean() / x.mean() - 1) < 0.05:
                continue
            for hint_id, candidate, message in (
                    ("no_scale", x * keep, "scale the kept units by 1/(1 − rate): otherwise the mean activation "
                                           "shrinks during training and the next layer sees other numbers at "
                                           "prediction time."),
                    ("scale_by_rate", x * keep / rate, "divide by the probability of being kept, 1 − rate."),
                    ("multiplied", x * keep * (1 - rate), "divide by 1 − rate, do not multiply: the kept units must "
                                                          "make up for the dropped ones."),
                    ("mask_inverted", x * ~keep / (1 - rate), "keep the units where keep is True and zero the others.")):
                if np.allclose(got, candidate):
                    return wrong("7.1", hint_id, message)
            return wrong("7.1", "generic", "zero the dropped units and divide the kept ones by 1 − rate.")
        return passed("7.1", "inverted dropout keeps the expected activation, so prediction needs no rescaling.")
    return call("7.1", check)


#: exercise 7.2: a recorded validation loss, epoch by epoch (epoch 1 first)
VAL_LOSSES = (1.00, 0.80, 0.65, 0.55, 0.50, 0.47, 0.455, 0.450, 0.448, 0.447, 0.4466, 0.4463, 0.4462, 0.4463,
              0.4470, 0.4480, 0.4500, 0.4530, 0.4570, 0.4620)
#: exercise 7.2: training must stop at the end of this epoch (counting from 1) ...
STOP_EPOCH = 12
#: ... with a patience of at most this many epochs
MAX_PATIENCE = 5


def early_stopping_run(losses, patience: int, min_delta: float) -> tuple[int, int]:
    """Keras 3's rule on recorded losses: ``(epochs run, best epoch)``, both counted from 1."""
    best, best_epoch, wait = None, 0, 0
    for epoch, loss in enumerate(losses):
        wait += 1
        if best is None or loss + abs(min_delta) < best:
            best, best_epoch, wait = loss, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return len(losses), best_epoch + 1


def check_early_stopping(patience: Any, min_delta: Any) -> Result:
    """Exercise 7.2: ``patience`` (at most :data:`MAX_PATIENCE`) and ``min_delta`` with which
    ``EarlyStopping(monitor="val_loss")`` stops :data:`VAL_LOSSES` at the end of :data:`STOP_EPOCH`."""
    def check() -> Result:
        if is_placeholder(patience) or is_placeholder(min_delta):
            raise NotAttempted
        p, delta = as_number(patience), as_number(min_delta)
        if p != int(p) or p < 0:
            return wrong("7.2", "patience_type", "patience counts epochs: a whole number ≥ 0.")
        if p > MAX_PATIENCE:
            return wrong("7.2", "patience_too_large", f"keep patience at most {MAX_PATIENCE}: change min_delta "
                                                      "instead.")
        stopped, best = early_stopping_run(VAL_LOSSES, int(p), delta)
        if stopped == STOP_EPOCH:
            return passed("7.2", f"stopped at the end of epoch {stopped}; the best epoch was {best}.")
        if stopped < STOP_EPOCH:
            return wrong("7.2", "too_early", f"it stopped after epoch {stopped}: wait longer (more patience) or "
                                             "count smaller improvements (a smaller min_delta).")
        return wrong("7.2", "too_late", f"it stopped after epoch {stopped}: improvements smaller than min_delta do "
                                        "not reset the wait, so a larger min_delta stops earlier.")
    return call("7.2", check)


#: exercise 7.3: the settings whose restored epoch the student predicts
RESTORE_SETTINGS = {"patience": 5, "min_delta": 0.01}


def check_restored_epoch(answer: Any) -> Result:
    """Exercise 7.3: with :data:`RESTORE_SETTINGS` and ``restore_best_weights=True`` on :data:`VAL_LOSSES`,
    the epoch (from 1) whose weights the model holds after ``fit``."""
    def check() -> Result:
        value = as_number(answer)
        stopped, best = early_stopping_run(VAL_LOSSES, **RESTORE_SETTINGS)
        if value == best:
            return passed("7.3", "the best epoch is the last one whose loss beat the best by more than min_delta.")
        lowest = int(np.argmin(VAL_LOSSES)) + 1
        return diagnose("7.3", value, {
            "lowest_loss": (lowest, "min_delta also decides which epoch counts as best: an epoch that improves by "
                                    "less than min_delta never becomes the best one, even with a lower loss."),
            "last_epoch": (stopped, "restore_best_weights=True restores the best epoch's weights, not the last ones."),
            "zero_based": (best - 1, "count epochs from 1, as the exercise asks."),
        }, "run the rule by hand: an epoch is the new best when its loss is below best − min_delta.")
    return call("7.3", check)
