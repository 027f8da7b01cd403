"""Weights files: headers checked field by field and against the model before any array is read;
save errors name the user's path."""

from __future__ import annotations

import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from microgradx import layers, utils
from microgradx.models import Sequential


def _model() -> Sequential:
    utils.set_random_seed(0)
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(3), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", engine="cpu")
    return model


def _write_archive(path, header: dict, arrays: dict) -> None:
    arrays = dict(arrays)
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(path, **arrays)


def _header(model: Sequential, **changes) -> dict:
    weights = model.get_weights()
    header = {"format": "microgradx.weights", "version": 1, "model": model.name,
              "names": model._weight_names(), "shapes": [list(w.shape) for w in weights],
              "dtypes": [w.dtype.name for w in weights]}
    header.update(changes)
    return header


@pytest.mark.parametrize("shapes", [5, "abc", [[2, "3"]], [[2, 3.0]], [[-1]], None, [[True]]])
def test_a_header_with_a_wrong_shapes_type_names_shapes(tmp_path, shapes):
    model = _model()
    path = tmp_path / "bad.npz"
    _write_archive(path, _header(model, shapes=shapes), {f"w{i}": w for i, w in enumerate(model.get_weights())})
    with pytest.raises(ValueError, match=r"Cannot read weights file .*bad\.npz.*header's `shapes` must be a list"):
        model.load_weights(path)


def test_a_header_promising_huge_arrays_is_refused_before_any_is_read(tmp_path):
    """A file of a few kB whose header and arrays describe 100 MB is refused with little memory."""
    model = _model()
    huge = np.zeros((5000, 5000), dtype=np.float32)          # 100 MB, compresses to ~100 kB
    path = tmp_path / "huge.npz"
    _write_archive(path, _header(model, shapes=[[5000, 5000]], dtypes=["float32"], names=["dense/kernel"]), {"w0": huge})
    del huge
    assert os.path.getsize(path) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"does not match model"):
            model.load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak


def test_an_array_larger_than_its_header_says_is_refused_before_it_is_read(tmp_path):
    """The header matches the model but the stored array is huge: its .npy header is checked first."""
    model = _model()
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays["w0"] = np.zeros((5000, 5000), dtype=np.float32)
    path = tmp_path / "liar.npz"
    _write_archive(path, _header(model), arrays)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"array 'w0' is float32 of shape \(5000, 5000\).*expect floats of "
                                             r"shape \(2, 3\)"):
            model.load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak


@pytest.mark.parametrize("header, message", [
    ([1, 2], "the header is a list"),
    ({"format": "microgradx.weights", "version": 1, "shapes": [[2, 3]], "names": 7}, "`names` must be a list"),
])
def test_other_malformed_headers_are_named(tmp_path, header, message):
    model = _model()
    path = tmp_path / "h.npz"
    _write_archive(path, header, {})
    with pytest.raises(ValueError, match=message):
        model.load_weights(path)


def test_a_good_file_still_round_trips(tmp_path):
    model = _model()
    path = tmp_path / "good.npz"
    model.save_weights(path)
    other = _model()
    other.set_weights([w + 1 for w in other.get_weights()])
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["header.npy", "w0.npy", "w1.npy", "w2.npy", "w3.npy"]


def test_save_errors_name_the_users_path_not_the_temporary_file(tmp_path):
    model = _model()
    missing = tmp_path / "no" / "such" / "folder" / "w.npz"
    with pytest.raises(FileNotFoundError) as info:
        model.save_weights(missing)
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError) as info:
            model.save_weights(locked / "w.npz")
        assert info.value.filename == str(locked / "w.npz") and ".tmp" not in str(info.value)


@pytest.mark.parametrize("shapes", [[[0, 3], [3]], [[2]], []])
def test_an_unbuilt_model_is_not_built_from_a_header_without_a_first_kernel(tmp_path, shapes):
    model = Sequential([layers.Dense(3)])
    path = tmp_path / "w.npz"
    _write_archive(path, {"format": "microgradx.weights", "version": 1, "shapes": shapes,
                          "names": [f"w{i}" for i in range(len(shapes))]}, {})
    with pytest.raises(ValueError, match=r"does not match model .*not built and the file's first weight"):
        model.load_weights(path)
    assert not model.built and model.input_dim is None
