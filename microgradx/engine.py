"""The scalar autograd engine: every number is a node of a graph.

A :class:`Value` holds one float (``data``), the derivative of the last ``backward()`` root with
respect to it (``grad``), the operation that produced it (``op``) and its inputs (``children``,
an ordered tuple, so ``a + a`` keeps both edges).

Each operation computes its forward value **and its local derivatives** (d out / d input, one per
input) in the same place, micrograd-style: read one method and you have the whole rule. The local
derivatives are stored on the node (``local_grads``), so ``backward()`` is just the chain rule,

    input.grad += local_grad * node.grad        for every edge, in reverse topological order,

and the recorded :class:`~microgradx.trace.Trace` can show every one of those products.

Domain errors are raised, never turned into silent ``inf``/``nan``: ``log`` of a non-positive number,
division by zero, ``0 ** -1`` and a negative base with a non-integer exponent all raise an error that
names the operation.

Ops and their ``op`` strings (what :mod:`microgradx.explain`, the drawings and the tape compiler see)::

    op          forward                        local derivatives (one per input)
    +           a + b                          1, 1
    -           a - b                          1, -1
    *           a * b                          b, a
    /           a / b                          1/b, -a/b**2
    **          a ** b   (b a Value)           b a**(b-1), a**b ln a
    **k         a ** k   (k a number: **2)     k a**(k-1)
    neg         -a                             -1
    sum         t0 + t1 + ... (n inputs)       1 for every input
    exp         e**a                           e**a
    log         ln a                           1/a
    log1p       ln(1 + a)                      1/(1 + a)
    sqrt        sqrt(a)                        1/(2 sqrt(a))
    tanh        tanh a                         1 - tanh(a)**2
    sigmoid     s = 1/(1 + e**-a)              s (1 - s)
    relu        max(a, 0)                      1 if a > 0 else 0
    abs         |a|                            sign(a)  (0 at 0)
    softplus    ln(1 + e**a)                   sigmoid(a)
    clip[l,h]   min(max(a, l), h)              1 if l <= a <= h else 0
"""

from __future__ import annotations

import itertools
import math
from numbers import Real
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["Value", "as_value", "sum_values", "weighted_sum", "topological_order", "values"]

_ids = itertools.count(1)
Number = Real


def _exact(x: float) -> str:
    """The shortest text that reads back as exactly ``x`` (``2`` for 2.0, ``0.3333333333333333`` for 1/3).

    Op strings such as ``"**2"`` and ``"clip[-1,1]"`` carry their constants, so they must round-trip.
    """
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


def _check_number(data: object, argument: str = "data") -> float:
    """Return ``data`` as a float, or raise a ``TypeError`` naming the argument."""
    if isinstance(data, bool) or not isinstance(data, Real):
        raise TypeError(
            f"Value {argument} must be a real number (int or float), got {data!r} "
            f"of type {type(data).__name__}"
        )
    try:
        return float(data)
    except OverflowError:  # an int beyond the float range: say so instead of Python's bare message
        raise OverflowError(f"Value {argument} must be a finite number, got an integer of {data.bit_length()} "
                            f"bits, beyond the float range (about 1.8e308 at most)") from None


def as_value(x: "Value | float") -> "Value":
    """Wrap a plain number into a constant leaf ``Value``; return a ``Value`` unchanged."""
    return x if isinstance(x, Value) else Value(x)


