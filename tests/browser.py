"""The shared browser harness: pages tested in a real Chromium, headless, driven by Playwright for Python.

``tests/conftest.py`` registers the ``chromium`` and ``page`` fixtures once for every test file (never import
the fixtures into a test module: that would start a second Playwright, which cannot run beside the first)::

    def test_my_page(page, tmp_path):
        page.goto(file_url(path))              # a 1024 x 768 viewport
        page.keyboard.press("ArrowRight")
        assert_no_horizontal_scrollbar(page)
        screenshot(page, "my_page")            # build/screenshots/my_page.png, for people to look at

At the end of every test the fixture fails it if the page logged a console error, threw an uncaught
exception, or tried to reach the network (every request that is not ``file:``, ``data:`` or ``blob:`` is
aborted and recorded: the pages must work offline). ``page_problems(page)`` returns them earlier.

The browser is Debian's ``chromium`` (browser builds downloaded by Playwright are not reachable here):
``MICROGRADX_CHROMIUM`` names another executable. Without Playwright or the browser the tests are skipped
with the reason, except where ``MICROGRADX_REQUIRE_BROWSER=1`` (CI sets it): there they fail, so a missing
install can never pass for a green run.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from typing import Iterator

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
#: where :func:`screenshot` saves (``MICROGRADX_SCREENSHOTS`` overrides); build/ is ignored by git
SCREENSHOTS = pathlib.Path(os.environ.get("MICROGRADX_SCREENSHOTS", REPO / "build" / "screenshots"))
WIDTH, HEIGHT = 1024, 768
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def browser_required() -> bool:
    """True where a missing browser must fail the tests instead of skipping them (CI)."""
    return os.environ.get("MICROGRADX_REQUIRE_BROWSER", "") not in ("", "0")


def chromium_path() -> str | None:
    """The Chromium executable: ``MICROGRADX_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    explicit = os.environ.get("MICROGRADX_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if browser_required():
        pytest.fail(f"{reason}, and MICROGRADX_REQUIRE_BROWSER=1 says the browser tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One headless Chromium for the whole test session (a Playwright ``Browser``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium browser found (apt-get install chromium, or set MICROGRADX_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_PROBLEMS: dict[int, list[str]] = {}


@pytest.fixture
def page(chromium) -> Iterator[object]:
    """A fresh page at 1024 x 768 px, offline, whose console errors fail the test at its end."""
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
    new_page = context.new_page()
    problems: list[str] = []
    _PROBLEMS[id(new_page)] = problems
    new_page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                if message.type == "error" else None)
    new_page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(_LOCAL_SCHEMES):
            request_route.continue_()
        else:
            problems.append(f"network request attempted: {url}")
            request_route.abort()

    new_page.route("**/*", route)
    try:
        yield new_page
        assert not problems, "the page reported problems:\n" + "\n".join(problems)
    finally:
        _PROBLEMS.pop(id(new_page), None)
        context.close()


def page_problems(page) -> list[str]:
    """Console errors, uncaught exceptions and network attempts of ``page`` so far."""
    return list(_PROBLEMS.get(id(page), []))


def file_url(path: str | os.PathLike) -> str:
    """The ``file://`` URL of a local file (pages are opened the way a student double-clicks them)."""
    return pathlib.Path(path).resolve().as_uri()


def horizontal_overflow(page) -> int:
    """How many CSS pixels the document is wider than the viewport (0: no horizontal scrollbar)."""
    return int(page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0)"
        " - document.documentElement.clientWidth"))


def assert_no_horizontal_scrollbar(page) -> None:
    """Fail, naming the widest elements, if the page scrolls sideways at its current width."""
    overflow = horizontal_overflow(page)
    if overflow > 0:
        culprits = page.evaluate("""() => {
            const limit = document.documentElement.clientWidth;
            return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > limit + 0.5)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                                 + (e.className && e.className.baseVal === undefined && e.className
                                    ? '.' + String(e.className).split(' ').join('.') : '')
                                 + ' right=' + Math.round(e.getBoundingClientRect().right));
        }""")
        raise AssertionError(f"the page scrolls sideways by {overflow} px at {page.viewport_size['width']} px "
                             f"wide; elements past the edge: {culprits}")


def screenshot(page, name: str, *, full_page: bool = False, selector: str | None = None) -> pathlib.Path:
    """Save a PNG under ``build/screenshots/<name>.png`` (kept for people to look at, never compared)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target = page.locator(selector) if selector else page
    kwargs = {} if selector else {"full_page": full_page}
    target.screenshot(path=str(path), animations="disabled", **kwargs)
    return path
