"""Every command and Python example the README shows runs as written.

The README is read at collection time: its fenced ``python`` blocks run as scripts, every command (a line of a
``bash``/``text`` block, or an inline code span that starts like a command) is classified below and run in a
fresh folder with the installed ``microgradx`` command, and the Python calls it writes inline on the example's
``J`` run after that example. A command the classification does not know fails
:func:`test_every_readme_command_is_known`, so a new README line cannot go untested by accident.

Not run, each with its reason: ``bash scripts/tour.sh``, ``bash scripts/test.sh`` and ``bash .ci/run`` (the
set-up scripts that people and CI run from a fresh clone; this test is part of what they run), the benchmark scripts
(measurements of minutes; their command lines are checked against the script's own argument parser instead)
and a command that needs a real GPU where none is present.
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")

SKIPPED = {
    "bash scripts/tour.sh": "the set-up script for a fresh machine (this file runs the tour command itself)",
    "bash scripts/test.sh": "the test command: this file is part of what it runs",
    "bash .ci/run": "CI itself: this file is part of what it runs",
}


def _fenced_blocks() -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)


def _strip_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def _is_command(text: str) -> bool:
    return re.match(r"(microgradx |python3? |bash |MICROGRADX_REAL_GPU=1 )", text) is not None


def _commands() -> list[str]:
    found: list[str] = []
    for language, body in _fenced_blocks():
        if language in ("bash", "text", "sh", "console"):
            found += [_strip_comment(line) for line in body.splitlines() if _strip_comment(line)]
    prose = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)
    found += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose) if _is_command(" ".join(span.split()))]
    found = list(dict.fromkeys(found))  # each once, in README order
    # a span that only names a command shown in full elsewhere ("`microgradx tour`") is that command
    return [c for c in found if not any(o != c and shlex.split(o)[:len(shlex.split(c))] == shlex.split(c)
                                        for o in found)]


def _kind(command: str) -> str:
    if command in SKIPPED:
        return "skip"
    if "..." in command:
        return "template"  # "microgradx graph EXPR ... --html page.html": a form, not a command line
    if command.startswith(("microgradx ", "python -m microgradx")):
        return "run"
    if re.match(r"python3? benchmarks/\w+\.py", command):
        return "benchmark"
    if command.startswith("MICROGRADX_REAL_GPU=1 "):
        return "gpu"
    return "unknown"


COMMANDS = _commands()
PYTHON_BLOCKS = [body for language, body in _fenced_blocks() if language == "python"]


def _env() -> dict[str, str]:
    """The user's environment: no CUDA simulator (the test session switches it on for its own tests)."""
    return {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    if words[:3] == ["python", "-m", "microgradx"]:
        return [sys.executable, "-m", "microgradx", *words[3:]]
    installed = pathlib.Path(sys.executable).parent / "microgradx"  # the console script pip installed
    return [str(installed) if installed.exists() else sys.executable, *([] if installed.exists() else
                                                                        ["-m", "microgradx"]), *words[1:]]


def test_every_readme_command_is_known():
    assert len(COMMANDS) >= 5 and len(PYTHON_BLOCKS) >= 2
    assert [c for c in COMMANDS if _kind(c) == "unknown"] == []


@pytest.mark.parametrize("command", [c for c in COMMANDS if _kind(c) == "run"])
def test_readme_command_runs_as_written(command, tmp_path):
    result = subprocess.run(_argv(command), capture_output=True, text=True, timeout=600, cwd=tmp_path, env=_env())
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
    words = shlex.split(command)
    if "--help" in words:
        assert "usage: microgradx" in result.stdout
    if "tour" in words:
        page = (tmp_path / words[words.index("--out") + 1] / "index.html").read_text(encoding="utf-8")
        # the early-stopping text shows the patience the fit used (the tour's quick and full settings differ)
        assert re.search(r"EarlyStopping\(patience=\d+, restore_best_weights=True\)", page), page[-3000:]
    if "train" in words:
        assert (tmp_path / "train-output" / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "train-output" / "model.weights.npz").is_file()
        import numpy as np

        with np.load(tmp_path / "train-output" / "model.weights.npz", allow_pickle=False) as weights:
            kernels = [weights[k].shape for k in weights.files if weights[k].ndim == 2]
        assert kernels == [(2, 16), (16, 16), (16, 1)]  # --hidden 16 16: two hidden layers of 16
    if "--html" in words:
        assert "<svg" in (tmp_path / words[words.index("--html") + 1]).read_text(encoding="utf-8")
    if "--out" in words and "graph" in words:
        out = tmp_path / words[words.index("--out") + 1]
        assert out.exists() or out.with_suffix(".dot").exists()


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"block{i + 1}" for i in range(len(PYTHON_BLOCKS))])
def test_readme_python_example_runs_and_prints_what_its_comments_say(block, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(block)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    # a comment "# lhs = ... = 0.9552" on a print line promises a printed line "lhs = <factors> = 0.9552"
    for lhs, value in re.findall(r"^print\(.*\)\s+#\s*(.+?) = \.\.\. = (\S+)\s*$", block, flags=re.M):
        assert any(line.startswith(lhs) and line.endswith(f"= {value}") for line in result.stdout.splitlines()), \
            (lhs, value, result.stdout[-2000:])


def test_readme_inline_calls_on_the_example_work(tmp_path):
    """The calls the README writes inline on the first example's ``J`` (``microgradx.viz.backward_frames(J,
    "frames/")``, ``draw_graph(J)``, ...), run after it; ``from microgradx import backward_frames`` works too."""
    calls = list(dict.fromkeys(" ".join(span.split()) for span in re.findall(r"`([\w.]+\(J\b[^`]*\))`", README)))
    assert any("backward_frames(" in c for c in calls) and any("draw_graph(" in c for c in calls)
    lines = [PYTHON_BLOCKS[0], "from microgradx import backward_frames  # also exported at the top (lazily)",
             "import microgradx.viz", "assert backward_frames is microgradx.viz.backward_frames"]
    for call in calls:
        name = call.split("(")[0]
        lines.append(f"import {name.rsplit('.', 1)[0]}" if "." in name else f"from microgradx import {name}")
        lines.append(f"print(repr({call})[:200])")
    script = tmp_path / "inline.py"
    script.write_text("\n".join(lines))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    frames = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert "frame_000.png" in frames and "backward.gif" in frames


_PARSE_ONLY = """
import argparse, runpy, sys
def parse_only(self, args=None, namespace=None):
    parsed = original(self, args, namespace)
    print("PARSED", sorted(vars(parsed)))
    raise SystemExit(0)
original = argparse.ArgumentParser.parse_args
argparse.ArgumentParser.parse_args = parse_only
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("command", [c for c in COMMANDS if _kind(c) == "benchmark"])
def test_readme_benchmark_command_line_is_accepted(command):
    """The benchmarks take minutes (they are the measurements the README quotes): here their command lines
    are parsed by the scripts' own argument parsers, which stops each script right after parsing."""
    words = shlex.split(command)
    script = REPO / words[1]
    assert script.is_file(), command
    result = subprocess.run([sys.executable, "-c", _PARSE_ONLY, str(script), *words[2:]], capture_output=True,
                            text=True, timeout=300, cwd=REPO, env=_env())
    if "is not installed" in result.stderr:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0 and "PARSED" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("command", [c for c in COMMANDS if _kind(c) in ("skip", "gpu", "template")])
def test_readme_commands_not_run_here(command):
    if _kind(command) == "template":
        pytest.skip(f"{command!r} is a form with placeholders; the README shows it in full as well")
    if _kind(command) == "gpu":
        from microgradx.engines import cuda_available

        if cuda_available():  # pragma: no cover - a GPU machine
            env = dict(_env(), **dict(w.split("=", 1) for w in shlex.split(command) if "=" in w.split("/")[0]))
            words = [w for w in shlex.split(command) if "=" not in w.split("/")[0]]
            assert words[0] == "pytest"
            result = subprocess.run([sys.executable, "-m", *words], cwd=REPO, env=env, timeout=600)
            assert result.returncode == 0
            return
        pytest.skip(f"{command!r} needs an NVIDIA GPU")
    pytest.skip(f"{command!r}: {SKIPPED[command]}")
