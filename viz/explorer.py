"""The backprop explorer: step through a graph's forward pass, every chain-rule step and every path.

Python computes everything once (the fixed layout, every formula with its numbers, every path product) into
one JSON *step script*; the browser only shows it, by toggling classes and swapping texts on the laid-out
SVG. The same JavaScript module (``assets/explorer.js``) runs in two hosts:

* :func:`explore` returns a Jupyter widget (anywidget: JupyterLab, Notebook 7, VS Code, Colab);
* :func:`explorer_html` / :func:`save_html` write one self-contained page (no server, no network), which is
  what the tour embeds and what ``microgradx graph EXPR --html out.html`` writes.

The script, phase by phase (step numbers are the ones the Trace table prints, the frames and the GIF use):

* ``forward``: one step per node in topological order, ``z1 = sigmoid(a1) = sigmoid(1) = 0.7311``;
* ``backward``: step 0 is the seed ``dJ/dJ = 1``, step k is ``trace[k - 1]`` (row k of ``trace.table()``):
  ``w2.grad += dJ/d(w2*z1) × d(w2*z1)/dw2 = -0.7496 × 0.7311 = -0.548``, the three factors coloured as in
  :data:`~microgradx.viz.layout.FACTOR_COLORS` (upstream on the node, local on the edge, contribution on
  the input's gradient);
* ``paths``: for each leaf, the paths of :func:`~microgradx.explain.explain` with their products (and the
  sum that equals the gradient), or its groups when the paths are too many to list.
"""

from __future__ import annotations

import html
import os
import pathlib
from typing import Any

from microgradx.engine import Value
from microgradx.explain import DEFAULT_MAX_PATHS, explain
from microgradx.trace import Trace

from .graph import DEFAULT_MAX_NODES, _atomic_write
from .layout import FACTOR_COLORS, FixedLayout, expression
from .widget import asset_text, embed, module_text, static_page

__all__ = ["explore", "explorer_script", "explorer_html", "explorer_fragment", "save_html", "MAX_PATH_LEAVES"]

#: paths are precomputed for at most this many leaves (the trainable ones first)
MAX_PATH_LEAVES = 400


def _fmt(x: float) -> str:
    """Numbers in formulas: 4 significant digits, no ``-0``."""
    text = f"{x:.4g}"
    return "0" if text in ("-0", "0") else text


def _phrase(node: Value, layout: FixedLayout, value_of) -> str:
    """``node``'s operation written over its inputs' numbers (or names, with ``value_of=None``)."""
    names = {c: value_of(c) for c in node.children}
    return expression(node, names, max_terms=6)


def _forward(layout: FixedLayout) -> list[dict[str, Any]]:
    steps = []
    for node in layout.order:
        node_id = layout.ids[node]
        name = layout.names[node]
        if node.children:
            symbolic = expression(node, layout.names, max_terms=6)
            numeric = _phrase(node, layout, lambda c: _fmt(c.data) if c.data >= 0 else f"({_fmt(c.data)})")
            text = f"{name} = {symbolic} = {numeric} = {_fmt(node.data)}"
            if symbolic == name:
                text = f"{name} = {numeric} = {_fmt(node.data)}"
        else:
            kind = "a weight" if node.requires_grad else "an input"
            text = f"{name} = {_fmt(node.data)}   ({kind}: a leaf of the graph)"
        steps.append({"node": node_id, "box": layout.shown[node_id], "text": text,
                      "data": layout.data_text(node),
                      "edges": [e for p in range(len(node.children))
                                if (e := layout.edge_of[(node_id, p)]) is not None]})
    return steps


def _backward(layout: FixedLayout, trace: Trace) -> list[dict[str, Any]]:
    root = layout.root
    root_id = layout.ids[root]
    r = layout.names[root]
    seed = trace[0].upstream if len(trace) else root.grad
    steps: list[dict[str, Any]] = [{
        "number": 0, "node": root_id, "box": layout.shown[root_id], "target": root_id,
        "target_box": layout.shown[root_id], "edge": None,
        "text": f"{r}.grad = d{r}/d{r} = 1   (the seed: backward starts here)",
        "before": layout.grad_text(None), "after": layout.grad_text(seed)}]
    grads: dict[str, float | None] = {layout.ids[n]: None for n in layout.order}
    grads[root_id] = seed
    for step in trace:
        node_id, target_id = layout.ids[step.node], layout.ids[step.target]
        n, t = layout.names[step.node], layout.names[step.target]
        up, local, contribution = f"d{r}/d{n}", f"d{n}/d{t}", f"{t}.grad"
        before = grads[target_id]
        grads[target_id] = step.grad_after
        steps.append({
            "number": step.index + 1, "node": node_id, "box": layout.shown[node_id], "target": target_id,
            "target_box": layout.target_box(node_id, target_id), "edge": layout.edge_of[(node_id, step.position)],
            "symbols": {"upstream": up, "local": local, "contribution": contribution},
            "numbers": {"upstream": _fmt(step.upstream), "local": _fmt(step.local),
                        "contribution": _fmt(step.contribution)},
            "text": (f"{t}.grad += {up} × {local} = {_fmt(step.upstream)} × {_fmt(step.local)} = "
                     f"{_fmt(step.contribution)}"),
            "before": layout.grad_text(before), "after": layout.grad_text(step.grad_after),
            "result": f"{t}.grad: {_fmt(before) if before is not None else '?'} → {_fmt(step.grad_after)}"})
    return steps


