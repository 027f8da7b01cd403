"""The backprop explorer in a real browser (headless Chromium, see tests/browser.py).

The expected numbers are computed here from the Trace and from central differences, never read back from
the page's own data: which box and edge are lit, the formula text, the step counter, the path products.
"""

from __future__ import annotations

import math
import re
import shutil

import pytest

from browser import assert_no_horizontal_scrollbar, file_url, screenshot
from microgradx.tour import backprop_example
from microgradx.trace import node_name

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' binary not installed")


def _g(x: float) -> str:
    return f"{x:.4g}"


def _ids(trace):
    """The drawing's ids from the graph's own topological numbering (the contract of viz/layout.py)."""
    number = {node: k for k, node in enumerate(trace.order)}
    return lambda node: f"n{number[node]}"


@pytest.fixture(scope="module")
def lecture_page(tmp_path_factory):
    from microgradx.viz.explorer import save_html

    root, nodes = backprop_example()
    trace = root.backward()
    path = save_html(root, tmp_path_factory.mktemp("explorer") / "backprop.html", trace=trace, step=0)
    return path, root, nodes, trace


def _open(page, path):
    page.goto(file_url(path))
    page.wait_for_selector(".mgx-explorer[data-ready=true]", timeout=10_000)
    page.focus(".mgx-explorer")


def _state(page) -> dict:
    return page.evaluate("""() => ({
        counter: document.querySelector('.mgx-counter').textContent,
        formula: document.querySelector('.mgx-formula-text').textContent,
        up: [...document.querySelectorAll('g.node.mgx-up')].map(g => g.id),
        target: [...document.querySelectorAll('g.node.mgx-target')].map(g => g.id),
        edges: [...document.querySelectorAll('g.edge.mgx-hot-edge')].map(g => g.id),
        grads: Object.fromEntries([...document.querySelectorAll('g.node')].map(
            g => [g.id, g.querySelector('text.mgx-grad').textContent])),
    })""")


def _boxes_at(page) -> dict:
    """Every box's outline in SVG coordinates (the layout, independent of scrolling)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('g.node')].map(g => {
        const b = g.querySelector('.mgx-shape').getBBox();
        return [g.id, [b.x, b.y, b.width, b.height].map(v => Math.round(v * 10) / 10)];
    }))""")


def test_backward_steps_follow_the_trace_with_arrow_keys(page, lecture_page) -> None:
    path, root, nodes, trace = lecture_page
    ident = _ids(trace)
    _open(page, path)
    state = _state(page)
    assert state["counter"] == f"backward step 0 of {len(trace)}"
    assert state["up"] == [ident(root)] and state["edges"] == []
    unknown = [i for i, text in state["grads"].items() if text == "grad ?"]
    assert len(unknown) == len(trace.order) - 1  # only J's gradient is known at the seed
    for k, step in enumerate(trace, start=1):
        page.keyboard.press("ArrowRight")
        state = _state(page)
        assert state["counter"] == f"backward step {k} of {len(trace)}"
        assert state["up"] == [ident(step.node)]
        assert state["target"] == [ident(step.target)]
        assert state["edges"] == [f"e_{ident(step.target)}_{ident(step.node)}_0"]
        numbers = re.findall(r"= (\S+) × (\S+) = (\S+)$", state["formula"])
        assert numbers == [(_g(step.upstream), _g(step.local), _g(step.contribution))], state["formula"]
        assert state["formula"].startswith(f"{step.target.label}.grad += dJ/d{step.node.label} × ")
        assert state["grads"][ident(step.target)] == f"grad {step.grad_after:.4f}"
    # the example, word for word: step 4 pushes into w2
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert _state(page)["formula"] == (f"w2.grad += dJ/d(w2*z1) × d(w2*z1)/dw2 = {_g(trace[3].upstream)} × "
                                       f"{_g(trace[3].local)} = {_g(trace[3].contribution)}")
    assert nodes["w2"].grad == pytest.approx(trace[3].contribution)
    screenshot(page, "explorer_backward_step4")
    before = _boxes_at(page)
    page.keyboard.press("ArrowLeft")
    state = _state(page)
    assert state["counter"] == f"backward step 3 of {len(trace)}"
    assert state["grads"][ident(nodes["w2"])] == "grad ?"  # stepping back forgets w2's gradient again
    page.click(".mgx-phase[data-phase=forward]")
    page.click(".mgx-phase[data-phase=paths]")
    assert _boxes_at(page) == before  # highlighting is style only: no box ever moved or changed size
    assert_no_horizontal_scrollbar(page)


