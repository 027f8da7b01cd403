"""Build ``.link-tree/``: the package as it is installed, made of symlinks, for editors and static tools.

setup.cfg's ``package_dir`` installs the top-level folders ``kernels/`` and ``viz/`` as ``microgradx.kernels``
and ``microgradx.viz``. The editable install (``pip install -e .``) maps them at run time with an import hook
that editors and static tools (Pylance/pyright, mypy, jedi) cannot read, so they cannot follow an import of
``microgradx.kernels`` into ``kernels/``. In ``.link-tree/microgradx/`` each entry of ``microgradx/`` is a
symlink to the real file or folder, and ``kernels`` and ``viz`` are symlinks to the top-level folders: a tool
that searches ``.link-tree`` (pyproject.toml points pyright and mypy at it) finds
``microgradx.kernels.optimizers`` at ``.link-tree/microgradx/kernels/optimizers.py``, which is
``kernels/optimizers.py``. Nothing imports from it at run time, and it holds no top-level ``kernels`` or ``viz``.

Usage: ``python scripts/link_tree.py [DEST]`` (DEST defaults to ``.link-tree`` in the repository).
``scripts/bootstrap.sh`` runs it after each install. New files inside ``kernels/``, ``viz/`` and the
subpackages show through their folder links; run it again after adding a module directly under ``microgradx/``.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import shutil
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO / ".link-tree"


def package_dirs(repo: pathlib.Path = REPO) -> dict[str, pathlib.Path]:
    """setup.cfg's ``[options] package_dir`` as ``{package name: its source folder}``."""
    config = configparser.ConfigParser()
    config.read(repo / "setup.cfg")
    lines = [line for line in config["options"]["package_dir"].splitlines() if line.strip()]
    return {name.strip(): repo / folder.strip() for name, folder in (line.split("=", 1) for line in lines)}


def _link(source: pathlib.Path, link: pathlib.Path) -> None:
    """A relative symlink, so the tree keeps working when the checkout moves."""
    os.symlink(os.path.relpath(source, link.parent), link, target_is_directory=source.is_dir())


def build(dest: pathlib.Path = DEFAULT_DEST, repo: pathlib.Path = REPO) -> None:
    """Lay the installed package out under ``dest`` (replacing what is there).

    A package that holds a remapped subpackage (``microgradx``) becomes a folder of links to its entries;
    every other package is one link to its folder. The tree is built beside ``dest`` and then moved in.
    """
    mapped = package_dirs(repo)
    dest = dest.absolute()
    staging = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # left by a run that was killed
    staging.mkdir()  # with the user's umask
    try:
        for name in sorted(mapped):  # a parent before its subpackages
            source, target = mapped[name], staging.joinpath(*name.split("."))
            remapped = {other.rpartition(".")[2] for other in mapped if other.rpartition(".")[0] == name}
            target.parent.mkdir(parents=True, exist_ok=True)
            if not remapped:
                _link(source, target)
                continue
            target.mkdir(exist_ok=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__" and entry.name not in remapped:
                    _link(entry, target / entry.name)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print(f"error: expected at most one argument DEST, got {len(argv)}: {argv!r}", file=sys.stderr)
        return 2
    dest = pathlib.Path(argv[0]) if argv else DEFAULT_DEST
    try:
        build(dest)
    except OSError as error:
        print(f"error: could not build the link tree at {str(dest)!r}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
