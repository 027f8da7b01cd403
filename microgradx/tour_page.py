"""The tour's page: :class:`Section` (one stop of the lecture: heading, text, the files it wrote) and
:func:`write_index`, which writes ``index.html`` with the text beside the pictures (:mod:`microgradx.tour`
computes the pictures and fills the sections)."""

from __future__ import annotations

import html
import pathlib
from dataclasses import dataclass, field

__all__ = ["Section", "write_index"]


@dataclass
class Section:
    """One stop of the tour: a lecture heading, the text beside the picture and the files it wrote."""

    key: str
    heading: str
    lecture: str
    text: str
    files: list[str] = field(default_factory=list)
    preformatted: str = ""
    note: str = ""
    embed: str = ""                                   # inline HTML (the backprop explorer), shown full width
    links: list[str] = field(default_factory=list)    # files linked from the text, not shown as pictures


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1250px; margin: 2em auto; padding: 0 1em; color: #222; }
header p { color: #555; }
section { border-top: 1px solid #ddd; padding: 1.2em 0; display: flex; gap: 1.5em; align-items: flex-start; }
section .text { flex: 0 0 30%; min-width: 0; }
section .pictures { flex: 1 1 70%; min-width: 0; }
section.wide { flex-direction: column; gap: .5em; }
section.wide .text, section.wide .pictures { flex: none; width: 100%; }
section img { max-width: 100%; border: 1px solid #eee; margin-bottom: .8em; }
.lecture { color: #777; font-size: .9em; font-style: italic; }
.note { background: #fff4e0; padding: .5em; border-left: 3px solid orange; white-space: pre-wrap; }
pre { font-size: 11px; background: #f7f7f7; padding: .6em; overflow-x: auto; }
.slider-note { color: #555; font-size: .9em; margin: .6em 0 .3em; }
nav ol { columns: 2; }
"""


def _picture(name: str) -> str:
    escaped = html.escape(name)
    if name.endswith((".png", ".svg", ".gif")):
        return f'<a href="{escaped}"><img src="{escaped}" alt="{escaped}"></a>'
    return f'<p><a href="{escaped}">{escaped}</a></p>'


def write_index(out: pathlib.Path, sections: dict[str, Section], seconds: float) -> pathlib.Path:
    """Write ``index.html`` (atomically): one ``<section>`` per stop, text beside the pictures."""
    from . import __version__, utils

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>microgradx: the lecture, runnable</title>", f"<style>{_CSS}</style></head><body>",
             "<header><h1>Neural networks, backpropagation and training: the lecture as pictures</h1>",
             "<p>Every picture below was computed by microgradx just now (version "
             f"{html.escape(__version__)}, {seconds:.0f} s). Follow the lecture from a single neuron to early "
             "stopping; each figure has the code behind it in <code>microgradx.viz</code>.</p>",
             "<nav><ol>" + "".join(f'<li><a href="#{s.key}">{html.escape(s.heading[3:].strip(". "))}</a></li>'
                                   for s in sections.values()) + "</ol></nav></header>"]
    for s in sections.values():
        pictures = "".join(_picture(f) for f in s.files if not f.endswith(".txt"))
        extra = "".join(f'<p><a href="{html.escape(f)}">{html.escape(f)}</a></p>'
                        for f in [f for f in s.files if f.endswith(".txt")] + s.links)
        note = f'<div class="note">{html.escape(s.note)}</div>' if s.note else ""
        pre = f"<pre>{html.escape(s.preformatted)}</pre>" if s.preformatted else ""
        wide = ' class="wide"' if s.embed else ""
        parts.append(f'<section id="{s.key}"{wide}><div class="text"><h2>{html.escape(s.heading)}</h2>'
                     f'<p class="lecture">Lecture: {html.escape(s.lecture)}</p><p>{html.escape(s.text)}</p>'
                     f"{extra}{note}</div><div class=\"pictures\">{s.embed}{pictures}{pre}</div></section>")
    parts.append("</body></html>")
    path = out / "index.html"

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("\n".join(parts) + "\n")

    utils.atomic_write(path, write)
    return path