def test_paths_of_a_leaf_sum_to_its_central_difference_gradient(page, lecture_page) -> None:
    path, root, nodes, trace = lecture_page
    ident = _ids(trace)
    _open(page, path)
    page.select_option(".mgx-leaf", ident(nodes["w1"]))
    formula = page.inner_text(".mgx-formula-text")
    assert formula.startswith("path 1: dJ/dlog(ŷ) × dlog(ŷ)/dŷ × dŷ/d(w2*z1) × d(w2*z1)/dz1 × dz1/d(w1*x) × "
                              "d(w1*x)/dw1 = ")
    products = [float(x) for x in re.findall(r"\((\S+)\)", page.inner_text(".mgx-formula-sub").split("=")[1])]

    def loss(w1: float) -> float:  # the lecture's chain, written out: J = -log(sigmoid(w2 sigmoid(w1 x)))
        z1 = 1 / (1 + math.exp(-w1 * 2.0))
        return -math.log(1 / (1 + math.exp(1.5 * z1)))

    h = 1e-6
    central = (loss(0.5 + h) - loss(0.5 - h)) / (2 * h)
    assert len(products) == 1 and products[0] == pytest.approx(central, rel=1e-3)
    lit = page.eval_on_selector_all("g.edge.mgx-path-edge", "gs => gs.map(g => g.id)")
    assert len(lit) == 6  # six factors, six edges from w1 up to J
    assert_no_horizontal_scrollbar(page)


def test_tour_backprop_section_embeds_the_explorer_without_sideways_scrolling(page, tmp_path) -> None:
    from microgradx import tour

    sections = tour._sections()
    tour._graphs(tmp_path, sections)
    index = tour.write_index(tmp_path, sections, 1.0)
    root, nodes = backprop_example()  # the same chain, built again: an independent Trace for the numbers
    trace = root.backward()
    _open(page, index)
    assert_no_horizontal_scrollbar(page)
    assert page.locator("#backprop .mgx-explorer").count() == 1
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    step = trace[3]
    assert _state(page)["counter"] == "backward step 4 of 8"
    assert _state(page)["formula"].endswith(f"= {_g(step.upstream)} × {_g(step.local)} = {_g(step.contribution)}")
    # the table beside it numbers the same step 4, and says the same thing
    table = page.inner_text("#backprop pre")
    row = [line for line in table.splitlines() if line.startswith("4 ")][0]
    assert row.split()[1:4] == ["(w2*z1)", "*", "w2"]
    page.locator("#backprop").scroll_into_view_if_needed()
    screenshot(page, "tour_backprop_section", selector="#backprop")
    assert_no_horizontal_scrollbar(page)


