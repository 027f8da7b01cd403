"""The explorer's Python side, without a browser: the step script against the Trace and explain(), the fixed
layout (ids in the SVG, positions that no frame changes), the self-contained page and the widget's state."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest

from microgradx.engine import Value
from microgradx.tour import backprop_example

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' binary not installed")


def _lecture():
    root, nodes = backprop_example()
    trace = root.backward()
    return root, nodes, trace


@needs_dot
def test_script_has_one_step_per_node_forward_and_the_seed_plus_one_per_edge_backward() -> None:
    from microgradx.viz.explorer import explorer_script

    root, nodes, trace = _lecture()
    script = explorer_script(root, trace)
    edges = sum(len(n.children) for n in trace.order)
    assert len(script["forward"]) == len(trace.order) == 9
    assert len(script["backward"]) == edges + 1 == len(trace) + 1
    assert [s["number"] for s in script["backward"]] == list(range(edges + 1))
    # every id the script names exists in the SVG, once
    svg = script["svg"]
    ids = re.findall(r'<g id="([^"]+)"', svg)
    assert len(ids) == len(set(ids))
    for step in script["backward"][1:]:
        assert step["edge"] in ids and step["box"] in ids and step["target_box"] in ids


@needs_dot
def test_backward_formulas_carry_the_trace_numbers_and_names() -> None:
    from microgradx.viz.explorer import explorer_script

    root, nodes, trace = _lecture()
    script = explorer_script(root, trace)
    step4 = script["backward"][4]
    assert trace[3].target is nodes["w2"]
    assert step4["text"] == (f"w2.grad += dJ/d(w2*z1) × d(w2*z1)/dw2 = {trace[3].upstream:.4g} × "
                             f"{trace[3].local:.4g} = {trace[3].contribution:.4g}")
    # the closed form: d(w2*z1)/dw2 = z1 = sigmoid(w1 x)
    assert float(step4["numbers"]["local"]) == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-3)
    assert step4["after"] == f"grad {nodes['w2'].grad:.4f}"


@needs_dot
def test_paths_use_explain_names_and_sum_to_the_central_difference() -> None:
    from microgradx.viz.explorer import explorer_script

    root, nodes, trace = _lecture()
    script = explorer_script(root, trace)
    number = {node: k for k, node in enumerate(trace.order)}
    w1 = script["paths"][f"n{number[nodes['w1']]}"]
    assert w1["count"] == 1 and not w1["grouped"]
    assert w1["items"][0]["symbols"] == ("dJ/dlog(ŷ) × dlog(ŷ)/dŷ × dŷ/d(w2*z1) × d(w2*z1)/dz1 × dz1/d(w1*x) × "
                                         "d(w1*x)/dw1")

    def loss(w1: float) -> float:
        return -math.log(1 / (1 + math.exp(1.5 / (1 + math.exp(-2.0 * w1)))))

    central = (loss(0.5 + 1e-6) - loss(0.5 - 1e-6)) / 2e-6
    assert sum(float(item["product"]) for item in w1["items"]) == pytest.approx(central, rel=1e-3)


@needs_dot
def test_a_repeated_input_has_two_edges_and_two_paths() -> None:
    from microgradx.viz.explorer import explorer_script

    a = Value(3.0, label="a", requires_grad=True)
    y = a * a
    y.label = "y"
    script = explorer_script(y)
    assert [s["edge"] for s in script["backward"][1:]] == ["e_n0_n1_0", "e_n0_n1_1"]
    paths = script["paths"]["n0"]
    assert [float(i["product"]) for i in paths["items"]] == [3.0, 3.0]  # d(a*a)/da = a + a = 6
    assert paths["total"] == "6"


@needs_dot
def test_page_is_self_contained() -> None:
    from microgradx.viz.explorer import explorer_html

    root, _, trace = _lecture()
    page = explorer_html(root, trace)
    assert "<svg" in page and "export default" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from anywhere
    assert "http://" not in page.replace("http://www.w3.org", "")
    state = json.loads(re.search(r'<script type="application/json" id="mgx-widget-state">(.*?)</script>',
                                 page, re.S).group(1))
    assert state["phase"] == "backward" and state["step"] == 0


def test_widget_state_round_trips_and_validates() -> None:
    pytest.importorskip("anywidget")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' binary not installed")
    from microgradx.viz import explore

    root, _, trace = _lecture()
    widget = explore(root, trace, step=2)
    state = widget.get_state()
    assert state["phase"] == "backward" and state["step"] == 2
    assert state["script"]["backward"][2]["number"] == 2
    assert "export default" in state["_esm"]
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    widget.phase = "forward"
    widget.step = 9
    with pytest.raises(Exception, match="step must be between 1 and 9"):
        widget.step = 10
    with pytest.raises(Exception, match="phase must be"):
        widget.phase = "sideways"


@needs_dot
def test_graph_command_writes_the_explorer_page(tmp_path, capsys) -> None:
    from microgradx.cli import main

    page = tmp_path / "sub" / "neuron.html"
    assert main(["graph", "sigmoid(w1*x1 + b)", "w1=0.5", "x1=2", "b=1", "--html", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Backpropagation through sigmoid(w1*x1 + b)" in text


@pytest.mark.parametrize("given", ["page.txt", "page", "."])
def test_graph_command_refuses_a_bad_html_name_with_one_error_line(tmp_path, capsys, given) -> None:
    from microgradx.cli import main

    target = str(tmp_path / given) if given != "." else str(tmp_path)
    assert main(["graph", "x*2", "x=1", "--html", target]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--html" in err[0] and "expected a file name ending in .html" in err[0]
    assert not any(p.suffix == ".html" for p in tmp_path.rglob("*"))


def _model_graph():
    import numpy as np

    import microgradx as mgx

    mgx.utils.set_random_seed(0)
    # named layers: default names (dense, dense_1, ...) depend on the models built before in the process
    model = mgx.Sequential([mgx.layers.Input(shape=(2,)), mgx.layers.Dense(16, activation="relu", name="dense"),
                            mgx.layers.Dense(1, activation="sigmoid", name="dense_1")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", engine="scalar")
    x = np.array([[0.5, -1.0], [1.5, 0.3]])
    y = np.array([[1.0], [0.0]])
    return model.to_graph(x, y)


@needs_dot
def test_a_model_graph_folds_each_neuron_and_keeps_every_step() -> None:
    from microgradx.viz.explorer import explorer_script
    from microgradx.viz.layout import COLLAPSE_ABOVE

    root = _model_graph()
    trace = root.backward()
    nodes = trace.order
    assert len(nodes) > COLLAPSE_ABOVE
    script = explorer_script(root, trace)
    number = {node: k for k, node in enumerate(nodes)}
    # one folded box per Dense unit and sample: 2 samples x (16 + 1) units
    sums = [n for n in nodes if n.op == "sum" and any("/bias[" in c.label for c in n.children)]
    assert len(sums) == 34 and set(f"n{number[n]}" for n in sums) <= set(script["folded"])
    drawn = set(re.findall(r'<g id="(n\d+)" class="node', script["svg"]))
    assert drawn == set(script["boxes"]) and len(drawn) < len(nodes) / 2
    # every weight is inside the boxes of the neurons that read it (one per sample), and found by its label
    kernel = next(n for n in nodes if n.label == "dense/kernel[1,3]")
    homes = script["nodes"][f"n{number[kernel]}"]["boxes"]
    readers = [s for s in sums if any(kernel in p.children for p in s.children)]
    assert sorted(homes) == sorted(f"n{number[s]}" for s in readers) and len(homes) == 2
    # nothing is lost: one backward step per Trace step, each lighting a drawn box
    assert len(script["backward"]) == len(trace) + 1
    for step, entry in zip(trace, script["backward"][1:]):
        assert entry["box"] in drawn and entry["target_box"] in drawn
        assert float(entry["numbers"]["contribution"]) == pytest.approx(step.contribution, rel=1e-3, abs=1e-300)
    # the folded rows of a box are its sum's terms, and they add up to its value
    box = f"n{number[readers[0]]}"
    rows = script["folded"][box]
    assert len(rows) == 3  # two w * x products and the bias
    total = sum(float(r["text"].rsplit("= ", 1)[1]) for r in rows)
    assert total == pytest.approx(readers[0].data, abs=2e-3)


def test_every_asset_ships_as_package_data() -> None:
    """The wheel carries viz/assets through setup.cfg's package_data: a new asset must match a pattern there."""
    import configparser
    import fnmatch
    import pathlib

    repo = pathlib.Path(__file__).resolve().parent.parent
    config = configparser.ConfigParser()
    config.read(repo / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["microgradx.viz"].split(",")]
    assets = sorted(p.relative_to(repo / "viz").as_posix() for p in (repo / "viz" / "assets").iterdir())
    assert "assets/explorer.js" in assets
    for asset in assets:
        assert any(fnmatch.fnmatch(asset, pattern) for pattern in patterns), asset


