"""The Evaluate tab's comparison driven in headless Chromium on the served app: the demo subset uploaded, three
systems (the raw query, a reasoning file, the corpus's reasoning field) under two retrievers (BM25 and dense);
the table with its marks, the frontier chart and the per-query scatter appear. See test_app_live.py for how
the app is served and why Chromium is Debian's."""
from __future__ import annotations

import json

import pytest
from test_app_live import CHROMIUM, evaluate_tab_with_demo, launch_browser, screenshot_path, served  # noqa: F401 (a fixture)


@pytest.mark.slow
def test_comparison_of_three_systems_and_two_retrievers_in_a_real_browser(served, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run the browser test")
    from playwright.sync_api import expect, sync_playwright

    app, url = served
    demo = app.STORE.get(app.DEMO_ID).domain
    reasonings = tmp_path / "half_reasoned.json"  # the demo's reasoning for every other query
    reasonings.write_text(json.dumps({ex.query: ex.reasoning for ex in demo.examples[::2]}))
    screenshot = screenshot_path("screenshot_compare.png", tmp_path)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = evaluate_tab_with_demo(browser, url)
            page.locator("#compare-reasoning-files input[type=file]").set_input_files(str(reasonings))
            expect(page.get_by_text("half_reasoned.json")).to_be_visible()
            page.locator("#compare-human input[type=checkbox]").check()
            page.locator("#compare-retrievers").get_by_label("dense (all-MiniLM-L6-v2)").check()
            page.locator("#compare-button").click()
            expect(page.locator("#compare-status")).to_contain_text("finished 6 system(s)", timeout=240_000)
            table = page.locator("#compare-table")
            for label in ("raw@bm25", "half_reasoned.json@bm25", "human@bm25", "raw@dense", "human@dense"):
                expect(table).to_contain_text(label)
            expect(table).to_contain_text("↑")                       # the human reasoning is far above raw
            page.locator("#compare-scatter").scroll_into_view_if_needed()
            # Plotly draws in the browser after the finished update arrives (over 10 s on a loaded machine): a bound
            # on that drawing, not a sleep. The screenshot comes once both charts are there.
            expect(page.locator("#compare-frontier .js-plotly-plot")).to_have_count(1, timeout=60_000)
            expect(page.locator("#compare-scatter .js-plotly-plot")).to_have_count(1, timeout=60_000)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
