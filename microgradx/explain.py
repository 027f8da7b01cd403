"""Explain one gradient as the chain rule writes it: a sum over paths of products of local derivatives.

For a root J and an input w,

    dJ/dw = sum over every path  w -> a -> b -> ... -> J  of  dJ/d... * ... * db/da * da/dw,

each factor being the local derivative stored on an edge of the graph. :func:`explain` writes that sum
in the lecture's notation, with numbers::

    dJ/dw1 = dJ/dy * dy/dz1 * dz1/dw1 = (0.5) * (0.3) * (2) = 0.3

The number of paths can grow exponentially with depth (every layer of a dense network multiplies it),
so they are first **counted** by dynamic programming (``paths(v) = sum of paths(child)`` over the edges,
in topological order), without enumerating them. Above ``max_paths`` the explanation groups the paths by
the edge that leaves ``wrt`` (which is how backpropagation itself computes the gradient),

    dJ/dw = sum over consumers p of w  of  dJ/dp * dp/dw,

with each ``dJ/dp`` computed by the same dynamic programming (a reverse-mode sweep over the local
derivatives), so the grouped terms still add up to the gradient.

Nothing here reads or changes ``.grad``: the numbers come from the stored local derivatives only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .engine import Value, topological_order
from .trace import node_name

__all__ = ["explain", "Explanation", "Path", "PathGroup"]

DEFAULT_MAX_PATHS = 20


@dataclass(frozen=True)
class Path:
    """One path from the root down to ``wrt``.

    Attributes:
        nodes: ``[root, ..., wrt]`` (``len(local_grads) + 1`` nodes).
        positions: for each edge, which input of the upper node the lower node is
            (``a + a`` has two paths, positions 0 and 1).
        local_grads: the local derivatives d nodes[i] / d nodes[i+1], root first.
        product: their product, multiplied root first.
    """

    nodes: tuple[Value, ...]
    positions: tuple[int, ...]
    local_grads: tuple[float, ...]
    product: float

    def edges(self) -> list[tuple[Value, int]]:
        """``(upper node, input position)`` for every edge of the path, root first."""
        return list(zip(self.nodes[:-1], self.positions))

    def symbols(self) -> str:
        """``dJ/dy * dy/dz1 * dz1/dw1``."""
        names = [node_name(n) for n in self.nodes]
        if not self.local_grads:
            return f"d{names[0]}/d{names[0]}"
        return " * ".join(f"d{a}/d{b}" for a, b in zip(names[:-1], names[1:]))

    def numbers(self, digits: int = 4) -> str:
        """``(0.5) * (0.3) * (2)``."""
        if not self.local_grads:
            return "(1)"
        return " * ".join(f"({_fmt(x, digits)})" for x in self.local_grads)


@dataclass(frozen=True)
class PathGroup:
    """All paths whose first edge out of ``wrt`` goes into ``consumer`` (input ``position``).

    ``product = upstream * local`` = (d root / d consumer) * (d consumer / d wrt), the sum of the
    ``count`` path products of the group.
    """

    consumer: Value
    position: int
    local: float
    upstream: float
    count: int
    product: float


class Explanation:
    """The paths (or groups of paths) that make up d root / d wrt, and their sum.

    Attributes:
        root, wrt: the two nodes.
        count: number of paths from ``wrt`` to ``root`` (counted, not enumerated).
        paths: every :class:`Path` when ``count <= max_paths``, else ``[]``.
        groups: the :class:`PathGroup` per edge out of ``wrt`` when the paths were too many, else ``[]``.
        grouped: whether the paths were grouped.
        total: the gradient d root / d wrt (the sum of the path products or group products).
    """

    def __init__(self, root: Value, wrt: Value, count: int, paths: list[Path], groups: list[PathGroup],
                 total: float, max_paths: int, digits: int) -> None:
        self.root = root
        self.wrt = wrt
        self.count = count
        self.paths = paths
        self.groups = groups
        self.grouped = bool(groups)
        self.total = total
        self.max_paths = max_paths
        self.digits = digits

    @property
    def terms(self) -> list[float]:
        """The numbers whose sum is ``total`` (path products, or group products)."""
        return [g.product for g in self.groups] if self.grouped else [p.product for p in self.paths]

    def __str__(self) -> str:
        r, w, dig = node_name(self.root), node_name(self.wrt), self.digits
        lhs = f"d{r}/d{w}"
        if self.count == 0:
            return f"{lhs} = 0   ({r} does not depend on {w}: no path from {w} to {r})"
        if not self.grouped and self.count == 1:
            p = self.paths[0]
            return f"{lhs} = {p.symbols()} = {p.numbers(dig)} = {_fmt(self.total, dig)}"
        if not self.grouped:
            lines = [f"{lhs}: {self.count} paths from {w} to {r}, one term each"]
            for i, p in enumerate(self.paths, 1):
                lines.append(f"  path {i}: {p.symbols()} = {p.numbers(dig)} = {_fmt(p.product, dig)}")
            lines.append(f"{lhs} = " + " + ".join(f"({_fmt(t, dig)})" for t in self.terms)
                         + f" = {_fmt(self.total, dig)}")
            return "\n".join(lines)
        lines = [f"{lhs}: {self.count} paths from {w} to {r}, too many to list (max_paths={self.max_paths});",
                 f"grouped by the edge leaving {w}: {lhs} = sum over consumers p of d{r}/dp * dp/d{w}"]
        shown = self.groups[: self.max_paths]
        for g in shown:
            c = node_name(g.consumer)
            lines.append(f"  via {c} ({g.count} paths): d{r}/d{c} * d{c}/d{w} = "
                         f"({_fmt(g.upstream, dig)}) * ({_fmt(g.local, dig)}) = {_fmt(g.product, dig)}")
        if len(self.groups) > len(shown):
            rest = self.groups[len(shown):]
            lines.append(f"  ... {len(rest)} more groups ({sum(g.count for g in rest)} paths) adding up to "
                         f"{_fmt(sum(g.product for g in rest), dig)}")
        lines.append(f"{lhs} = {_fmt(self.total, dig)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        kind = f"{len(self.groups)} groups" if self.grouped else f"{len(self.paths)} paths"
        return (f"<Explanation d{node_name(self.root)}/d{node_name(self.wrt)} = {self.total:.6g} "
                f"({self.count} paths, {kind})>")


def explain(root: Value, wrt: Value, max_paths: int = DEFAULT_MAX_PATHS, digits: int = 4) -> Explanation:
    """Write d root / d wrt as the sum over paths of the products of local derivatives.

    Args:
        root: the output (J).
        wrt: the node to differentiate with respect to (any node of the graph, usually a leaf).
        max_paths: list every path when there are at most this many; otherwise group them by the edge
            leaving ``wrt`` (the count is computed first, so a huge graph never hangs).
        digits: significant digits in the printed numbers.

    Returns:
        an :class:`Explanation`; ``str()`` gives the lecture-notation text, ``.total`` the gradient.
    """
    if not isinstance(root, Value) or not isinstance(wrt, Value):
        raise TypeError(f"explain(root, wrt) expects two Values, got {type(root).__name__} and "
                        f"{type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise ValueError(f"max_paths must be a positive int, got {max_paths!r}")
    order = topological_order(root)
    # count[v] = number of paths from wrt up to v; deriv[v] = d v / d wrt (forward-mode sweep).
    count: dict[Value, int] = {}
    deriv: dict[Value, float] = {}
    for node in order:
        if node is wrt:
            count[node], deriv[node] = 1, 1.0
            continue
        n, d = 0, 0.0
        for child, local in zip(node.children, node.local_grads):
            c = count.get(child, 0)
            if c:
                n += c
                d += local * deriv[child]
        if n:
            count[node], deriv[node] = n, d
    total_count = count.get(root, 0)
    if total_count == 0:
        return Explanation(root, wrt, 0, [], [], 0.0, max_paths, digits)
    if total_count <= max_paths:
        paths = _enumerate_paths(root, wrt, count)
        return Explanation(root, wrt, total_count, paths, [], sum(p.product for p in paths),
                           max_paths, digits)
    groups = _group_by_first_edge(order, root, wrt, count)
    return Explanation(root, wrt, total_count, [], groups, sum(g.product for g in groups), max_paths, digits)


def _enumerate_paths(root: Value, wrt: Value, count: dict[Value, int]) -> list[Path]:
    """Depth-first over the edges that lead to ``wrt`` (count > 0), root first, children in order.

    The current path is one list that grows and shrinks as the search goes down and back up; a path is
    copied only when it reaches ``wrt``. The cost is the size of the answer (at most ``max_paths``
    paths) plus the edges walked, so a chain of depth D costs O(D), not O(D**2).
    """
    if root is wrt:
        return [Path((root,), (), (), 1.0)]

    def edges_down(node: Value):
        return iter([(i, child, local) for i, (child, local) in enumerate(zip(node.children, node.local_grads))
                     if count.get(child, 0)])

    paths: list[Path] = []
    nodes, positions, local_list = [root], [], []
    pending = [edges_down(root)]  # one iterator of untried edges per node on the current path
    while pending:
        edge = next(pending[-1], None)
        if edge is None:  # every edge below nodes[-1] tried: back up one node
            pending.pop()
            nodes.pop()
            if positions:
                positions.pop()
                local_list.pop()
            continue
        i, child, local = edge
        if child is wrt:
            product = 1.0
            for x in (*local_list, local):  # multiplied root first, as the lecture writes it
                product *= x
            paths.append(Path((*nodes, child), (*positions, i), (*local_list, local), product))
            continue
        nodes.append(child)
        positions.append(i)
        local_list.append(local)
        pending.append(edges_down(child))
    return paths


def _group_by_first_edge(order: Sequence[Value], root: Value, wrt: Value,
                         count: dict[Value, int]) -> list[PathGroup]:
    """One group per edge ``wrt -> consumer``.

    One reverse sweep gives, for every node v between ``wrt`` and ``root``, ``adjoint[v]`` = d root / d v
    (the sum of ``local * adjoint[parent]`` over its out-edges) and ``up[v]`` = the number of paths from v
    up to root (the same recursion with 1 in place of the local derivative).
    """
    adjoint: dict[Value, float] = {root: 1.0}
    up: dict[Value, int] = {root: 1}
    for node in reversed(order):
        if node is wrt or node not in up:
            continue
        g, n = adjoint[node], up[node]
        for child, local in zip(node.children, node.local_grads):
            if count.get(child, 0):  # only nodes between wrt and root matter
                adjoint[child] = adjoint.get(child, 0.0) + local * g
                up[child] = up.get(child, 0) + n
    groups = []
    for node in order:  # topological order: deterministic
        if node is wrt or not count.get(node, 0):
            continue
        for i, (child, local) in enumerate(zip(node.children, node.local_grads)):
            if child is wrt:
                upstream = adjoint[node]
                groups.append(PathGroup(node, i, local, upstream, up[node], local * upstream))
    return groups


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"
