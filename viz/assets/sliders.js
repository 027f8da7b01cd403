// microgradx sliders: controls over precomputed frames. One ES module for anywidget and for the static page.
// Python computes every frame (microgradx/viz/sliders.py); this module only picks and draws them, so a
// notebook and an offline page show the same numbers. State: "spec" (title, controls, panels, layers) and
// "selection" (one index per control). A layer names the controls it depends on and holds one part per
// combination of their indices ("2-0"); what is shown is the union of every layer's current part.
// h() is defined in dom.js, which widget.module_text puts before this module.

const NS = "http://www.w3.org/2000/svg";
const W = 460, H = 300, M = { left: 56, right: 12, top: 26, bottom: 40 };
let instances = 0;

function s(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function layerKey(layer, selection) {
  return layer.controls.map((c) => selection[c]).join("-");
}

// the parts shown for a selection, merged per panel (lines, points, vlines in layer order)
export function scene(spec, selection) {
  const panels = spec.panels.map((p) => ({ ...p, lines: [], points: [], vlines: [] }));
  const texts = [], keys = [];
  for (const layer of spec.layers) {
    const key = layerKey(layer, selection);
    keys.push(key);
    const part = layer.frames[key];
    if (!part) continue;
    if (part.text) texts.push(part.text);
    for (const [index, add] of Object.entries(part.panels || {})) {
      const panel = panels[Number(index)];
      for (const field of ["lines", "points", "vlines"]) if (add[field]) panel[field].push(...add[field]);
      for (const field of ["xlim", "ylim", "title"]) if (add[field] !== undefined) panel[field] = add[field];
    }
  }
  return { panels, texts, keys };
}

function niceTicks(lo, hi, count = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((v) => span / v <= count) || 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(3)));
}

function marker(shape, x, y, size) {
  if (shape === "square") return s("rect", { x: x - size, y: y - size, width: 2 * size, height: 2 * size });
  if (shape === "star") {
    const pts = [];
    for (let k = 0; k < 10; k++) {
      const r = k % 2 ? size * 0.45 : size * 1.1, a = -Math.PI / 2 + (k * Math.PI) / 5;
      pts.push(`${(x + r * Math.cos(a)).toFixed(1)},${(y + r * Math.sin(a)).toFixed(1)}`);
    }
    return s("polygon", { points: pts.join(" ") });
  }
  return s("circle", { cx: x, cy: y, r: size * 0.75 });
}

function drawPanel(panel, clipId) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "mgx-panel", role: "img",
                         "aria-label": panel.title || "plot" });
  const [x0, x1] = panel.xlim, [y0, y1] = panel.ylim;
  const log = !!panel.logy;
  const ly = (v) => (log ? Math.log10(v) : v);
  const px = (x) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y) => H - M.bottom - ((ly(y) - ly(y0)) / (ly(y1) - ly(y0))) * (H - M.top - M.bottom);
  const defs = s("defs");
  const clip = s("clipPath", { id: clipId });
  clip.append(s("rect", { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom }));
  defs.append(clip);
  svg.append(defs);
  svg.append(s("rect", { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom,
                         class: "mgx-plot-area" }));
  const xt = niceTicks(x0, x1);
  const yt = log ? (() => { const t = []; for (let e = Math.ceil(Math.log10(y0)); e <= Math.floor(Math.log10(y1)); e++) t.push(Math.pow(10, e)); return t.length > 7 ? t.filter((_, i) => i % 2 === 0) : t; })()
                 : niceTicks(y0, y1);
  for (const t of xt) {
    svg.append(s("line", { x1: px(t), x2: px(t), y1: H - M.bottom, y2: H - M.bottom + 4, class: "mgx-tick" }));
    svg.append(s("text", { x: px(t), y: H - M.bottom + 15, "text-anchor": "middle", class: "mgx-tick-label" }, fmt(t)));
  }
  for (const t of yt) {
    svg.append(s("line", { x1: M.left - 4, x2: M.left, y1: py(t), y2: py(t), class: "mgx-tick" }));
    svg.append(s("line", { x1: M.left, x2: W - M.right, y1: py(t), y2: py(t), class: "mgx-grid" }));
    svg.append(s("text", { x: M.left - 6, y: py(t) + 4, "text-anchor": "end", class: "mgx-tick-label" }, fmt(t)));
  }
  svg.append(s("text", { x: (M.left + W - M.right) / 2, y: H - 6, "text-anchor": "middle", class: "mgx-axis-label" },
               panel.xlabel || ""));
  svg.append(s("text", { x: 12, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle", class: "mgx-axis-label",
                         transform: `rotate(-90 12 ${(M.top + H - M.bottom) / 2})` }, panel.ylabel || ""));
  svg.append(s("text", { x: W / 2, y: 16, "text-anchor": "middle", class: "mgx-panel-title" }, panel.title || ""));
  const plot = s("g", { "clip-path": `url(#${clipId})` });
  const ok = (x, y) => x !== null && y !== null && Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0);
  for (const line of panel.lines) {
    const runs = [[]];
    for (const [x, y] of line.points) {
      if (ok(x, y)) runs[runs.length - 1].push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    const g = s("g", { class: "mgx-line", "data-series": line.label || "", "data-points": String(line.points.length) });
    for (const run of runs) {
      if (!run.length) continue;
      g.append(s("polyline", { points: run.join(" "), fill: "none", stroke: line.color || "#333",
                               "stroke-width": line.width || 1.6, "stroke-dasharray": line.dash || "none",
                               "stroke-linejoin": "round", opacity: line.opacity === undefined ? 1 : line.opacity }));
      if (line.markers) for (const p of run) { const [a, b] = p.split(","); g.append(s("circle", { cx: a, cy: b, r: 1.8, fill: line.color || "#333" })); }
    }
    plot.append(g);
  }
  for (const v of panel.vlines) {
    if (!ok(v.x, log ? y1 : 0)) continue;
    plot.append(s("line", { x1: px(v.x), x2: px(v.x), y1: M.top, y2: H - M.bottom, stroke: v.color || "#555",
                            "stroke-dasharray": v.dash || "4 3", class: "mgx-vline", "data-x": String(v.x) }));
  }
  for (const p of panel.points) {
    if (!ok(p.x, p.y)) continue;
    const mark = marker(p.shape, px(p.x), py(p.y), p.size || 4);
    mark.setAttribute("fill", p.hollow ? "#fff" : (p.color || "#333"));
    mark.setAttribute("stroke", p.hollow ? (p.color || "#333") : (p.edge || "#222"));
    mark.setAttribute("stroke-width", p.hollow ? "1.4" : "0.6");
    mark.setAttribute("class", "mgx-point");
    plot.append(mark);
  }
  svg.append(plot);
  svg.append(s("rect", { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom,
                         class: "mgx-frame" }));
  return svg;
}