class Value:
    """One scalar node of a computation graph.

    Args:
        data: the number this node holds (int or float; stored as float).
        label: a name shown in traces, explanations and drawings (``"w1"``, ``"dense/kernel[0,1]"``).
        requires_grad: marks the leaf as a trainable parameter. Only used for the role colouring of
            drawings and by :func:`microgradx.compile_tape`; gradients flow to every node regardless.

    Leaf gradients accumulate as in PyTorch: calling ``backward()`` twice without resetting doubles every
    leaf's ``grad`` (micrograd accumulates too, but also into intermediate nodes, so its second call does
    not simply double). Reset with ``zero_grad()`` on a module or ``v.grad = 0.0``.
    """

    __slots__ = (
        "data", "grad", "label", "op", "children", "local_grads", "id", "requires_grad",
        "compared", "__weakref__",
    )
    # numpy defers to our reflected operators (np.float64(2) * v gives a Value, not an array).
    __array_ufunc__ = None

    def __init__(self, data: float, label: str = "", requires_grad: bool = False,
                 *, _children: tuple["Value", ...] = (), _op: str = "",
                 _local_grads: tuple[float, ...] = ()) -> None:
        self.data = data if type(data) is float else _check_number(data)
        if not math.isfinite(self.data):
            kids = ", ".join(repr(c.data) for c in _children)
            made = f" (result of op {_op!r} on {kids})" if _op else ""
            raise (ValueError if self.data != self.data else OverflowError)(
                f"Value data must be a finite number, got {self.data!r}{made}"
                f"{' for ' + repr(label) if label else ''}")
        self.grad = 0.0
        self.label = label
        self.op = _op
        self.children = _children
        self.local_grads = _local_grads
        self.id = next(_ids)
        self.requires_grad = requires_grad
        self.compared = False  # set when a comparison read this value (see __lt__)

    # ------------------------------------------------------------------ helpers
    @property
    def name(self) -> str:
        """The label if one was given, else ``v<id>``: used wherever a node is named."""
        return self.label or f"v{self.id}"

    @property
    def is_leaf(self) -> bool:
        return not self.children

    # ------------------------------------------------------------ binary ops
    def __add__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        # d(a+b)/da = 1, d(a+b)/db = 1
        return _node(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __mul__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        # d(a*b)/da = b, d(a*b)/db = a
        return _node(self.data * other.data, (self, other), "*", (other.data, self.data))

    def __truediv__(self, other: "Value | float") -> "Value":
        other = as_value(other)
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero in {self.name} / {other.name} (denominator is 0.0)")
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b**2
        out = self.data / other.data
        return _node(out, (self, other), "/", (1.0 / other.data, -out / other.data))

    def __pow__(self, other: "Value | float") -> "Value":
        a = self.data
        if isinstance(other, Value):
            b = other.data
            out = self._power(a, b)
            # d(a**b)/da = b * a**(b-1), d(a**b)/db = a**b * ln(a)
            if a > 0:
                db = out * math.log(a)
            elif a == 0 and b > 0:
                db = 0.0  # the limit of a**b ln a as a -> 0+
            else:
                raise ValueError(
                    f"pow: d({self.name}**{other.name})/d{other.name} = a**b ln(a) is undefined for "
                    f"base a={a!r} <= 0; use a positive base or a number exponent")
            return _node(out, (self, other), "**", (self._power_slope(a, b), db))
        b = _check_number(other, "exponent")
        if not math.isfinite(b):
            raise ValueError(f"pow: exponent must be a finite number, got {b!r} in {self.name} ** {b!r}")
        out = self._power(a, b)
        return _node(out, (self,), f"**{_exact(b)}", (self._power_slope(a, b),))

    def _power(self, a: float, b: float) -> float:
        if a == 0.0 and b < 0:
            raise ZeroDivisionError(f"pow: 0.0 ** {b:g} in {self.name} ** {b:g} is a division by zero")
        if a < 0 and not float(b).is_integer():
            raise ValueError(
                f"pow: negative base {a!r} ({self.name}) with non-integer exponent {b!r} is not real")
        try:
            return a ** b
        except OverflowError:
            raise OverflowError(f"pow: {a!r} ** {b!r} ({self.name}) overflows a float") from None

    def _power_slope(self, a: float, b: float) -> float:
        """d(a**b)/da = b * a**(b-1); infinite (an error) at a = 0 when 0 < b < 1."""
        if b == 0.0:
            return 0.0
        if a == 0.0 and b < 1.0:
            raise ZeroDivisionError(
                f"pow: the derivative {b:g} * a**{b - 1.0:g} of {self.name} ** {b:g} is infinite at a=0")
        return b * self._power(a, b - 1.0)

    def __neg__(self) -> "Value":
        # d(-a)/da = -1
        return _node(-self.data, (self,), "neg", (-1.0,))

    def __sub__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        # d(a-b)/da = 1, d(a-b)/db = -1
        return _node(self.data - other.data, (self, other), "-", (1.0, -1.0))

    # reflected forms: 3 + v, 3 - v, 3 * v, 3 / v, 3 ** v
    def __radd__(self, other: float) -> "Value":
        return as_value(other) + self

    def __rsub__(self, other: float) -> "Value":
        return as_value(other) - self

    def __rmul__(self, other: float) -> "Value":
        return as_value(other) * self

    def __rtruediv__(self, other: float) -> "Value":
        return as_value(other) / self

    def __rpow__(self, other: float) -> "Value":
        return as_value(other) ** self

    # ------------------------------------------------------------- unary ops
    def exp(self) -> "Value":
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}) of {self.name} overflows a float") from None
        # d exp(a)/da = exp(a)
        return _node(out, (self,), "exp", (out,))

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log of non-positive number {self.data!r} ({self.name})")
        # d log(a)/da = 1/a
        return _node(math.log(self.data), (self,), "log", (1.0 / self.data,))

    def log1p(self) -> "Value":
        if self.data <= -1:
            raise ValueError(f"log1p of {self.data!r} <= -1 ({self.name})")
        # d log(1+a)/da = 1/(1+a)
        return _node(math.log1p(self.data), (self,), "log1p", (1.0 / (1.0 + self.data),))

    def sqrt(self) -> "Value":
        if self.data < 0:
            raise ValueError(f"sqrt of negative number {self.data!r} ({self.name})")
        if self.data == 0:
            raise ZeroDivisionError(f"sqrt: the derivative 1/(2 sqrt(a)) is infinite at a=0 ({self.name})")
        out = math.sqrt(self.data)
        # d sqrt(a)/da = 1/(2 sqrt(a))
        return _node(out, (self,), "sqrt", (0.5 / out,))

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        # d tanh(a)/da = 1 - tanh(a)**2
        return _node(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self) -> "Value":
        s = _sigmoid(self.data)
        # d sigmoid(a)/da = sigmoid(a) (1 - sigmoid(a))
        return _node(s, (self,), "sigmoid", (s * (1.0 - s),))

    def relu(self) -> "Value":
        # d relu(a)/da = 1 if a > 0 else 0   (0 at a == 0, like micrograd, PyTorch and Keras)
        if self.data > 0:
            return _node(self.data, (self,), "relu", (1.0,))
        return _node(0.0, (self,), "relu", (0.0,))

    def abs(self) -> "Value":
        # d |a|/da = sign(a)  (0 at a == 0)
        d = 1.0 if self.data > 0 else (-1.0 if self.data < 0 else 0.0)
        return _node(abs(self.data), (self,), "abs", (d,))

    def softplus(self) -> "Value":
        a = self.data
        # softplus(a) = log(1 + exp(a)), computed stably as max(a, 0) + log1p(exp(-|a|))
        # d softplus(a)/da = sigmoid(a)
        out = max(a, 0.0) + math.log1p(math.exp(-abs(a)))
        return _node(out, (self,), "softplus", (_sigmoid(a),))

    def clip(self, low: float, high: float) -> "Value":
        """``min(max(a, low), high)``; d/da = 1 inside [low, high] (bounds included), else 0."""
        low, high = _check_number(low, "low"), _check_number(high, "high")
        if math.isnan(low) or math.isnan(high):
            raise ValueError(f"clip: bounds must be numbers (infinite is allowed), got low={low!r}, high={high!r}")
        if low > high:
            raise ValueError(f"clip: low={low!r} must not exceed high={high!r}")
        inside = low <= self.data <= high
        out = min(max(self.data, low), high)
        return _node(out, (self,), f"clip[{_exact(low)},{_exact(high)}]", (1.0 if inside else 0.0,))

    __abs__ = abs

    # -------------------------------------------------------------- compare
    # Comparisons read the number (like ``float(v)``) and mark the node, so that
    # microgradx.compile_tape() can refuse graphs whose shape depended on a value.
    def _compare_data(self, other: "Value | float") -> tuple[float, float]:
        self.compared = True
        if isinstance(other, Value):
            other.compared = True
            return self.data, other.data
        return self.data, _check_number(other, "other")

    def __lt__(self, other: "Value | float") -> bool:
        a, b = self._compare_data(other)
        return a < b

    def __le__(self, other: "Value | float") -> bool:
        a, b = self._compare_data(other)
        return a <= b

    def __gt__(self, other: "Value | float") -> bool:
        a, b = self._compare_data(other)
        return a > b

    def __ge__(self, other: "Value | float") -> bool:
        a, b = self._compare_data(other)
        return a >= b

    def __float__(self) -> float:
        return self.data

    # ------------------------------------------------------------- backward
    def backward(self, record: bool = True) -> "Trace":
        """Backpropagate from this node: set ``self.grad += 1`` and push gradients to every input.

        The order is an iterative reverse topological order (no recursion limit: a chain of 100,000
        nodes works). Like PyTorch, **leaf gradients accumulate** across calls (calling ``backward()``
        twice doubles every leaf's ``.grad``; call ``zero_grad()`` to start over), while intermediate
        nodes are reset and hold this pass's gradient.

        Returns a :class:`~microgradx.trace.Trace` of the chain-rule steps in the order performed.
        The trace is built lazily from the nodes, so recording costs one list of floats.
        ``record=False`` skips even that and returns ``None``.
        A gradient that overflows to inf/NaN raises ``OverflowError`` naming the first such node.
        """
        order = topological_order(self)
        for node in order:  # intermediate nodes hold this pass's gradient; leaves accumulate
            if node.children:
                node.grad = 0.0
        grads_before = [node.grad for node in order] if record else None
        self.grad += 1.0
        for node in reversed(order):
            if node.children:  # leaves have nothing to push
                g = node.grad
                for child, local in zip(node.children, node.local_grads):
                    child.grad += local * g
        for node in reversed(order):  # the first node (from the root down) whose gradient is NaN/inf
            if node.grad - node.grad != 0.0:
                raise OverflowError(f"backward: the gradient reaching node {node.name!r} "
                                    f"(op {node.op or 'leaf'!r}) overflows to {node.grad!r}; "
                                    f"the gradients of this pass are not usable")
        if not record:
            return None  # type: ignore[return-value]
        from .trace import Trace
        return Trace(self, order, grads_before)

    # ----------------------------------------------------------- utilities
    def walk(self) -> Iterator["Value"]:
        """Every node of the graph below (and including) this one, in topological order."""
        return iter(topological_order(self))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"


