"""Sliders over precomputed frames: the lecture's knobs (learning rate, momentum, each optimizer's learning
rate, noise, width, dropout, patience) in a notebook and on a static page.

Python computes every frame once; the browser only picks and draws them (``assets/sliders.js``). The same
module runs in a notebook (:func:`slider_widget`, an anywidget) and in an offline page
(:func:`slider_fragment`, :func:`save_html`), so both show identical numbers and the page needs no server.

A *spec* (plain JSON) holds:

* ``controls``: one slider each, over a curated list of ``values`` with their ``labels``
  (:func:`control`); the widget's ``selection`` is one index per control;
* ``panels``: the plots' fixed parts (title, axis labels, limits, ``logy``);
* ``layers``: each names the controls it depends on and holds one *part* per combination of their indices,
  keyed ``"i-j"`` (:func:`layer`); a part adds lines, points and vertical lines to panels and a caption
  line (:func:`part`). What is shown is the union of every layer's current part, so six optimizers with
  a slider each need 6 × 9 parts, not 9⁶ frames.

The demos that fill specs live in :mod:`microgradx.viz.slider_demos`.
"""

from __future__ import annotations

import itertools
import math
import os
import pathlib
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .widget import anywidget_base, asset_text, embed, module_text, static_page

__all__ = ["css_color", "control", "part", "line", "point", "vline", "contour_lines", "simplify", "layer", "make_spec",
           "layer_key", "selection_of", "parts_at", "slider_widget", "slider_fragment", "slider_html", "save_html"]


def _number(x: Any) -> float | None:
    """4 significant digits (small pages); NaN and infinities become ``None`` (a gap in a line)."""
    x = float(x)
    return float(f"{x:.4g}") if math.isfinite(x) else None


def css_color(color: str) -> str:
    """A colour the browser understands: matplotlib names (``"tab:blue"``, ``"C0"``) become ``#rrggbb``."""
    if color.startswith("#"):
        return color
    from matplotlib.colors import to_hex

    return to_hex(color)


def control(name: str, label: str, values: Sequence[Any], labels: Sequence[str] | None = None,
            index: int = 0) -> dict[str, Any]:
    """One slider over ``values`` (shown as ``labels``), starting at ``values[index]``."""
    values = list(values)
    if not values:
        raise ValueError(f"control {name!r}: values must not be empty")
    labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in values] if labels is None else list(labels)
    if len(labels) != len(values):
        raise ValueError(f"control {name!r}: {len(labels)} labels for {len(values)} values")
    if not 0 <= index < len(values):
        raise ValueError(f"control {name!r}: index={index!r} must be between 0 and {len(values) - 1}")
    return {"name": name, "label": label, "values": values, "labels": labels, "index": index}


def line(points: Iterable[Sequence[float]], color: str, *, label: str | None = None, dash: str | None = None,
         width: float = 1.6, markers: bool = False, opacity: float | None = None) -> dict[str, Any]:
    """A polyline in data coordinates (a NaN point breaks it)."""
    out: dict[str, Any] = {"points": [[_number(x), _number(y)] for x, y in points], "color": css_color(color),
                           "width": width}
    for key, value in (("label", label), ("dash", dash), ("opacity", opacity)):
        if value is not None:
            out[key] = value
    if markers:
        out["markers"] = True
    return out


def point(x: float, y: float, color: str, *, shape: str = "circle", label: str | None = None, size: float = 4,
          hollow: bool = False) -> dict[str, Any]:
    """A marker: ``shape`` is ``"circle"``, ``"square"`` or ``"star"``."""
    if shape not in ("circle", "square", "star"):
        raise ValueError(f"shape={shape!r} must be 'circle', 'square' or 'star'")
    out: dict[str, Any] = {"x": _number(x), "y": _number(y), "color": css_color(color), "shape": shape,
                           "size": size}
    if label is not None:
        out["label"] = label
    if hollow:
        out["hollow"] = True
    return out


def vline(x: float, color: str, *, label: str | None = None, dash: str = "4 3") -> dict[str, Any]:
    out: dict[str, Any] = {"x": _number(x), "color": css_color(color), "dash": dash}
    if label is not None:
        out["label"] = label
    return out


