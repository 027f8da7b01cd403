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
"""

from __future__ import annotations

import argparse
import pathlib
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from microgradx.engine import Value  # noqa: E402


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
    args = parser.parse_args()
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
            print(f"{len(trace.order):5d} boxes, {len(trace):5d} backward steps, page "
                  f"{path.stat().st_size / 1e6:.2f} MB: Graphviz layout {laid:.2f} s, page written {written:.2f} s")
        for mode, flags in modes.items():
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=flags)
            print(f"Chromium {browser.version} ({mode}: {' '.join(flags)}), 1024 x 768, "
                  f"median of {args.repeats} opens, {args.steps} steps each")
            for boxes, (path, trace) in pages.items():
                runs = [measure(path, browser, min(args.steps, len(trace))) for _ in range(args.repeats)]
                row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                results[(mode, boxes)] = row
                print(f"  {len(trace.order):5d} boxes: first render {row['first']:.0f} ms, step "
                      f"{row['handler']:.2f} ms handled / {row['painted']:.1f} ms painted, End {row['end']:.0f} ms, "
                      f"Home {row['home']:.0f} ms")
            browser.close()
    for mode in modes:
        if len(args.boxes) >= 2:
            small, big = results[(mode, args.boxes[0])], results[(mode, args.boxes[-1])]
            print(f"ratios {args.boxes[-1]} / {args.boxes[0]} ({mode}): " + ", ".join(
                f"{k} {big[k] / small[k]:.1f}x" for k in ("first", "handler", "painted", "end")))
    for boxes in args.boxes:
        a, b = results[("harness flags", boxes)], results[("Playwright default", boxes)]
        print(f"harness flags / Playwright default at {boxes} boxes: first render {a['first'] / b['first']:.1f}x, "
              f"step painted {a['painted'] / b['painted']:.1f}x")


if __name__ == "__main__":
    main()
