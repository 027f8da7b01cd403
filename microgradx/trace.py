"""The record of one ``backward()`` pass: every chain-rule step, in the order performed.

For each edge ``node -> input`` of the graph, backpropagation performs one step

    contribution = local * upstream          (d node / d input) * (d root / d node)
    input.grad  += contribution

A :class:`TraceStep` holds those numbers; a :class:`Trace` lists them and prints them as a table.
The trace is rebuilt from the graph on first use (replaying the accumulation), so ``backward()`` only
pays for a snapshot of the gradients it started from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from .engine import Value

__all__ = ["Trace", "TraceStep", "node_name"]

_INFIX = {"+": "+", "-": "-", "*": "*", "/": "/", "**": "**"}
#: unlabelled nodes whose written-out expression is longer than this are called ``v<id>``
MAX_EXPRESSION_NAME = 24


def node_name(node: Value, depth: int = 2) -> str:
    """How traces and explanations name a node.

    Its label if it has one; a constant leaf by its number (``1``); an unlabelled op result by its
    expression over its inputs' names, ``depth`` levels deep (``(y - 1)``, ``tanh(z1)``, ``x**2``);
    otherwise (deeper, or longer than ``MAX_EXPRESSION_NAME`` characters) ``v<id>``.
    """
    if node.label:
        return node.label
    if not node.children:
        return f"{node.data:g}" if not node.requires_grad else node.name
    if depth <= 0:
        return node.name
    args = [node_name(c, depth - 1) for c in node.children]
    if node.op in _INFIX and len(args) == 2:
        text = f"({args[0]} {_INFIX[node.op]} {args[1]})"
    elif node.op.startswith("**"):
        text = f"{args[0]}{node.op}"
    elif node.op == "neg":
        text = f"-{args[0]}"
    elif node.op == "sum":
        text = f"sum({', '.join(args)})"
    else:
        text = f"{node.op}({', '.join(args)})"
    return text if len(text) <= MAX_EXPRESSION_NAME else node.name


@dataclass(frozen=True)
class TraceStep:
    """One chain-rule step: ``target.grad += local * upstream``.

    Attributes:
        index: position of the step in the pass (0-based; the printed step number is ``index + 1``,
            see :attr:`number`).
        node: the node whose gradient is pushed (its ``grad`` is ``upstream``).
        target: the input of ``node`` that the gradient is pushed to (it receives the contribution).
        position: which input of ``node`` this is (``a + a`` has two steps, positions 0 and 1).
        local: the local derivative d node / d target.
        upstream: d root / d node, complete at this point of the pass.
        contribution: ``local * upstream``.
        grad_after: ``target.grad`` after adding the contribution.
    """

    index: int
    node: Value
    target: Value
    position: int
    local: float
    upstream: float
    contribution: float
    grad_after: float

    @property
    def number(self) -> int:
        """The step's number as the table, the backward frames and the explorer print it: ``index + 1``.

        Step 0 is the seed ``d root / d root = 1`` that starts the pass (it has no row of its own), so row
        k of :meth:`Trace.table`, frame k and the explorer's "backward step k" show the same step.
        """
        return self.index + 1

    def __str__(self) -> str:
        node, target = node_name(self.node), node_name(self.target)
        return (f"d{node}/d{target} = {self.local:.6g};  "
                f"{target}.grad += {self.local:.6g} * {self.upstream:.6g} = "
                f"{self.contribution:.6g}  ->  {self.grad_after:.6g}")


class Trace(Sequence[TraceStep]):
    """The chain-rule steps of one ``backward()`` call, a read-only sequence of :class:`TraceStep`."""

    def __init__(self, root: Value, order: list[Value], grads_before: list[float]) -> None:
        self.root = root
        self.order = order  # topological order: inputs before the nodes that use them
        self._grads_before = grads_before
        self._steps: list[TraceStep] | None = None

    @property
    def steps(self) -> list[TraceStep]:
        if self._steps is None:
            self._steps = self._replay()
        return self._steps

    def _replay(self) -> list[TraceStep]:
        grad = {node.id: before for node, before in zip(self.order, self._grads_before)}
        grad[self.root.id] += 1.0
        steps: list[TraceStep] = []
        for node in reversed(self.order):
            upstream = grad[node.id]
            for position, (child, local) in enumerate(zip(node.children, node.local_grads)):
                contribution = local * upstream
                grad[child.id] += contribution
                steps.append(TraceStep(len(steps), node, child, position, local, upstream,
                                       contribution, grad[child.id]))
        return steps

    # Sequence protocol
    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i):  # type: ignore[override]
        return self.steps[i]

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def into(self, value: Value) -> list[TraceStep]:
        """The steps that push a contribution into ``value`` (their sum is its gradient)."""
        return [s for s in self.steps if s.target is value]

    def table(self, max_rows: int | None = 60, digits: int = 6) -> str:
        """The steps as a plain-text table; long traces show their first and last rows.

        Steps are numbered from 1 (:attr:`TraceStep.number`); step 0 is the seed d root/d root = 1.
        """
        header = ("step", "node", "op", "-> input", "local d", "upstream", "contribution", "grad after")
        rows = [header]
        steps = self.steps
        shown: list[TraceStep | None] = list(steps)
        if max_rows is not None and len(steps) > max_rows:
            half = max_rows // 2
            shown = steps[:half] + [None] + steps[-half:]
        fmt = f"{{:.{digits}g}}"
        for s in shown:
            if s is None:
                rows.append(("...", f"({len(steps) - 2 * (max_rows // 2)} steps)", "", "", "", "", "", ""))
                continue
            rows.append((str(s.number), node_name(s.node), s.node.op, node_name(s.target), fmt.format(s.local),
                         fmt.format(s.upstream), fmt.format(s.contribution), fmt.format(s.grad_after)))
        widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"Trace of backward() from {node_name(self.root)} ({len(self)} chain-rule steps)\n"
                + self.table())

    def __repr__(self) -> str:
        return f"<Trace root={node_name(self.root)} steps={len(self)}>"
