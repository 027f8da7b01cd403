"""Every ``>>>`` example in the package's docstrings runs and prints what it says (CONTRIBUTING: no
examples that crash). The examples state their own expected output (closed forms, or a comparison with an
independent computation such as the interpreted graph), so a wrong library result fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import microgradx
import microgradx.viz

#: the package and its plots (``viz/`` lives in its own folder, so it is walked separately)
MODULES = sorted({info.name for package in (microgradx, microgradx.viz)
                  for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                  if not info.name.endswith("__main__")} | {"microgradx.viz"})
#: modules that must keep at least one example (so that this test cannot pass by finding none)
WITH_EXAMPLES = {"microgradx.losses", "microgradx.models", "microgradx.tape"}


def test_the_modules_with_examples_are_found():
    assert WITH_EXAMPLES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"{name} lost its docstring examples"