def contour_lines(x: np.ndarray, y: np.ndarray, z: np.ndarray, levels: Sequence[float], color: str = "#bbb"):
    """Contour lines of ``z`` on the grid ``(x, y)`` (1-D axes) as slider lines (one per connected piece)."""
    import contourpy

    generator = contourpy.contour_generator(*np.meshgrid(x, y), z, line_type="Separate")
    out = []
    for level in levels:
        for piece in generator.lines(level):
            step = max(1, len(piece) // 60)                   # at most ~60 points per piece: a small page
            thinned = np.vstack([piece[::step], piece[-1:]])
            out.append(line(thinned, color, width=0.8))
    return out


def simplify(points: np.ndarray, tolerance: float, *, scale: Sequence[float] = (1.0, 1.0)) -> np.ndarray:
    """The rows of a polyline that Ramer–Douglas–Peucker keeps: every dropped point lies within ``tolerance``
    of the simplified polyline, distances measured after dividing x and y by ``scale`` (so a tolerance of 0.002
    with the view's width and height as scale is 1 px on a 500 px plot). First and last rows are kept."""
    points = np.asarray(points, dtype=float)
    if len(points) < 3:
        return points
    p = points / np.asarray(scale, dtype=float)
    keep = np.zeros(len(p), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(p) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        d = p[b] - p[a]
        rel = p[a + 1:b] - p[a]
        t = np.clip(rel @ d / max(float(d @ d), 1e-300), 0.0, 1.0)         # the nearest point of the segment
        dist = np.hypot(*(rel - t[:, None] * d).T)
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            keep[a + 1 + k] = True
            stack += [(a, a + 1 + k), (a + 1 + k, b)]
    return points[keep]


def part(panels: Mapping[int, Mapping[str, Any]] | None = None, text: str = "",
         data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What one layer adds for one setting of its controls: ``{panel index: {"lines": [...], "points": [...],
    "vlines": [...], "xlim"/"ylim"/"title": ...}}``, one caption line, and the numbers the caption states
    (``data``: not drawn; for the tests and the notebooks' checks of the caption)."""
    out = {"panels": {str(k): dict(v) for k, v in (panels or {}).items()}, "text": text}
    if data:
        out["data"] = dict(data)
    return out


def layer_key(indices: Sequence[int]) -> str:
    return "-".join(str(int(i)) for i in indices)


def layer(controls: Sequence[int], compute: Callable[..., dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    """A layer over ``controls`` (their indices in the spec): ``compute(*indices)`` returns the :func:`part`
    for each combination of the controls' indices (``sizes`` = number of values of each control)."""
    if len(controls) != len(sizes):
        raise ValueError("layer: one size per control")
    frames = {layer_key(ix): compute(*ix) for ix in itertools.product(*(range(n) for n in sizes))}
    return {"controls": list(controls), "frames": frames}


def make_spec(title: str, controls: Sequence[dict[str, Any]], panels: Sequence[Mapping[str, Any]],
              layers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Check and assemble a spec: every layer has a part for every combination of its controls."""
    for k, lay in enumerate(layers):
        for c in lay["controls"]:
            if not 0 <= c < len(controls):
                raise ValueError(f"layer {k} depends on control {c}, but there are {len(controls)} controls")
        expected = {layer_key(ix) for ix in itertools.product(*(range(len(controls[c]["values"]))
                                                                 for c in lay["controls"]))}
        if set(lay["frames"]) != expected:
            raise ValueError(f"layer {k}: parts for {sorted(set(lay['frames']) ^ expected)[:4]} missing or extra")
        for key, frame in lay["frames"].items():
            for index in frame["panels"]:
                if not 0 <= int(index) < len(panels):
                    raise ValueError(f"layer {k}, part {key!r}: panel {index} does not exist")
    return {"title": title, "controls": list(controls), "panels": [dict(p) for p in panels], "layers": list(layers)}


def selection_of(spec: Mapping[str, Any], **values: Any) -> list[int]:
    """The selection (one index per control) that shows the given control values (by control name); the
    other controls keep their initial index."""
    selection = [c["index"] for c in spec["controls"]]
    names = [c["name"] for c in spec["controls"]]
    for name, value in values.items():
        if name not in names:
            raise ValueError(f"no control named {name!r}; controls: {names}")
        c = names.index(name)
        matches = [i for i, v in enumerate(spec["controls"][c]["values"])
                   if v == value or (isinstance(v, float) and isinstance(value, (int, float))
                                     and math.isclose(v, value, rel_tol=1e-9))]
        if not matches:
            raise ValueError(f"control {name!r} has no value {value!r}; values: {spec['controls'][c]['values']}")
        selection[c] = matches[0]
    return selection


def parts_at(spec: Mapping[str, Any], **values: Any) -> list[dict[str, Any]]:
    """The part each layer shows for the given control values (see :func:`selection_of`), layer by layer."""
    selection = selection_of(spec, **values)
    return [lay["frames"][layer_key([selection[c] for c in lay["controls"]])] for lay in spec["layers"]]


def _state(spec: Mapping[str, Any], selection: Sequence[int] | None) -> dict[str, Any]:
    selection = [c["index"] for c in spec["controls"]] if selection is None else [int(i) for i in selection]
    _check_selection(spec, selection)
    return {"spec": dict(spec), "selection": selection}


def _check_selection(spec: Mapping[str, Any], selection: Sequence[int]) -> None:
    controls = spec["controls"]
    if len(selection) != len(controls):
        raise ValueError(f"selection={list(selection)!r}: one index per control ({len(controls)} controls)")
    for index, c in zip(selection, controls):
        if not 0 <= index < len(c["values"]):
            raise ValueError(f"selection: index {index!r} of control {c['name']!r} must be between 0 and "
                             f"{len(c['values']) - 1}")


def slider_widget(spec: Mapping[str, Any], selection: Sequence[int] | None = None):
    """The sliders in a notebook: an anywidget whose ``selection`` trait (one index per control) is synced
    both ways; ``widget.value(name)`` reads a control's current value."""
    state = _state(spec, selection)
    return _widget_class()(spec=state["spec"], selection=state["selection"])


_WIDGET_CLASS: type | None = None


def _widget_class() -> type:
    global _WIDGET_CLASS
    if _WIDGET_CLASS is not None:
        return _WIDGET_CLASS
    import traitlets

    class SliderWidget(anywidget_base()):  # type: ignore[misc]
        """Sliders over the precomputed frames of ``spec`` (see :mod:`microgradx.viz.sliders`)."""

        _esm = module_text("sliders.js")
        _css = asset_text("sliders.css")
        spec = traitlets.Dict().tag(sync=True)
        selection = traitlets.List(traitlets.Int()).tag(sync=True)

        @traitlets.validate("selection")
        def _valid_selection(self, proposal):
            try:
                _check_selection(self.spec, proposal["value"])
            except ValueError as error:
                raise traitlets.TraitError(str(error)) from None
            return proposal["value"]

        def value(self, name: str) -> Any:
            """The current value of the control called ``name``."""
            for c, index in zip(self.spec["controls"], self.selection):
                if c["name"] == name:
                    return c["values"][index]
            raise KeyError(f"no control named {name!r}; controls: {[c['name'] for c in self.spec['controls']]}")

    _WIDGET_CLASS = SliderWidget
    return SliderWidget


def slider_fragment(spec: Mapping[str, Any], *, element_id: str, selection: Sequence[int] | None = None) -> str:
    """The sliders as an HTML fragment for a larger page (the tour): no server, no network."""
    return embed(module_text("sliders.js"), asset_text("sliders.css"), _state(spec, selection),
                 element_id=element_id)


def slider_html(spec: Mapping[str, Any], *, selection: Sequence[int] | None = None) -> str:
    import html

    return static_page(module_text("sliders.js"), asset_text("sliders.css"), _state(spec, selection),
                       title=html.escape(spec.get("title", "microgradx sliders")))


def save_html(spec: Mapping[str, Any], path: str | os.PathLike, *, selection: Sequence[int] | None = None) -> pathlib.Path:
    """Write the sliders as one self-contained page (atomically) and return its path."""
    from microgradx.utils import atomic_write

    path = pathlib.Path(path)
    text = slider_html(spec, selection=selection)
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))
    return path
