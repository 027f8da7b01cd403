"""Check ``backward()`` against central differences.

For a scalar function f of inputs x_1 ... x_n, the numeric derivative is the central difference

    df/dx_i ~ (f(..., x_i + eps, ...) - f(..., x_i - eps, ...)) / (2 eps),

whose error is O(eps**2) (truncation) plus O(machine epsilon * |f| / eps) (rounding). An input passes
when ``|analytic - numeric| <= atol + rtol * |numeric|`` (numpy's ``isclose`` rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .engine import Value

__all__ = ["gradcheck", "GradcheckReport", "GradcheckRow", "GradcheckError"]

DEFAULT_EPS = 1e-6
DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-6


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_failure=True)``; the message is the report."""


@dataclass(frozen=True)
class GradcheckRow:
    """One input: its name and value, the analytic and numeric derivatives, their errors, pass/fail."""

    name: str
    data: float
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    ok: bool


class GradcheckReport:
    """The result of :func:`gradcheck`: ``.ok``, ``.rows`` (one :class:`GradcheckRow` per input), ``.output``."""

    def __init__(self, rows: list[GradcheckRow], output: float, eps: float, rtol: float, atol: float) -> None:
        self.rows = rows
        self.output = output
        self.eps, self.rtol, self.atol = eps, rtol, atol
        self.ok = all(r.ok for r in rows)

    @property
    def max_abs_error(self) -> float:
        return max((r.abs_error for r in self.rows), default=0.0)

    def __str__(self) -> str:
        header = ("input", "value", "analytic", "numeric", "abs error", "rel error", "ok")
        rows = [header] + [(r.name, f"{r.data:.6g}", f"{r.analytic:.10g}", f"{r.numeric:.10g}",
                            f"{r.abs_error:.2e}", f"{r.rel_error:.2e}", "ok" if r.ok else "FAIL")
                           for r in self.rows]
        widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        verdict = "PASSED" if self.ok else f"FAILED ({sum(not r.ok for r in self.rows)} of {len(self.rows)})"
        return (f"gradcheck {verdict}: f = {self.output:.10g}, central differences with eps={self.eps:g}, "
                f"pass if |analytic - numeric| <= {self.atol:g} + {self.rtol:g} * |numeric|\n"
                + "\n".join(lines))

    def __repr__(self) -> str:
        return f"<GradcheckReport ok={self.ok} inputs={len(self.rows)} max_abs_error={self.max_abs_error:.3g}>"


def gradcheck(f: Callable[..., Value], *values: Value | float, eps: float = DEFAULT_EPS,
              rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
              raise_on_failure: bool = False) -> GradcheckReport:
    """Compare ``backward()``'s gradient of ``f(*values)`` with central differences, input by input.

    Args:
        f: builds a scalar ``Value`` from ``len(values)`` ``Value`` arguments.
        *values: the point to check at (``Value``s or numbers). They are not modified: ``f`` is called on
            fresh leaves with the same numbers and labels. (Values that ``f`` captures from outside, such
            as a model's parameters, do get their ``grad`` accumulated by the analytic pass.)
        eps: the step of the central difference.
        rtol, atol: an input passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
        raise_on_failure: raise :class:`GradcheckError` (with the report) instead of returning a failing report.
    """
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, got {f!r}")
    if not values:
        raise ValueError("gradcheck: give at least one input value after f")
    for argument, x in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0 or (argument == "eps" and x == 0):
            raise ValueError(f"gradcheck: {argument} must be a {'positive' if argument == 'eps' else 'non-negative'}"
                             f" number, got {x!r}")
    points = [v.data if isinstance(v, Value) else float(Value(v).data) for v in values]
    names = [v.name if isinstance(v, Value) and v.label else f"x{i}" for i, v in enumerate(values)]

    def evaluate(xs: list[float]) -> tuple[Value, list[Value]]:
        leaves = [Value(x, label=n) for x, n in zip(xs, names)]
        out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        return out, leaves

    out, leaves = evaluate(points)
    out.backward(record=False)
    rows = []
    for i, (x, leaf) in enumerate(zip(points, leaves)):
        plus = evaluate(points[:i] + [x + eps] + points[i + 1:])[0].data
        minus = evaluate(points[:i] + [x - eps] + points[i + 1:])[0].data
        numeric = (plus - minus) / (2.0 * eps)
        analytic = leaf.grad
        abs_error = abs(analytic - numeric)
        rel_error = abs_error / abs(numeric) if numeric != 0 else (0.0 if abs_error == 0 else float("inf"))
        rows.append(GradcheckRow(names[i], x, analytic, numeric, abs_error, rel_error,
                                 abs_error <= atol + rtol * abs(numeric)))
    report = GradcheckReport(rows, out.data, eps, rtol, atol)
    if raise_on_failure and not report.ok:
        raise GradcheckError(str(report))
    return report