def test_the_shared_prelude_is_written_once_and_shipped_with_each_module() -> None:
    """h() lives in assets/dom.js only; each module a host runs (explorer, sliders) carries it exactly once."""
    import re

    from microgradx.viz.widget import asset_text, module_text

    define = re.compile(r"^function h\(", re.M)
    assert len(define.findall(asset_text("dom.js"))) == 1
    for name in ("explorer.js", "sliders.js"):
        assert not define.search(asset_text(name)), name
        text = module_text(name)
        assert len(define.findall(text)) == 1 and text.index("function h(") < text.index("export "), name


@needs_dot
def test_bad_starting_state_is_named() -> None:
    from microgradx.viz.explorer import explorer_html

    root, _, trace = _lecture()
    with pytest.raises(ValueError, match=r"phase must be 'forward', 'backward' or 'paths', got 'back'"):
        explorer_html(root, trace, phase="back")
    with pytest.raises(ValueError, match=r"step must be an int from 0 to 8 in the backward phase, got 9"):
        explorer_html(root, trace, step=9)
    with pytest.raises(ValueError, match=r"step must be an int from 1 to 9 in the forward phase, got 0"):
        explorer_html(root, trace, phase="forward", step=0)
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        explorer_html(1.0)
    with pytest.raises(ValueError, match="collapse must be True, False or 'auto', got 'yes'"):
        explorer_html(root, trace, collapse="yes")