def test_graph_html_page_steps_forward_then_backward(page, tmp_path) -> None:
    from microgradx.cli import main
    from microgradx.expression import parse_expression

    values = {"w1": 0.8, "x1": 1.0, "w2": -0.4, "x2": 2.0, "b": 0.1}
    args = [f"{k}={v}" for k, v in values.items()]
    out = tmp_path / "neuron.html"
    assert main(["graph", "sigmoid(w1*x1 + w2*x2 + b)", *args, "--html", str(out)]) == 0
    parsed = parse_expression("sigmoid(w1*x1 + w2*x2 + b)", values)
    trace = parsed.root.backward()
    order = trace.order
    _open(page, out)
    page.click(".mgx-phase[data-phase=forward]")
    page.focus(".mgx-explorer")
    assert page.inner_text(".mgx-counter") == f"forward step 1 of {len(order)}"
    first = order[0]
    assert page.inner_text(".mgx-formula-text").startswith(f"{first.label} = {first.data:.4g}")
    # the data of nodes not computed yet is unknown; each step shows one more
    unknown = page.eval_on_selector_all("text.mgx-data", "ts => ts.filter(t => t.textContent === 'data ?').length")
    assert unknown == len(order) - 1
    product = next(k for k, n in enumerate(order) if n.op == "*")
    for _ in range(product):
        page.keyboard.press("ArrowRight")
    w, x = order[product].children
    assert page.inner_text(".mgx-formula-text") == (
        f"{order[product].label} = {w.label} * {x.label} = {w.data:.4g} * {x.data:.4g} = {order[product].data:.4g}")
    assert page.eval_on_selector_all("g.node.mgx-current", "gs => gs.map(g => g.id)") == [f"n{product}"]
    page.keyboard.press("Shift+ArrowRight")  # to the next phase: the seed of the backward pass
    assert page.inner_text(".mgx-counter") == f"backward step 0 of {len(trace)}"
    page.keyboard.press("End")
    assert page.inner_text(".mgx-counter") == f"backward step {len(trace)} of {len(trace)}"
    grads = page.eval_on_selector_all("g.node", "gs => Object.fromEntries(gs.map(g => [g.id, "
                                                "g.querySelector('text.mgx-grad').textContent]))")
    for k, node in enumerate(order):  # every gradient as backward() left it
        assert grads[f"n{k}"] == f"grad {node.grad:.4f}"
    page.keyboard.press("ArrowLeft")
    assert page.inner_text(".mgx-counter") == f"backward step {len(trace) - 1} of {len(trace)}"
    assert_no_horizontal_scrollbar(page)
    screenshot(page, "graph_html_neuron")


