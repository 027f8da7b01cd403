"""The ``microgradx`` command: ``--help`` everywhere, exit codes, the safe expression parser, ``graph``,
``train`` and the ``tour`` (its page links every figure and every linked file exists)."""

from __future__ import annotations

import html.parser
import math
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from microgradx.cli import ExpressionError, main, parse_expression

REPO = pathlib.Path(__file__).resolve().parent.parent
HAVE_DOT = shutil.which("dot") is not None


# ------------------------------------------------------------------------------------------ help, exit codes
@pytest.mark.parametrize("argv", [["--help"], ["tour", "--help"], ["train", "--help"], ["graph", "--help"]])
def test_help_everywhere_exits_0(argv, capsys):
    assert main(argv) == 0
    assert "usage: microgradx" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["fly"], ["train", "--epochs", "0"], ["train", "--dataset", "mnist"],
                                  ["train", "--hidden", "16,x"], ["train", "--dropout", "1.5"],
                                  ["graph"], ["tour", "--workers", "-1"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "microgradx", "graph", "a*b", "a=2", "b=-3", "--wrt", "a"],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "da*b" not in result.stdout  # products are written with parentheses: d(a*b)
    assert "dout/da = -3" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "microgradx", "graph", "a.b"], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert bad.returncode == 2 and "attribute access" in bad.stderr


# ------------------------------------------------------------------------------------------ expression parser
@pytest.mark.parametrize("expression, what", [
    ("__import__('os')", "calling '__import__'"),
    ("x.__class__", "attribute access"),
    ("(lambda: 1)()", "lambda"),
    ("x[0]", "subscripts"),
    ("open('f')", "calling 'open'"),
    ("'text'", "only numbers"),
    ("x if x else x", "if-expressions"),
    ("[x]", "lists"),
    ("x < 1", "comparisons"),
    ("relu(x, x)", "exactly one argument"),
    ("relu(x=1)", "keyword"),
    ("True + x", "only numbers"),
    ("x // 2", "FloorDiv"),
    ("x % 2", "Mod"),
    ("~x", "Invert"),
    ("relu", "is a function"),
    ("x +* 2", "syntax error"),
    ("", "empty"),
])
def test_parser_rejects_everything_outside_the_whitelist(expression, what):
    with pytest.raises(ExpressionError, match=None) as info:
        parse_expression(expression, {"x": 1.0})
    assert what in str(info.value)


def test_absurdly_deep_expressions_are_rejected_not_crashed():
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * 100_000 + "x", {"x": 1.0})


def test_error_caret_points_at_the_offending_column(capsys):
    expression = "w1*x1 + __import__('os').system('true')"
    assert main(["graph", expression, "w1=1", "x1=2"]) == 2
    err = capsys.readouterr().err.splitlines()
    line = next(i for i, text in enumerate(err) if text.strip() == expression)
    caret = err[line + 1].index("^") - err[line].index(expression[0])
    assert caret == expression.index("__import__")


