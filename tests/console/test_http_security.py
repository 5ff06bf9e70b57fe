"""The console's defences over HTTP, against the real ``dlpd console`` (issue 13): CSRF and
Origin on every state change, roles, no secret's digits in any answer, escaped paths, the
login throttle, the Host allowlist, headers and cookies, and the audit chain."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlpd.classify.validators.luhn import redact
from tests.console.conftest import Console, MakeConsole
from tests.console.harness import (
    ITAR_PREFIX,
    PASSWORDS,
    SECRET,
    SECRET_LEAKS,
    XSS,
    WebClient,
    run_cli,
    statuses,
)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
FOREIGN = "https://evil.example"
SESSION = "__Host-dlpd_session"


@pytest.fixture
def client(console: Console) -> Iterator[WebClient]:
    web = WebClient(console.base)
    yield web
    web.close()


def _signed_in(console: Console, name: str) -> WebClient:
    web = WebClient(console.base)
    res = web.login(name, PASSWORDS[name])
    assert res.status_code == 303, f"login {name}: {res.status_code} {res.text[:500]}"
    assert web.csrf, "no csrf-token meta on the page after login"
    return web


def _snapshot(db: Path) -> tuple[object, ...]:
    """Everything a console action could change (sessions by token: last_seen moves on
    every request, which is not a change of state)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return tuple(conn.execute(sql).fetchall() for sql in (
            "SELECT id, status, updated FROM alerts ORDER BY id",
            "SELECT count(*) FROM alert_notes",
            "SELECT count(*) FROM false_positives",
            "SELECT id, action, target FROM audit ORDER BY id",
            "SELECT name, role, disabled, password_hash FROM console_users ORDER BY id",
            "SELECT token_hash FROM console_sessions ORDER BY 1",
            "SELECT id, revoked FROM suppressions ORDER BY id",
        ))


def _tomorrow() -> str:
    return (dt.date.today() + dt.timedelta(days=2)).isoformat()


def _refusals(web: WebClient, console: Console, url: str,
              data: dict[str, str | list[str]]) -> None:
    """A missing token, a wrong one, a foreign Origin, no Origin at all: each 403 and
    nothing changed."""
    before = _snapshot(console.db)
    for label, how in (("no token", {"csrf": None}), ("wrong token", {"csrf": "x" * 43}),
                       ("foreign Origin", {"origin": FOREIGN}),
                       ("no Origin or Referer", {"origin": None})):
        res = web.post(url, data, **how)  # type: ignore[arg-type]
        assert res.status_code == 403, f"POST {url} with {label}: {res.status_code}"
        assert _snapshot(console.db) == before, f"POST {url} with {label} changed the store"


def test_every_state_change_needs_token_and_origin(console: Console) -> None:
    """Each route refused four ways, then the same request with the right token and
    Origin goes through (so the refusals are the token's doing, not a bad form)."""
    web = _signed_in(console, "adam")
    s = console.seeded
    routes: list[tuple[str, dict[str, str | list[str]]]] = [
        (f"/alerts/{s.itar[5]}/triage", {"action": "ack", "reason": "seen"}),
        ("/alerts/bulk", {"scope": "selected", "id": [str(s.itar[6])],
                          "shown": [str(s.itar[6])], "action": "ack", "reason": "",
                          "filter": "status=active&label=itar"}),
        ("/suppressions", {"label": "itar", "path_prefix": ITAR_PREFIX + "/run001",
                           "rule": "", "owner": "ana", "reason": "scratch copies",
                           "expires": _tomorrow()}),
        ("REVOKE", {"reason": "no longer needed"}),
        ("/admin/users", {"name": "newbie", "role": "viewer",
                          "password": "a long enough pass 9", "confirm": "a long enough pass 9"}),
        ("/admin/users/vera/role", {"role": "analyst"}),
        ("/admin/users/vera/disable", {}),
        ("/logout", {}),
    ]
    suppression = ""
    cookie = web.cookies[SESSION]
    for route, data in routes:
        url = f"{suppression}/revoke" if route == "REVOKE" else route
        _refusals(web, console, url, data)
        before = _snapshot(console.db)
        res = web.post(url, data)
        assert res.status_code == 303, f"POST {url} as it should be: {res.status_code}"
        assert _snapshot(console.db) != before, f"POST {url} changed nothing"
        if url == "/suppressions":
            suppression = res.headers["location"]
            assert re.fullmatch(r"/suppressions/\d+", suppression), suppression
    assert statuses(console.db, [s.itar[5], s.itar[6]]) == {
        s.itar[5]: "acknowledged", s.itar[6]: "acknowledged"}
    assert SESSION not in web.cookies, "logout left the cookie in the browser"
    web.cookies[SESSION] = cookie
    assert web.get("/alerts").status_code == 303, "the session outlived its logout"


def test_login_needs_its_token_and_origin(console: Console) -> None:
    web = WebClient(console.base)
    page = web.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, "no token in the login form"
    form = {"name": "adam", "password": PASSWORDS["adam"], "next": ""}
    before = _snapshot(console.db)
    for label, how in (("no token", {"csrf": None}), ("wrong token", {"csrf": "y" * 43}),
                       ("foreign Origin", {"origin": FOREIGN, "csrf": token.group(1)}),
                       ("no Origin", {"origin": None, "csrf": token.group(1)})):
        res = web.post("/login", form, **how)  # type: ignore[arg-type]
        assert res.status_code == 403, f"login with {label}: {res.status_code}"
        assert SESSION not in web.cookies, label
    assert _snapshot(console.db) == before
    assert web.post("/login", form, csrf=token.group(1)).status_code == 303
    assert SESSION in web.cookies


def test_viewer_reads_but_cannot_triage(console: Console) -> None:
    web = _signed_in(console, "vera")
    target = console.seeded.itar[9]
    page = web.get(f"/alerts/{target}")
    assert page.status_code == 200 and "Record the decision" not in page.text
    before = _snapshot(console.db)
    for url, data in ((f"/alerts/{target}/triage", {"action": "ack", "reason": "x"}),
                      ("/alerts/bulk", {"scope": "selected", "id": [str(target)],
                                        "action": "ack", "filter": "label=itar"}),
                      ("/suppressions", {"label": "itar", "path_prefix": "/srv",
                                         "owner": "vera", "reason": "r",
                                         "expires": _tomorrow()}),
                      ("/admin/users/ana/disable", {})):
        res = web.post(url, data)
        assert res.status_code == 403, f"viewer POST {url}: {res.status_code}"
    assert _snapshot(console.db) == before
    assert statuses(console.db, [target]) == {target: "open"}


def test_no_secret_digits_in_any_answer(console: Console) -> None:
    web = _signed_in(console, "adam")
    s = console.seeded
    urls = ["/alerts", "/alerts?status=all", f"/alerts/{s.secret}", "/alerts?label=pii",
            "/alerts.csv?status=all", "/alerts.json?status=all", "/summary", "/labels",
            "/labels/history?path=/home/bob/cards.txt", "/access", "/access.csv",
            "/access.json", "/suppressions", "/admin/users", "/audit"]
    for url in urls:
        res = web.get(url)
        assert res.status_code == 200, f"GET {url}: {res.status_code}"
        for leak in SECRET_LEAKS:
            assert leak not in res.text, f"GET {url} holds {leak!r}"
    # The redacted preview is there: the detail page does show detections.
    assert redact(SECRET) in web.get(f"/alerts/{s.secret}").text


def test_html_in_a_path_is_escaped(console: Console) -> None:
    web = _signed_in(console, "ana")
    raw = XSS.split("/")[0]
    for url in ("/alerts?status=all&path=/home/mallory", f"/alerts/{console.seeded.xss}"):
        page = web.get(url).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, url
        assert raw not in page, f"{url} holds the raw markup"


