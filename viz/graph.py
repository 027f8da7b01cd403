"""Draw a scalar ``Value`` graph with Graphviz (micrograd's style).

``draw_graph(root)`` returns a ``graphviz.Digraph`` in micrograd's style: every value is a record
``{ label | data 2.0000 | grad 1.0000 }``, every operation a separate small node feeding the value it
produced, and edges run from inputs to the op that reads them (left to right by default).

Nodes are coloured by role:

==============  =====================================================  ==============
role            which nodes                                            fill colour
==============  =====================================================  ==============
input           leaves without ``requires_grad`` (data, constants)     light blue
parameter       leaves with ``requires_grad=True`` (weights, biases)   light green
intermediate    op results                                             white
output          the root                                               gold
==============  =====================================================  ==============

Node names come from the graph's own topological numbering (``n0``, ``n1``, ..., and ``n5_op`` for
the op that produced ``n5``), never from ``Value.id`` or memory addresses, so the DOT source of the same
expression is identical run to run and can be compared with a golden file.

The backward pass as frames and a GIF is :mod:`microgradx.viz.frames`, the interactive explorer
:mod:`microgradx.viz.explorer`; both draw the compact fixed layout of :mod:`microgradx.viz.layout`.

Rendering needs Graphviz' ``dot`` program; without it :func:`render` raises
:class:`GraphvizNotFoundError` saying how to install it, and :func:`save_dot` still writes the DOT source.
"""

from __future__ import annotations

import os
import pathlib
from typing import Mapping, Sequence

import graphviz

from microgradx.engine import Value, topological_order
from microgradx.explain import Path
from microgradx.trace import TraceStep
from microgradx.utils import atomic_write

__all__ = ["draw_graph", "render", "pipe", "save_dot", "role", "GraphvizNotFoundError",
           "ROLE_COLORS", "HIGHLIGHT_COLOR", "DEFAULT_MAX_NODES"]

ROLE_COLORS = {"input": "lightblue", "parameter": "palegreen", "intermediate": "white", "output": "gold"}
HIGHLIGHT_COLOR = "red"
HIGHLIGHT_PENWIDTH = "2.5"
#: graphs larger than this are refused by default (Graphviz layout time grows quickly with size)
DEFAULT_MAX_NODES = 1000

