"""The Keras-style summary table of a model (:meth:`Sequential.summary <microgradx.models.Sequential.summary>`)."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

__all__ = ["summary"]


def summary(model: Any, print_fn: Callable[[str], None] | None = None) -> None:
    """Print a Keras-like table of the layers with ``print_fn`` (default ``print``).

    Like Keras it returns ``None`` (so a notebook does not show it twice); to get the text, pass
    ``print_fn=lines.append``.
    """
    model._ensure_built()
    rows = []
    for layer in model.layers:
        shape = f"(None, {layer.output_dim(layer.input_dim)})" if layer.built else "?"
        params = sum(math.prod(s) for s in layer.weight_shapes()) if layer.built else 0
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, str(params)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in
              enumerate(("Layer (type)", "Output Shape", "Param #"))] if rows else [14, 14, 9]
    widths = [max(w, m) for w, m in zip(widths, (31, 22, 13))]

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * w for w in widths) + right

    def cells(values: Sequence[str], bar: str) -> str:
        return bar + bar.join((f" {v:<{w - 2}} " if i < 2 else f" {v:>{w - 2}} ")
                              for i, (v, w) in enumerate(zip(values, widths))) + bar

    total = model.count_params()
    size = total * (model._engine.dtype.itemsize if model._engine is not None else 8)
    text = [f'Model: "{model.name}"', line("┏", "┳", "┓", "━"),
            cells(("Layer (type)", "Output Shape", "Param #"), "┃"), line("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        text.append(cells(row, "│"))
        text.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
    text += [f" Total params: {total} ({_bytes(size)})", f" Trainable params: {total} ({_bytes(size)})",
             " Non-trainable params: 0 (0.00 B)"]
    if model._engine is not None:
        text.append(f" Engine: {model._engine.name} ({model._engine.dtype.name})")
    (print_fn or print)("\n".join(text))


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"