def test_missing_and_unused_values_are_usage_errors(capsys):
    assert main(["graph", "w*x", "w=1"]) == 2
    assert "no value given for x" in capsys.readouterr().err
    assert main(["graph", "w*x", "w=1", "x=2", "z=3"]) == 2
    assert "does not use" in capsys.readouterr().err
    assert main(["graph", "w*x", "w=1", "x=two"]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert main(["graph", "log(x)", "x=-1"]) == 2
    assert "log" in capsys.readouterr().err
    assert main(["graph", "w*x", "w=1", "x=2", "--wrt", "q"]) == 2


def test_parsed_neuron_gradients_match_the_closed_form():
    values = {"w1": 0.5, "x1": 2.0, "w2": -1.0, "x2": 3.0, "b": 4.0}
    parsed = parse_expression("relu(w1*x1 + w2*x2 + b)", values)
    parsed.root.backward()
    z = 0.5 * 2.0 - 1.0 * 3.0 + 4.0
    assert parsed.root.data == z and z > 0
    expected = {"w1": 2.0, "x1": 0.5, "w2": 3.0, "x2": -1.0, "b": 1.0}  # d relu(z)/d w1 = x1, ...
    assert {name: v.grad for name, v in parsed.variables.items()} == expected
    assert not parsed.variables["x1"].requires_grad and parsed.variables["w1"].requires_grad


def test_repeated_names_are_one_leaf_and_gradients_add_up():
    parsed = parse_expression("x*x + sigmoid(-x) + 2**x", {"x": 0.5})
    parsed.root.backward()
    s = 1 / (1 + math.exp(0.5))
    expected = 2 * 0.5 - s * (1 - s) + math.log(2) * 2 ** 0.5
    assert parsed.variables["x"].grad == pytest.approx(expected, rel=1e-12)


def test_graph_prints_trace_and_path_products(capsys, tmp_path):
    out = tmp_path / "neuron.dot"
    assert main(["graph", "relu(w1*x1 + w2*x2 + b)", "w1=0.5", "x1=2", "w2=-1", "x2=3", "b=4", "--wrt", "w1",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "chain-rule steps" in text and "dout/dw1 = 2" in text
    assert "(1) * (1) * (1) * (2) = 2" in text   # the single path w1 -> w1*x1 -> ... -> out
    assert out.read_text().startswith("digraph")


@pytest.mark.skipif(not HAVE_DOT, reason="needs Graphviz' dot")
def test_graph_renders_svg(tmp_path):
    out = tmp_path / "g.svg"
    assert main(["graph", "tanh(a*b)", "a=1", "b=0.5", "--out", str(out)]) == 0
    assert "<svg" in out.read_text()


def test_graph_without_dot_writes_the_dot_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "g.svg"
    assert main(["graph", "a*b", "a=1", "b=2", "--out", str(out)]) == 0
    assert not out.exists() and out.with_suffix(".dot").read_text().startswith("digraph")
    assert "graphviz" in capsys.readouterr().err.lower()


# ------------------------------------------------------------------------------------------ train
def test_train_writes_curves_and_weights(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "gaussians", "--samples", "80", "--hidden", "4", "--epochs", "3",
                 "--batch-size", "16", "--optimizer", "sgd", "--learning-rate", "0.1", "--momentum", "0.9",
                 "--dropout", "0.1", "--early-stopping", "1", "--out", str(out), "--verbose", "2"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Epoch 1/3" in text and "val_loss" in text
    assert (out / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    from microgradx import layers, models

    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(4, activation="relu"),
                               layers.Dropout(0.1), layers.Dense(1, activation="sigmoid")])
    model.load_weights(out / "model.weights.npz")  # the written weights load into the same architecture
    assert [w.shape for w in model.get_weights()] == [(2, 4), (4,), (4, 1), (1,)]


def test_train_rejects_hyperparameters_of_another_optimizer(tmp_path, capsys):
    assert main(["train", "--optimizer", "adam", "--momentum", "0.9", "--out", str(tmp_path)]) == 2
    assert "--momentum applies to sgd" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ tour
class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value and not value.startswith(("#", "http")):
                self.links.add(value)


EXPECTED_FIGURES = {"losses.png", "gradient_descent.png", "learning_rates.png", "learning_rate_sweep.png",
                    "optimizer_race.png", "loss_landscape.png", "trajectory.png", "fitting.png",
                    "regularization.png", "weight_penalty.png", "reduce_lr_on_plateau.png", "training_curves.png",
                    "boundaries.png", "chain_rule.txt"}


def _links(index: pathlib.Path) -> set[str]:
    parser = _Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser.links


@pytest.mark.slow
def test_quick_tour_writes_and_links_every_figure(tmp_path, capsys):
    out = tmp_path / "tour"
    start = time.perf_counter()
    assert main(["tour", "--out", str(out), "--quick", "--workers", "2"]) == 0
    seconds = time.perf_counter() - start
    progress = capsys.readouterr().out
    assert "[14/14]" in progress and "index.html" in progress
    links = _links(out / "index.html")
    graphs = {"neuron.svg", "backprop.svg", "backward.gif"} if HAVE_DOT else {"neuron.dot", "backprop.dot"}
    assert EXPECTED_FIGURES | graphs <= links
    for link in links:
        assert (out / link).is_file() and (out / link).stat().st_size > 0, link
    written = {p.name for p in out.iterdir() if p.is_file()} - {"index.html"}
    assert written <= links  # nothing written that the page forgets to show
    assert "dJ/dw1" in (out / "chain_rule.txt").read_text()
    assert seconds < 170  # quick mode; the full tour is measured by benchmarks, not here


def test_tour_graphs_without_dot_write_dot_source_and_say_how_to_install(tmp_path, monkeypatch, capsys):
    from microgradx import tour

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    sections = tour._sections()
    tour._graphs(tmp_path, sections)
    index = tour.write_index(tmp_path, sections, 1.0)
    for link in _links(index):
        assert (tmp_path / link).is_file(), link
    assert (tmp_path / "neuron.dot").read_text().startswith("digraph")
    page = index.read_text(encoding="utf-8")
    assert "apt-get install graphviz" in page and "neuron.dot" in page
    assert "dot" in capsys.readouterr().err


def test_backprop_example_matches_the_lecture_chain_rule():
    from microgradx.explain import explain
    from microgradx.tour import backprop_example

    root, nodes = backprop_example()
    root.backward()
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    z1 = sig(0.5 * 2.0)
    y_hat = sig(-1.5 * z1)
    dj_dyhat = -1 / y_hat
    dyhat_da2 = y_hat * (1 - y_hat)
    # dJ/dw2 = dJ/dŷ * dŷ/dw2 ;  dJ/dw1 = dJ/dŷ * dŷ/dz1 * dz1/dw1
    assert nodes["w2"].grad == pytest.approx(dj_dyhat * dyhat_da2 * z1, rel=1e-12)
    assert nodes["w1"].grad == pytest.approx(dj_dyhat * dyhat_da2 * -1.5 * z1 * (1 - z1) * 2.0, rel=1e-12)
    assert sum(explain(root, nodes["w1"]).terms) == pytest.approx(nodes["w1"].grad, rel=1e-12)


# ------------------------------------------------------------------------------------------ bad input: one line, exit 2
def _one_error_line(err: str) -> str:
    """The single ``error:`` line of ``err`` (a usage synopsis or an expression with a caret may surround it)."""
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def hostile_paths(tmp_path):
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder")
    return {"file": str(a_file), "dir": str(tmp_path), "gone": "/proc/microgradx-cannot-exist/sub"}


# every argv here is refused before any work: the messages name the flag as the user typed it
NAMED = [
    (["graph", "1e999"], "the number 1e999 is too large"),
    (["graph", "2*" + "1" * 400], "the number 111111111111... (400 characters) is too large"),
    (["graph", "log(w)", "w=1e-310"], "cannot compute the gradients of 'log(w)'"),
    (["graph", "w*2", "w=1", "--out", "g.bogus"], "--out 'g.bogus': cannot tell the format"),
    (["graph", "w*2", "w=1", "--out", "{file}/g.svg"], "--out '{file}/g.svg': '{file}' is an existing file"),
    (["graph", "w*2", "w=1", "--out", "{gone}/g.svg"], "--out '{gone}/g.svg': cannot write in the folder"),
    (["graph", "w*2", "w=1", "--out", "{dir}"], "--out '{dir}' is a folder"),
    (["graph", "w*2", "w=1", "w=2"], "w is given twice (w=1 and w=2)"),
    (["graph", "w*2", "w=1", "--wrt", "z"], "--wrt 'z' is not a variable of the expression (variables: w)"),
    (["train", "--samples", "1"], "argument --samples: expected an integer >= 2"),
    (["train", "--seed", "-1"], "argument --seed: expected a non-negative integer, got '-1'"),
    (["train", "--early-stopping", "-5"], "argument --early-stopping: expected a non-negative integer, got '-5'"),
    (["train", "--early-stopping", "3", "--validation-split", "0"], "--early-stopping watches val_loss"),
    (["train", "--samples", "2", "--validation-split", "0.9"], "--samples 2 with --validation-split 0.9 leaves no training"),
    (["train", "--optimizer", "sgd", "--momentum", "5"], "--optimizer sgd --momentum 5: `momentum` must be"),
    (["train", "--out", "{file}"], "--out '{file}': '{file}' is an existing file, not a folder"),
    (["train", "--out", "{file}/run"], "--out '{file}/run': '{file}' is an existing file"),
    (["train", "--out", "{gone}"], "--out '{gone}': cannot write in the folder"),
    (["tour", "--out", "{file}"], "--out '{file}': '{file}' is an existing file, not a folder"),
    (["tour", "--out", "{gone}"], "--out '{gone}': cannot write in the folder"),
]


@pytest.mark.parametrize("argv, message", NAMED, ids=[" ".join(a)[:40] for a, _ in NAMED])
def test_bad_input_is_one_error_line_naming_the_flag(argv, message, hostile_paths, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(**hostile_paths) for a in argv]
    before = sorted(tmp_path.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message.format(**hostile_paths) in _one_error_line(captured.err)
    assert captured.out == ""  # refused before anything was printed (or trained, or drawn)
    assert sorted(tmp_path.rglob("*")) == before  # and before anything was written


HOSTILE = [
    [], ["fly"], ["--bogus"], ["train", "extra"], ["graph"], ["graph", ""], ["graph", "   "],
    ["graph", "w\0", "w=1"], ["graph", "(" * 100_000], ["graph", "2**99999"], ["graph", "exp(1000)"],
    ["graph", "1/0"], ["graph", "log(0)"], ["graph", "sqrt(-1)"], ["graph", "(-8)**(1/3)"], ["graph", "0**-1"],
    ["graph", "w*w", "w=1e200"], ["graph", "2*" + "9" * 5000], ["graph", "x.y"], ["graph", "__import__('os')"],
    ["graph", "w", "w=nan"], ["graph", "w", "w=inf"], ["graph", "w", "w=abc"], ["graph", "w", "=1"],
    ["graph", "w", "w"], ["graph", "w", "w=1", "v=2"], ["graph", "w", "w=1", "--out", ""],
    ["graph", "w", "w=1", "--out", "x\0.svg"], ["graph", "w", "w=1", "--wrt", ""],
    ["graph", "w", "w=1", "--html", "."], ["graph", "w", "w=1", "--html", "p.bogus"],
    ["graph", "w", "w=1", "--html", "/proc/microgradx-cannot-exist/p.html"], ["graph", "w", "w=1", "--html", "x\0.html"],
    ["train", "--samples", "0"], ["train", "--samples", "x"], ["train", "--seed", "1.5"],
    ["train", "--engine", "tpu"], ["train", "--hidden", "16,x"], ["train", "--hidden", "-1"],
    ["train", "--hidden", "0,4"], ["train", "--hidden"], ["train", "--learning-rate", "-1"],
    ["train", "--learning-rate", "nan"], ["train", "--learning-rate", "1e999"], ["train", "--beta-1", "1"],
    ["train", "--rho", "2"], ["train", "--dropout", "1"], ["train", "--dropout", "-0.1"], ["train", "--epochs", "0"],
    ["train", "--epochs", "9" * 5000], ["train", "--batch-size", "0"], ["train", "--verbose", "3"],
    ["train", "--dataset", "mnist"], ["train", "--loss", "hinge"], ["train", "--noise", "-1"],
    ["train", "--momentum", "0.9", "--optimizer", "adam"], ["train", "--beta-2", "0.5", "--optimizer", "sgd"],
    ["train", "--rho", "0.5", "--optimizer", "adam"], ["train", "--dtype", "float16"],
    ["train", "--validation-split", "1"], ["train", "--out", "a\0b"], ["tour", "--workers", "0"],
    ["tour", "--engine", "tpu"], ["tour", "--out", "a\0b"], ["tour", "--quick", "yes"],
]


def test_hostile_command_lines_get_one_error_line_and_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in HOSTILE:
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 2, (argv, captured)
        assert _one_error_line(captured.err)
    assert list(tmp_path.iterdir()) == []  # none of them wrote anything


def test_the_installed_command_prints_no_traceback(tmp_path):
    """The same answers from a real process (what the user sees), including a GPU-less ``--engine cuda``."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    for argv in (["graph", "1e999"], ["graph", "log(w)", "w=1e-310"], ["train", "--samples", "1"],
                 ["tour", "--out", str(REPO / "README.md")], ["train", "--engine", "cuda", "--out", str(tmp_path)],
                 ["tour", "--engine", "cuda", "--out", str(tmp_path)]):
        result = subprocess.run([sys.executable, "-m", "microgradx", *argv], capture_output=True, text=True,
                                timeout=120, cwd=tmp_path, env=env)
        if argv[1] == "--engine" and result.returncode == 0:
            pytest.skip("a usable GPU is present: --engine cuda is not an error here")
        assert result.returncode == 2, (argv, result.stderr)
        assert _one_error_line(result.stderr)
        if argv[1] == "--engine":
            assert "--engine cuda cannot run here" in result.stderr and result.stdout == ""


def test_hidden_accepts_separate_and_comma_separated_sizes():
    from microgradx.cli import build_parser

    parser = build_parser()
    for words, sizes in ((["16", "16"], [16, 16]), (["16,16"], [16, 16]), (["8", "4,2"], [8, 4, 2]),
                         (["none"], [])):
        args = parser.parse_args(["train", "--hidden", *words])
        assert [size for word in args.hidden for size in word] == sizes
    args = parser.parse_args(["train"])
    assert [size for word in args.hidden for size in word] == [16, 16]