def _paths(layout: FixedLayout, max_paths: int) -> dict[str, Any]:
    root = layout.root
    leaves = [n for n in layout.order if not n.children and n is not root]
    leaves.sort(key=lambda n: not n.requires_grad)  # weights first (stable: topological within each)
    out: dict[str, Any] = {}
    for leaf in leaves[:MAX_PATH_LEAVES]:
        e = explain(root, leaf, max_paths=max_paths)
        leaf_id = layout.ids[leaf]
        entry: dict[str, Any] = {"name": layout.names[leaf], "count": e.count, "grouped": e.grouped,
                                 "total": _fmt(e.total), "weight": leaf.requires_grad, "items": []}
        if e.grouped:
            for g in e.groups:
                consumer_id = layout.ids[g.consumer]
                c = layout.names[g.consumer]
                edge = layout.edge_of[(consumer_id, g.position)]
                entry["items"].append({
                    "edges": [edge] if edge else [],
                    "boxes": sorted({layout.shown[consumer_id], layout.target_box(consumer_id, leaf_id)}),
                    "symbols": f"d{layout.names[root]}/d{c} × d{c}/d{entry['name']}   ({g.count} paths)",
                    "numbers": f"({_fmt(g.upstream)}) × ({_fmt(g.local)})", "product": _fmt(g.product)})
        else:
            for p in e.paths:
                ids = [layout.ids[n] for n in p.nodes]
                edges = [layout.edge_of[(ids[i], position)] for i, position in enumerate(p.positions)]
                entry["items"].append({
                    "edges": [x for x in edges if x],
                    "boxes": sorted({layout.shown[i] for i in ids if i not in layout.tucked}),
                    "symbols": p.symbols().replace(" * ", " × "),
                    "numbers": p.numbers().replace(" * ", " × "), "product": _fmt(p.product)})
        terms = " + ".join(f"({item['product']})" for item in entry["items"])
        entry["sum"] = f"d{layout.names[root]}/d{entry['name']} = {terms or '0'} = {entry['total']}"
        out[leaf_id] = entry
    return out


def _folded(layout: FixedLayout) -> dict[str, Any]:
    """For each folded box, one row per input of its sum: ``w × x = 0.5 × 2 = 1`` for a product, ``b = 0.1``
    for anything else, with the ids whose gradients the row shows (the weight's, then the term's)."""
    out = {}
    for box in layout.folded:
        rows = []
        for term in layout.node(box).children:
            term_id = layout.ids[term]
            if layout.shown[term_id] == box and term.op == "*" and term_id not in layout.tucked:
                w, x = term.children
                rows.append({"node": term_id, "grads": [layout.ids[w], term_id],
                             "text": f"{layout.names[w]} × {layout.names[x]} = {_fmt(w.data)} × {_fmt(x.data)} "
                                     f"= {_fmt(term.data)}"})
            else:
                rows.append({"node": term_id, "grads": [term_id, term_id],
                             "text": f"{layout.names[term]} = {_fmt(term.data)}"})
        out[box] = rows
    return out


