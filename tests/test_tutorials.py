"""The tutorial notebooks: up to date with their sources, committed without outputs, and runnable.

Each notebook runs top to bottom in a fresh kernel of *this* interpreter (a kernelspec written to a
temporary folder, so nothing depends on the machine's Jupyter set-up), with its working directory in a
temporary folder (the figures it saves land there, never in the repository). The checks that matter
are the ``assert`` cells inside the notebooks (the lecture's BCE, the diverging learning rate, the
restored early-stopping epoch, ...): a failing assert fails the test with the cell's traceback.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil
import sys
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = pathlib.Path(__file__).resolve().parent.parent
TUTORIALS = REPO / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))

#: the whole notebook must finish within this many seconds (cold numba cache, 2 busy cores)
NOTEBOOK_TIMEOUT_S = 240.0
KERNEL_NAME = "microgradx-tutorial-tests"
#: files a notebook writes when it saves a figure or an animation
FIGURE_SUFFIXES = {".png", ".svg", ".gif", ".pdf", ".html"}


def _load_build_module():
    spec = importlib.util.spec_from_file_location("tutorials_build", TUTORIALS / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_is_one_notebook_per_lecture_part():
    stems = [p.stem for p in NOTEBOOKS]
    assert [s[:2] for s in stems] == [f"{i:02d}" for i in range(1, 9)], stems


def test_notebooks_are_built_from_their_sources():
    build = _load_build_module()
    assert [build.target(s) for s in build.sources()] == NOTEBOOKS
    assert build.stale() == [], "run: python tutorials/_build.py"


def test_build_check_notices_an_edited_notebook(tmp_path, monkeypatch):
    build = _load_build_module()
    source = build.sources()[0]
    copy = tmp_path / source.name
    copy.write_text(source.read_text())
    monkeypatch.setattr(build, "TUTORIALS", tmp_path)
    monkeypatch.setattr(build, "sources", lambda: [copy])
    assert build.stale() == [tmp_path / f"{source.stem}.ipynb"]          # missing
    assert build.main([]) == 0 and build.stale() == [] and build.main(["--check"]) == 0
    copy.write_text(source.read_text() + "\n# %%\nprint('one more cell')\n")
    assert build.stale() == [tmp_path / f"{source.stem}.ipynb"]          # out of date
    assert build.main(["--check"]) == 1


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (path.name, cell.id)


def test_build_parser_rejects_malformed_sources():
    build = _load_build_module()
    assert build.parse_cells("# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n") == [
        ("markdown", "# Title\n\ntext"), ("code", "x = 1")]
    with pytest.raises(ValueError, match="before the first cell marker"):
        build.parse_cells("x = 1\n# %%\ny = 2\n")
    with pytest.raises(ValueError, match="must start with '# '"):
        build.parse_cells("# %% [markdown]\nnot a comment\n")
    with pytest.raises(ValueError, match="unknown cell marker"):
        build.parse_cells("# %% [raw]\n# x\n")


@pytest.fixture(scope="session")
def kernel_spec_manager(tmp_path_factory):
    """A kernelspec for the running interpreter, in a temporary folder (independent of the user's Jupyter)."""
    from jupyter_client.kernelspec import KernelSpecManager

    kernels = tmp_path_factory.mktemp("kernels")
    spec_dir = kernels / KERNEL_NAME
    spec_dir.mkdir()
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "microgradx tutorial tests",
        "language": "python",
        # The CUDA simulator that tests/conftest.py switches on for the unit tests is switched off here,
        # so a notebook only takes its CUDA path on a real GPU.
        "env": {"NUMBA_ENABLE_CUDASIM": "0"},
    }))
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def _needs_graphviz(nb) -> bool:
    """Whether the notebook renders Value graphs (which needs Graphviz' ``dot`` program)."""
    return any("microgradx.viz.graph" in cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, kernel_spec_manager):
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(path, as_version=4)
    if _needs_graphviz(nb) and shutil.which("dot") is None:
        pytest.skip("Graphviz' dot program is not installed (scripts/bootstrap.sh installs it)")
    deadline = time.monotonic() + NOTEBOOK_TIMEOUT_S
    client = nbclient.NotebookClient(
        nb,
        km=KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager),
        # one budget for the whole notebook: each cell gets what is left of it
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(tmp_path)}},
        allow_errors=False,
    )
    client.execute()
    written = [p for p in tmp_path.rglob("*") if p.suffix in FIGURE_SUFFIXES]
    assert written, f"{path.name} saved no figure into its working directory"
    assert not list(TUTORIALS.glob("*.png")) and not list(TUTORIALS.glob("*.svg"))
