"""The lecture's sliders in a real browser (headless Chromium, see tests/browser.py): moving a slider shows
the precomputed frame of the new setting (its caption and its path, read from the spec in Python), with no
console error, no network, and no sideways scrolling at 1024 px; also inside the tour's page."""

from __future__ import annotations

import pytest

from browser import assert_no_horizontal_scrollbar, file_url, screenshot
from microgradx.viz import slider_demos as demos
from microgradx.viz import sliders as sl
from microgradx.viz.optimizers import RACERS


def _open(page, path):
    page.goto(file_url(path))
    page.wait_for_selector(".mgx-sliders[data-ready=true]", timeout=10_000)


def _shown(page, root="") -> dict:
    """What the widget shows: layer keys, selection, caption lines, slider texts, and the number of points of
    each labelled line in the first panel."""
    return page.evaluate("""(root) => {
        const el = document.querySelector(root + ' .mgx-sliders');
        return {keys: el.dataset.keys, selection: el.dataset.selection,
                captions: [...el.querySelectorAll('.mgx-caption-line')].map(e => e.textContent),
                values: [...el.querySelectorAll('output.mgx-value')].map(e => e.textContent),
                series: Object.fromEntries([...el.querySelector('svg.mgx-panel').querySelectorAll('g.mgx-line')]
                    .filter(g => g.dataset.series).map(g => [g.dataset.series, Number(g.dataset.points)]))};
    }""", root)


def _expected(spec, selection):
    parts = [lay["frames"][sl.layer_key([selection[c] for c in lay["controls"]])] for lay in spec["layers"]]
    return [p["text"] for p in parts if p["text"]], parts


@pytest.fixture(scope="module")
def descent_page(tmp_path_factory):
    spec = demos.descent_spec()
    return spec, sl.save_html(spec, tmp_path_factory.mktemp("sliders") / "descent.html")


def test_the_learning_rate_and_momentum_sliders_show_the_precomputed_runs(page, descent_page):
    spec, path = descent_page
    _open(page, path)
    selection = sl.selection_of(spec)
    assert _shown(page)["captions"] == _expected(spec, selection)[0]
    rate = page.locator('input[data-control="learning_rate"]')
    rate.focus()
    page.keyboard.press("ArrowRight")
    selection[0] += 1
    shown = _shown(page)
    texts, parts = _expected(spec, selection)
    assert shown["selection"] == "-".join(map(str, selection)) and shown["captions"] == texts
    assert shown["values"][0] == spec["controls"][0]["labels"][selection[0]]
    assert shown["series"]["gradient descent path"] == len(parts[1]["panels"]["0"]["lines"][0]["points"])
    page.keyboard.press("End")                         # the largest rate: above the critical one
    page.locator('input[data-control="momentum"]').focus()
    page.keyboard.press("End")
    selection = [len(spec["controls"][0]["values"]) - 1, len(spec["controls"][1]["values"]) - 1]
    shown = _shown(page)
    assert shown["captions"] == _expected(spec, selection)[0] and "momentum 0.9" in shown["captions"][0]
    assert_no_horizontal_scrollbar(page)
    screenshot(page, "sliders_descent")


def test_each_optimizer_slider_moves_only_its_own_path(page, tmp_path):
    spec = demos.race_spec(surfaces=("ravine", "saddle"))
    _open(page, sl.save_html(spec, tmp_path / "race.html"))
    before = _shown(page)
    page.locator('input[data-control="lr_Adam"]').focus()
    page.keyboard.press("ArrowLeft")
    after = _shown(page)
    adam = 1 + list(RACERS).index("Adam")
    changed = [k for k, (a, b) in enumerate(zip(before["keys"].split("|"), after["keys"].split("|"))) if a != b]
    assert changed == [adam]
    selection = [int(i) for i in after["selection"].split("-")]
    texts, parts = _expected(spec, selection)
    assert after["captions"] == texts
    assert after["series"]["Adam"] == len(parts[adam]["panels"]["0"]["lines"][0]["points"])
    page.locator('input[data-control="surface"]').focus()
    page.keyboard.press("ArrowRight")
    selection[0] = 1
    assert _shown(page)["captions"] == _expected(spec, selection)[0]
    assert_no_horizontal_scrollbar(page)
    screenshot(page, "sliders_race")


def test_the_tour_embeds_four_slider_widgets_that_work_offline(page, tmp_path):
    from microgradx import tour

    sections = tour._sections()
    tour._sliders(sections, tour.TourSettings(quick=True))
    index = tour.write_index(tmp_path, sections, 1.0)
    page.goto(file_url(index))
    page.wait_for_function("document.querySelectorAll('.mgx-sliders[data-ready=true]').length === 4",
                           timeout=10_000)
    assert_no_horizontal_scrollbar(page)
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids)), "duplicate element ids on the tour page"
    lecture = demos.lecture_spec()
    page.locator('#learning_rate input[data-control="learning_rate"]').focus()
    page.keyboard.press("End")                            # the lecture's large rate
    last = len(lecture["controls"][0]["values"]) - 1
    assert _shown(page, "#learning_rate")["captions"] == _expected(lecture, [last])[0]
    assert "(diverging)" in _shown(page, "#learning_rate")["captions"][0]
    spec = demos.fitting_spec(engine="cpu", **tour.TourSettings(quick=True).slider_fitting)
    page.locator('#fitting input[data-control="patience"]').focus()
    page.keyboard.press("ArrowRight")
    selection = sl.selection_of(spec, patience=20)
    assert _shown(page, "#fitting")["captions"] == _expected(spec, selection)[0]
    page.locator("#fitting").scroll_into_view_if_needed()
    screenshot(page, "sliders_tour_fitting")
