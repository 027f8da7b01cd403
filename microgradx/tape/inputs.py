"""What a tape accepts: samples (a sequence, a matrix, or a dict of columns) and parameters, checked.

Every check names the input or parameter and the value: a tape never runs on a non-finite number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .compiler import _REDUCTIONS

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape

__all__ = ["sample_vector", "sample_matrix", "check_finite", "check_params", "check_reduce"]


def sample_vector(tape: "Tape", inputs: Any) -> np.ndarray:
    """One sample as a float64 vector in ``tape.input_names`` order (a sequence or a dict), checked."""
    if isinstance(inputs, Mapping):
        return sample_matrix(tape, {k: [v] for k, v in inputs.items()})[0]
    if not hasattr(inputs, "__len__") or isinstance(inputs, str):
        raise TypeError(f"Tape.run: argument `inputs` must be a sequence of {tape.n_inputs} numbers "
                        f"({', '.join(tape.input_names) or 'none'}) or a dict name -> number, got "
                        f"{inputs!r} of type {type(inputs).__name__}")
    x = np.asarray(inputs, dtype=np.float64).reshape(-1) if len(inputs) else np.zeros(0)
    if x.shape[0] != tape.n_inputs:
        raise ValueError(f"Tape.run: expected {tape.n_inputs} input values "
                         f"({', '.join(tape.input_names) or 'none'}), got {x.shape[0]}")
    check_finite(tape, x[None, :])
    return np.ascontiguousarray(x)

def sample_matrix(tape: "Tape", inputs: Any) -> np.ndarray:
    """Samples as a C-contiguous float64 ``(n_samples, n_inputs)`` matrix (a 2-D array or a dict of
    columns), checked: at least one sample, every value finite."""
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(tape.input_names))
        if unknown:
            raise ValueError(f"Tape: unknown input {unknown[0]!r}; the inputs are {tape.input_names}")
        columns = []
        for name in tape.input_names:
            if name not in inputs:
                raise ValueError(f"Tape: input {name!r} is missing (inputs: {tape.input_names})")
            column = np.asarray(inputs[name], dtype=np.float64)
            if column.ndim != 1:
                raise ValueError(f"Tape: input {name!r} must be 1-D (one value per sample), "
                                 f"got shape {column.shape}")
            if columns and column.shape[0] != columns[0].shape[0]:
                raise ValueError(f"Tape: input {name!r} has {column.shape[0]} samples, expected "
                                 f"{columns[0].shape[0]} (like {tape.input_names[0]!r})")
            columns.append(column)
        x = (np.column_stack(columns) if columns else np.zeros((1, 0)))
    else:
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != tape.n_inputs:
            raise ValueError(f"Tape.batch: inputs must have shape (n_samples, {tape.n_inputs}) "
                             f"with columns {tape.input_names}, got shape {x.shape}")
    if x.shape[0] == 0:  # a mean over no samples has no value: never answer 0 with zero gradients
        raise ValueError(f"Tape.batch: argument `inputs` holds 0 samples; give at least one (columns "
                         f"{tape.input_names})")
    check_finite(tape, x)
    return np.ascontiguousarray(x)

def check_finite(tape: "Tape", x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        sample, column = np.argwhere(bad)[0]
        raise ValueError(f"Tape: input {tape.input_names[column]!r} of sample {sample} is "
                         f"{float(x[sample, column])!r}; inputs must be finite")

def check_params(tape: "Tape", params: Any) -> np.ndarray:
    """``params`` (default ``tape.params``) as a float64 vector, one finite value per parameter."""
    p = tape.params if params is None else params
    p = np.ascontiguousarray(p, dtype=np.float64)
    if p.shape != (tape.n_params,):
        raise ValueError(f"Tape: params must have shape ({tape.n_params},) "
                         f"(one per parameter), got shape {p.shape}")
    bad = np.flatnonzero(~np.isfinite(p))
    if bad.size:
        raise ValueError(f"Tape: parameter {tape.param_names[bad[0]]!r} is {float(p[bad[0]])!r}; "
                         f"parameters must be finite")
    return p


def check_reduce(reduce: Any) -> str:
    """``reduce`` of :meth:`Tape.batch <microgradx.tape.tape.Tape.batch>`: ``"mean"`` or ``"sum"``."""
    if reduce not in _REDUCTIONS:
        raise ValueError(f"Tape.batch: reduce must be one of {_REDUCTIONS}, got {reduce!r}")
    return reduce
