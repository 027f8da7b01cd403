"""Editors and static tools follow ``microgradx.kernels`` into ``kernels/``: ``scripts/link_tree.py`` lays the
installed package out as symlinks in ``.link-tree/``, and pyproject.toml puts that folder on pyright's and
mypy's search path. The oracles are the files themselves (where ``flat_update`` is defined, read from the
source) and real tools (jedi, mypy); the tree adds no top-level ``kernels`` or ``viz`` module.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
# where each source folder's files are importable (README: kernels/ and viz/ only as microgradx.kernels / .viz)
INSTALLED_AS = {"microgradx": "microgradx", "kernels": "microgradx/kernels", "viz": "microgradx/viz"}
PROBE = ("from microgradx.kernels.optimizers import flat_update\n"
         "import microgradx.viz\n"
         "microgradx.viz\n"
         "import microgradx.kernels.cuda.optimizers\n"
         "from microgradx.layers import Dense\n")


def _link_tree(dest: pathlib.Path) -> pathlib.Path:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "link_tree.py"), str(dest)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return dest


def _line_of(path: pathlib.Path, start: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def test_the_tree_holds_every_source_file_where_it_is_installed_and_nothing_at_the_top(tmp_path):
    tree = _link_tree(tmp_path / ".link-tree")
    assert os.listdir(tree) == ["microgradx"]
    files = 0
    for folder, installed in INSTALLED_AS.items():
        for source in (REPO / folder).rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                linked = tree / installed / source.relative_to(REPO / folder)
                assert linked.resolve() == source.resolve(), linked
                files += 1
    assert files > 100
    _link_tree(tree)  # built again over the old one (bootstrap.sh runs it on every set-up)
    assert (tree / "microgradx" / "kernels" / "optimizers.py").resolve() == REPO / "kernels" / "optimizers.py"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".link-tree"]  # no staging folder left behind


def test_jedi_follows_microgradx_kernels_and_viz_into_the_top_level_folders(tmp_path):
    jedi = pytest.importorskip("jedi")
    tree = _link_tree(tmp_path / ".link-tree")
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    # the search path a tool gets from pyproject.toml, with nothing else (the checkout's own microgradx/
    # folder, which lacks kernels/, is what the tools find without the tree)
    project = jedi.Project(project_dir, sys_path=[str(tree)], smart_sys_path=False)
    script = jedi.Script(PROBE + "import kernels\nimport viz\n", path=project_dir / "probe.py", project=project)

    [update] = script.goto(1, len("from microgradx.kernels.optimizers import flat"), follow_imports=True)
    optimizers = REPO / "kernels" / "optimizers.py"
    assert (pathlib.Path(update.module_path).resolve(), update.line) == (
        optimizers, _line_of(optimizers, "def flat_update("))
    [viz] = script.infer(3, len("microgradx.vi"))
    assert pathlib.Path(viz.module_path).resolve() == REPO / "viz" / "__init__.py"
    [cuda] = script.goto(4, len("import microgradx.kernels.cuda.optimi"), follow_imports=True)
    assert pathlib.Path(cuda.module_path).resolve() == REPO / "kernels" / "cuda" / "optimizers.py"
    [dense] = script.goto(5, len("from microgradx.layers import De"), follow_imports=True)
    assert (pathlib.Path(dense.module_path).resolve(), dense.line) == (
        REPO / "microgradx" / "layers.py", _line_of(REPO / "microgradx" / "layers.py", "class Dense("))
    assert script.goto(6, len("import ker"), follow_imports=True) == []
    assert script.goto(7, len("import vi"), follow_imports=True) == []


def _imports_of_kernels_and_viz(path: pathlib.Path) -> list[ast.ImportFrom]:
    """The ``from ... import`` statements of a library file whose module is in ``microgradx.kernels`` or
    ``microgradx.viz``, relative ones resolved against the file's package."""
    package = ["microgradx", *path.parent.relative_to(REPO / "microgradx").parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [node.names[0].name])
            if module[:2] in (["microgradx", "kernels"], ["microgradx", "viz"]):
                found.append(node)
    return found


def test_jedi_follows_the_librarys_own_imports_of_kernels_and_viz(tmp_path):
    """Editors resolve a relative import from the file's folder, and ``microgradx/engines/../kernels`` is no
    folder in a checkout: the library names these modules in full (``from microgradx.kernels.rng import ...``)."""
    jedi = pytest.importorskip("jedi")
    project = jedi.Project(REPO, sys_path=[str(_link_tree(tmp_path / ".link-tree"))], smart_sys_path=False)
    landed, lost = 0, []
    for path in sorted((REPO / "microgradx").rglob("*.py")):
        nodes = _imports_of_kernels_and_viz(path)
        script = jedi.Script(path.read_text(), path=path, project=project) if nodes else None
        for node in nodes:
            name = node.names[0]
            targets = script.goto(name.lineno, name.col_offset, follow_imports=True)
            files = [pathlib.Path(t.module_path).resolve() for t in targets if t.module_path]
            if files and all(f.is_relative_to(REPO / "kernels") or f.is_relative_to(REPO / "viz") for f in files):
                landed += 1
            else:
                lost.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert lost == [] and landed >= 10, (f"{landed} followed; not followed: {lost} (import kernels/ and viz/ as "
                                         "`from microgradx.kernels.x import y`: CONTRIBUTING.md, Editors)")


def test_mypy_finds_microgradx_kernels_with_the_repositorys_configuration(tmp_path):
    """mypy run as a developer runs it, reading pyproject.toml; ``import kernels`` must stay unresolved."""
    pytest.importorskip("mypy")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    _link_tree(tmp_path / ".link-tree")
    (tmp_path / "probe.py").write_text(PROBE + "import kernels\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=skip", "probe.py"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    missing = [line for line in result.stdout.splitlines() if "import-not-found" in line]
    assert missing == ['probe.py:6: error: Cannot find implementation or library stub for module named "kernels"'
                       '  [import-not-found]'], result.stdout + result.stderr
