"""Backward frames and GIF: one frame per Trace row on one fixed layout (nothing moves), gradients filled in
as the Trace says, and the same step numbers as the table."""

from __future__ import annotations

import math
import pathlib
import re
import shutil

import pytest

from microgradx.trace import node_name
from test_viz_graph import _neuron  # y = tanh(w1 x1 + b), the drawings' shared example

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' binary not installed")


def _boxes(svg: str) -> dict[str, tuple[str, list[str]]]:
    """box id -> (its outline path, its texts)."""
    out = {}
    for box, body in re.findall(r'<g id="(n\d+)" class="node[^"]*">(.*?)</g>', svg, re.S):
        outline = re.search(r' d="([^"]+)"', body).group(1)
        out[box] = (outline, [t.replace("&#45;", "-") for t in re.findall(r"<text[^>]*>([^<]*)</text>", body)])
    return out


def test_one_frame_per_step_and_a_gif(tmp_path: pathlib.Path) -> None:
    from PIL import Image

    from microgradx.viz.frames import backward_frames

    y, w1, x1 = _neuron()
    paths = backward_frames(y, tmp_path, fmt="png")
    n_steps = 5  # edges: y<-z, z<-(w1 x1), z<-b, (w1 x1)<-w1, (w1 x1)<-x1
    assert [p.name for p in paths] == [f"frame_{k:03d}.png" for k in range(n_steps + 1)] + ["backward.gif"]
    assert w1.grad != 0  # backward_frames ran the backward pass
    sizes = set()
    for p in paths[:-1]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(p) as image:
            sizes.add(image.size)
    with Image.open(paths[-1]) as gif:
        assert gif.n_frames == n_steps + 1
        assert max(w for w, _ in sizes) == gif.size[0]
    assert max(h for _, h in sizes) - min(h for _, h in sizes) <= 2  # one layout, one size
    assert min(w for w, _ in sizes) >= 300  # drawn at a size that reads, not shrunk


def test_frames_fill_in_the_trace_gradients_on_a_layout_that_never_moves(tmp_path: pathlib.Path) -> None:
    from microgradx.viz.explorer import explorer_script
    from microgradx.viz.frames import backward_frames

    y, w1, x1 = _neuron()
    trace = y.backward()
    number = {node: k for k, node in enumerate(trace.order)}
    frames = [p.read_text() for p in backward_frames(y, tmp_path, fmt="svg", gif=False, trace=trace)]
    assert len(frames) == len(trace) + 1
    explorer = _boxes(explorer_script(y, trace)["svg"])
    rows = trace.table().splitlines()[2:]
    for k, svg in enumerate(frames):
        boxes = _boxes(svg)
        # the same outlines as every other frame and as the explorer's picture: nothing moved
        assert {b: o for b, (o, _) in boxes.items()} == {b: o for b, (o, _) in explorer.items()}
        known = {f"n{number[y]}": 1.0}
        for step in list(trace)[:k]:
            known[f"n{number[step.target]}"] = step.grad_after
        for box, (_, texts) in boxes.items():
            grad = [t for t in texts if t.startswith("grad ")][0]
            assert grad == (f"grad {known[box]:.4f}" if box in known else "grad ?"), (k, box)
        texts = [t.replace("&#45;", "-") for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
        if k:  # the caption numbers the step as row k of the table does, with the table's names
            step = trace[k - 1]
            node, target = node_name(step.node), node_name(step.target)  # the names explain() and the table use
            assert rows[k - 1].startswith(f"{k} ") and f" {target} " in rows[k - 1]
            assert f"backward step {k} of {len(trace)}: {target}.grad += dy/d{node} × d{node}/d{target}" in texts
            assert [f"{step.upstream:.4g}", f"{step.local:.4g}", f"{step.contribution:.4g}"] == \
                [t for t in texts if re.fullmatch(r"-?[\d.e+-]+", t)][-3:]
        else:
            assert f"backward step 0 of {len(trace)}: the seed" in texts
    # closed form of the last frames: dy/dw1 = (1 - tanh(z)**2) * x1
    last = _boxes(frames[-1])[f"n{number[w1]}"][1]
    assert f"grad {(1 - math.tanh(-0.75) ** 2) * 2.0:.4f}" in last


def test_bad_arguments_are_named(tmp_path: pathlib.Path) -> None:
    from microgradx.viz.frames import backward_frames

    y, _, _ = _neuron()
    with pytest.raises(ValueError, match="fmt must be 'png' or 'svg', got 'gif'"):
        backward_frames(y, tmp_path, fmt="gif")
    with pytest.raises(ValueError, match="duration_ms must be a positive int, got 0"):
        backward_frames(y, tmp_path, duration_ms=0)
    with pytest.raises(ValueError, match="more than max_steps=2"):
        backward_frames(y, tmp_path, max_steps=2)
