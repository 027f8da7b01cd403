"""Shared helpers of the matplotlib plots: one figure factory, one atomic save, one colour per optimizer.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no GUI
backend is needed (drawing uses the Agg canvas, so the plots work on machines without a display), no
global figure registry fills up when a tour draws dozens of figures, and Jupyter still shows a returned
``Figure`` inline.
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Union

import numpy as np

from microgradx.utils import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PathLike", "new_figure", "finish", "save_figure", "label", "OPTIMIZER_COLORS", "SPLIT_STYLES", "DPI"]

PathLike = Union[str, "os.PathLike[str]"]

#: resolution of saved raster files (PNG): sharp on a laptop screen, small files.
DPI = 110

#: one fixed colour per optimizer so that every figure of the tour agrees.
OPTIMIZER_COLORS = {
    "SGD": "tab:blue",
    "SGD+momentum": "tab:cyan",
    "Adam": "tab:red",
    "Adadelta": "tab:purple",
    "Adagrad": "tab:green",
    "RMSprop": "tab:orange",
}

#: how train and validation curves are drawn (the same colour per quantity, a dashed validation line).
SPLIT_STYLES = {"train": {"linestyle": "-"}, "validation": {"linestyle": "--"}}


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
               squeeze: bool = False, **subplot_kw) -> tuple["Figure", np.ndarray]:
    """A new figure and a 2-D array of its axes (``squeeze=False``), without touching ``pyplot``."""
    from matplotlib.figure import Figure

    if figsize is None:
        figsize = (4.6 * ncols, 3.8 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, subplot_kw=subplot_kw or None)
    return fig, axes


def save_figure(fig: "Figure", path: PathLike, *, dpi: int = DPI) -> pathlib.Path:
    """Write ``fig`` to ``path`` atomically: a temporary file in the same folder, then ``os.replace``.

    The format comes from the suffix (``.png``, ``.svg``, ``.pdf``); a reader never sees half a file.
    """
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"save={str(path)!r} has no file suffix; expected a name such as 'curves.png' "
                         "(the suffix chooses the format: png, svg or pdf)")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))
    return path


def finish(fig: "Figure", save: PathLike | None = None, *, title: str | None = None) -> "Figure":
    """Set the figure's title (what the student should see) and save it when ``save`` is a path."""
    if title:
        fig.suptitle(title, fontsize=11)
    if save is not None:
        save_figure(fig, save)
    return fig


def label(ax: "Axes", xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Label both axes (and optionally title) of ``ax``: every plot of the library has labelled axes."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
