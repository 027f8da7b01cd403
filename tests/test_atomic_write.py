"""The one atomic writer (``microgradx.utils.atomic_write``): umask, kept modes, fsync, cleanup."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from microgradx import layers, utils
from microgradx.models import Sequential


@pytest.fixture
def umask():
    """Set the process umask for one test, restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda value: os.umask(value)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _text_writer(text: str):
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
    return write


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_open_would_give_under_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = tmp_path / "a.txt"
    utils.atomic_write(path, _text_writer("hello"))
    assert path.read_text() == "hello" and _mode(path) == expected


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "a.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    utils.atomic_write(path, _text_writer("new"))
    assert path.read_text() == "new" and _mode(path) == 0o640


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, ValueError])
def test_a_failed_or_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write("partial")
        raise error("stop")

    with pytest.raises(error):
        utils.atomic_write(path, write)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_the_file_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    utils.atomic_write(tmp_path / "a.txt", _text_writer("x"))
    assert events[:2] == ["fsync", "replace"]


def test_writers_that_choose_the_format_from_the_name_still_can(tmp_path, umask):
    """The temporary file keeps the suffix (``savefig`` picks PNG from it) and the figure gets 0644."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    umask(0o022)
    fig = Figure(figsize=(1, 1))
    path = tmp_path / "f.png"
    utils.atomic_write(path, lambda tmp: fig.savefig(tmp))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and _mode(path) == 0o644


def test_the_library_writers_go_through_it(tmp_path, umask):
    """Weights files and the viz helpers' files get the umask's mode (they were 0600)."""
    umask(0o022)
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.save_weights(tmp_path / "w.npz")
    assert _mode(tmp_path / "w.npz") == 0o644
    from microgradx.viz import graph
    from microgradx import Value

    graph.save_dot(Value(2.0) * Value(3.0), tmp_path / "g.dot")
    assert _mode(tmp_path / "g.dot") == 0o644
    from microgradx.viz import _style

    umask(0o027)
    _style.save_figure(_style.new_figure()[0], tmp_path / "f.png")
    assert _mode(tmp_path / "f.png") == 0o640
    assert sorted(os.listdir(tmp_path)) == ["f.png", "g.dot", "w.npz"]
    np.testing.assert_array_equal(np.load(tmp_path / "w.npz")["w0"], model.get_weights()[0])
