"""Explaining a compiled tape: one sample's numbers written back into the original graph.

:meth:`Tape.to_graph <microgradx.tape.tape.Tape.to_graph>` and :meth:`Tape.trace
<microgradx.tape.tape.Tape.trace>` run one sample on the tape, then give every node of the graph the
tape was compiled from the tape's value (``data``) and local derivatives (``local_grads``) and run
``root.backward()``: the graph, its drawing and its :class:`~microgradx.trace.Trace` are exactly what
the interpreted engine gives for that sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .inputs import check_params, sample_vector

if TYPE_CHECKING:  # pragma: no cover
    from ..trace import Trace
    from .tape import Tape

__all__ = ["write_sample"]


def write_sample(tape: "Tape", sample: Any, params: Any) -> "Trace":
    """Run ``sample`` through ``tape`` and write every node's value and local derivatives into the
    graph it was compiled from (grads reset), then run ``root.backward()``: return its trace."""
    vals, loc, _ = tape._run_one(sample_vector(tape, sample), check_params(tape, params), False)
    for node, row in zip(tape.nodes, tape.node_rows):
        node.data = float(vals[row])
        node.grad = 0.0
        if node.op == "sum":
            node.local_grads = (1.0,) * len(node.children)
        elif node.children:
            node.local_grads = tuple(float(loc[row, k]) for k in range(len(node.children)))
    return tape.root.backward()
