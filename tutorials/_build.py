"""Build the tutorial notebooks from their sources: ``tutorials/source/NN_name.py`` -> ``tutorials/NN_name.ipynb``.

The ``.py`` files are the source of truth (readable diffs, no outputs, runnable as plain scripts); the
``.ipynb`` files are generated from them, without outputs, and committed so that students can open
them directly. A source file is a sequence of cells in the "percent" format used by Jupytext, VS Code
and Spyder::

    # %% [markdown]
    # # A title
    # Some *markdown*: every line starts with "# " (or is a bare "#" for an empty line).

    # %%
    x = 1 + 1          # a code cell, kept verbatim

Usage::

    python tutorials/_build.py           # (re)write every notebook
    python tutorials/_build.py --check   # exit 1 and name the stale notebooks if any differs from its source

The output is deterministic (cell ids are ``<notebook>-<index>``, no outputs); ``--check`` compares what the
notebooks say (cells, ids, sources, outputs), not the JSON layout, which differs between nbformat versions.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat

from microgradx.utils import atomic_write

TUTORIALS = pathlib.Path(__file__).resolve().parent
SOURCES = TUTORIALS / "source"

#: a line that starts a cell; ``# %% [markdown]`` starts a markdown cell
CELL_MARKER = "# %%"
MARKDOWN_MARKER = "# %% [markdown]"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def parse_cells(text: str, origin: str = "<source>") -> list[tuple[str, str]]:
    """Split a percent-format source into ``(kind, text)`` cells, ``kind`` being ``"code"`` or ``"markdown"``.

    Raises ``ValueError`` (naming ``origin`` and the line) for text before the first cell marker and for a
    markdown line that is not a comment.
    """
    cells: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(CELL_MARKER):
            marker = line.rstrip()
            if marker not in (CELL_MARKER, MARKDOWN_MARKER):
                raise ValueError(f"{origin}:{number}: unknown cell marker {marker!r}; "
                                 f"expected {CELL_MARKER!r} or {MARKDOWN_MARKER!r}")
            cells.append(("markdown" if marker == MARKDOWN_MARKER else "code", []))
            continue
        if not cells:
            if line.strip():
                raise ValueError(f"{origin}:{number}: text before the first cell marker: {line!r}")
            continue
        kind, lines = cells[-1]
        if kind == "markdown" and line.strip():
            if not (line == "#" or line.startswith("# ")):
                raise ValueError(f"{origin}:{number}: a markdown line must start with '# ', got {line!r}")
            line = line[2:]
        elif kind == "markdown":
            line = ""
        lines.append(line)
    result = []
    for kind, lines in cells:
        body = "\n".join(lines).strip("\n")
        if not body.strip():
            raise ValueError(f"{origin}: empty {kind} cell number {len(result) + 1}")
        result.append((kind, body))
    return result


def build_notebook(source: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook (no outputs, deterministic cell ids) for one percent-format source file."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for index, (kind, body) in enumerate(parse_cells(source.read_text(), source.name)):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(body, id=f"{source.stem.replace('_', '-')}-{index:02d}"))
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook as the JSON text we commit (nbformat's layout, one trailing newline)."""
    return nbformat.writes(nb).rstrip("\n") + "\n"


def sources() -> list[pathlib.Path]:
    """The source files, in lecture order (``01_...py``, ``02_...py``, ...)."""
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def target(source: pathlib.Path) -> pathlib.Path:
    return TUTORIALS / f"{source.stem}.ipynb"


def content(nb: nbformat.NotebookNode) -> tuple:
    """What a notebook says, independent of how a given nbformat version lays out the JSON: the kernel, and
    per cell its id, type, source and (for code cells) outputs and execution count."""
    cells = tuple((cell.get("id"), cell.cell_type, cell.source,
                   (tuple(map(str, cell.get("outputs", []))), cell.get("execution_count")))
                  for cell in nb.cells)
    return nb.metadata.get("kernelspec", {}).get("name"), cells


def stale() -> list[pathlib.Path]:
    """Notebooks that are missing or say something else than what their source builds (outputs included)."""
    out = []
    for source in sources():
        path = target(source)
        if not path.exists() or content(nbformat.read(path, as_version=4)) != content(build_notebook(source)):
            out.append(path)
    return out


def _write_atomically(path: pathlib.Path, text: str) -> None:
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build tutorials/*.ipynb from tutorials/source/*.py.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is missing or out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"out of date: {path.relative_to(TUTORIALS.parent)} "
                  f"(run: python tutorials/_build.py)", file=sys.stderr)
        return 1 if out_of_date else 0
    for source in sources():
        _write_atomically(target(source), render(build_notebook(source)))
        print(f"wrote {target(source).relative_to(TUTORIALS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
