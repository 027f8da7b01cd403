"""The install behaves as documented: namespaced subpackages, a light import, a read-only install, and
``NUMBA_DISABLE_JIT=1`` for debugging. Each check runs in a fresh interpreter (a subprocess)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def _run(code: str, *, env: dict[str, str] | None = None, cwd: str | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], env=full_env, cwd=cwd or tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=timeout)


def test_subpackages_import_only_under_the_microgradx_namespace() -> None:
    result = _run(
        "import importlib.util, json\n"
        "print(json.dumps({name: importlib.util.find_spec(name) is not None for name in "
        "['kernels', 'viz', 'microgradx.kernels', 'microgradx.viz', 'microgradx.kernels.cuda']}))")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found == {"kernels": False, "viz": False, "microgradx.kernels": True, "microgradx.viz": True,
                     "microgradx.kernels.cuda": True}


def test_import_microgradx_is_light() -> None:
    result = _run("import sys, json, microgradx\n"
                  "heavy = ['numba', 'numba.cuda', 'matplotlib', 'graphviz', 'torch', 'scipy']\n"
                  "print(json.dumps([m for m in heavy if m in sys.modules]))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_kernels_compile_from_a_read_only_install(tmp_path: pathlib.Path) -> None:
    """The installed layout with no writable cache place next to the code and no writable HOME: numba's own
    locators all fail there ("no locator available"), and cache=True would break the import itself.

    Made unwritable even for root: ``kernels/__pycache__`` is a regular file and HOME is a regular file.
    """
    import shutil

    site = tmp_path / "site"
    shutil.copytree(REPO / "microgradx", site / "microgradx", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "kernels", site / "microgradx" / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "viz", site / "microgradx" / "viz", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "microgradx" / "kernels" / "__pycache__").write_text("not a folder")
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    code = (
        "import numpy as np, numba, microgradx\n"
        "from microgradx.kernels import jit, activations, dense, dropout, losses, optimizers, tape\n"
        "assert microgradx.__file__.startswith(%r), microgradx.__file__\n"
        "y = np.empty((1, 3))\n"
        "activations.activation_forward(np.array([[-1.0, 0.5, 2.0]]), np.empty(0), activations.RELU, y)\n"
        "print(jit.CACHE_ENABLED, jit.CACHE_ROOT, y.ravel().tolist())" % str(site))
    env = {"HOME": str(home), "PYTHONPATH": str(site), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    result = _run(code, env=env, cwd=str(site))
    assert result.returncode == 0, result.stderr[-2000:]
    enabled, cache_dir, values = result.stdout.strip().split(" ", 2)
    assert enabled == "True"
    assert cache_dir.startswith(str(tmp_path / "tmp"))
    assert values == "[0.0, 0.5, 2.0]"
    assert any((tmp_path / "tmp").rglob("*.nbi")), "nothing was cached in the fallback folder"


def _installed_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    import shutil

    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "microgradx", site / "microgradx", ignore=ignore)
    shutil.copytree(REPO / "kernels", site / "microgradx" / "kernels", ignore=ignore)
    shutil.copytree(REPO / "viz", site / "microgradx" / "viz", ignore=ignore)
    return site


def test_a_change_in_an_inlined_helper_file_recompiles_the_kernels(tmp_path: pathlib.Path) -> None:
    """numba stamps a cached kernel with its own file only (numba #9483): editing ``rng.py``, which the
    dropout kernel inlines, would leave the old machine code running. The digest of all kernel sources in
    the stamp makes the cached dropout mask follow the edit; the oracle is rng's NumPy twin."""
    site = _installed_copy(tmp_path)
    code = (
        "import numpy as np, microgradx\n"
        "from microgradx.kernels import dropout, rng\n"
        "assert microgradx.__file__.startswith(%r)\n"
        "x = np.ones((4, 8)); scale = np.empty_like(x); y = np.empty_like(x)\n"
        "dropout.dropout_forward(x, 7, 3, 0.5, 4, 8, scale, y)\n"
        "print((scale > 0).tolist() == (rng.uniform_array(7, 3, (4, 8)) >= 0.5).tolist())" % str(site))
    env = {"PYTHONPATH": str(site)}
    first = _run(code, env=env, cwd=str(site))
    assert first.returncode == 0 and first.stdout.strip() == "True", first.stderr[-2000:]
    rng_file = site / "microgradx" / "kernels" / "rng.py"
    source = rng_file.read_text()
    assert "0x9E3779B97F4A7C15" in source
    rng_file.write_text(source.replace("0x9E3779B97F4A7C15", "0x9E3779B97F4A7C17", 1))
    second = _run(code, env=env, cwd=str(site))
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == "True", "the cached kernel still uses the old rng.py"


def test_cpu_engine_runs_as_plain_python_with_numba_disable_jit() -> None:
    """NUMBA_DISABLE_JIT=1 (for stepping through kernels in a debugger) gives the scalar engine's gradients."""
    code = (
        "import json, numpy as np, microgradx as mgx\n"
        "rng = np.random.default_rng(0)\n"
        "x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=(5, 1)).astype(float)\n"
        "def grads(engine):\n"
        "    mgx.utils.set_random_seed(1)\n"
        "    model = mgx.Sequential([mgx.layers.Input(shape=(3,)), mgx.layers.Dense(4, activation='tanh'),\n"
        "                            mgx.layers.Dense(1, activation='sigmoid')])\n"
        "    model.compile(optimizer='sgd', loss='binary_crossentropy', engine=engine, dtype='float64')\n"
        "    loss, g = model.compute_gradients(x, y)\n"
        "    return [loss] + [float(v) for a in g for v in np.ravel(a)]\n"
        "import numba\n"
        "print(json.dumps({'disabled': numba.config.DISABLE_JIT, 'cpu': grads('cpu'), 'scalar': grads('scalar')}))")
    result = _run(code, env={"NUMBA_DISABLE_JIT": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["disabled"] == 1
    assert out["cpu"] == pytest.approx(out["scalar"], rel=1e-10, abs=1e-12)


def test_every_package_folder_is_listed_in_setup_cfg() -> None:
    """A regular (non-editable) install ships only the packages setup.cfg lists: every folder with an
    ``__init__.py`` under microgradx/, kernels/ and viz/ must be there, under its ``microgradx`` name."""
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    roots = {"microgradx": "microgradx", "kernels": "microgradx.kernels", "viz": "microgradx.viz"}
    found = set()
    for folder, name in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *parts)))
    assert found - listed == set(), "setup.cfg [options] packages misses these"
    assert listed - found == set(), "setup.cfg [options] packages lists folders that do not exist"
