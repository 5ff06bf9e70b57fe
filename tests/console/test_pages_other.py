"""The summary, labels, access-log, suppression, account and audit pages over HTTP,
against the real ``dlpd console`` on a copy of the seeded store.

Rows the seeded store lacks (labels, access events, an exposure alert) are written into
the test's copy through the store's own functions while the console runs (SQLite WAL:
the server sees them at its next request)."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection

from dlpd.labelling.model import HistoryEntry, LabelMatch
from dlpd.model import AccessKind, Actor, Alert, AlertKind, AlertStatus, Severity
from dlpd.store import access as access_repo
from dlpd.store import alerts as alert_repo
from dlpd.store import labels as label_repo
from dlpd.store.access import AccessRecord
from dlpd.store.db import open_engine, transaction
from tests.console.conftest import Console, MakeConsole
from tests.console.harness import ITAR_COUNT, ITAR_PREFIX, PASSWORDS, XSS, WebClient

HOSTILE = "<script>alert('x')</script>"
# A file name that is not UTF-8: byte 0xff, kept by Python as a lone surrogate.
RAW_NAME = os.fsdecode(b"/srv/hr/pay\xffroll.xlsx")
ESCAPED = "&lt;script&gt;alert("  # how autoescape writes HOSTILE


def browser(base: str, name: str) -> WebClient:
    client = WebClient(base)
    assert client.login(name, PASSWORDS[name]).status_code == 303
    return client


@pytest.fixture
def users(console: Console) -> Iterator[dict[str, WebClient]]:
    browsers = {name: browser(console.base, name) for name in ("vera", "ana", "adam")}
    yield browsers
    for b in browsers.values():
        b.close()


@contextmanager
def store(console: Console) -> Iterator[Connection]:
    engine = open_engine(f"sqlite:///{console.db}")
    try:
        with transaction(engine) as conn:
            yield conn
    finally:
        engine.dispose()


def audit_rows(console: Console, action: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{console.db}?mode=ro", uri=True) as conn:
        return [(str(a), str(t), str(r)) for a, t, r in conn.execute(
            "SELECT actor, target, reason FROM audit WHERE action = ? ORDER BY id",
            (action,))]


def cells(page: str) -> list[str]:
    """The text of every table cell, unescaped once (what a person reads)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page, flags=re.S)]


# -- summary --------------------------------------------------------------------------


def test_summary_charts_and_tables_agree_and_escape(console: Console,
                                                    users: dict[str, WebClient]) -> None:
    page = users["vera"].get("/summary?days=30")
    assert page.status_code == 200
    text = page.text
    assert text.count('role="img"') >= 4
    assert "style=" not in text
    # The itar row of the table: every seeded itar alert is open.
    row = re.search(r"<th scope=\"row\"><a [^>]*>itar</a></th>(.*?)</tr>", text, flags=re.S)
    assert row, "no itar row"
    numbers = [int(n) for n in re.findall(r"<td>(\d+)</td>", row[1])]
    assert numbers[-1] == ITAR_COUNT and sum(numbers[:-1]) == ITAR_COUNT
    # The open status count as a table and in the chart's tooltip.
    assert f"open: {ITAR_COUNT + 42}" in text or f">{ITAR_COUNT + 42}<" in text
    # The path holding HTML is among the top paths (ties sort by bytes): escaped.
    assert XSS not in text
    assert html.escape(XSS, quote=False) in text or "&lt;img src=x onerror=alert(1)&gt;" in text


def test_summary_days_bound_the_histogram(console: Console, users: dict[str, WebClient]) -> None:
    page = users["vera"].get("/summary?days=7").text
    days = re.findall(r"<th scope=\"row\">(\d{4}-\d{2}-\d{2})</th>", page)
    assert 7 <= len(days) <= 8
    assert users["vera"].get("/summary?days=junk").status_code == 200


# -- labels ---------------------------------------------------------------------------


