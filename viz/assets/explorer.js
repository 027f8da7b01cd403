// microgradx backprop explorer: one ES module for anywidget and for the self-contained page.
// Everything numeric comes from Python (the "script"); this module only shows it. The SVG was laid out
// once by Graphviz and is never re-laid out: a step toggles classes and swaps the data/grad texts.
// State (synced with Python in a notebook): phase ("forward" | "backward" | "paths"), step, leaf, path.
// h() is defined in dom.js, which widget.module_text puts before this module.

const PLAY_MS = 1200;

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

function render({ model, el }) {
  const S = model.get("script");
  const F = S.forward.length;          // forward steps 1..F
  const B = S.backward.length - 1;     // backward steps 0..B (0 is the seed)

  // ----------------------------------------------------------------------------------- the frame
  const root = h("div", { class: "mgx-explorer", tabindex: "0", "data-lm-suppress-shortcuts": "true",
                          role: "application", "aria-label": "backprop explorer: arrow keys step" });
  for (const [k, v] of Object.entries(S.colors)) root.style.setProperty(`--mgx-${k}`, v);
  const title = h("div", { class: "mgx-title", text: S.title });
  const phaseButtons = {};
  const phases = h("div", { class: "mgx-phases", role: "tablist" });
  for (const [p, label] of [["forward", "Forward"], ["backward", "Backward"], ["paths", "Paths"]]) {
    const b = h("button", { type: "button", role: "tab", class: "mgx-phase", "data-phase": p, text: label });
    b.addEventListener("click", () => go(p, p === "forward" ? 1 : 0));
    phaseButtons[p] = b;
    phases.append(b);
  }
  const prev = h("button", { type: "button", class: "mgx-prev", title: "previous step (←)", text: "◀ Prev" });
  const play = h("button", { type: "button", class: "mgx-play", title: "play / pause (space)", text: "▶ Play" });
  const next = h("button", { type: "button", class: "mgx-next", title: "next step (→)", text: "Next ▶" });
  const counter = h("span", { class: "mgx-counter", "aria-live": "polite" });
  const jump = h("input", { type: "number", class: "mgx-jump", "aria-label": "jump to step", title: "jump to step" });
  const leafSelect = h("select", { class: "mgx-leaf", "aria-label": "leaf whose paths to show" });
  leafSelect.append(h("option", { value: "", text: "choose a leaf…" }));
  for (const [id, p] of Object.entries(S.paths)) {
    leafSelect.append(h("option", { value: id, text: `${p.name} (${p.count} path${p.count === 1 ? "" : "s"})` }));
  }
  const search = h("input", { type: "search", class: "mgx-search", placeholder: "search a label",
                              "aria-label": "search nodes by label" });
  const zoomOut = h("button", { type: "button", class: "mgx-zoom-out", title: "zoom out", text: "−" });
  const zoomFit = h("button", { type: "button", class: "mgx-zoom-fit", title: "fit the graph", text: "fit" });
  const zoomIn = h("button", { type: "button", class: "mgx-zoom-in", title: "zoom in", text: "+" });
  const bar = h("div", { class: "mgx-bar" }, [
    phases, h("span", { class: "mgx-group" }, [prev, play, next]), counter,
    h("label", { class: "mgx-jump-label" }, ["step ", jump]), leafSelect, search,
    h("span", { class: "mgx-group" }, [zoomOut, zoomFit, zoomIn])]);
  const formula = h("div", { class: "mgx-formula", "aria-live": "polite" });
  const view = h("div", { class: "mgx-view" });
  // the drawing stays out of the page until it has its final size (see the end of render): laying out its
  // thousands of texts is the bulk of opening a big graph, and a resize would do it all again
  const holder = h("div");
  holder.innerHTML = S.svg;
  const svg = holder.querySelector("svg");
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const detail = h("div", { class: "mgx-detail" });
  const legend = h("div", { class: "mgx-legend" });
  legend.innerHTML = `<span class="mgx-key mgx-key-up">blue box: dJ/d(node), the gradient arriving from above</span>
    <span class="mgx-key mgx-key-local">orange edge: the local derivative d(node)/d(input)</span>
    <span class="mgx-key mgx-key-contribution">purple dashed box: the input whose grad receives their product</span>
    <span class="mgx-key mgx-key-roles">fills: green weights, blue inputs, gold output; grad ? = not reached yet</span>`;
  root.append(title, bar, formula, view, detail, legend);
  el.append(root);

  // ------------------------------------------------------------------------ index the drawing
  const boxEl = {}, dataText = {}, gradText = {};
  for (const g of svg.querySelectorAll("g.node")) {
    const id = g.id;
    boxEl[id] = g;
    const shape = g.querySelector("path, polygon");
    if (shape) shape.classList.add("mgx-shape");
    for (const t of g.querySelectorAll("text")) {
      if (t.textContent.startsWith("data ")) { dataText[id] = t; t.classList.add("mgx-data"); }
      else if (t.textContent.startsWith("grad ")) { gradText[id] = t; t.classList.add("mgx-grad"); }
    }
    g.addEventListener("click", () => clickBox(id));
  }
  const edgeEl = {};
  for (const g of svg.querySelectorAll("g.edge")) edgeEl[g.id] = g;

  // -------------------------------------------------------------------- incremental number state
  // shownForward: how many forward steps have shown their value; shownBackward: last applied backward step
  // (-1: no gradient known yet). The SVG comes drawn as backward step 0: every value, only the seed's
  // gradient. Moving between states touches only the nodes in between.
  let shownForward = F, shownBackward = 0;
  const grad = {};
  for (const [id, n] of Object.entries(S.nodes)) grad[id] = n.unknown;
  grad[S.root] = S.backward[0].after;
  function setGrad(id, text) {
    grad[id] = text;
    const t = gradText[id];
    if (t) { t.textContent = text; t.classList.toggle("mgx-unknown", text.endsWith("?")); }
  }
  for (const [id, t] of Object.entries(gradText)) t.classList.toggle("mgx-unknown", grad[id].endsWith("?"));
  function setForward(k) {
    if (shownBackward >= 0) setBackward(-1);
    while (shownForward < k) {
      const f = S.forward[shownForward++];
      if (dataText[f.node]) dataText[f.node].textContent = f.data;
      if (boxEl[f.node]) boxEl[f.node].classList.remove("mgx-future");
    }
    while (shownForward > k) {
      const f = S.forward[--shownForward];
      if (dataText[f.node]) dataText[f.node].textContent = "data ?";
      if (boxEl[f.node]) boxEl[f.node].classList.add("mgx-future");
    }
  }
  function setBackward(k) {
    if (k >= 0 && shownForward < F) setForward(F);
    while (shownBackward < k) { const s = S.backward[++shownBackward]; setGrad(s.target, s.after); }
    while (shownBackward > k) { const s = S.backward[shownBackward--]; setGrad(s.target, s.before); }
  }

  // ------------------------------------------------------------------------------- highlights
  let lit = [];
  function light(e, cls) { if (e) { e.classList.add(cls); lit.push([e, cls]); } }
  function clearLights() { for (const [e, cls] of lit) e.classList.remove(cls); lit = []; }

  function span(kind, text) { return `<span class="mgx-f mgx-f-${kind}">${esc(text)}</span>`; }

  function showForward(k) {
    const f = S.forward[k - 1];
    light(boxEl[f.box], "mgx-current");
    for (const e of f.edges) light(edgeEl[e], "mgx-in-edge");
    formula.innerHTML = `<div class="mgx-formula-text">${esc(f.text)}</div>`;
    counter.textContent = `forward step ${k} of ${F}`;
    return f.box;
  }

  function showBackward(k) {
    const s = S.backward[k];
    light(boxEl[s.box], "mgx-up");
    light(boxEl[s.target_box], "mgx-target");
    if (s.edge) light(edgeEl[s.edge], "mgx-hot-edge");
    if (k === 0) {
      formula.innerHTML = `<div class="mgx-formula-text">${esc(s.text)}</div>`;
    } else {
      const y = s.symbols, n = s.numbers;
      formula.innerHTML = `<div class="mgx-formula-text">${span("contribution", y.contribution)} += `
        + `${span("upstream", y.upstream)} × ${span("local", y.local)} = ${span("upstream", n.upstream)} × `
        + `${span("local", n.local)} = ${span("contribution", n.contribution)}</div>`
        + `<div class="mgx-formula-sub">${esc(s.result)}</div>`;
    }
    counter.textContent = `backward step ${k} of ${B}`;
    if (openBox) showFolded(openBox); else markRow(k);
    return s.target_box;
  }

  function showPaths(leaf, i) {
    const p = S.paths[leaf];
    if (!p) {
      formula.innerHTML = `<div class="mgx-formula-text">Choose a leaf (a weight) to see every path from it up to `
        + `${esc(S.nodes[S.root].name)}: the gradient is the sum of the path products.</div>`;
      counter.textContent = "paths: choose a leaf";
      detail.innerHTML = "";
      return null;
    }
    light(boxEl[S.nodes[leaf].box], "mgx-leaf-box");
    const n = p.items.length;
    if (n === 0) {
      formula.innerHTML = `<div class="mgx-formula-text">${esc(p.sum)}: no path from ${esc(p.name)}</div>`;
      counter.textContent = `paths of ${p.name}: none`;
      return S.nodes[leaf].box;
    }
    const item = p.items[i];
    for (const b of item.boxes) light(boxEl[b], "mgx-path-box");
    for (const e of item.edges) light(edgeEl[e], "mgx-path-edge");
    const kind = p.grouped ? "group" : "path";
    formula.innerHTML = `<div class="mgx-formula-text">${kind} ${i + 1}: ${esc(item.symbols)} = `
      + `${esc(item.numbers)} = <b>${esc(item.product)}</b></div>`
      + `<div class="mgx-formula-sub">${esc(p.sum)}</div>`;
    counter.textContent = `${kind} ${i + 1} of ${n} for ${p.name}`;
    let rows = `<table class="mgx-table mgx-paths"><thead><tr><th>${kind}</th><th>product of local derivatives`
      + `</th><th>=</th></tr></thead><tbody>`;
    p.items.forEach((it, j) => {
      rows += `<tr data-path="${j}" class="${j === i ? "mgx-row-now" : ""}"><td>${j + 1}</td>`
        + `<td>${esc(it.symbols)} = ${esc(it.numbers)}</td><td>${esc(it.product)}</td></tr>`;
    });
    rows += `</tbody><tfoot><tr><td>sum</td><td colspan="2">${esc(p.sum)}</td></tr></tfoot></table>`;
    detail.innerHTML = rows;
    return item.boxes[0];
  }

  // the steps table of the backward phase (the Trace table, same numbers), built on first use
  let stepsTable = null, stepRows = [], rowNow = null, rowScrollPending = false;
  function markRow(k) {
    if (!stepsTable) {
      let rows = `<table class="mgx-table mgx-steps"><thead><tr><th>step</th><th>node</th><th>→ input</th>`
        + `<th>local d</th><th>upstream</th><th>contribution</th><th>grad after</th></tr></thead><tbody>`;
      for (const s of S.backward) {
        const n = s.numbers || {};
        rows += `<tr data-step="${s.number}"><td>${s.number}</td><td>${esc(S.nodes[s.node].name)}</td>`
          + `<td>${esc(S.nodes[s.target].name)}</td><td>${esc(n.local ?? "")}</td><td>${esc(n.upstream ?? "")}</td>`
          + `<td>${esc(n.contribution ?? "")}</td><td>${esc(s.after.slice(5))}</td></tr>`;
      }
      stepsTable = h("div", { class: "mgx-steps-wrap" });
      stepsTable.innerHTML = rows + "</tbody></table>";
      stepsTable.addEventListener("click", (ev) => {
        const tr = ev.target.closest("tr[data-step]");
        if (tr) go("backward", Number(tr.dataset.step));
      });
    }
    if (detail.firstChild !== stepsTable) {
      detail.innerHTML = "";
      detail.append(stepsTable);
      stepRows = stepsTable.querySelectorAll("tbody tr");
    }
    if (rowNow) rowNow.classList.remove("mgx-row-now");
    rowNow = stepRows[k];
    if (rowNow) {
      rowNow.classList.add("mgx-row-now");
      // looked at in the next frame, which lays the page out anyway (so reading the row's place there forces
      // no layout of its own), and scrolled only when the row is out of sight under the sticky header or
      // below: a scroll repaints the table, which on every step cost a frame
      if (!rowScrollPending) {
        rowScrollPending = true;
        requestAnimationFrame(() => {
          rowScrollPending = false;
          if (!rowNow || !rowNow.isConnected) return;
          const head = stepsTable.querySelector("thead").offsetHeight, at = stepsTable.scrollTop;
          const top = rowNow.offsetTop, height = rowNow.offsetHeight, seen = stepsTable.clientHeight;
          if (top < at + head || top + height > at + seen) {
            stepsTable.scrollTop = Math.max(0, top - (seen + head - height) / 2);
          }
        });
      }
    }
  }

  // --------------------------------------------------------------------- pan, zoom and follow
  const vb0 = svg.viewBox.baseVal;
  const full = { x: vb0.x, y: vb0.y, w: vb0.width, h: vb0.height };
  let scale = 1, cx = full.x + full.w / 2, cy = full.y + full.h / 2;
  const MIN_SCALE_FIT = 1;   // 1 px per point: 11 px text; a bigger graph pans instead of shrinking
  // the view's size in CSS pixels, measured only when it can change (fit, resize): never during a step
  let viewW = 960, viewH = 500;
  function measureView() { viewW = view.clientWidth || 960; viewH = view.clientHeight || 500; }
  function maxViewHeight() { return Math.max(260, Math.round(window.innerHeight * 0.62)); }
  // natural size is 4/3 px per point; shrink to show the whole graph, but never below MIN_SCALE_FIT
  function fitScale() {
    return Math.min(4 / 3, viewW / full.w, (maxViewHeight() - 8) / full.h);
  }
  // The SVG keeps its full viewBox, drawn at the current scale inside the view, which scrolls. Panning is
  // scrolling: it moves pixels already drawn. (A changed viewBox or CSS transform would make the browser lay
  // out every SVG text again: a third of a second per step on a 1,000-box graph without a GPU.)
  let drawnScale = null, scrollPending = false;
  function applyView() {
    if (drawnScale !== scale) {
      svg.setAttribute("width", String(Math.round(full.w * scale)));
      svg.setAttribute("height", String(Math.round(full.h * scale)));
      drawnScale = scale;
    }
    // scrolled in the next frame, once the browser lays the page out anyway (setting it now would force a
    // layout of its own: a second or more on a 1,000-box graph)
    if (!scrollPending) {
      scrollPending = true;
      requestAnimationFrame(() => {
        scrollPending = false;
        view.scrollLeft = Math.max(0, Math.round((cx - full.x) * scale - viewW / 2));
        view.scrollTop = Math.max(0, Math.round((cy - full.y) * scale - viewH / 2));
      });
    }
  }
  view.addEventListener("scroll", () => {   // scrolled (by us or the user): remember the centre
    if (scrollPending) return;               // a scroll of ours is on its way: keep its target
    cx = full.x + (view.scrollLeft + viewW / 2) / scale;
    cy = full.y + (view.scrollTop + viewH / 2) / scale;
  }, { passive: true });
  function fit() {
    measureView();
    const s = Math.max(fitScale(), MIN_SCALE_FIT);
    // the view is as tall as the graph at the fitted scale, within the window's height
    view.style.height = `${Math.round(Math.min(full.h * s + 24, maxViewHeight()))}px`;
    measureView();
    scale = s;
    cx = full.x + full.w / 2;
    cy = full.y + Math.min(full.h, viewH / scale) / 2;
    if (full.h * scale > viewH) cy = full.y + full.h - viewH / scale / 2;   // tall graphs: start at the output
    applyView();
  }
  function zoom(f) { scale = Math.min(6, Math.max(0.05, scale * f)); applyView(); }
  // box centres in the SVG's coordinates: Graphviz points (y up) moved by the drawing's own translation
  const shift = svg.querySelector("g.graph").transform.baseVal.consolidate().matrix;
  function follow(boxId) {
    const at = S.at[boxId];
    if (!at) return;
    const x = at[0] + shift.e - full.x, y = -at[1] + shift.f - full.y, halfW = at[2] / 2, halfH = at[3] / 2;
    const w = viewW / scale, hh = viewH / scale, margin = 16 / scale;
    const left = cx - full.x - w / 2, top = cy - full.y - hh / 2;
    const outside = (x - halfW < left + margin && left > 0) || x + halfW > left + w - margin
        || (y - halfH < top + margin && top > 0) || y + halfH > top + hh - margin;
    if (outside && (full.w * scale > viewW || full.h * scale > viewH)) {
      cx = full.x + x; cy = full.y + y;
      applyView();
    }
  }
  let drag = null;
  view.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 || ev.target === view) return;   // the scrollbars scroll by themselves
    drag = { x: ev.clientX, y: ev.clientY, left: view.scrollLeft, top: view.scrollTop, moved: false };
  });
  view.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) { view.scrollLeft = drag.left - dx; view.scrollTop = drag.top - dy; }
  });
  const endDrag = () => { setTimeout(() => { drag = null; }, 0); };
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointerleave", endDrag);
  view.addEventListener("wheel", (ev) => {
    if (!(ev.ctrlKey || ev.metaKey)) return;   // a plain wheel scrolls
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15);
  }, { passive: false });
  zoomIn.addEventListener("click", () => zoom(1.25));
  zoomOut.addEventListener("click", () => zoom(1 / 1.25));
  zoomFit.addEventListener("click", () => { fit(); });

  // ------------------------------------------------------------------------------ folded boxes
  let openBox = null;
  function showFolded(boxId) {
    const rows = S.folded[boxId];
    if (!rows) return;
    openBox = boxId;
    let html = `<div class="mgx-folded-head">${esc(S.nodes[boxId].name)} = the sum of these ${rows.length} terms `
      + `(the box folds them) <button type="button" class="mgx-close" title="close (Esc)">close ✕</button></div>`
      + `<table class="mgx-table mgx-folded"><thead><tr>`
      + `<th>term</th><th>grad of its weight so far</th><th>grad of the term</th></tr></thead><tbody>`;
    for (const r of rows) {
      html += `<tr data-node="${r.node}"><td>${esc(r.text)}</td><td>${esc(grad[r.grads[0]])}</td>`
        + `<td>${esc(grad[r.grads[1]])}</td></tr>`;
    }
    detail.innerHTML = html + "</tbody></table>";
    detail.querySelector(".mgx-close").addEventListener("click", closeFolded);
  }
  function closeFolded() { openBox = null; detail.innerHTML = ""; redraw(); }
  function clickBox(id) {
    if (drag && drag.moved) return;
    if (S.folded[id]) { showFolded(id); return; }
    if (S.paths[id]) { model.set("leaf", id); model.set("path", 0); model.set("phase", "paths"); commit(); }
  }

  // ---------------------------------------------------------------------------------- search
  let found = [];
  function doSearch() {
    for (const g of found) g.classList.remove("mgx-found");
    found = [];
    const q = search.value.trim().toLowerCase();
    if (!q) return;
    const boxes = new Set();
    for (const n of Object.values(S.nodes)) if (n.name.toLowerCase().includes(q)) n.boxes.forEach((b) => boxes.add(b));
    for (const b of boxes) if (boxEl[b]) { boxEl[b].classList.add("mgx-found"); found.push(boxEl[b]); }
    counter.textContent = `${boxes.size} box${boxes.size === 1 ? "" : "es"} match “${search.value.trim()}”`;
    if (found.length) {
      follow(found[0].id);
      if (S.folded[found[0].id]) showFolded(found[0].id);
    }
  }
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.stopPropagation(); doSearch(); } });
  search.addEventListener("search", doSearch);

  // ------------------------------------------------------------------------------- the state
  function clampStep(phase, k) {
    if (phase === "forward") return Math.min(F, Math.max(1, k));
    if (phase === "backward") return Math.min(B, Math.max(0, k));
    return Math.max(0, k);
  }
  function commit() { model.save_changes(); }
  function go(phase, k) {
    stop();
    if (phase === "paths") {
      model.set("phase", "paths");
      const leaf = model.get("leaf") || leafSelect.options[1]?.value || "";
      model.set("leaf", leaf);
      model.set("path", 0);
    } else {
      model.set("phase", phase);
      model.set("step", clampStep(phase, k));
    }
    commit();
  }
  function move(delta) {
    const phase = model.get("phase");
    if (phase === "paths") {
      const p = S.paths[model.get("leaf")];
      if (!p || !p.items.length) return false;
      const n = p.items.length;
      model.set("path", ((model.get("path") + delta) % n + n) % n);
      commit();
      return true;
    }
    const k = model.get("step") + delta;
    if (phase === "forward" && k > F) { go("backward", 0); return true; }
    if (phase === "backward" && k < 0) { go("forward", F); return true; }
    if (phase === "backward" && k > B) return false;
    if (phase === "forward" && k < 1) return false;
    model.set("step", k);
    commit();
    return true;
  }

  let timer = null;
  function stop() { if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ Play"; } }
  function toggle() {
    if (timer) { stop(); return; }
    play.textContent = "❚❚ Pause";
    timer = setInterval(() => { if (!move(1)) stop(); }, PLAY_MS);
  }
  prev.addEventListener("click", () => { stop(); move(-1); });
  next.addEventListener("click", () => { stop(); move(1); });
  play.addEventListener("click", toggle);
  jump.addEventListener("change", () => {
    const phase = model.get("phase");
    if (phase === "paths") { model.set("path", Math.max(0, Number(jump.value) - 1)); commit(); return; }
    go(phase, Number(jump.value));
  });
  leafSelect.addEventListener("change", () => {
    stop();
    model.set("leaf", leafSelect.value); model.set("path", 0); model.set("phase", "paths"); commit();
  });

  root.addEventListener("keydown", (ev) => {
    if (ev.target !== root && ev.target.closest("input, select, textarea")) return;
    const phase = model.get("phase");
    let handled = true;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") {
      stop();
      if (ev.shiftKey) go(phase === "forward" ? "backward" : phase, phase === "forward" ? 0 : B);
      else move(1);
    } else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") {
      stop();
      if (ev.shiftKey) go(phase === "backward" ? "forward" : phase, 1);
      else move(-1);
    } else if (ev.key === "Home") go(phase, phase === "forward" ? 1 : 0);
    else if (ev.key === "End") go(phase, phase === "forward" ? F : B);
    else if (ev.key === " ") toggle();
    else if (ev.key === "Escape" && openBox) closeFolded();
    else handled = false;
    if (handled) { ev.preventDefault(); ev.stopPropagation(); }
  });

  function redraw() {
    clearLights();
    const phase = model.get("phase");
    svg.classList.toggle("mgx-dim", phase === "paths" && Boolean(S.paths[model.get("leaf")]));
    for (const [p, b] of Object.entries(phaseButtons)) {
      b.classList.toggle("mgx-on", p === phase);
      b.setAttribute("aria-selected", String(p === phase));
    }
    root.dataset.phase = phase;
    if (leafSelect.value !== (model.get("leaf") || "")) leafSelect.value = model.get("leaf") || "";
    let focus = null;
    if (phase === "forward") {
      const k = clampStep("forward", model.get("step"));
      setForward(k);
      focus = showForward(k);
      root.dataset.step = String(k);
      jump.min = "1"; jump.max = String(F); jump.value = String(k);
      if (openBox) showFolded(openBox); else detail.innerHTML = "";
    } else if (phase === "backward") {
      const k = clampStep("backward", model.get("step"));
      setBackward(k);
      focus = showBackward(k);
      root.dataset.step = String(k);
      jump.min = "0"; jump.max = String(B); jump.value = String(k);
    } else {
      setBackward(B);
      const leaf = model.get("leaf");
      const p = S.paths[leaf];
      const i = p && p.items.length ? Math.min(p.items.length - 1, Math.max(0, model.get("path"))) : 0;
      focus = showPaths(leaf, i);
      root.dataset.step = String(i + 1);
      jump.min = "1"; jump.max = String(p ? Math.max(1, p.items.length) : 1); jump.value = String(i + 1);
    }
    if (focus) follow(focus);
  }

  for (const key of ["phase", "step", "leaf", "path"]) model.on(`change:${key}`, redraw);
  const onResize = () => fit();
  window.addEventListener("resize", onResize);
  fit();
  redraw();
  view.append(svg);
  root.dataset.ready = "true";
  return () => { stop(); window.removeEventListener("resize", onResize); };
}

export default { render };
