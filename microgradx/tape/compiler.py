"""The tape compiler: a :class:`~microgradx.engine.Value` graph flattened into arrays, one row per node.

Rows in topological order: ``op`` (the op codes below; an n-ary ``sum`` becomes a left-to-right chain of
``+`` rows), ``arg`` (operand rows, -1 when unused) and ``const`` (numbers baked into a node, read back
from the op string ``Value`` writes exactly). Importing this compiles nothing (no numba).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..engine import Value

__all__ = ["OP_CODES", "OP_CONST", "OP_INPUT", "OP_PARAM", "compile_rows"]

# Op codes, identical to microgradx.kernels.tape.OP_* (kept here so that compiling a graph does not
# import numba; tests check the two tables agree).
OP_CONST, OP_INPUT, OP_PARAM = 0, 1, 2
OP_CODES: dict[str, int] = {
    "+": 3, "-": 4, "*": 5, "/": 6, "**const": 7, "**": 8, "neg": 9, "exp": 10, "log": 11,
    "log1p": 12, "sqrt": 13, "tanh": 14, "sigmoid": 15, "relu": 16, "abs": 17, "softplus": 18,
    "clip": 19,
}
_UNARY = ("neg", "exp", "log", "log1p", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus")
_BINARY = ("+", "-", "*", "/", "**")
_REDUCTIONS = ("mean", "sum")


class _Rows:
    """The tape arrays under construction: one row per operation (an n-ary ``sum`` takes n - 1)."""

    def __init__(self) -> None:
        self.op: list[int] = []
        self.arg: list[tuple[int, int]] = []
        self.const: list[tuple[float, float]] = []
        self.node: list[int] = []

    def emit(self, node_index: int, code: int, first: int = -1, second: int = -1,
             constants: tuple[float, ...] = ()) -> int:
        self.op.append(code)
        self.arg.append((first, second))
        self.const.append((tuple(constants) + (0.0, 0.0))[:2])
        self.node.append(node_index)
        return len(self.op) - 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.array(self.op, dtype=np.int32), np.array(self.arg, dtype=np.int32).reshape(-1, 2),
                np.array(self.const, dtype=np.float64).reshape(-1, 2),
                np.array(self.node, dtype=np.int64))


def _named_inputs(inputs) -> tuple[list[str], list[Value]]:
    if isinstance(inputs, Mapping):
        names, leaves = list(inputs.keys()), list(inputs.values())
    else:
        leaves = list(inputs)
        names = [leaf.name if isinstance(leaf, Value) else repr(leaf) for leaf in leaves]
    seen: set[int] = set()
    for name, leaf in zip(names, leaves):
        if not isinstance(name, str):
            raise TypeError(f"compile_tape: input names must be str, got {name!r}")
        if not isinstance(leaf, Value):
            raise TypeError(f"compile_tape: input {name} must be a Value, got {type(leaf).__name__}")
        if leaf.id in seen:
            raise ValueError(f"compile_tape: input {name!r} is given twice")
        seen.add(leaf.id)
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"compile_tape: two inputs are named {duplicate!r}; label them apart or "
                         f"pass a dict name -> Value")
    return names, leaves


def _choose_params(nodes: list[Value], input_ids: set[int],
                   params: Sequence[Value] | None) -> list[Value]:
    leaves = [node for node in nodes if node.is_leaf and node.id not in input_ids]
    if params is None:
        chosen = [leaf for leaf in leaves if leaf.requires_grad]
        return chosen or [leaf for leaf in leaves if leaf.label]
    chosen = list(params)
    seen: set[int] = set()
    for leaf in chosen:
        if not isinstance(leaf, Value):
            raise TypeError(f"compile_tape: params must be Values, got {type(leaf).__name__}")
        if not leaf.is_leaf:
            raise ValueError(f"compile_tape: parameter {leaf.name!r} is not a leaf (op {leaf.op!r})")
        if leaf.id in input_ids:
            raise ValueError(f"compile_tape: {leaf.name!r} is both an input and a parameter")
        if leaf.id in seen:
            raise ValueError(f"compile_tape: parameter {leaf.name!r} is given twice")
        seen.add(leaf.id)
    return chosen


def _decode_op(node: Value) -> tuple[int, tuple[float, ...]]:
    """The op code and constants of a non-leaf node, or a ``ValueError`` naming op and node."""
    op, arity = node.op, len(node.children)
    if op in _BINARY and arity == 2:
        return OP_CODES[op], ()
    if op in _UNARY and arity == 1:
        return OP_CODES[op], ()
    try:
        # Value writes these constants so that they read back exactly ("**2", "**0.3333333333333333")
        if op.startswith("**") and arity == 1:          # "**k"
            return OP_CODES["**const"], (float(op[2:]),)
        if op.startswith("clip[") and op.endswith("]") and arity == 1:   # "clip[low,high]"
            low, high = (float(bound) for bound in op[5:-1].split(","))
            return OP_CODES["clip"], (low, high)
    except ValueError:
        pass
    raise ValueError(f"compile_tape: unsupported op {op!r} at node {node.name!r} "
                     f"(with {arity} operand{'s' if arity != 1 else ''}); supported: "
                     f"{', '.join(_BINARY + _UNARY)}, **<number>, clip[low,high]")


def compile_rows(nodes: list[Value], input_leaves: Sequence[Value], param_leaves: Sequence[Value]):
    """The tape arrays of ``nodes`` (topological order): ``(op, arg, const, row_node, row_of)`` where
    ``row_node[r]`` is the node of row ``r`` and ``row_of[node.id]`` the row holding its value.

    Raises ``ValueError`` for a compared node or an unsupported op (naming it)."""
    rows = _Rows()
    column = {leaf.id: j for j, leaf in enumerate(input_leaves)}
    param_index = {leaf.id: j for j, leaf in enumerate(param_leaves)}
    row_of: dict[int, int] = {}  # node id -> the row holding its value
    for index, node in enumerate(nodes):
        if node.compared:
            raise ValueError(
                f"compile_tape: node {node.name!r} (op {node.op or 'leaf'!r}) was compared "
                f"(v < ..., if v > 0: ...), so the graph's shape may depend on its value and "
                f"cannot be replayed for other inputs; compare .data instead, or build the graph "
                f"without the comparison")
        operands = [row_of[child.id] for child in node.children]
        if node.is_leaf:
            if node.id in column:
                row = rows.emit(index, OP_INPUT, column[node.id])
            elif node.id in param_index:
                row = rows.emit(index, OP_PARAM, param_index[node.id])
            else:
                row = rows.emit(index, OP_CONST, constants=(node.data,))
        elif node.op == "sum":
            # t0 + t1 + ... left to right, as sum_values adds: a chain of "+" rows (one term: t0 + 0)
            row = rows.emit(index, OP_CODES["+"], *operands[:2])
            for operand in operands[2:]:
                row = rows.emit(index, OP_CODES["+"], row, operand)
        else:
            code, constants = _decode_op(node)
            row = rows.emit(index, code, *operands, constants=constants)
        row_of[node.id] = row
    return (*rows.arrays(), row_of)