_new_value = object.__new__


def _node(data: float, children: tuple[Value, ...], op: str, local_grads: tuple[float, ...]) -> Value:
    """Create an op result without re-checking ``data``'s type (ops only produce floats): the hot path.

    A NaN or infinite result raises (``OverflowError`` for inf, ``ValueError`` for NaN) naming the op and
    its inputs, so no graph ever holds a silent non-finite number."""
    if data - data != 0.0:  # NaN or +-inf (one subtraction: cheaper than math.isfinite on the hot path)
        kids = ", ".join(repr(c.data) for c in children[:4]) + (", ..." if len(children) > 4 else "")
        raise (ValueError if data != data else OverflowError)(
            f"op {op!r} on {kids} gives {data!r}: the result must be a finite number")
    node = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op = op
    node.children = children
    node.local_grads = local_grads
    node.id = next(_ids)
    node.requires_grad = False
    node.compared = False
    return node


def sum_values(terms: Iterable["Value | float"]) -> Value:
    """One n-ary ``sum`` node: ``t0 + t1 + ... + tn`` with d sum / d t_i = 1 for every input.

    The additions are done left to right, so the number is bit-identical to Python's
    ``sum(terms)`` (and to micrograd's chain of ``+`` nodes), but the graph holds one node instead of
    n - 1. A neuron writes ``sum_values([b, w0 * x0, w1 * x1, ...])``.
    """
    children = tuple(t if isinstance(t, Value) else Value(t) for t in terms)
    if not children:
        raise ValueError("sum_values: terms must hold at least one Value or number, got none")
    total = children[0].data
    for child in children[1:]:
        total += child.data
    return _node(total, children, "sum", (1.0,) * len(children))


