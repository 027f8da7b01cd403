"""Regenerate the README's opening picture: the backprop explorer in the middle of the backward pass.

    .venv/bin/python scripts/readme_screenshot.py            # writes docs/images/explorer.png

It builds the tour's backprop example (the lecture's x -> z1 -> ŷ -> J chain), writes the explorer page,
opens it in headless Chromium at 1024 px (the browser tests' harness, tests/browser.py), steps to backward
step 4 (the step that pushes into w2) with the arrow key, checks what the page shows against the Trace,
and saves the explorer. The picture is never drawn by hand: change the explorer, run this again.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

OUT = REPO / "docs" / "images" / "explorer.png"
STEP = 4


def main() -> None:
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS, chromium_path
    from microgradx.tour import backprop_example
    from microgradx.viz.explorer import save_html

    executable = chromium_path()
    if executable is None:
        sys.exit("needs Debian's chromium: apt-get install chromium")
    root, nodes = backprop_example()
    trace = root.backward()
    step = trace[STEP - 1]
    assert step.target is nodes["w2"], "step 4 of the lecture's chain is the one into w2"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_path = save_html(root, pathlib.Path(tmp) / "explorer.html", trace)
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 900}, device_scale_factor=1)
        page.goto(page_path.as_uri())
        page.wait_for_selector(".mgx-explorer[data-ready=true]")
        page.focus(".mgx-explorer")
        for _ in range(STEP):
            page.keyboard.press("ArrowRight")
        counter = page.inner_text(".mgx-counter")
        formula = page.inner_text(".mgx-formula-text")
        assert counter == f"backward step {STEP} of {len(trace)}", counter
        assert formula.endswith(f"= {step.upstream:.4g} × {step.local:.4g} = {step.contribution:.4g}"), formula
        page.evaluate("document.activeElement.blur()")  # no focus ring in the picture
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".mgx-explorer").screenshot(path=str(OUT), animations="disabled")
        browser.close()
    print(f"wrote {OUT.relative_to(REPO)}: {counter}: {formula}")


if __name__ == "__main__":
    main()