function legend(panels) {
  const seen = new Map();
  for (const panel of panels) {
    for (const line of panel.lines) if (line.label && !seen.has(line.label)) seen.set(line.label, { color: line.color, dash: line.dash });
    for (const p of panel.points) if (p.label && !seen.has(p.label)) seen.set(p.label, { color: p.color, point: p.shape || "circle", hollow: p.hollow });
    for (const v of panel.vlines) if (v.label && !seen.has(v.label)) seen.set(v.label, { color: v.color, dash: v.dash || "4 3" });
  }
  const box = h("div", { class: "mgx-legend" });
  for (const [label, st] of seen) {
    const key = s("svg", { width: 26, height: 10, "aria-hidden": "true" });
    if (st.point) {
      const m = marker(st.point, 13, 5, 4.2);
      m.setAttribute("fill", st.hollow ? "#fff" : (st.color || "#333"));
      m.setAttribute("stroke", st.hollow ? (st.color || "#333") : "#222");
      m.setAttribute("stroke-width", "0.6");
      key.append(m);
    }
    else key.append(s("line", { x1: 1, x2: 25, y1: 5, y2: 5, stroke: st.color || "#333", "stroke-width": 2.2,
                                "stroke-dasharray": st.dash || "none" }));
    box.append(h("span", { class: "mgx-legend-item" }, [key, label]));
  }
  return box;
}

function render({ model, el }) {
  const spec = model.get("spec");
  // unique per view, also across pages that each load their own copy of this module (the tour embeds four)
  const id = `mgx-sliders-${el.id || Math.random().toString(36).slice(2, 10)}-${++instances}`;
  const root = h("div", { class: "mgx-sliders", "data-lm-suppress-shortcuts": "true", id });
  const title = h("div", { class: "mgx-sliders-title", text: spec.title || "" });
  const controls = h("div", { class: "mgx-controls" });
  const inputs = [], outputs = [];
  spec.controls.forEach((control, c) => {
    const input = h("input", { type: "range", min: "0", max: String(control.values.length - 1), step: "1",
                               class: "mgx-range", "data-control": control.name, "aria-label": control.label });
    const output = h("output", { class: "mgx-value", "data-control": control.name });
    input.addEventListener("input", () => {
      const selection = model.get("selection").slice();
      selection[c] = Number(input.value);
      model.set("selection", selection);
      model.save_changes();
    });
    input.addEventListener("keydown", (ev) => ev.stopPropagation());   // arrows move the slider, not the notebook
    inputs.push(input); outputs.push(output);
    controls.append(h("label", { class: "mgx-control" }, [h("span", { class: "mgx-control-label", text: control.label }), input, output]));
  });
  const panelsBox = h("div", { class: "mgx-panels" });
  const legendBox = h("div", { class: "mgx-legend-box" });
  const caption = h("div", { class: "mgx-caption", "aria-live": "polite" });
  root.append(title, controls, panelsBox, legendBox, caption);
  el.append(root);

  function redraw() {
    const selection = model.get("selection");
    spec.controls.forEach((control, c) => {
      const i = selection[c];
      inputs[c].value = String(i);
      const text = control.labels[i];
      outputs[c].textContent = text;
      inputs[c].setAttribute("aria-valuetext", text);
    });
    const shown = scene(spec, selection);
    panelsBox.replaceChildren(...shown.panels.map((p, k) => drawPanel(p, `${id}-clip-${k}`)));
    legendBox.replaceChildren(legend(shown.panels));
    caption.replaceChildren(...shown.texts.map((t) => h("div", { class: "mgx-caption-line", text: t })));
    root.dataset.keys = shown.keys.join("|");
    root.dataset.selection = selection.join("-");
  }
  model.on("change:selection", redraw);
  redraw();
  root.dataset.ready = "true";
  return () => model.off("change:selection", redraw);
}

export default { render };
