"""How fast the backprop explorer opens and steps in headless Chromium, for 100- and 1,000-box graphs.

    .venv/bin/python benchmarks/bench_explorer.py [--boxes 100 1000] [--steps 200] [--repeats 3]

For each size: a layered graph (``layers`` of ``width`` neurons, each ``tanh(a*u + b*v + c)`` of two nodes of the
layer below, so every box is drawn: no folding) is laid out by Graphviz once (Python side, timed), written as
the self-contained page, and opened ``repeats`` times in Debian's Chromium (Playwright):

* first render: from navigation start to the explorer being ready (SVG parsed, indexed, first step drawn);
* per step: one ArrowRight keydown handled (classes toggled, texts swapped), then the frame painted
  (``requestAnimationFrame`` twice), measured inside the page over ``steps`` backward steps, median;
* jump: End then Home (every gradient text rewritten once each way).

Both in Chromium's full headless mode (``--headless``, the flags of tests/browser.py) and in Playwright's
default headless shell, side by side.

Prints medians and the 1,000/100 ratios. Needs Graphviz and chromium (apt-get install graphviz chromium).

``--against REV`` also opens each page with the explorer's module and styles as they were at git revision REV
(same graph, same step script), alternating with the current ones in the same browser, and prints the
REV / current ratios: a before/after measured side by side in one run.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from microgradx.engine import Value  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent


def layered_graph(boxes: int, width: int = 10, seed: int = 0) -> Value:
    """At most ``boxes`` value nodes (within one layer of it): per neuron three weights, two products, two
    sums and a tanh, reading its own column and one other of the layer below; one root summing the top."""
    rng = random.Random(seed)
    below = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(width)]
    count = width
    layer = 0
    while count + 8 * width + width - 1 <= boxes:
        layer += 1
        above = []
        for j in range(width):
            u, v = below[j], below[rng.choice([k for k in range(width) if k != j])]
            a = Value(rng.uniform(-1, 1), label=f"a{layer}_{j}", requires_grad=True)
            b = Value(rng.uniform(-1, 1), label=f"b{layer}_{j}", requires_grad=True)
            c = Value(rng.uniform(-0.5, 0.5), label=f"c{layer}_{j}", requires_grad=True)
            z = (a * u + b * v + c).tanh()
            z.label = f"h{layer}_{j}"
            above.append(z)
            count += 8  # a, b, c, a*u, b*v, two +, tanh
        below = above
    total = below[0]
    for z in below[1:]:
        total = total + z
    total.label = "J"
    return total


def assets_at(rev: str) -> tuple[str, str]:
    """The explorer's module (after the shared prelude, where REV has one) and CSS at git revision ``rev``."""
    def show(name: str) -> str | None:
        done = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:viz/assets/{name}"], capture_output=True,
                              text=True)
        return done.stdout if done.returncode == 0 else None

    module, css = show("explorer.js"), show("explorer.css")
    if module is None or css is None:
        sys.exit(f"error: --against {rev!r}: no viz/assets/explorer.js or explorer.css at that revision")
    prelude = show("dom.js")
    return (module if prelude is None else f"{prelude}\n{module}"), css


def with_assets(page: str, module: str, css: str) -> str:
    """The page with the current explorer module and CSS replaced by ``module`` and ``css``."""
    from microgradx.viz.widget import asset_text, module_text

    now_module, now_css = module_text("explorer.js"), asset_text("explorer.css")
    if page.count(now_module) != 1 or page.count(now_css) != 1:
        raise RuntimeError("the page does not hold the explorer's module and CSS verbatim once each")
    return page.replace(now_module, module).replace(now_css, css)


