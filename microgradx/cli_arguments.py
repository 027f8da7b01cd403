"""The command line's words, checked: each function turns one argument of the ``microgradx`` command into
a checked value, or raises ``argparse.ArgumentTypeError`` (argparse's usage line) or :class:`UsageError`
(one ``error:`` line, exit code 2); :func:`writable_folder` checks an output folder before any work."""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import tempfile
from typing import Sequence

from .expression import ExpressionError

__all__ = ["UsageError", "parse_assignments", "writable_folder", "positive_int", "non_negative_int", "sample_count",
           "non_negative_float", "rate", "layer_sizes"]


class UsageError(ValueError):
    """A command-line argument that parses but makes no sense with the others (exit code 2)."""


def parse_assignments(assignments: Sequence[str]) -> dict[str, float]:
    """``graph``'s ``NAME=NUMBER`` words as ``{name: value}``: each name once, each value a finite number."""
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, number = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"expected NAME=NUMBER, got {item!r}", item)
        if name in values:
            raise ExpressionError(f"{name} is given twice ({name}={values[name]:g} and {item}): give each "
                                  "variable one value", item)
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"{name}={number!r}: the value must be a number", item, len(name) + 1) from None
        if not math.isfinite(value):
            raise ExpressionError(f"{name}={number}: the value must be finite", item, len(name) + 1)
        values[name] = value
    return values


def writable_folder(folder: pathlib.Path, given: str) -> pathlib.Path:
    """Create ``folder`` (and its parents) and check a file can be written in it, or raise ``UsageError``.

    ``given`` is the flag as the user typed it (``--out 'runs/g.svg'``), for the message. Called before any
    work starts, so that a bad ``--out`` costs nothing.
    """
    existing = next((f for f in (folder, *folder.parents) if f.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"{given}: {str(existing)!r} is an existing file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".microgradx-write-check-")
        os.close(descriptor)
        os.unlink(probe)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{given}: cannot write in the folder {str(folder)!r} ({reason})") from None
    return folder


def integer(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return integer(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return integer(text, 0, "a non-negative integer")


def sample_count(text: str) -> int:
    return integer(text, 2, "an integer >= 2 (one sample of each class at least)")


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def rate(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), got {text!r}")
    return value


def layer_sizes(text: str) -> tuple[int, ...]:
    """One ``--hidden`` word: ``16,16``, ``16`` (``--hidden 16 16`` gives two words) or ``none``/``0``."""
    if text.strip() in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer sizes such as 16,16 or 16 16, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes
