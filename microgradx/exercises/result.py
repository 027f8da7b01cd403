"""What a checker answers: a :class:`Result` (passed, wrong with a hint, not attempted yet, or raised).

A checker never raises because of the student's answer and never shows the expected value: a wrong answer
gets a hint naming the likely mistake (``hint_id`` says which one, for tests and for teachers), a
placeholder (``None``, ``...`` or a function that raises ``NotImplementedError``) gets "not attempted
yet", so an exercise cell left as it is never stops a notebook that runs top to bottom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Result", "NotAttempted", "StudentError", "passed", "wrong", "not_attempted", "is_placeholder", "call",
           "run_student", "as_number", "close", "diagnose"]

#: the marks a result prints in front of its message
_MARKS = {"passed": "✓", "wrong": "✗", "not attempted": "…", "error": "!"}


@dataclass(frozen=True)
class Result:
    """The verdict on one exercise.

    Attributes:
        exercise: its number in the tutorial (``"2.1"``).
        status: ``"passed"``, ``"wrong"``, ``"not attempted"`` or ``"error"`` (the answer raised).
        message: what the student reads: a hint on a wrong answer, never the expected value.
        hint_id: a short name of the mistake recognised (``"no_bias_correction"``); ``None`` when passed,
            ``"generic"`` when the answer is wrong in a way no hint names.
    """

    exercise: str
    status: str
    message: str
    hint_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __str__(self) -> str:
        return f"{_MARKS[self.status]} Exercise {self.exercise} {self.status}: {self.message}"

    __repr__ = __str__


class NotAttempted(Exception):
    """Raised inside a checker when the answer is still the placeholder (caught by :func:`call`)."""


def passed(exercise: str, message: str = "well done.") -> Result:
    return Result(exercise, "passed", message)


def wrong(exercise: str, hint_id: str, message: str) -> Result:
    return Result(exercise, "wrong", message, hint_id)


def not_attempted(exercise: str) -> Result:
    return Result(exercise, "not attempted", "not attempted yet: replace the placeholder with your answer and "
                                             "run the cell again.", "placeholder")


def is_placeholder(answer: Any) -> bool:
    """``None`` and ``...`` are the placeholders of the exercise cells."""
    return answer is None or answer is Ellipsis


def call(exercise: str, check: Callable[[], Result]) -> Result:
    """Run one checker body: a placeholder gives "not attempted", an exception from the student's code a
    Result with status ``"error"`` that names the exception (the checker's own bugs are not hidden: only
    exceptions raised while the student's code runs reach here through :class:`StudentError`)."""
    try:
        return check()
    except NotAttempted:
        return not_attempted(exercise)
    except StudentError as error:
        cause = error.__cause__
        return Result(exercise, "error", f"your code raised {type(cause).__name__}: {cause}", "raised")


class StudentError(Exception):
    """Wraps an exception raised by the student's function (see :func:`run_student`)."""


def run_student(function: Callable[..., Any], *args: Any) -> Any:
    """Call the student's function; ``NotImplementedError`` means "not attempted", any other exception
    becomes a :class:`StudentError` (reported, not raised, by :func:`call`)."""
    try:
        return function(*args)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as error:  # the student's code may raise anything: report it, do not stop the notebook
        raise StudentError from error


def as_number(answer: Any) -> float:
    """The student's answer as a float; a placeholder raises :class:`NotAttempted`, anything that is not a
    finite real number a :class:`StudentError`."""
    if is_placeholder(answer):
        raise NotAttempted
    try:
        number = float(answer)
    except (TypeError, ValueError):
        raise StudentError from TypeError(f"expected a number, got {answer!r}")
    if not math.isfinite(number):
        raise StudentError from ValueError(f"expected a finite number, got {answer!r}")
    return number


def close(a: float, b: float, rel: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def diagnose(exercise: str, answer: float, candidates: dict[str, tuple[float, str]], generic: str,
             rel: float = 1e-4) -> Result:
    """A wrong number: the hint of the first known mistake whose value the answer matches, else ``generic``."""
    for hint_id, (value, message) in candidates.items():
        if math.isfinite(value) and close(answer, value, rel=rel, abs_tol=1e-9):
            return wrong(exercise, hint_id, message)
    return wrong(exercise, "generic", generic)
