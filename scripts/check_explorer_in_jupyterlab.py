"""Check the explorer widget in a real JupyterLab, driven by headless Chromium (a manual check, not in CI).

    .venv/bin/python -m pip install jupyterlab     # the `notebooks` extra
    .venv/bin/python scripts/check_explorer_in_jupyterlab.py

It starts JupyterLab on a free local port in a temporary folder, runs a notebook whose cells are
``w = explore(J)`` (the tour's backprop example), then ``w.step = 6``, then ``print(w.phase, w.step)``, and
checks: the widget renders; ArrowRight inside it steps (and the key ``a``, unhandled by the widget, does not
reach JupyterLab's "insert cell" shortcut); a step set from Python moves the view; a step taken in the browser
reaches Python; no console errors. Last run: JupyterLab 4.6.6, anywidget 0.11.0, Chromium 150: all passed.
"""

from __future__ import annotations

import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

CELLS = ["from microgradx.tour import backprop_example\nfrom microgradx.viz import explore\n"
         "J, nodes = backprop_example()\nw = explore(J)\nw",
         "w.step = 6\nw.step",
         "print('python sees', w.phase, w.step)"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    import nbformat
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS, chromium_path

    folder = pathlib.Path(tempfile.mkdtemp(prefix="mgx-lab-"))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in CELLS]
    nbformat.write(notebook, folder / "explorer.ipynb")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                               "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={folder}",
                               "--allow-root"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/lab/tree/explorer.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            for _ in range(60):  # accept "Select Kernel" (the default Python kernel), wait until it is idle
                if page.locator(".jp-Dialog").count():
                    page.click(".jp-Dialog .jp-mod-accept")
                if "| Idle" in page.inner_text(".jp-StatusBar-Widget"):
                    break
                time.sleep(1)

            def run(cell: int) -> None:
                page.click(f".jp-Notebook .jp-Cell >> nth={cell}")
                page.keyboard.press("Shift+Enter")

            run(0)
            page.wait_for_selector(".mgx-explorer[data-ready=true]", timeout=90_000)
            page.focus(".mgx-explorer")
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            assert page.inner_text(".mgx-counter") == "backward step 4 of 8"
            page.keyboard.press("a")
            assert page.locator(".jp-Notebook .jp-Cell").count() == len(CELLS), "a key reached JupyterLab"
            run(1)
            page.wait_for_function("document.querySelector('.mgx-counter').textContent === 'backward step 6 of 8'",
                                   timeout=30_000)
            page.focus(".mgx-explorer")
            page.keyboard.press("ArrowRight")
            time.sleep(1)
            run(2)
            page.wait_for_selector("text=python sees", timeout=30_000)
            said = page.inner_text(f".jp-Notebook .jp-Cell >> nth=2 >> .jp-OutputArea").strip()
            assert said == "python sees backward 7", said
            assert not errors, errors
            browser.close()
        print("JupyterLab: the explorer renders, steps with the keys, follows Python and tells Python: all passed")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
