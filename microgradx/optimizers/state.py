"""An optimizer's state: one flat buffer per slot kind, one view of it per variable.

Every slot kind (Adam's ``"m"`` and ``"v"``, ...) lives in one flat contiguous 1-D buffer,
``opt.slot_buffers[name]``, laid out like the engines' flat parameter buffer: variable ``i`` is
``[offset_i, offset_i + size_i)`` for ``opt.segments[i] = (offset_i, size_i)``, seen with its shape as
``opt.slots[i][name]`` (also :meth:`SlotState.get_slot`). The fast engines update the flat buffers
with one fused kernel; the NumPy path updates the views. Gradient accumulation and the moving
averages (``use_ema``) use the same layout.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .variables import FLOAT_DTYPES, as_array

__all__ = ["SlotState"]


class SlotState:
    """The flat-buffer state of :class:`~microgradx.optimizers.base.Optimizer` (a base class of it).

    Uses the optimizer's :attr:`slot_initial_values`, ``gradient_accumulation_steps`` and ``use_ema``."""

    slot_initial_values: dict[str, float]
    gradient_accumulation_steps: int | None
    use_ema: bool

    def _init_state(self) -> None:
        self.built = False
        self.shapes: list[tuple[int, ...]] = []
        self.segments: list[tuple[int, int]] = []
        self.dtype: np.dtype | None = None
        self.slot_buffers: dict[str, np.ndarray] = {}
        self.slots: list[dict[str, np.ndarray]] = []
        self._accumulator: np.ndarray | None = None
        self._ema: np.ndarray | None = None

    def build(self, variables: Sequence[Any]) -> None:
        """Allocate the flat slot buffers for ``variables`` (arrays of one float dtype, or Values)."""
        arrays = [as_array(v, f"variables[{i}]") for i, v in enumerate(variables)]
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) > 1:
            raise ValueError(f"all variables must share one float dtype, got {sorted(map(str, dtypes))}")
        sizes = [a.size for a in arrays]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int) if sizes else []
        self._build_layout([a.shape for a in arrays], [(int(o), int(s)) for o, s in zip(offsets, sizes)],
                           arrays[0].dtype if arrays else np.dtype(np.float64))

    def build_flat(self, segments: Sequence[tuple[int, int]], total_size: int, dtype: Any,
                   shapes: Sequence[tuple[int, ...]] | None = None) -> None:
        """Allocate the slot buffers for a flat parameter buffer of ``total_size`` elements whose
        variable ``i`` is ``[offset_i, offset_i + size_i)`` (``shapes`` only shape the views)."""
        dtype = np.dtype(dtype)
        segments = [(int(o), int(s)) for o, s in segments]
        for i, (o, s) in enumerate(segments):
            if o < 0 or s < 0 or o + s > total_size:
                raise ValueError(f"segments[{i}]=({o}, {s}) lies outside a buffer of {total_size} elements")
        shapes = [(s,) for _, s in segments] if shapes is None else [tuple(sh) for sh in shapes]
        self._build_layout(shapes, segments, dtype, total_size)

    def _build_layout(self, shapes, segments, dtype, total_size: int | None = None) -> None:
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"variables must be float32 or float64, got {dtype}")
        total = total_size if total_size is not None else sum(s for _, s in segments)
        self.dtype = dtype
        self.shapes = [tuple(sh) for sh in shapes]
        self.segments = list(segments)
        self.slot_buffers = {name: np.full(total, init, dtype=dtype)
                             for name, init in self.slot_initial_values.items()}
        self.slots = [{name: buf[o:o + s].reshape(shape) for name, buf in self.slot_buffers.items()}
                      for (o, s), shape in zip(self.segments, self.shapes)]
        self._accumulator = np.zeros(total, dtype=dtype) if self.gradient_accumulation_steps else None
        self._ema = np.zeros(total, dtype=dtype) if self.use_ema else None
        self.built = True

    def get_slot(self, index: int, name: str) -> np.ndarray:
        """The view of slot ``name`` of variable ``index`` (e.g. ``get_slot(0, "m")``)."""
        if not self.built:
            raise ValueError("the optimizer has no state yet: call apply() or build() first")
        if not 0 <= index < len(self.slots):
            raise IndexError(f"variable index {index} out of range for {len(self.slots)} variables")
        if name not in self.slot_buffers:
            raise KeyError(f"{type(self).__name__} has no slot {name!r}; its slots are "
                           f"{sorted(self.slot_buffers)}")
        return self.slots[index][name]

    def state(self) -> list[dict[str, np.ndarray]]:
        """Per-variable copies of every slot (for plots)."""
        return [{k: v.copy() for k, v in per_var.items()} for per_var in self.slots]

    def moving_average(self, index: int) -> np.ndarray:
        """The EMA of variable ``index`` (``use_ema=True``)."""
        if self._ema is None:
            raise ValueError("moving averages exist only with use_ema=True")
        o, s = self.segments[index]
        return self._ema[o:o + s].reshape(self.shapes[index])

    def _view(self, buffer: np.ndarray | None, index: int) -> np.ndarray | None:
        if buffer is None:
            return None
        o, s = self.segments[index]
        return buffer[o:o + s].reshape(self.shapes[index])
