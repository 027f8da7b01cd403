// microgradx widgets' shared prelude: microgradx/viz/widget.py puts this text before each widget's module
// (explorer.js, sliders.js) when it builds the anywidget ESM and the static page, so every module can use it
// and stays one self-contained file in the page. Keep it free of imports and exports.

// h("div", { class: "a", text: "hi", title: "t" }, [child, "text"]): an HTML element with its attributes
// ("class" and "text" set className and textContent) and children appended
function h(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
