"""Graphviz drawings: DOT golden files (node names from the graph's own numbering, so the text is the
same run to run), roles and highlights, SVG rendering when ``dot`` exists, the missing-``dot`` error.
The backward frames and GIF are tested in test_viz_frames.py."""

from __future__ import annotations

import math
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

graphviz = pytest.importorskip("graphviz")

from microgradx.engine import Value  # noqa: E402
from microgradx.explain import explain  # noqa: E402
from microgradx.viz import graph as vg  # noqa: E402

GOLDEN = pathlib.Path(__file__).parent / "golden"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' binary not installed")


def _micrograd_example() -> Value:
    """micrograd's trace_graph.ipynb example: relu(x * 2 + 1) at x = 1, after backward."""
    x = Value(1.0, label="x")
    y = (x * 2 + 1).relu()
    y.label = "y"
    y.backward()
    return y


def _neuron() -> tuple[Value, Value, Value]:
    """A labelled neuron: y = tanh(w1 x1 + b), parameters w1 and b."""
    x1 = Value(2.0, label="x1")
    w1 = Value(-0.5, label="w1", requires_grad=True)
    b = Value(0.25, label="b", requires_grad=True)
    z = w1 * x1 + b
    z.label = "z"
    y = z.tanh()
    y.label = "y"
    return y, w1, x1


def _check_golden(name: str, source: str) -> None:
    expected = (GOLDEN / name).read_text()
    assert source == expected, f"DOT source differs from tests/golden/{name}"


def test_micrograd_example_matches_golden_dot() -> None:
    _check_golden("micrograd_relu.dot", vg.draw_graph(_micrograd_example()).source)


def test_neuron_roles_and_values_match_golden_dot() -> None:
    y, _, _ = _neuron()
    y.backward()
    source = vg.draw_graph(y).source
    _check_golden("neuron.dot", source)
    # the golden is a snapshot: its numbers are also checked against the closed form of tanh(w1 x1 + b)
    z = -0.5 * 2.0 + 0.25
    dz = 1 - math.tanh(z) ** 2
    drawn = {label: (float(data), float(grad)) for label, data, grad in
             re.findall(r'label="\{ (\w+) \| data (\S+) \| grad (\S+) \}"', source)}
    want = {"w1": (-0.5, 2.0 * dz), "x1": (2.0, -0.5 * dz), "b": (0.25, dz), "z": (z, dz), "y": (math.tanh(z), 1.0)}
    assert drawn.keys() == want.keys()
    for label, (data, grad) in want.items():
        assert drawn[label] == pytest.approx((data, grad), abs=5e-5), label  # drawn with 4 decimals


def test_same_expression_twice_gives_identical_dot() -> None:
    # built twice: the global ids differ, the DOT text must not
    first, second = _micrograd_example(), _micrograd_example()
    assert first.id != second.id
    assert vg.draw_graph(first).source == vg.draw_graph(second).source


def test_roles_are_coloured() -> None:
    y, _, _ = _neuron()
    src = vg.draw_graph(y).source
    pairs = re.findall(r'label="\{ (\w+) \|[^\]]*fillcolor=(\w+)', src)
    by_label = dict(pairs)
    assert by_label == {"x1": "lightblue", "w1": "palegreen", "b": "palegreen", "z": "white", "y": "gold"}


def test_highlight_path_from_explain_matches_golden_dot() -> None:
    y, w1, _ = _neuron()
    y.backward()
    path = explain(y, w1).paths[0]
    _check_golden("neuron_path_w1.dot", vg.draw_graph(y, highlight_path=path).source)
    # a plain node list highlights the same nodes and edges
    assert vg.draw_graph(y, highlight_path=list(path.nodes)).source == vg.draw_graph(y, highlight_path=path).source


def test_highlight_step_marks_one_edge_with_its_numbers() -> None:
    y, w1, x1 = _neuron()
    trace = y.backward()
    step = next(s for s in trace if s.target is x1)
    src = vg.draw_graph(y, highlight_step=step).source
    red_edges = [line for line in src.splitlines() if "->" in line and "color=red" in line]
    assert len(red_edges) == 2  # x1 -> (*) and (*) -> its value node
    # d(w1 x1)/dx1 = w1 = -0.5, upstream = 1 - tanh(z)**2 at z = -0.75
    upstream = 1 - math.tanh(-0.75) ** 2
    assert f"-0.5 x {upstream:.4g} = {-0.5 * upstream:.4g}" in src


def test_a_plus_a_draws_two_edges() -> None:
    a = Value(3.0, label="a")
    src = vg.draw_graph(a + a).source
    assert src.count("n0 -> n1_op") == 2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rankdir"):
        vg.draw_graph(Value(1.0), rankdir="XY")
    with pytest.raises(TypeError, match="Value"):
        vg.draw_graph(1.0)
    big = Value(0.0)
    for _ in range(30):
        big = big + 1.0
    with pytest.raises(ValueError, match="max_nodes"):
        vg.draw_graph(big, max_nodes=10)
    other = Value(5.0, label="other")
    with pytest.raises(ValueError, match="not in the graph"):
        vg.draw_graph(Value(1.0) * 2, highlight_path=[other])


@needs_dot
def test_render_svg(tmp_path: pathlib.Path) -> None:
    y, _, _ = _neuron()
    out = vg.render(vg.draw_graph(y), tmp_path / "neuron.svg")
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for label in ("x1", "w1", "tanh"):
        assert f">{label}<" in text
    assert [p.name for p in tmp_path.iterdir()] == ["neuron.svg"]  # no temporary files left behind


def test_missing_dot_raises_install_hint_and_dot_source_still_saves(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    y, _, _ = _neuron()
    with pytest.raises(vg.GraphvizNotFoundError, match="apt-get install graphviz") as info:
        vg.render(y, tmp_path / "y.svg")
    assert "brew install graphviz" in str(info.value) and "conda" in str(info.value)
    assert not (tmp_path / "y.svg").exists()
    saved = vg.save_dot(y, tmp_path / "y.dot")
    assert saved.read_text() == vg.draw_graph(y).source


def test_viz_package_import_is_light() -> None:
    code = ("import sys, microgradx.viz; "
            "print('matplotlib' in sys.modules, 'graphviz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@needs_dot
def test_value_displays_as_svg_in_jupyter() -> None:
    y, _, _ = _neuron()
    bundle = y._repr_mimebundle_()
    assert bundle["text/plain"] == repr(y)
    assert "<svg" in bundle["image/svg+xml"] and ">tanh<" in bundle["image/svg+xml"]