def _seed_labels(console: Console) -> None:
    now = time.time()
    with store(console) as conn:
        label_repo.set_label(conn, host="lab-fs-01", path="/srv/hr", is_dir=True, label="pii",
                             source="explicit", set_by="carol", set_uid=1002,
                             note=f"HR share {HOSTILE}", now=now - 50)
        label_repo.set_label(conn, host="lab-fs-01", path=RAW_NAME, is_dir=False,
                             label="payroll", source="explicit", set_by="dave", set_uid=1003,
                             note="raw name", now=now - 40)
        label_repo.set_label(conn, host="lab-fs-02", path="/data/itar", is_dir=True,
                             label="itar", source="marker", set_by="erin", set_uid=1004,
                             note="", now=now - 30)
        label_repo.append_history(conn, HistoryEntry(
            time=now - 40, host="lab-fs-01", path=RAW_NAME, label="payroll", action="set",
            allowed=True, actor="dave", actor_uid=1003, note="raw name"))
        label_repo.append_history(conn, HistoryEntry(
            time=now - 20, host="lab-fs-01", path=RAW_NAME, label="pii", action="refused",
            allowed=False, actor="mallory", actor_uid=1666, note=HOSTILE,
            reason="not an owner"))
        label_repo.replace_matches(conn, "lab-fs-01", RAW_NAME, "ab" * 32, [LabelMatch(
            path=RAW_NAME, label="payroll", kind="copy", source_id=None,
            source_path="/srv/hr/master/payroll.xlsx", found=now - 10)])
        alert_repo.raise_alert(conn, Alert(
            id=0, created=now - 5, updated=0.0, host="lab-fs-01", path=RAW_NAME,
            sha256="ab" * 32, label="payroll", labels=("payroll",), categories=(),
            rules=(), severity=Severity.HIGH, reason="readable by group staff (gid 100)",
            provenance=None, status=AlertStatus.OPEN, kind=AlertKind.EXPOSED), ())


def test_labels_list_filters_and_escapes(console: Console, users: dict[str, WebClient]) -> None:
    _seed_labels(console)
    viewer = users["vera"]
    page = viewer.get("/labels").text
    assert HOSTILE not in page and ESCAPED in page
    texts = cells(page)
    assert "/srv/hr/pay\\xffroll.xlsx" in texts  # the display form of the raw byte
    assert "/data/itar directory" in texts and any(t.startswith("carol") for t in texts)
    only_itar = " ".join(cells(viewer.get("/labels?label=itar").text))
    assert "/data/itar" in only_itar and "/srv/hr" not in only_itar
    under_hr = " ".join(cells(viewer.get("/labels?path=/srv/hr").text))
    assert "/srv/hr directory" in under_hr and "pay\\xffroll" in under_hr
    assert "/data/itar" not in under_hr
    # A sibling that only shares the prefix's characters is not under it.
    assert "/srv/hr" not in " ".join(cells(viewer.get("/labels?path=/srv/h").text))


def test_label_history_follows_the_exact_bytes(console: Console,
                                               users: dict[str, WebClient]) -> None:
    _seed_labels(console)
    viewer = users["vera"]
    listing = viewer.get("/labels?label=payroll").text
    link = re.search(r'<a href="(/labels/history\?[^"]+)">/srv/hr/pay', listing)
    assert link, listing
    assert "%FF" in link[1]  # the byte itself, not the replacement character
    page = viewer.get(html.unescape(link[1]))
    assert page.status_code == 200
    text = page.text
    assert HOSTILE not in text and ESCAPED in text
    texts = cells(text)
    assert "refused" in texts and "not an owner" in texts
    assert "copy of" in texts and "/srv/hr/master/payroll.xlsx" in texts
    assert "readable by group staff (gid 100)" in texts  # the open exposure alert
    # Another name with the same display form is another file: nothing of this one.
    other = viewer.get("/labels/history?host=lab-fs-01&path=/srv/hr/pay%5Cxffroll.xlsx")
    assert "not an owner" not in other.text
    assert viewer.get("/labels/history?path=relative").status_code == 400


# -- access log -----------------------------------------------------------------------


def _seed_access(console: Console, n: int = 25) -> None:
    now = time.time()
    records = [AccessRecord(
        path=f"/srv/hr/file{i:02d}.xlsx" if i % 3 else f"/data/itar/w{i}.dwg",
        kind=AccessKind.OPENED if i % 2 else AccessKind.MODIFIED,
        labels=("pii",) if i % 3 else ("itar",), first=now - 1000 + i, last=now - 900 + i,
        count=1 + i, actor=Actor(pid=500 + i, uid=1001 if i % 4 else 1666,
                                 user="alice" if i % 4 else "mallory", gid=100, ppid=1,
                                 exe="/usr/bin/python3",
                                 cmdline=f"=cmd|' /C calc'!A{i} {HOSTILE}"))
        for i in range(n)]
    with store(console) as conn:
        access_repo.insert_records(conn, records, host="lab-fs-01")


def test_access_search_pages_and_escapes(make_console: MakeConsole) -> None:
    console = make_console('page_size = 10')
    _seed_access(console)
    viewer = browser(console.base, "vera")
    page = viewer.get("/access").text
    assert HOSTILE not in page and ESCAPED in page
    # Keyset pages: following "Older" visits every row once.
    seen: list[str] = []
    url: str | None = "/access"
    while url:
        text = viewer.get(url).text
        seen += re.findall(r"<td>(5\d\d)</td>", text)
        found = re.search(r'<a href="([^"]+)" rel="next">', text)
        url = html.unescape(found[1]) if found else None
    assert sorted(seen) == sorted(str(500 + i) for i in range(25))  # 3 pages
    mallory = viewer.get("/access?user=mallory").text
    assert set(re.findall(r"<td>(5\d\d)</td>", mallory)) == {str(500 + i)
                                                               for i in range(0, 25, 4)}
    opened_hr = viewer.get("/access?kind=opened&path=/srv/hr").text
    pids = {int(p) for p in re.findall(r"<td>(5\d\d)</td>", opened_hr)}
    assert pids == {500 + i for i in range(25) if i % 2 and i % 3}
    assert viewer.get("/access?since=notadate").status_code == 400


def test_access_exports_escape_formulas(console: Console, users: dict[str, WebClient]) -> None:
    _seed_access(console)
    viewer = users["vera"]
    answer = viewer.get("/access.csv?user=alice")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 18 and {r["user"] for r in rows} == {"alice"}
    for row in rows:
        assert row["cmdline"].startswith("'=cmd"), row["cmdline"]
    lines = viewer.get("/access.json?kind=opened").text.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 12 and {r["kind"] for r in records} == {"opened"}
    assert audit_rows(console, "export")[-1][:2] == ("vera", "access.json")


# -- suppressions ---------------------------------------------------------------------


def _rule(**change: str) -> dict[str, str]:
    return {"label": "itar", "path_prefix": "/srv/projects/hypersonic", "rule": "",
            "owner": "export-control team", "reason": "lab migration, ticket 42",
            "expires": (date.today() + timedelta(days=30)).isoformat(), **change}


def test_suppression_needs_owner_reason_and_a_near_expiry(console: Console,
                                                         users: dict[str, WebClient]) -> None:
    analyst = users["ana"]
    far = (date.today() + timedelta(days=400)).isoformat()
    past = (date.today() - timedelta(days=1)).isoformat()
    for bad in (_rule(owner=""), _rule(reason=" "), _rule(expires=far),
                _rule(expires=past), _rule(expires=""), _rule(path_prefix="relative"),
                _rule(label="")):
        answer = analyst.post("/suppressions", bad)
        assert answer.status_code == 400, bad
        assert "Nothing was changed" in answer.text
    assert audit_rows(console, "suppress-add") == []
    assert users["vera"].post("/suppressions", _rule()).status_code == 403
    assert audit_rows(console, "suppress-add") == []