def test_wrong_passwords_throttle_even_the_right_one(make_console: MakeConsole) -> None:
    window = 4.0
    console = make_console(f'login_window = "{window:.0f}s"')
    web = WebClient(console.base)
    codes = [web.login("ana", "not the password at all").status_code for _ in range(10)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 5, codes
    refused = web.login("ana", PASSWORDS["ana"])
    assert refused.status_code == 429, "the right password got through the throttle"
    assert int(refused.headers["retry-after"]) >= 1
    assert SESSION not in web.cookies
    time.sleep(window + 0.5)
    assert web.login("ana", PASSWORDS["ana"]).status_code == 303
    with sqlite3.connect(f"file:{console.db}?mode=ro", uri=True) as conn:
        failed = conn.execute("SELECT count(*) FROM audit WHERE action = 'login-failed' "
                              "AND target = 'ana'").fetchone()[0]
    assert failed >= 5, f"{failed} login-failed audit rows"


def test_host_not_allowed(client: WebClient) -> None:
    assert client.get("/login").status_code == 200
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", ""):
        res = client.get("/login", headers={"host": host})
        assert res.status_code == 400, f"Host {host!r}: {res.status_code}"


def test_security_headers_everywhere(console: Console) -> None:
    web = _signed_in(console, "adam")
    pages = ["/login", "/alerts", f"/alerts/{console.seeded.itar[0]}", "/summary", "/labels",
             "/access", "/suppressions", "/admin/users", "/audit", "/alerts.csv",
             "/alerts/999999", "/no-such-page"]
    for url in pages:
        res = web.get(url)
        assert res.status_code in (200, 303, 404), f"GET {url}: {res.status_code}"
        h = res.headers
        assert h.get("content-security-policy") == CSP, url
        assert h.get("x-content-type-options") == "nosniff", url
        assert h.get("referrer-policy") == "same-origin", url
        assert h.get("x-frame-options") == "DENY", url
        assert h.get("cross-origin-opener-policy") == "same-origin", url
        assert h.get("cache-control") == "no-store", url
    refused = web.post("/alerts/bulk", {}, origin=FOREIGN)
    assert refused.status_code == 403
    assert refused.headers.get("content-security-policy") == CSP
    static = web.get("/static/htmx.min.js")
    assert static.status_code == 200 and static.headers.get("content-security-policy") == CSP


def _cookie(response_headers: list[str], name: str) -> list[str]:
    for header in response_headers:
        if header.startswith(name + "="):
            return [part.strip().lower() for part in header.split(";")[1:]]
    pytest.fail(f"no Set-Cookie for {name} in {response_headers}")


def test_cookie_attributes(client: WebClient) -> None:
    page = client.get("/login")
    for name, headers in (("__Host-dlpd_login", page.headers.get_list("set-cookie")),
                          (SESSION,
                           client.login("ana", PASSWORDS["ana"]).headers
                           .get_list("set-cookie"))):
        attrs = _cookie(headers, name)
        assert {"secure", "httponly", "samesite=strict", "path=/"} <= set(attrs), attrs
        assert not any(a.startswith("domain") for a in attrs), attrs


def test_audit_verify_catches_an_edited_row(console: Console) -> None:
    web = _signed_in(console, "ana")
    s = console.seeded
    assert web.post(f"/alerts/{s.itar[3]}/triage",
                    {"action": "false-positive", "reason": "public drawing"}).status_code == 303
    assert web.post(f"/alerts/{s.itar[4]}/triage", {"action": "ack", "reason": ""}) \
        .status_code == 303
    ok = run_cli(console.cfg, "console", "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with sqlite3.connect(console.db) as conn:
        rows = conn.execute("SELECT id, action FROM audit ORDER BY id").fetchall()
        assert {"login", "false-positive", "ack"} <= {a for _, a in rows}, rows
        target = next(i for i, a in rows if a == "false-positive")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET reason = 'nothing to see' WHERE id = ?", (target,))
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET reason = 'nothing to see' WHERE id = ?", (target,))
    broken = run_cli(console.cfg, "console", "audit", "verify")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert str(target) in broken.stderr