def weighted_sum(weights: Sequence[Value], inputs: Sequence["Value | float"], bias: Value | None = None,
                 *, bias_last: bool = False) -> Value:
    """A neuron's pre-activation ``b + w0*x0 + w1*x1 + ...``: one ``*`` node per input, one ``sum`` node.

    Builds exactly the graph of ``sum_values([bias, *[w * x for w, x in zip(weights, inputs)]])`` (same
    nodes, numbers and local derivatives), without the per-operator dispatch: the hot loop of an MLP.
    ``bias_last=True`` adds the bias after the products instead (``x @ W + b``, the order of the Keras
    model's Dense layer); ``bias=None`` sums the products only.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
    products = []
    try:
        for w, x in zip(weights, inputs):
            if not isinstance(x, Value):
                x = Value(x)
            wd, xd = w.data, x.data
            # d(w*x)/dw = x, d(w*x)/dx = w
            products.append(_node(wd * xd, (w, x), "*", (xd, wd)))
    except AttributeError:  # checked here, off the hot path: a weight that is not a Value has no .data
        index = next(i for i, w in enumerate(weights) if not isinstance(w, Value))
        raise TypeError(f"weighted_sum: argument `weights` must hold Values (the parameters that get "
                        f"gradients), got {weights[index]!r} of type {type(weights[index]).__name__} at "
                        f"index {index}; wrap numbers as Value(...) or pass them as inputs") from None
    if bias is not None and not isinstance(bias, Value):
        raise TypeError(f"weighted_sum: argument `bias` must be a Value or None, got {bias!r} of type "
                        f"{type(bias).__name__}")
    if bias is None:
        children = products
    else:
        children = products + [bias] if bias_last else [bias] + products
    if not children:
        raise ValueError("weighted_sum: needs at least one input or a bias, got neither")
    total = children[0].data
    for child in children[1:]:  # left to right, like Python's sum() and micrograd's chain of "+"
        total += child.data
    return _node(total, tuple(children), "sum", (1.0,) * len(children))


def _sigmoid(a: float) -> float:
    """Numerically stable logistic function."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def topological_order(root: Value) -> list[Value]:
    """Nodes of ``root``'s graph, every input before the nodes that use it (iterative DFS).

    Children are visited in their stored order (a depth-first post-order), so the order is
    deterministic: it depends only on the graph, never on ids or memory addresses.
    """
    order: list[Value] = []
    visited = {root}
    stack = [(root, iter(root.children))]
    # local names: this loop runs once per edge of graphs with 10^5 nodes
    visit, push, pop, emit = visited.add, stack.append, stack.pop, order.append
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if child not in visited:
                visit(child)
                if child.children:
                    push((child, iter(child.children)))
                    break
                emit(child)  # a leaf: pushing and popping it would emit it here anyway
        else:
            pop()
            emit(node)
    return order


def values(numbers: Iterable[float], prefix: str = "x") -> list[Value]:
    """Convenience: ``values([1, 2], "x")`` gives leaves labelled ``x1``, ``x2``."""
    return [Value(n, label=f"{prefix}{i}") for i, n in enumerate(numbers, 1)]