def test_a_model_graph_folds_neurons_searches_labels_and_sums_paths(page, tmp_path) -> None:
    import numpy as np

    import microgradx as mgx
    from microgradx.viz.explorer import save_html

    mgx.utils.set_random_seed(0)
    model = mgx.Sequential([mgx.layers.Input(shape=(2,)), mgx.layers.Dense(16, activation="relu"),
                            mgx.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", engine="scalar")
    root = model.to_graph(np.array([[0.5, -1.0], [1.5, 0.3]]), np.array([[1.0], [0.0]]))
    trace = root.backward()
    out = save_html(root, tmp_path / "model.html", trace)
    _open(page, out)
    assert_no_horizontal_scrollbar(page)
    # the first-layer weight with the largest gradient (a dead ReLU would make every check below 0 = 0)
    first = model.layers[0].name  # "dense", or "dense_2" when other models were built before in this process
    kernel = max((n for n in trace.order if n.label.startswith(f"{first}/kernel")), key=lambda n: abs(n.grad))
    assert abs(kernel.grad) > 1e-3
    page.fill(".mgx-search", kernel.label)
    page.press(".mgx-search", "Enter")
    found = page.eval_on_selector_all("g.node.mgx-found", "gs => gs.map(g => g.id)")
    ident = _ids(trace)
    readers = {ident(s.node) for s in trace if s.target is kernel}  # the products that read the weight ...
    sums = {ident(n) for n in trace.order if n.op == "sum" and any(ident(c) in readers for c in n.children)}
    assert sorted(found) == sorted(sums) and len(found) == 2  # ... are folded into one box per sample
    rows = page.inner_text(".mgx-detail")
    assert re.search(re.escape(kernel.label) + r" × x\[\d,\d\] = ", rows)
    page.focus(".mgx-explorer")
    page.keyboard.press("Escape")  # closes the folded box: the steps table is back
    assert page.locator(".mgx-detail .mgx-steps").count() == 1
    page.click(f"g#{found[1]}")  # a click on a folded box opens it
    assert page.inner_text(".mgx-folded-head").startswith(f"{node_name(trace.order[int(found[1][1:])])} = the sum")
    # its paths: the products add up to the gradient the Trace accumulated into it
    page.select_option(".mgx-leaf", ident(kernel))
    products = page.eval_on_selector_all(".mgx-paths tbody tr td:last-child", "tds => tds.map(t => t.textContent)")
    assert len(products) >= 2
    assert sum(float(p) for p in products) == pytest.approx(sum(s.contribution for s in trace.into(kernel)),
                                                            rel=2e-3, abs=1e-4)
    assert page.eval_on_selector_all("g.node.mgx-path-box", "gs => gs.length") >= 3
    screenshot(page, "explorer_model_paths")
    assert_no_horizontal_scrollbar(page)


def test_buttons_jump_and_play_move_through_the_steps(page, lecture_page) -> None:
    path, root, nodes, trace = lecture_page
    _open(page, path)
    page.click(".mgx-next")
    page.click(".mgx-next")
    assert page.inner_text(".mgx-counter") == "backward step 2 of 8"
    page.click(".mgx-prev")
    assert page.inner_text(".mgx-counter") == "backward step 1 of 8"
    page.fill(".mgx-jump", "6")
    page.press(".mgx-jump", "Enter")
    assert page.inner_text(".mgx-counter") == "backward step 6 of 8"
    step = trace[5]
    assert _state(page)["formula"].endswith(f"= {_g(step.contribution)}")
    # the steps table under the picture marks the same row, numbered as trace.table() numbers it
    row = page.inner_text(".mgx-steps tr.mgx-row-now")
    assert row.split("\t")[0] == "6" and f"{step.contribution:.4g}" in row
    page.click(".mgx-play")
    page.wait_for_function("document.querySelector('.mgx-counter').textContent === 'backward step 7 of 8'",
                           timeout=5_000)
    page.focus(".mgx-explorer")
    page.keyboard.press(" ")  # space pauses
    page.wait_for_timeout(1_500)
    assert page.inner_text(".mgx-counter") in ("backward step 7 of 8", "backward step 8 of 8")
    settled = page.inner_text(".mgx-counter")
    page.wait_for_timeout(1_400)
    assert page.inner_text(".mgx-counter") == settled  # paused


def test_the_steps_table_keeps_the_current_row_in_sight(page, tmp_path) -> None:
    """On a long Trace the row of the current step stays visible under the table's sticky header (measured by
    the browser's own geometry), and a step whose row is already in sight does not scroll the table."""
    from microgradx.engine import Value
    from microgradx.viz.explorer import save_html

    v = Value(0.3, label="x")
    for _ in range(240):
        v = v.tanh()
    trace = v.backward()
    _open(page, save_html(v, tmp_path / "chain.html", trace, step=0))

    def sight() -> dict:
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return page.evaluate("""() => {
            const wrap = document.querySelector('.mgx-steps-wrap').getBoundingClientRect();
            const head = document.querySelector('.mgx-steps thead').getBoundingClientRect();
            const row = document.querySelector('.mgx-steps tr.mgx-row-now');
            const r = row.getBoundingClientRect();
            return {step: row.dataset.step, inside: r.top >= head.bottom - 0.5 && r.bottom <= wrap.bottom + 0.5,
                    scrolled: document.querySelector('.mgx-steps-wrap').scrollTop};
        }""")

    page.keyboard.press("End")
    assert sight()["step"] == str(len(trace)) and sight()["inside"]
    for k in (len(trace) // 2, 3, len(trace) - 7):
        page.fill(".mgx-jump", str(k))
        page.press(".mgx-jump", "Enter")
        seen = sight()
        assert seen["step"] == str(k) and seen["inside"], (k, seen)
        page.focus(".mgx-explorer")
        page.keyboard.press("ArrowRight")  # the next row is in sight already: no scroll
        after = sight()
        assert after["step"] == str(k + 1) and after["inside"] and after["scrolled"] == seen["scrolled"], (k, after)
