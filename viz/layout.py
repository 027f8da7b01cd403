"""One fixed Graphviz layout of a scalar graph, shared by the explorer, the backward frames and the GIF.

:class:`FixedLayout` draws each value as one box, top to bottom (``rankdir=TB``: a deep chain grows down the
page instead of sideways), with its name and the operation that made it on the first line and two cells
``data 0.7311 | grad -0.1966`` below (``rankdir="auto"`` turns to left-to-right when that is far wider than
tall, as a wide layer is). An edge runs from each input to the value that reads it, so one
chain-rule step is one edge. Everything is addressed by stable ids taken from the graph's own topological
numbering (never ``Value.id``):

* node ``n5`` is ``order[5]`` (``order`` = :func:`~microgradx.engine.topological_order` of the root);
* edge ``e_n3_n5_0`` runs from ``n3`` into ``n5``; the last number counts repeated pairs (``a + a``).

Graphviz lays the graph out **once** (``dot -Tjson``). Every later picture (a highlighted step, unknown
gradients, a caption) is drawn at those pinned positions with ``neato -n2``, and the ``data``/``grad``
cells have a fixed width, so no text change can move anything: frames of an animation do not jump.

**Collapsing.** A model's graph has a ``sum`` node per neuron over ``w*x`` products
(:func:`~microgradx.engine.weighted_sum`). With ``collapse=True`` each such product that feeds only its sum
is folded into the sum's box (the box says ``Σ 3 w·x + b``); the product's inputs draw their edges straight
into the box. The explorer lists the folded products when the box is clicked.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from microgradx.engine import Value, topological_order
from microgradx.trace import node_name

from .graph import DEFAULT_MAX_NODES, GraphvizNotFoundError, INSTALL_HINT, ROLE_COLORS, _num, role

__all__ = ["FixedLayout", "NodeStyle", "COLLAPSE_ABOVE", "FACTOR_COLORS", "expression"]

#: ``collapse="auto"`` folds weighted sums when the graph has more value nodes than this
COLLAPSE_ABOVE = 60
#: ``rankdir="auto"`` turns a top-to-bottom layout this many times wider than tall to left-to-right
WIDE = 3.0
#: the three factors of a chain-rule step, the same in the picture and in the formula (Okabe-Ito colours):
#: upstream dJ/d(node), local d(node)/d(input), and the contribution that lands in the input's grad
FACTOR_COLORS = {"upstream": "#0072B2", "local": "#D55E00", "contribution": "#AA3377"}
_INFIX = {"+": "+", "-": "-", "*": "*", "/": "/", "**": "**"}
_FONT = "Helvetica"
_FONT_SIZE = 11
_CHAR_WIDTH = 6.6   # points per character at 11 pt, generous (digits are 6.1 pt in Helvetica)
_MAX_TITLE = 28     # characters of a box's first line before it is shortened with "…"


def expression(node: Value, names: Mapping[Value, str] | None = None, max_terms: int = 4) -> str:
    """``node``'s operation over its inputs' names: ``w1 * x``, ``sigmoid(a1)``, ``-log(ŷ)``, ``a**2``."""
    def name(child: Value) -> str:
        return names[child] if names is not None else node_name(child)

    args = [name(c) for c in node.children]
    op = node.op
    if op in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[op]} {args[1]}"
    if op.startswith("**"):
        return f"{args[0]}{op}"
    if op == "neg":
        return f"-{args[0]}"
    if op == "sum":
        shown = args if len(args) <= max_terms else args[:max_terms - 1] + ["…", args[-1]]
        return " + ".join(shown)
    return f"{op}({', '.join(args)})"


def _bare(text: str) -> str:
    """An expression without spaces and parentheses, to tell whether a name already spells it."""
    return re.sub(r"[\s()]", "", text)


def _short(text: str, limit: int = _MAX_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class NodeStyle:
    """How one frame draws a box: its cell texts and an optional outline/grad colour (a highlight)."""

    data: str | None = None          # None: the final value
    grad: str | None = None          # None: the final gradient; "?" for a gradient not known yet
    outline: str | None = None       # outline colour (and a thick pen)
    grad_color: str | None = None    # colour of the grad cell's text
    dashed: bool = False             # a dashed outline (the input that receives a contribution)


@dataclass
class FixedLayout:
    """The drawing of ``root``'s graph with every node and edge named, laid out once (see the module).

    Attributes:
        root: the output node.
        order: every node, topological order; ``ids[node]`` is ``"n<k>"`` with ``order[k] is node``.
        shown: for each node id, the id of the box that shows it (itself, or the sum it was folded into).
        folded: for each folded sum's id, the ids of the products folded into it, in input order.
        tucked: for each leaf drawn only inside folded boxes (a weight read by folded products), the ids of
            every box that holds it (one per neuron and sample that reads it); ``shown`` names the first.
        edges: ``(edge id, tail box id, head box id)`` for every drawn edge.
        edge_of: ``(node id, input position)`` -> the drawn edge carrying that graph edge, or ``None`` where
            the edge is inside a folded box (a product into its sum).
        names: how formulas name every node (:func:`~microgradx.trace.node_name`, as ``explain`` does).
    """

    root: Value
    collapse: bool | str = "auto"
    max_nodes: int | None = DEFAULT_MAX_NODES
    digits: int = 4
    rankdir: str = "auto"
    order: list[Value] = field(init=False)
    ids: dict[Value, str] = field(init=False)
    names: dict[Value, str] = field(init=False)
    shown: dict[str, str] = field(init=False)
    folded: dict[str, list[str]] = field(init=False)
    tucked: dict[str, list[str]] = field(init=False)
    edges: list[tuple[str, str, str]] = field(init=False)
    edge_of: dict[tuple[str, int], str | None] = field(init=False)
    _positions: dict | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.root, Value):
            raise TypeError(f"FixedLayout: root must be a Value, got {type(self.root).__name__}")
        if self.rankdir not in ("auto", "TB", "LR"):
            raise ValueError(f"rankdir must be 'auto', 'TB' or 'LR', got {self.rankdir!r}")
        if self.collapse not in (True, False, "auto"):
            raise ValueError(f"collapse must be True, False or 'auto', got {self.collapse!r}")
        self.order = topological_order(self.root)
        self.ids = {node: f"n{k}" for k, node in enumerate(self.order)}
        self.names = {node: node_name(node) for node in self.order}
        collapse = self.collapse if self.collapse != "auto" else len(self.order) > COLLAPSE_ABOVE
        self._fold(collapse)
        boxes = sum(1 for node_id, box in self.shown.items() if node_id == box)
        if self.max_nodes is not None and boxes > self.max_nodes:
            raise ValueError(f"the graph has {boxes} boxes to draw, more than max_nodes={self.max_nodes}; draw "
                             "a smaller expression, pass collapse=True, or raise max_nodes (layout may take long)")
        self.edges, self.edge_of = self._edges()

    # ------------------------------------------------------------------------------ structure
    def _fold(self, collapse: bool) -> None:
        """Fill ``shown``, ``folded`` and ``tucked`` (see the class docstring)."""
        self.shown = {self.ids[node]: self.ids[node] for node in self.order}
        self.folded, self.tucked = {}, {}
        if not collapse:
            return
        consumers: dict[Value, list[Value]] = {}
        for node in self.order:
            for child in node.children:
                consumers.setdefault(child, []).append(node)
        for node in self.order:
            if node.op != "sum":
                continue
            inner = [c for c in node.children if c.op == "*" and len(consumers[c]) == 1 and c is not self.root]
            if inner:
                self.folded[self.ids[node]] = [self.ids[c] for c in inner]
                for c in inner:
                    self.shown[self.ids[c]] = self.ids[node]
        # a leaf read only by folded products and folded sums (a weight, a bias, an input of the first layer)
        # lives inside those boxes: listed when one is opened, searched, but not drawn on its own
        for node in self.order:
            if node.children or node is self.root:
                continue
            homes = [self.shown[self.ids[c]] for c in consumers.get(node, [])]
            if homes and all(home in self.folded for home in homes):
                self.tucked[self.ids[node]] = list(dict.fromkeys(homes))
                self.shown[self.ids[node]] = homes[0]

    def _edges(self) -> tuple[list[tuple[str, str, str]], dict[tuple[str, int], str | None]]:
        edges: list[tuple[str, str, str]] = []
        edge_of: dict[tuple[str, int], str | None] = {}
        repeats: dict[tuple[str, str], int] = {}
        for node in self.order:
            node_id = self.ids[node]
            head = self.shown[node_id]
            for position, child in enumerate(node.children):
                tail = self.shown[self.ids[child]]
                if tail == head or self.ids[child] in self.tucked:  # inside a folded box
                    edge_of[(node_id, position)] = None
                    continue
                m = repeats.get((tail, head), 0)
                repeats[(tail, head)] = m + 1
                edge_id = f"e_{tail}_{head}_{m}"
                edges.append((edge_id, tail, head))
                edge_of[(node_id, position)] = edge_id
        return edges, edge_of

    def target_box(self, node_id: str, target_id: str) -> str:
        """The box that shows ``target_id`` as an input of ``node_id`` (a tucked leaf: ``node_id``'s box)."""
        return self.shown[node_id] if target_id in self.tucked else self.shown[target_id]

    def node(self, node_id: str) -> Value:
        return self.order[int(node_id[1:])]

    def boxes(self) -> list[str]:
        """The ids of the drawn boxes, topological order."""
        return [i for i, box in self.shown.items() if i == box]

    def title(self, node_id: str) -> str:
        """The first line of a box: ``z1 = sigmoid(a1)``, ``w1``, or ``Σ 3 w·x + b`` for a folded sum."""
        node = self.node(node_id)
        name = self.names[node]
        if node_id in self.folded:
            products = len(self.folded[node_id])
            rest = len(node.children) - products
            return _short(f"{name} = Σ {products} w·x" + (f" + {rest} more" if rest > 1 else
                                                             " + b" if rest == 1 else ""))
        if not node.children:
            return _short(name)
        body = expression(node, self.names)
        if _bare(body) == _bare(name):  # the name already spells the expression: (w1*x) = w1 * x
            return _short(name)
        return _short(f"{name} = {body}")

    def data_text(self, node: Value) -> str:
        return f"data {_num(node.data, self.digits)}"

    def grad_text(self, grad: float | None) -> str:
        return "grad ?" if grad is None else f"grad {_num(grad, self.digits)}"

    # ---------------------------------------------------------------------------------- DOT
    def _cell_width(self) -> float:
        longest = max(max(len(self.data_text(n)), len(self.grad_text(n.grad))) for n in self.order)
        return round(max(longest, 11) * _CHAR_WIDTH + 8)

    def dot_source(self, styles: Mapping[str, NodeStyle] | None = None,
                   hot_edges: Mapping[str, str] | None = None, caption: str | None = None) -> str:
        """The DOT text; pinned at the laid-out positions (for ``neato -n2``) once :meth:`positions` ran.

        ``styles`` restyles boxes by id, ``hot_edges`` colours edges by id (a thick pen), ``caption`` is an
        HTML-like label drawn in a fixed box above the graph (frames only).
        """
        styles = styles or {}
        hot_edges = hot_edges or {}
        pinned = self._positions
        width = self._cell_width()
        lines = ["digraph microgradx {",
                 f'  graph [rankdir={"TB" if self.rankdir == "auto" else self.rankdir}, nodesep=0.25, ranksep=0.35, outputorder=edgesfirst, pad=0.1'
                 + (f', bb="{pinned["bb"]}"' if pinned else "") + "];",
                 f'  node [shape=box, style="filled,rounded", margin=0, fontname="{_FONT}", '
                 f"fontsize={_FONT_SIZE}, penwidth=1];",
                 f'  edge [arrowsize=0.6, color="#555555", fontname="{_FONT}", fontsize=10];']
        for node_id in self.boxes():
            node = self.node(node_id)
            style = styles.get(node_id, NodeStyle())
            data = style.data if style.data is not None else self.data_text(node)
            grad = style.grad if style.grad is not None else self.grad_text(node.grad)
            if style.grad_color:
                grad = f'<FONT COLOR="{style.grad_color}"><B>{html.escape(grad)}</B></FONT>'
            else:
                grad = html.escape(grad)
            label = ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                     f'<TR><TD COLSPAN="2">{html.escape(self.title(node_id))}</TD></TR>'
                     f'<TR><TD WIDTH="{width}" HEIGHT="15" FIXEDSIZE="TRUE">{html.escape(data)}</TD>'
                     f'<TD WIDTH="{width}" HEIGHT="15" FIXEDSIZE="TRUE">{grad}</TD></TR></TABLE>>')
            kind = role(node, self.root)
            classes = f"mgx-box mgx-{kind}" + (" mgx-folded" if node_id in self.folded else "")
            attrs = [f'id="{node_id}"', f'class="{classes}"', f"label={label}",
                     f'fillcolor="{ROLE_COLORS[kind]}"']
            if style.outline:
                attrs += [f'color="{style.outline}"', "penwidth=3"]
            if style.dashed:
                attrs.append('style="filled,rounded,dashed"')
            if pinned:
                x, y, w, h = pinned["nodes"][node_id]
                attrs += [f'pos="{x},{y}!"', f"width={w}", f"height={h}", "fixedsize=true"]
            lines.append(f"  {node_id} [{', '.join(attrs)}];")
        for edge_id, tail, head in self.edges:
            attrs = [f'id="{edge_id}"', 'class="mgx-edge"']
            if edge_id in hot_edges:
                attrs += [f'color="{hot_edges[edge_id]}"', "penwidth=3.5"]
            if pinned:
                attrs.append(f'pos="{pinned["edges"][edge_id]}"')
            lines.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
        if caption is not None and pinned:
            x0, y0, x1, y1 = (float(v) for v in pinned["bb"].split(","))
            lines.append(f'  caption [shape=plain, style="", label=<{caption}>, '
                         f'pos="{(x0 + x1) / 2},{pinned.get("caption_y", y1)}!"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _run(self, source: str, fmt: str, engine: str, no_op: int | None = None) -> bytes:
        import graphviz

        try:
            return graphviz.pipe(engine, fmt, source.encode(), neato_no_op=no_op, quiet=True)
        except graphviz.ExecutableNotFound as exc:
            raise GraphvizNotFoundError(INSTALL_HINT) from exc

    def positions(self) -> dict:
        """Lay the graph out (once; cached): ``{"bb": ..., "nodes": {id: (x, y, w, h)}, "edges": {id: spline}}``."""
        if self._positions is None:
            laid = json.loads(self._run(self.dot_source(), "json", "dot"))
            if self.rankdir == "auto":  # top to bottom, unless that is far wider than tall (a wide layer)
                self.rankdir = "TB"
                x0, y0, x1, y1 = (float(v) for v in laid["bb"].split(","))
                if x1 - x0 > WIDE * (y1 - y0):
                    self.rankdir = "LR"
                    laid = json.loads(self._run(self.dot_source(), "json", "dot"))
            nodes, edges = {}, {}
            for obj in laid.get("objects", []):
                x, y = obj["pos"].split(",")
                nodes[obj["name"]] = (x, y, obj["width"], obj["height"])
            for edge in laid.get("edges", []):
                edges[edge["id"]] = edge["pos"]
            self._positions = {"bb": laid["bb"], "nodes": nodes, "edges": edges}
        return self._positions

    def render(self, fmt: str = "svg", styles: Mapping[str, NodeStyle] | None = None,
               hot_edges: Mapping[str, str] | None = None, caption: str | None = None,
               caption_size: tuple[float, float] = (0.0, 0.0)) -> bytes:
        """Draw at the fixed positions (``svg``, ``png``); the same layout whatever the styles and caption.

        ``caption_size`` (points) reserves a band above the graph for the caption, at least as wide as given:
        pass the same size for every frame and every frame has the same size.
        """
        positions = self.positions()
        if caption is not None:
            x0, y0, x1, y1 = (float(v) for v in positions["bb"].split(","))
            grow = max(0.0, caption_size[0] - (x1 - x0)) / 2
            positions = dict(positions, bb=f"{x0 - grow},{y0},{x1 + grow},{y1 + caption_size[1]}",
                             caption_y=y1 + caption_size[1] / 2)
        saved, self._positions = self._positions, positions
        try:
            return self._run(self.dot_source(styles, hot_edges, caption), fmt, "neato", no_op=2)
        finally:
            self._positions = saved

    def svg(self, grads: Mapping[str, float | None] | None = None) -> str:
        """The explorer's picture: every box with its numbers, ids on every node and edge.

        ``grads`` shows those gradients instead of the final ones (``None``: ``grad ?``), by box id: the
        layout is the same whatever they say.

        Graphviz' own tooltips (``<title>``) are dropped and the ``data``/``grad`` texts are centred on their
        cells (``text-anchor="middle"``), so the page can change them without re-measuring anything.
        """
        styles = None if grads is None else {box: NodeStyle(grad=self.grad_text(g)) for box, g in grads.items()}
        text = self.render("svg", styles).decode("utf-8")
        text = re.sub(r"<title>[^<]*</title>\n?", "", text[text.index("<svg"):])
        half = self._cell_width() / 2
        centres = {box: float(self.positions()["nodes"][box][0]) for box in self.boxes()}

        def centre(block: re.Match) -> str:
            box = block.group(1)
            texts = iter((centres[box], centres[box] - half, centres[box] + half))  # title, data, grad

            def move(cell: re.Match) -> str:
                return f'<text text-anchor="middle" x="{next(texts):.2f}"{cell.group(1)}>'
            return re.sub(r'<text text-anchor="start" x="[^"]*"([^>]*)>', move, block.group(0))

        return re.sub(r'<g id="(n\d+)" class="node[^"]*">.*?</g>', centre, text, flags=re.S)


def unknown_grads(layout: FixedLayout, known: Sequence[str]) -> dict[str, NodeStyle]:
    """Styles that show ``grad ?`` on every box whose id is not in ``known``."""
    known_set = set(known)
    return {box: NodeStyle(grad="grad ?") for box in layout.boxes() if box not in known_set}
