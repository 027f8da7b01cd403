"""Check the explorer widget in a real JupyterLab or Notebook 7, driven by headless Chromium (a manual check,
not in CI: it needs a server).

    .venv/bin/python -m pip install jupyterlab notebook     # the `notebooks` extra has jupyterlab
    .venv/bin/python scripts/check_explorer_in_jupyterlab.py                 # JupyterLab
    .venv/bin/python scripts/check_explorer_in_jupyterlab.py --app notebook  # Notebook 7

It starts the app on a free local port (127.0.0.1) in a temporary folder, runs a notebook whose cells are
``w = explore(J)`` (the tour's backprop example), then ``w.step = 6``, then ``print(w.phase, w.step)``, and
checks: the widget renders; ArrowRight inside it steps (and the key ``a``, unhandled by the widget, does not
reach the notebook's "insert cell" shortcut); a step set from Python moves the view; a step taken in the browser
reaches Python; no console errors. Last runs: JupyterLab 4.6.6 and Notebook 7.6.5, anywidget 0.11.0,
Chromium 150: all passed in both.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
SHOTS = REPO / "build" / "screenshots"

CELLS = ["from microgradx.tour import backprop_example\nfrom microgradx.viz import explore\n"
         "J, nodes = backprop_example()\nw = explore(J)\nw",
         "w.step = 6\nw.step",
         "print('python sees', w.phase, w.step)"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# per app: the module that serves it, the notebook's address
APPS = {"lab": ("JupyterLab", "jupyterlab", "/lab/tree/explorer.ipynb"),
        "notebook": ("Notebook 7", "notebook", "/notebooks/explorer.ipynb")}


def _kernels_idle(port: int) -> bool:
    """True once the server runs a kernel and every kernel is idle (the server's REST API: any app)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernels", timeout=2) as answer:
            kernels = json.load(answer)
    except OSError:
        return False
    return bool(kernels) and all(k.get("execution_state") == "idle" for k in kernels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(APPS), default="lab", help="lab: JupyterLab; notebook: Notebook 7")
    app_name, app_module, address = APPS[parser.parse_args().app]
    import nbformat
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS, chromium_path

    folder = pathlib.Path(tempfile.mkdtemp(prefix="mgx-lab-"))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "explorer.ipynb")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", app_module, "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
                               f"--ServerApp.root_dir={folder}", "--allow-root"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"{e} ({(e.stack or '').splitlines()[1:2]})"))
            page.goto(f"http://127.0.0.1:{port}{address}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            for _ in range(60):  # accept "Select Kernel" (the default Python kernel), wait until it is idle
                if page.locator(".jp-Dialog").count():
                    page.click(".jp-Dialog .jp-mod-accept")
                if _kernels_idle(port):
                    break
                time.sleep(1)

            def run(cell: int) -> None:
                page.click(f".jp-Notebook .jp-Cell >> nth={cell}")
                page.keyboard.press("Shift+Enter")

            # what the app logs while it starts, before any microgradx code runs, is the app's own: Notebook
            # 7.6.5 throws "Cannot read properties of undefined (reading 'schema')" from its notebook_core
            # bundle on a notebook holding only 1+1 too. Reported, not failed; every error after it fails.
            startup, errors[:] = errors[:], []
            if startup:
                print(f"{app_name} logged while starting (before the widget): {startup}")
            run(0)
            try:
                page.wait_for_selector(".mgx-explorer[data-ready=true]", timeout=90_000)
            finally:  # rendered or not: a picture of what the reader sees
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"explorer_in_{app_module}.png"))
                print(f"{app_name}: screenshot {SHOTS / f'explorer_in_{app_module}.png'}; console errors so far: "
                      f"{errors or 'none'}")
            page.focus(".mgx-explorer")
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            assert page.inner_text(".mgx-counter") == "backward step 4 of 8"
            page.keyboard.press("a")
            assert page.locator(".jp-Notebook .jp-Cell").count() == len(CELLS), f"the a key reached {app_name}"
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
        print(f"{app_name}: the explorer renders, steps with the keys, follows Python and tells Python: all passed")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
