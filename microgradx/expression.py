"""The safe expression parser behind ``microgradx graph`` and the tour: text to a scalar ``Value`` graph.

Expressions are parsed with :mod:`ast` and only a whitelist of node types and functions is accepted: no
attribute access, no subscripts, no keywords, no lambdas, no names other than variables. Nothing is ever
passed to ``eval``. A bad expression raises :class:`ExpressionError`, which shows a caret under the
offending column.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Callable, Mapping

from .engine import Value

__all__ = ["parse_expression", "ExpressionError", "ParsedExpression", "FUNCTIONS", "OPERATORS"]

#: functions an expression may call, each with one argument: the ``Value`` method of the same name.
FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid, "exp": Value.exp, "log": Value.log,
    "log1p": Value.log1p, "sqrt": Value.sqrt, "abs": Value.abs, "softplus": Value.softplus,
}

#: binary operators an expression may use.
OPERATORS: dict[type, Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b,
}

class ExpressionError(ValueError):
    """A bad expression: ``message`` plus the expression with a caret under ``column`` (0-based)."""

    def __init__(self, message: str, expression: str, column: int | None = None) -> None:
        self.message, self.expression, self.column = message, expression, column
        pointer = "" if column is None else f"\n    {expression}\n    {' ' * max(column, 0)}^"
        super().__init__(f"{message}{pointer}")


@dataclass
class ParsedExpression:
    """The root of the built graph and its variables by name (one leaf per name, reused where repeated)."""

    root: Value
    variables: dict[str, Value]


def _describe(node: ast.AST) -> str:
    names = {ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
             ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if-expressions",
             ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
             ast.ListComp: "comprehensions", ast.GeneratorExp: "generators", ast.JoinedStr: "f-strings",
             ast.NamedExpr: "assignment expressions", ast.Starred: "starred arguments"}
    return names.get(type(node), type(node).__name__)


def parse_expression(expression: str, values: Mapping[str, float]) -> ParsedExpression:
    """Build the :class:`Value` graph of ``expression`` with the variables set to ``values``.

    Accepted: numbers, variable names (each must have a value; leaves are labelled with their name; names
    starting with ``x`` or ``y`` are data, every other name a parameter with ``requires_grad=True``),
    ``+ - * / **``, unary ``-``/``+``, parentheses and one-argument calls of
    :data:`FUNCTIONS`. Anything else raises :class:`ExpressionError` pointing at the column.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("the expression is empty; write for example 'relu(w1*x1 + w2*x2 + b)'",
                              str(expression))
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply to parse",
                              expression.strip()[:60] + "...") from None
    except SyntaxError as error:
        column = (error.offset or 1) - 1
        raise ExpressionError(f"syntax error: {error.msg}", expression.strip(), column) from None
    text = expression.strip()
    variables: dict[str, Value] = {}
    missing: list[tuple[str, int]] = []

    def build(node: ast.AST) -> Value:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ExpressionError(f"only numbers are allowed as constants, got {node.value!r}", text,
                                      node.col_offset)
            number = _finite_float(node.value)
            if number is None:
                literal = ast.get_source_segment(text, node) or ""
                shown = literal if len(literal) <= 24 else f"{literal[:12]}... ({len(literal)} characters)"
                raise ExpressionError(f"the number {shown} is too large for a float (at most about 1.8e308)",
                                      text, node.col_offset)
            return Value(number)
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{node.id!r} is a function: call it, as in {node.id}(x)", text, node.col_offset)
            if node.id not in values:
                missing.append((node.id, node.col_offset))
                return Value(0.0, label=node.id)
            if node.id not in variables:
                variables[node.id] = Value(float(values[node.id]), label=node.id,
                                           requires_grad=not _is_data_name(node.id))
            return variables[node.id]
        if isinstance(node, ast.BinOp):
            operator = OPERATORS.get(type(node.op))
            if operator is None:
                raise ExpressionError(f"operator {type(node.op).__name__} is not supported (use + - * / **)",
                                      text, node.left.end_col_offset or node.col_offset)
            left, right = build(node.left), build(node.right)
            if missing:
                return Value(0.0)
            return _named(_run(lambda: operator(left, right), text, node.col_offset), node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                operand = build(node.operand)
                return operand if missing else _named(-operand, node)
            if isinstance(node.op, ast.UAdd):
                return build(node.operand)
            raise ExpressionError(f"unary {type(node.op).__name__} is not supported (only - and +)", text,
                                  node.col_offset)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
                raise ExpressionError(f"calling {what!r} is not allowed; functions: {', '.join(sorted(FUNCTIONS))}",
                                      text, node.func.col_offset)
            if node.keywords:
                raise ExpressionError("keyword arguments are not allowed", text, node.keywords[0].value.col_offset)
            if len(node.args) != 1:
                raise ExpressionError(f"{node.func.id}() takes exactly one argument, got {len(node.args)}", text,
                                      node.col_offset)
            argument = build(node.args[0])
            if missing:
                return Value(0.0)
            return _named(_run(lambda: FUNCTIONS[node.func.id](argument), text, node.col_offset), node)
        raise ExpressionError(f"{_describe(node)} is not allowed in an expression (only numbers, names, "
                              "+ - * / **, parentheses and function calls)", text, getattr(node, "col_offset", None))

    def _named(value: Value, node: ast.AST) -> Value:
        # an op result is labelled with its own source text, "(w1*x1 + w2*x2)" or "relu(z)", so that the
        # trace and the path products read like the expression (binary and unary results in parentheses)
        segment = " ".join((ast.get_source_segment(text, node) or "").split())
        value.label = segment if isinstance(node, ast.Call) else f"({segment})"
        return value

    try:
        root = build(tree)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply to build", text) from None
    if missing:
        name, column = missing[0]
        names = sorted({n for n, _ in missing})
        raise ExpressionError(f"no value given for {', '.join(names)}: add {' '.join(n + '=NUMBER' for n in names)} "
                              "to the command line", text, column)
    if root.is_leaf:
        root = root * 1.0  # a bare variable or number still gets one node to backpropagate through
    root.label = "out"
    unused = sorted(set(values) - set(variables))
    if unused:
        raise ExpressionError(f"value(s) given for {', '.join(unused)}, which the expression does not use", text)
    return ParsedExpression(root, variables)


def _finite_float(number: int | float) -> float | None:
    """``number`` as a float, or ``None`` where it has none (``1e999``, a 400-digit integer)."""
    try:
        value = float(number)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _is_data_name(name: str) -> bool:
    """Names starting with ``x`` or ``y`` are data (drawn as inputs); every other variable is a parameter."""
    return name[0] in "xy"


def _run(operation: Callable[[], Value], text: str, column: int) -> Value:
    try:
        return operation()
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise ExpressionError(f"cannot compute: {error}", text, column) from None
