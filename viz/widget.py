"""One JavaScript module, two hosts: a Jupyter widget (anywidget) and a self-contained HTML page.

The interactive pictures of microgradx (the backprop explorer, the lecture's sliders) are each one ES module
in ``microgradx/viz/assets/`` that follows anywidget's contract::

    export default { render({ model, el }) { ... model.get("step") ... model.set("step", 3);
                                              model.save_changes(); model.on("change:step", redraw); } }

Why anywidget: it is small (one Python package, no build step, no JupyterLab extension to install), well
kept, and the same module runs unchanged in JupyterLab, Notebook 7, VS Code and Colab (anywidget enables
Colab's custom widget manager itself). Because the module only talks to ``model``, a page can host it too:
:func:`static_page` inlines the module, its CSS and the widget's state, and supplies a ten-line stand-in
for ``model`` (``get``/``set``/``on``/``save_changes``). The page then needs no server and no network.

For a new widget: write ``assets/NAME.js`` (and ``NAME.css``), subclass :func:`anywidget_base` with
``_esm = module_text("NAME.js")`` (the module after the shared prelude ``assets/dom.js``, whose helpers
such as ``h()`` every module may use) and synced traits, and call :func:`static_page` (or :func:`embed` inside a
larger page) with the same state for the offline version. Keep all numbers computed in Python and put
them in the state, so both hosts show identical numbers.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["asset_text", "module_text", "anywidget_base", "static_page", "embed", "page_css", "ExplorerWidget"]

_PAGE_CSS = """
html { background: #fff; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto;
       padding: 12px; max-width: 1200px; box-sizing: border-box; }
"""

# The stand-in for anywidget's model on a static page: state in a plain object, change events on set.
_BOOT = """
const boot = async (id) => {
  const state = JSON.parse(document.getElementById(id + "-state").textContent);
  const listeners = {};
  const model = {
    get: (key) => state[key],
    set: (key, value) => {
      const old = state[key]; state[key] = value;
      if (old !== value) (listeners["change:" + key] || []).slice().forEach((f) => f());
    },
    save_changes: () => {},
    send: () => {},
    on: (event, f) => { (listeners[event] = listeners[event] || []).push(f); },
    off: (event, f) => {
      if (!event) { for (const k in listeners) delete listeners[k]; return; }
      listeners[event] = (listeners[event] || []).filter((g) => f && g !== f);
    },
  };
  const source = document.getElementById(id + "-module").textContent;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const impl = typeof widget === "function" ? await widget() : widget;
  if (impl.initialize) await impl.initialize({ model });
  await impl.render({ model, el: document.getElementById(id) });
};
"""


def asset_text(name: str) -> str:
    """The text of ``microgradx/viz/assets/<name>`` (package data, readable from a zip or read-only install)."""
    return resources.files("microgradx.viz").joinpath("assets", name).read_text(encoding="utf-8")


def module_text(name: str) -> str:
    """The ES module ``assets/<name>`` as a host runs it: the shared prelude ``assets/dom.js``, then the module.

    One self-contained text, for anywidget's ``_esm`` and for a static page alike (no import to resolve).
    """
    return f"{asset_text('dom.js')}\n{asset_text(name)}"


def anywidget_base() -> type:
    """``anywidget.AnyWidget``, or an ImportError that says how to install it."""
    try:
        import anywidget
    except ImportError as exc:
        raise ImportError("the notebook widgets of microgradx need anywidget: pip install anywidget "
                          "(or pip install 'microgradx[notebooks]'); microgradx.viz.explorer.save_html "
                          "writes the same explorer as a page without it") from exc
    return anywidget.AnyWidget


def _json_for_script(state: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (``</`` cannot close it early)."""
    return json.dumps(state, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def embed(esm: str, css: str, state: dict[str, Any], *, element_id: str) -> str:
    """An HTML fragment that runs ``esm`` on ``state`` in a ``<div id=element_id>``: for a larger page.

    The module text and the state travel in inert ``<script>`` elements; a small module script boots it.
    The fragment carries its own CSS (scoped by the widget's own class names).
    """
    if "</script" in esm.lower():
        raise ValueError("embed: the module text must not contain '</script'")
    return (f'<style>{css}</style>\n'
            f'<div id="{element_id}" class="mgx-host"></div>\n'
            f'<script type="application/json" id="{element_id}-state">{_json_for_script(state)}</script>\n'
            f'<script type="text/x-microgradx-module" id="{element_id}-module">{esm}</script>\n'
            f'<script type="module">{_BOOT}\nboot({json.dumps(element_id)});</script>\n')


def page_css() -> str:
    """The few page-level styles a standalone page adds around its widget."""
    return _PAGE_CSS


def static_page(esm: str, css: str, state: dict[str, Any], *, title: str, element_id: str = "mgx-widget") -> str:
    """A complete HTML document showing one widget: no server, no network (``title`` is already escaped)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_PAGE_CSS}</style></head><body>\n"
            f"{embed(esm, css, state, element_id=element_id)}</body></html>\n")


def __getattr__(name: str):
    if name == "ExplorerWidget":  # defined on first use: it needs anywidget
        cls = _explorer_widget_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _explorer_widget_class() -> type:
    import traitlets

    base = anywidget_base()

    class ExplorerWidget(base):  # type: ignore[misc, valid-type]
        """The backprop explorer in a notebook (made by :func:`microgradx.viz.explorer.explore`).

        Synced state: ``script`` (the step script, computed in Python), ``phase`` (``"forward"``,
        ``"backward"`` or ``"paths"``), ``step`` (the step number shown in that phase: backward step k is
        row k of the Trace table), ``leaf`` (the node id whose paths are shown) and ``path``.
        """

        _esm = module_text("explorer.js")
        _css = asset_text("explorer.css")
        script = traitlets.Dict().tag(sync=True)
        phase = traitlets.Unicode("backward").tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)
        leaf = traitlets.Unicode("").tag(sync=True)
        path = traitlets.Int(0).tag(sync=True)

        @traitlets.validate("phase")
        def _check_phase(self, proposal):
            if proposal["value"] not in ("forward", "backward", "paths"):
                raise traitlets.TraitError(f"phase must be 'forward', 'backward' or 'paths', "
                                           f"got {proposal['value']!r}")
            return proposal["value"]

        @traitlets.validate("step")
        def _check_step(self, proposal):
            value, phase = proposal["value"], self.phase
            if phase != "paths" and self.script:
                low, high = (1, len(self.script["forward"])) if phase == "forward" else \
                    (0, len(self.script["backward"]) - 1)
                if not low <= value <= high:
                    raise traitlets.TraitError(f"step must be between {low} and {high} in the {phase} phase, "
                                               f"got {value!r}")
            return value

        @traitlets.validate("leaf")
        def _check_leaf(self, proposal):
            if proposal["value"] and proposal["value"] not in self.script.get("paths", {}):
                raise traitlets.TraitError(f"leaf must be the id of a leaf with paths (one of "
                                           f"{sorted(self.script.get('paths', {}))[:5]}...), "
                                           f"got {proposal['value']!r}")
            return proposal["value"]

    ExplorerWidget.__qualname__ = "ExplorerWidget"
    return ExplorerWidget