def measure(page_path: pathlib.Path, browser, steps: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.resolve().as_uri())
    page.wait_for_selector(".mgx-explorer[data-ready=true]", timeout=120_000)
    first = page.evaluate("performance.now()")  # ms since navigation start, taken right after ready
    timings = page.evaluate("""async (steps) => {
        const root = document.querySelector('.mgx-explorer');
        const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        const key = (k) => root.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true}));
        await frame();
        const handler = [], painted = [];
        for (let i = 0; i < steps; i++) {
            const t0 = performance.now();
            key('ArrowRight');
            const t1 = performance.now();
            await frame();
            handler.push(t1 - t0); painted.push(performance.now() - t0);
        }
        let t0 = performance.now(); key('End'); await frame(); const end = performance.now() - t0;
        t0 = performance.now(); key('Home'); await frame(); const home = performance.now() - t0;
        return {handler, painted, end, home, counter: document.querySelector('.mgx-counter').textContent};
    }""", steps)
    page.close()
    if errors:
        raise RuntimeError(f"the page threw: {errors[:3]}")
    return {"first": first, "handler": statistics.median(timings["handler"]),
            "painted": statistics.median(timings["painted"]), "end": timings["end"], "home": timings["home"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also measure the explorer's assets at this git revision")
    args = parser.parse_args()
    old_assets = assets_at(args.against) if args.against else None
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM_ARGS, chromium_path
    from microgradx.viz.explorer import save_html
    from microgradx.viz.layout import FixedLayout

    executable = chromium_path()
    if executable is None or shutil.which("dot") is None:
        sys.exit("needs chromium and Graphviz' dot: apt-get install chromium graphviz")
    # the test harness' flags (--headless: Chromium's full headless mode, which composites every frame like a
    # window does) and Playwright's default headless shell, side by side
    modes = {"harness flags": CHROMIUM_ARGS, "Playwright default": ["--no-sandbox", "--disable-gpu"]}
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        pages = {}
        for boxes in args.boxes:
            root = layered_graph(boxes)
            trace = root.backward()
            t0 = time.perf_counter()
            layout = FixedLayout(root, collapse=False, max_nodes=None)
            layout.positions()
            laid = time.perf_counter() - t0
            t0 = time.perf_counter()
            path = save_html(root, pathlib.Path(tmp) / f"g{boxes}.html", trace, collapse=False, max_nodes=None)
            written = time.perf_counter() - t0
            pages[boxes] = (path, trace)
            if old_assets:
                old_path = path.with_name(f"g{boxes}_{args.against}.html")
                old_path.write_text(with_assets(path.read_text(encoding="utf-8"), *old_assets), encoding="utf-8")
                pages[(boxes, args.against)] = (old_path, trace)
            print(f"{len(trace.order):5d} boxes, {len(trace):5d} backward steps, page "
                  f"{path.stat().st_size / 1e6:.2f} MB: Graphviz layout {laid:.2f} s, page written {written:.2f} s")
        for mode, flags in modes.items():
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=flags)
            print(f"Chromium {browser.version} ({mode}: {' '.join(flags)}), 1024 x 768, "
                  f"median of {args.repeats} opens, {args.steps} steps each")
            runs: dict = {key: [] for key in pages}
            for _ in range(args.repeats):  # current and --against alternate, so both see the same load
                for key, (path, trace) in pages.items():
                    runs[key].append(measure(path, browser, min(args.steps, len(trace))))
            for key, (path, trace) in pages.items():
                row = {k: statistics.median(r[k] for r in runs[key]) for k in runs[key][0]}
                results[(mode, key)] = row
                which = f" at {key[1]}" if isinstance(key, tuple) else ""
                print(f"  {len(trace.order):5d} boxes{which}: first render {row['first']:.0f} ms, step "
                      f"{row['handler']:.2f} ms handled / {row['painted']:.1f} ms painted, End {row['end']:.0f} ms, "
                      f"Home {row['home']:.0f} ms")
            browser.close()
    for mode in modes:
        if len(args.boxes) >= 2:
            small, big = results[(mode, args.boxes[0])], results[(mode, args.boxes[-1])]
            print(f"ratios {args.boxes[-1]} / {args.boxes[0]} ({mode}): " + ", ".join(
                f"{k} {big[k] / small[k]:.1f}x" for k in ("first", "handler", "painted", "end")))
    for mode in modes if args.against else ():
        for boxes in args.boxes:
            old, now = results[(mode, (boxes, args.against))], results[(mode, boxes)]
            print(f"{args.against} / current at {boxes} boxes ({mode}): " + ", ".join(
                f"{k} {old[k] / now[k]:.2f}x" for k in ("first", "painted", "end", "home")))
    for boxes in args.boxes:
        a, b = results[("harness flags", boxes)], results[("Playwright default", boxes)]
        print(f"harness flags / Playwright default at {boxes} boxes: first render {a['first'] / b['first']:.1f}x, "
              f"step painted {a['painted'] / b['painted']:.1f}x")


if __name__ == "__main__":
    main()