def test_suppression_added_listed_and_revoked_with_audit(console: Console,
                                                        users: dict[str, WebClient]) -> None:
    analyst = users["ana"]
    answer = analyst.post("/suppressions", _rule(reason=f"ticket {HOSTILE}"))
    assert answer.status_code == 303
    where = answer.headers["location"]
    assert re.fullmatch(r"/suppressions/\d+", where)
    listing = analyst.get("/suppressions").text
    assert HOSTILE not in listing and ESCAPED in listing
    assert "in force" in cells(listing)
    assert audit_rows(console, "suppress-add") == [
        ("ana", "suppression:" + where.rsplit("/", 1)[1], f"ticket {HOSTILE}")]
    detail = analyst.get(where)
    assert detail.status_code == 200 and "Nothing suppressed" in detail.text
    assert analyst.post(where + "/revoke", {"reason": ""}).status_code == 400
    assert analyst.post(where + "/revoke", {"reason": "migration done"}).status_code == 303
    assert any(t.startswith("revoked by ana") for t in cells(analyst.get("/suppressions").text))
    assert audit_rows(console, "suppress-revoke")[0][::2] == ("ana", "migration done")
    # A foreign origin or a missing token changes nothing.
    assert analyst.post("/suppressions", _rule(), origin="http://evil.example").status_code \
        == 403
    assert analyst.post("/suppressions", _rule(), csrf=None).status_code == 403
    assert len(audit_rows(console, "suppress-add")) == 1


# -- accounts and audit ---------------------------------------------------------------


def test_accounts_admin_only_and_audited(console: Console, users: dict[str, WebClient]) -> None:
    admin, analyst = users["adam"], users["ana"]
    for path in ("/admin/users", "/audit"):
        assert analyst.get(path).status_code == 403
        assert admin.get(path).status_code == 200
    assert analyst.post("/admin/users", {"name": "x", "role": "admin",
                                         "password": "p" * 16,
                                         "confirm": "p" * 16}).status_code == 403
    short = admin.post("/admin/users", {"name": "olga", "role": "analyst",
                                        "password": "short", "confirm": "short"})
    assert short.status_code == 400
    ok = admin.post("/admin/users", {"name": "olga", "role": "analyst",
                                     "password": "olga passphrase 44",
                                     "confirm": "olga passphrase 44"})
    assert ok.status_code == 303
    assert "olga passphrase" not in admin.get("/admin/users").text
    assert audit_rows(console, "user-add")[-1][:2] == ("adam", "olga")
    assert admin.post("/admin/users/adam/disable", {}).status_code == 400
    assert admin.post("/admin/users/olga/role", {"role": "viewer"}).status_code == 303
    assert admin.post("/admin/users/olga/disable", {}).status_code == 303
    assert audit_rows(console, "user-role")[-1][:2] == ("adam", "olga")
    assert audit_rows(console, "user-disable")[-1][:2] == ("adam", "olga")
    listing = cells(admin.get("/admin/users").text)
    assert any(t.startswith("disabled") for t in listing)


def test_audit_page_verifies_the_chain_newest_first(console: Console,
                                                   users: dict[str, WebClient]) -> None:
    admin = users["adam"]
    users["ana"].post("/suppressions", _rule())
    page = admin.get("/audit").text
    assert "Hash chain verified" not in page and "Verify the hash chain" in page
    page = admin.get("/audit?verify=1").text
    assert "Hash chain verified" in page
    ids = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]
    assert ids and ids == sorted(ids, reverse=True)
    assert "suppress-add" in cells(page)


def test_an_alert_links_to_a_prefilled_suppression_form(console: Console,
                                                        users: dict[str, WebClient]) -> None:
    analyst, viewer = users["ana"], users["vera"]
    page = analyst.get("/alerts/1").text
    link = re.search(r'<a href="(/suppressions\?[^"]+)">Suppress alerts like this', page)
    assert link, "no suppression link for an analyst"
    form = analyst.get(html.unescape(link.group(1))).text
    assert 'name="label" required value="itar"' in form
    assert f'name="path_prefix" required value="{ITAR_PREFIX}/' in form
    assert 'name="rule" value="itar_marking"' in form
    assert "Suppress alerts like this" not in viewer.get("/alerts/1").text
