"""The console in a real browser (issue 13): Debian's headless Chromium driven by
Playwright against the real ``dlpd console``. An analyst's morning: sign in, filter to a
label, open an alert and its provenance, close it as a false positive (not without a
reason), acknowledge everything matching but three, export CSV, sign out. The same with
JavaScript off. axe-core (bundled with axe-playwright-python, run in the page: nothing
fetched) over the main pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from tests.console.conftest import Console
from tests.console.harness import FORMULAS, ITAR_COUNT, ITAR_PREFIX, PASSWORDS, statuses

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium")
SESSION = "__Host-dlpd_session"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/alerts"))


def _flash(page: Any) -> str:
    return str(page.locator("p.flash").inner_text())


def test_analyst_morning(browser: Any, console: Console) -> None:
    s = console.seeded
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _sign_in(page, console.base, "ana")

    page.fill("#f-label", "itar")
    page.click("button:has-text('Apply')")
    page.wait_for_selector(f"text={ITAR_COUNT} matching")
    labels = page.locator("table.alerts tbody tr td:nth-child(7)").all_inner_texts()
    assert labels and set(labels) == {"itar"}, labels

    newest = s.itar[-1]  # ids grow with time: the newest is the first row
    page.click(f"a:text-is('#{newest}')")
    page.wait_for_url(re.compile(rf"/alerts/{newest}$"))
    provenance = page.locator("dt:text-is('Provenance') + dd").inner_text()
    assert provenance.startswith("copy of /data/itar/master/"), provenance
    assert "a copy of a labelled file" in page.content()

    # Closing without a reason: refused, and the store says open still.
    page.check("input[name=action][value=false-positive]")
    page.click("button:has-text('Record the decision')")
    assert "reason is required" in page.locator("#triage-error").inner_text()
    assert statuses(console.db, [newest]) == {newest: "open"}
    page.fill("#reason", "public brochure drawing, cleared by export office")
    page.click("button:has-text('Record the decision')")
    page.wait_for_selector("p.flash")
    assert "marked false positive" in _flash(page)
    assert statuses(console.db, [newest]) == {newest: "false-positive"}
    assert "cleared by export office" in page.locator("table.notes").inner_text()

    # Every itar alert, whatever its status: 250 matching; leave 3 out (one of them the
    # false positive) -> exactly 247 acknowledged.
    page.goto(f"{console.base}/alerts?label=itar&status=all")
    page.click(f"a:has-text('select all {ITAR_COUNT} matching')")
    page.wait_for_selector("p.selection:has-text('are selected')")
    left_out = [newest, s.itar[-2], s.itar[-5]]
    for alert_id in left_out:
        page.uncheck(f"#sel-{alert_id}")
    page.select_option("#bulk-action", "ack")
    page.click("button:has-text('Apply to all matching')")
    page.wait_for_selector("p.flash")
    assert _flash(page).startswith("247 alerts acknowledged"), _flash(page)
    after = statuses(console.db, s.itar)
    assert sum(1 for v in after.values() if v == "acknowledged") == 247
    assert {i: after[i] for i in left_out} == {newest: "false-positive", s.itar[-2]: "open",
                                               s.itar[-5]: "open"}
    assert set(statuses(console.db, s.others).values()) == {"open"}, "outside the filter"

    page.goto(f"{console.base}/alerts?label=itar&status=all")
    with page.expect_download() as download:
        page.click("a:text-is('CSV')")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == ITAR_COUNT
    assert {r["label"] for r in rows} == {"itar"}
    assert all(r["path"].startswith(ITAR_PREFIX + "/") for r in rows)
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[newest]["status"] == "false-positive"
    assert by_id[newest]["provenance"].startswith("copy of ")
    reasons = {by_id[i]["reason"] for i in s.formulas}
    assert reasons == {"'" + f for f in FORMULAS}, reasons

    cookie = next(c["value"] for c in context.cookies() if c["name"] == SESSION)
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))
    assert SESSION not in {c["name"] for c in context.cookies()}
    old = httpx.get(f"{console.base}/alerts", headers={"cookie": f"{SESSION}={cookie}"})
    assert old.status_code == 303 and old.headers["location"].startswith("/login"), \
        "the session cookie still works after signing out"
    context.close()


def test_without_javascript(browser: Any, console: Console) -> None:
    target = console.seeded.itar[10]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, console.base, "ana")
    page.goto(f"{console.base}/alerts/{target}")
    page.check("input[name=action][value=resolve]")
    page.fill("#reason", "moved back under /data/itar")
    page.click("button:has-text('Record the decision')")
    page.wait_for_selector("p.flash")
    assert "resolved" in _flash(page)
    assert statuses(console.db, [target]) == {target: "resolved"}
    # The list's filter form and a bulk action, as plain GET and POST.
    page.goto(f"{console.base}/alerts")
    page.fill("#f-label", "pii")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"label=pii"))
    first = int(page.locator("table.alerts tbody tr th a").first.inner_text().lstrip("#"))
    page.check(f"#sel-{first}")
    page.select_option("#bulk-action", "ack")
    page.click("button:has-text('Apply to the ticked alerts')")
    page.wait_for_selector("p.flash")
    assert _flash(page).startswith("1 alert acknowledged"), _flash(page)
    assert statuses(console.db, [first]) == {first: "acknowledged"}
    context.close()


def test_accessibility(browser: Any, console: Console) -> None:
    axe = Axe()
    context = browser.new_context()
    page = context.new_page()
    pages = {"login": "/login", "alert list": "/alerts?label=itar",
             "alert detail": f"/alerts/{console.seeded.itar[0]}", "summary": "/summary",
             "labels": "/labels", "access": "/access"}
    serious: list[str] = []
    for name, url in pages.items():
        if name == "alert list":
            _sign_in(page, console.base, "ana")
        page.goto(console.base + url)
        assert page.title(), f"{name}: no title"
        found = axe.run(page).response
        assert found["passes"], f"{name}: axe checked nothing"
        for v in found["violations"]:
            line = (f"{name}: {v['id']} ({v['impact']}): {v['help']}; "
                    f"{len(v['nodes'])} node(s), e.g. {v['nodes'][0]['html'][:160]}")
            if v["impact"] in ("serious", "critical"):
                serious.append(line)
            else:
                print(line)
        for v in found["incomplete"]:  # what axe could not decide: for a person to look at
            print(f"{name}: needs review: {v['id']} ({v['impact']}): {v['help']}")
    context.close()
    assert not serious, "\n".join(serious)