def explorer_script(root: Value, trace: Trace | None = None, *, title: str | None = None,
                    collapse: bool | str = "auto", max_nodes: int | None = DEFAULT_MAX_NODES,
                    max_paths: int = DEFAULT_MAX_PATHS) -> dict[str, Any]:
    """The explorer's JSON step script for ``root``'s graph (see the module docstring).

    Args:
        root: the output (J). Unless ``trace`` is given, ``root.backward()`` is called (leaf gradients
            accumulate, as with any backward call).
        trace: the :class:`~microgradx.trace.Trace` of a backward pass of ``root`` already run.
        title: a heading shown above the picture.
        collapse: fold each neuron's ``w*x`` products into its sum's box (``"auto"``: above
            :data:`~microgradx.viz.layout.COLLAPSE_ABOVE` nodes).
        max_nodes: refuse to lay out more boxes than this.
        max_paths: list every path of a leaf up to this many, else group them (as :func:`explain`).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explorer: root must be a Value, got {type(root).__name__}")
    if trace is None:
        trace = root.backward()
    elif not isinstance(trace, Trace) or trace.root is not root:
        raise ValueError("explorer: trace must be the Trace of a backward() call on this root")
    layout = FixedLayout(root, collapse=collapse, max_nodes=max_nodes)
    boxes = layout.boxes()
    seed = trace[0].upstream if len(trace) else root.grad
    return {
        "title": title or f"Backpropagation through {layout.names[root]}",
        "root": layout.ids[root],
        # drawn as backward step 0 shows it: only the root's gradient (the seed) is known
        "svg": layout.svg({box: (seed if box == layout.ids[root] else None) for box in boxes}),
        "colors": FACTOR_COLORS,
        "nodes": {layout.ids[n]: {"name": layout.names[n], "box": layout.shown[layout.ids[n]],
                                  "boxes": layout.tucked.get(layout.ids[n], [layout.shown[layout.ids[n]]]),
                                  "data": layout.data_text(n), "grad": layout.grad_text(n.grad),
                                  "unknown": layout.grad_text(None), "leaf": not n.children}
                  for n in layout.order},
        "boxes": boxes,
        # each box's centre and size in Graphviz points (y up), so the page can follow a step without
        # measuring the DOM
        "at": {box: [round(float(x), 1), round(float(y), 1), round(float(w) * 72), round(float(h) * 72)]
               for box, (x, y, w, h) in layout.positions()["nodes"].items()},
        "edges": [e for e, _, _ in layout.edges],
        "folded": _folded(layout),
        "forward": _forward(layout),
        "backward": _backward(layout, trace),
        "paths": _paths(layout, max_paths),
    }


def _state(script: dict[str, Any], phase: str, step: int) -> dict[str, Any]:
    """The page's starting state, checked: ``phase`` and a ``step`` that exists in it."""
    if phase not in ("forward", "backward", "paths"):
        raise ValueError(f"phase must be 'forward', 'backward' or 'paths', got {phase!r}")
    low, high = (1, len(script["forward"])) if phase == "forward" else (0, len(script["backward"]) - 1)
    if isinstance(step, bool) or not isinstance(step, int) or (phase != "paths" and not low <= step <= high):
        raise ValueError(f"step must be an int from {low} to {high} in the {phase} phase, got {step!r}")
    return {"script": script, "phase": phase, "step": step, "leaf": "", "path": 0}


def explorer_html(root: Value, trace: Trace | None = None, *, title: str | None = None,
                  collapse: bool | str = "auto", max_nodes: int | None = DEFAULT_MAX_NODES,
                  max_paths: int = DEFAULT_MAX_PATHS, phase: str = "backward", step: int = 0) -> str:
    """One self-contained HTML page (scripts, styles and SVG inline; no network) showing the explorer."""
    script = explorer_script(root, trace, title=title, collapse=collapse, max_nodes=max_nodes,
                             max_paths=max_paths)
    state = _state(script, phase, step)
    return static_page(module_text("explorer.js"), asset_text("explorer.css"), state,
                       title=html.escape(script["title"]))


def explorer_fragment(root: Value, trace: Trace | None = None, *, element_id: str = "mgx-explorer",
                      phase: str = "backward", step: int = 0, **options) -> str:
    """The explorer as an HTML fragment for a larger page (the tour): its module, CSS and state inline."""
    state = _state(explorer_script(root, trace, **options), phase, step)
    return embed(module_text("explorer.js"), asset_text("explorer.css"), state, element_id=element_id)


def save_html(root: Value, path: str | os.PathLike, trace: Trace | None = None, **options) -> pathlib.Path:
    """Write :func:`explorer_html` to ``path`` (atomically) and return the path."""
    path = pathlib.Path(path)
    _atomic_write(path, explorer_html(root, trace, **options).encode("utf-8"))
    return path


def explore(root: Value, trace: Trace | None = None, *, title: str | None = None, collapse: bool | str = "auto",
            max_nodes: int | None = DEFAULT_MAX_NODES, max_paths: int = DEFAULT_MAX_PATHS,
            phase: str = "backward", step: int = 0):
    """The explorer as a Jupyter widget (anywidget): ``explore(J)`` as the last line of a cell shows it.

    The widget's ``phase`` (``"forward"``, ``"backward"``, ``"paths"``), ``step``, ``leaf`` (a node id such as
    ``"n1"``) and ``path`` are synced both ways: set them from Python to move the view. Needs ``anywidget``
    (``pip install anywidget``, part of the ``notebooks`` extra).
    """
    from .widget import ExplorerWidget

    state = _state(explorer_script(root, trace, title=title, collapse=collapse, max_nodes=max_nodes,
                                   max_paths=max_paths), phase, step)
    return ExplorerWidget(**state)