INSTALL_HINT = (
    "Graphviz' 'dot' program was not found on PATH; it is needed to render drawings. Install it with\n"
    "    apt-get install graphviz        (Debian/Ubuntu)\n"
    "    brew install graphviz           (macOS)\n"
    "    conda install -c conda-forge graphviz\n"
    "or see https://graphviz.org/download/. Without it, save_dot(...) still writes the DOT source."
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the Graphviz ``dot`` binary, which is not installed (the message says how to get it)."""


def role(node: Value, root: Value) -> str:
    """``"output"``, ``"parameter"``, ``"input"`` or ``"intermediate"`` (see the module docstring)."""
    if node is root:
        return "output"
    if not node.children:
        return "parameter" if node.requires_grad else "input"
    return "intermediate"


def draw_graph(root: Value, rankdir: str = "LR", highlight_path: Path | Sequence[Value] | None = None,
               highlight_step: TraceStep | None = None, *, grads: Mapping[Value, float | None] | None = None,
               show_grad: bool = True, digits: int = 4, max_nodes: int | None = DEFAULT_MAX_NODES,
               title: str | None = None) -> graphviz.Digraph:
    """Build the Graphviz drawing of ``root``'s graph.

    Args:
        root: the output node.
        rankdir: ``"LR"`` (left to right, default), ``"RL"``, ``"TB"`` or ``"BT"``.
        highlight_path: a :class:`~microgradx.explain.Path` from ``explain(...).paths`` (or a list of nodes
            ``[root, ..., wrt]``): its nodes and edges are drawn in red.
        highlight_step: a :class:`~microgradx.trace.TraceStep`: its edge is drawn in red and labelled
            ``local x upstream = contribution``.
        grads: shown instead of ``node.grad`` for the nodes it holds (``None`` shows ``grad ?``); used by
            frames to show the gradients known so far.
        show_grad: include the ``grad`` field.
        digits: significant digits of data and grad.
        max_nodes: refuse graphs with more value nodes than this (``None``: no limit).
        title: a caption drawn above the graph.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph: root must be a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
    order = topological_order(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(f"draw_graph: the graph has {len(order)} value nodes, more than max_nodes={max_nodes}; "
                         "draw a smaller expression or pass max_nodes=None (layout may take long)")
    number = {node: k for k, node in enumerate(order)}
    hot_nodes, hot_edges, edge_labels = _highlights(highlight_path, highlight_step, number)

    dot = graphviz.Digraph(name="microgradx", graph_attr={"rankdir": rankdir})
    if title is not None:
        dot.attr(label=title, labelloc="t")
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="10")
    for k, node in enumerate(order):
        fields = [_escape(node.label)] if node.label else []
        fields.append(f"data {_num(node.data, digits)}")
        if show_grad:
            g = grads[node] if grads is not None and node in grads else node.grad
            fields.append("grad ?" if g is None else f"grad {_num(g, digits)}")
        attrs = {"shape": "record", "style": "filled", "fillcolor": ROLE_COLORS[role(node, root)]}
        if k in hot_nodes:
            attrs.update(color=HIGHLIGHT_COLOR, penwidth=HIGHLIGHT_PENWIDTH)
        dot.node(f"n{k}", "{ " + " | ".join(fields) + " }", **attrs)
        if node.children:
            op_attrs = {"shape": "circle" if len(node.op) <= 2 else "ellipse"}
            if k in hot_nodes:
                op_attrs.update(color=HIGHLIGHT_COLOR, penwidth=HIGHLIGHT_PENWIDTH)
            dot.node(f"n{k}_op", node.op, **op_attrs)
            for position, child in enumerate(node.children):
                attrs = {}
                if (k, position) in hot_edges:
                    attrs.update(color=HIGHLIGHT_COLOR, penwidth=HIGHLIGHT_PENWIDTH)
                    if (k, position) in edge_labels:
                        attrs["label"] = edge_labels[(k, position)]
                dot.edge(f"n{number[child]}", f"n{k}_op", **attrs)
            out_attrs = {"color": HIGHLIGHT_COLOR, "penwidth": HIGHLIGHT_PENWIDTH} if (k, None) in hot_edges else {}
            dot.edge(f"n{k}_op", f"n{k}", **out_attrs)
    return dot


def _highlights(path: Path | Sequence[Value] | None, step: TraceStep | None,
                number: Mapping[Value, int]) -> tuple[set[int], set[tuple[int, int | None]], dict]:
    """Node numbers and edges ``(upper node number, input position or None for op -> value)`` to colour."""
    nodes: set[int] = set()
    edges: set[tuple[int, int | None]] = set()
    labels: dict[tuple[int, int], str] = {}
    if path is not None:
        path_nodes = list(path.nodes) if isinstance(path, Path) else list(path)
        missing = [n for n in path_nodes if n not in number]
        if missing:
            raise ValueError(f"draw_graph: highlight_path holds nodes that are not in the graph: {missing[:3]}")
        if isinstance(path, Path):
            positions = list(path.positions)
        else:  # a plain node list: take the first input position that matches
            positions = []
            for upper, lower in zip(path_nodes[:-1], path_nodes[1:]):
                if not any(c is lower for c in upper.children):
                    raise ValueError(f"draw_graph: highlight_path: {lower.name} is not an input of {upper.name}")
                positions.append(next(i for i, c in enumerate(upper.children) if c is lower))
        nodes.update(number[n] for n in path_nodes)
        for upper, position in zip(path_nodes[:-1], positions):
            edges.add((number[upper], position))
            edges.add((number[upper], None))
    if step is not None:
        if step.node not in number or step.target not in number:
            raise ValueError("draw_graph: highlight_step belongs to another graph")
        k = number[step.node]
        nodes.update((k, number[step.target]))
        edges.update(((k, step.position), (k, None)))
        labels[(k, step.position)] = f"{step.local:.4g} x {step.upstream:.4g} = {step.contribution:.4g}"
    return nodes, edges, labels


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}f}" if x == 0 or 1e-3 <= abs(x) < 1e6 else f"{x:.{digits}g}"


def _escape(text: str) -> str:
    """Escape the characters that structure a Graphviz record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


# ------------------------------------------------------------------------------------- files
def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` atomically (:func:`microgradx.utils.atomic_write`), creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_bytes(data))


def _as_graph(graph: graphviz.Digraph | Value) -> graphviz.Digraph:
    return draw_graph(graph) if isinstance(graph, Value) else graph


def pipe(graph: graphviz.Digraph | Value, fmt: str = "svg") -> bytes:
    """Render to bytes (``"svg"``, ``"png"``, ``"pdf"``), raising :class:`GraphvizNotFoundError` without ``dot``."""
    try:
        return _as_graph(graph).pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFoundError(INSTALL_HINT) from exc


def render(graph: graphviz.Digraph | Value, path: str | os.PathLike, fmt: str | None = None) -> pathlib.Path:
    """Render a drawing (or a ``Value``, drawn with defaults) to ``path``; the format defaults to its suffix."""
    path = pathlib.Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    if not fmt:
        raise ValueError(f"render: cannot tell the format of {str(path)!r}; give fmt='svg' or a suffix")
    _atomic_write(path, pipe(graph, fmt))
    return path


def save_dot(graph: graphviz.Digraph | Value, path: str | os.PathLike) -> pathlib.Path:
    """Write the DOT source (needs no Graphviz binary); render it later with ``dot -Tsvg file.dot``."""
    path = pathlib.Path(path)
    _atomic_write(path, _as_graph(graph).source.encode())
    return path
