"""One picture per chain-rule step of a backward pass, and the animated GIF, on one fixed layout.

Every frame is drawn at the positions Graphviz chose once (:class:`~microgradx.viz.layout.FixedLayout`), so
nothing jumps between frames; the frames show what the explorer shows, with the same step numbers as the
Trace table (frame k is row k; frame 0 is the seed dJ/dJ = 1) and the same three colours for the factors of
a step: the upstream gradient on the node that pushes (blue), the local derivative on the edge (orange),
the contribution on the input that receives it (purple, dashed).
"""

from __future__ import annotations

import html
import io
import os
import pathlib

from microgradx.engine import Value
from microgradx.trace import Trace

from .graph import _atomic_write
from .layout import FACTOR_COLORS, FixedLayout, NodeStyle

__all__ = ["backward_frames", "frame_styles"]

_CAPTION_FONT = 12
_CAPTION_CHAR = 7.0   # points per character at 12 pt (generous)


def _g(x: float) -> str:
    return f"{x:.4g}"


def frame_styles(layout: FixedLayout, trace: Trace, k: int) -> tuple[dict[str, NodeStyle], dict[str, str], list[str]]:
    """The styles of frame ``k``: boxes (unknown gradients, the step's node and input), lit edges, caption lines.

    ``k = 0`` is the seed; ``k >= 1`` is ``trace[k - 1]``, the table's row k.
    """
    root = layout.root
    r = layout.names[root]
    steps = list(trace)
    known: dict[str, float] = {layout.ids[root]: steps[0].upstream if steps else root.grad}
    for step in steps[:k]:
        known[layout.ids[step.target]] = step.grad_after
    styles = {box: NodeStyle(grad=layout.grad_text(known.get(box))) for box in layout.boxes()}
    hot: dict[str, str] = {}
    if k == 0:
        box = layout.shown[layout.ids[root]]
        styles[box] = NodeStyle(grad=layout.grad_text(known[box]), outline=FACTOR_COLORS["upstream"],
                                grad_color=FACTOR_COLORS["upstream"])
        lines = [f"backward step 0 of {len(steps)}: the seed", f"{r}.grad = d{r}/d{r} = 1"]
        return styles, hot, lines
    step = steps[k - 1]
    node_id, target_id = layout.ids[step.node], layout.ids[step.target]
    node_box, target_box = layout.shown[node_id], layout.target_box(node_id, target_id)
    styles[node_box] = NodeStyle(grad=styles[node_box].grad, outline=FACTOR_COLORS["upstream"],
                                 grad_color=FACTOR_COLORS["upstream"])
    styles[target_box] = NodeStyle(grad=styles[target_box].grad, outline=FACTOR_COLORS["contribution"],
                                   grad_color=FACTOR_COLORS["contribution"], dashed=True)
    edge = layout.edge_of[(node_id, step.position)]
    if edge is not None:
        hot[edge] = FACTOR_COLORS["local"]
    n, t = layout.names[step.node], layout.names[step.target]
    lines = [f"backward step {k} of {len(steps)}: {t}.grad += d{r}/d{n} × d{n}/d{t}",
             f"= {_g(step.upstream)} × {_g(step.local)} = {_g(step.contribution)}"]
    return styles, hot, lines


def _caption(lines: list[str], k: int, trace: Trace) -> str:
    """The caption as an HTML-like label, the three factors in their colours (as in the explorer)."""
    if k == 0:
        return f'<FONT POINT-SIZE="{_CAPTION_FONT}">{html.escape(lines[0])}<BR/>{html.escape(lines[1])}</FONT>'
    step = trace[k - 1]
    c = FACTOR_COLORS
    second = (f'= <FONT COLOR="{c["upstream"]}"><B>{_g(step.upstream)}</B></FONT> × '
              f'<FONT COLOR="{c["local"]}"><B>{_g(step.local)}</B></FONT> = '
              f'<FONT COLOR="{c["contribution"]}"><B>{_g(step.contribution)}</B></FONT>')
    return f'<FONT POINT-SIZE="{_CAPTION_FONT}">{html.escape(lines[0])}<BR/>{second}</FONT>'


def backward_frames(root: Value, out_dir: str | os.PathLike, fmt: str = "png", gif: bool = True,
                    trace: Trace | None = None, *, duration_ms: int = 1200, max_steps: int = 200,
                    collapse: bool | str = "auto") -> list[pathlib.Path]:
    """One picture per chain-rule step of the backward pass, plus an animated GIF.

    Frame 0 shows the forward values with only the root's gradient known (the seed); frame k (k >= 1) is
    step k of the Trace table: the node that pushes is outlined in blue, the edge in orange, the input that
    receives the contribution in purple (dashed), gradients not reached yet read ``grad ?``, and the
    caption writes the step as ``input.grad += dJ/d(node) × d(node)/d(input) = a × b = c``. Files:
    ``out_dir/frame_000.<fmt>``, ... and ``out_dir/backward.gif`` when ``gif`` is true (needs Pillow).

    Unless a ``trace`` of this root is given, this calls ``root.backward()`` (so ``.grad`` accumulates as
    with any backward call). Returns the written paths, frames first, the GIF last.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"backward_frames: fmt must be 'png' or 'svg', got {fmt!r}")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms <= 0:
        raise ValueError(f"backward_frames: duration_ms must be a positive int, got {duration_ms!r}")
    if not isinstance(root, Value):
        raise TypeError(f"backward_frames: root must be a Value, got {type(root).__name__}")
    layout = FixedLayout(root, collapse=collapse)
    n_edges = sum(len(node.children) for node in layout.order)
    if n_edges > max_steps:
        raise ValueError(f"backward_frames: the backward pass has {n_edges} chain-rule steps, more than "
                         f"max_steps={max_steps}; use a smaller expression or raise max_steps")
    if gif:
        try:
            from PIL import Image
        except ImportError as exc:  # pragma: no cover - Pillow is a test dependency
            raise ImportError("backward_frames(gif=True) needs Pillow: pip install pillow") from exc
    if trace is None:
        trace = root.backward()
    elif trace.root is not root:
        raise ValueError("backward_frames: trace was recorded from another root")
    captions = [frame_styles(layout, trace, k)[2] for k in range(len(trace) + 1)]
    width = max(len(line) for lines in captions for line in lines) * _CAPTION_CHAR
    out = pathlib.Path(out_dir)
    written: list[pathlib.Path] = []
    pngs: list[bytes] = []
    for k in range(len(trace) + 1):
        styles, hot, lines = frame_styles(layout, trace, k)
        caption = _caption(lines, k, trace)

        def draw(kind: str) -> bytes:
            return layout.render(kind, styles, hot, caption=caption, caption_size=(width, 2.6 * _CAPTION_FONT + 12))

        data = draw(fmt)
        written.append(out / f"frame_{k:03d}.{fmt}")
        _atomic_write(written[-1], data)
        if gif:
            pngs.append(data if fmt == "png" else draw("png"))
    if gif:
        images = [Image.open(io.BytesIO(b)).convert("RGB") for b in pngs]
        width_px, height_px = max(i.width for i in images), max(i.height for i in images)
        frames = []
        for image in images:  # one layout gives one size; the canvas only guards against rounding
            canvas = Image.new("RGB", (width_px, height_px), "white")
            canvas.paste(image, (0, 0))
            frames.append(canvas)
        buffer = io.BytesIO()
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
        written.append(out / "backward.gif")
        _atomic_write(written[-1], buffer.getvalue())
    return written
