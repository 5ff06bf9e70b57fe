"""The console's security helpers, without a server: Host and Origin parsing, the CSRF
comparison, the gate as an ASGI app in front of a trivial endpoint, CSV escaping, the
login throttle, password rules and hashes, redirect targets, and the alert filter's trip
through a URL and a bulk form."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.requests import Request

from dlpd.console import filters
from dlpd.console.auth import (
    LoginThrottle,
    hash_password,
    name_problem,
    password_problem,
    verify_password,
)
from dlpd.console.export import csv_cell, csv_lines
from dlpd.console.pages import redirect
from dlpd.console.security import (
    CSP,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Gate,
    SecurityMiddleware,
    host_name,
    origin_of,
    own_origins,
    tokens_match,
)
from dlpd.console.views.login import _next
from dlpd.console.views.params import Query
from dlpd.errors import StoreError


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8765", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:8765", "[::1]"),
    ("console.example.org", "console.example.org"), ("[::1]", "[::1]"),
    ("", None), ("a b", None), ("evil.example:80x", None), ("[::1]x", None),
    ("user@host", None), ("host/path", None),
])
def test_host_name(header: str, name: str | None) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("value", "origin"), [
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("https://Console.Example:443", "https://console.example"),
    ("http://127.0.0.1:80/alerts?x=1", "http://127.0.0.1"),
    ("null", None), ("", None), ("file:///etc/passwd", None), ("javascript:alert(1)", None),
    ("http://user@127.0.0.1:8765", None),
])
def test_origin_of(value: str, origin: str | None) -> None:
    assert origin_of(value) == origin


def test_own_origins_plain_and_behind_a_proxy() -> None:
    assert own_origins("http", "127.0.0.1:8765", behind_proxy=False) == {
        "http://127.0.0.1:8765"}
    # TLS ends at the proxy: the browser's Origin is https, the socket plain http.
    assert own_origins("http", "console.example", behind_proxy=True) == {
        "http://console.example", "https://console.example"}
    assert own_origins("https", "console.example:443", behind_proxy=False) == {
        "https://console.example"}


def test_tokens_match() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("", "")
    assert not tokens_match(None, "abc")
    assert not tokens_match("abc", None)
    assert not tokens_match("\udcff", "x")  # a lone surrogate from a bad form: no crash


# --- the gate, as ASGI, in front of an endpoint that records what reached it ---

@dataclass(frozen=True)
class FakeSession:
    """The one attribute of a session the gate reads (a stand-in for the store's)."""

    csrf: str


@dataclass
class Reached:
    calls: int = 0
    body: bytes = b""


def _endpoint(reached: Reached) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.calls += 1
        # The body must still be readable after the gate read it.
        reached.body = await Request(scope, receive).body()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def _call(method: str, path: str, headers: dict[str, str], body: bytes = b"",
          ) -> tuple[int, dict[str, str], Reached]:
    reached = Reached()

    async def load(token: str | None) -> FakeSession | None:
        if token == "store-down":
            raise StoreError("database: OperationalError: disk I/O error")
        return FakeSession("s3cret-token") if token == "good-session" else None

    gate = SecurityMiddleware(_endpoint(reached), load_session=load, gate=Gate(
        allowed_hosts=frozenset({"127.0.0.1", "localhost"})))
    scope = {"type": "http", "method": method, "path": path, "scheme": "http",
             "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body[:5], "more_body": True},
              {"type": "http.request", "body": body[5:], "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    start = sent[0]
    return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, reached)


_FORM = {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765",
         "cookie": f"{SESSION_COOKIE}=good-session",
         "content-type": "application/x-www-form-urlencoded"}


def test_gate_lets_a_same_origin_post_with_the_token_through_with_its_body() -> None:
    body = b"csrf=s3cret-token&reason=ok"
    status, headers, reached = _call("POST", "/alerts/1/triage", _FORM, body)
    assert (status, reached.calls, reached.body) == (200, 1, body)
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("change", "body"), [
    ({}, b"reason=no-token"),
    ({}, b"csrf=wrong&reason=x"),
    ({"origin": "http://evil.example"}, b"csrf=s3cret-token"),
    ({"origin": "null"}, b"csrf=s3cret-token"),
    ({"origin": ""}, b"csrf=s3cret-token"),  # no Origin, no Referer
    ({"origin": "", "referer": "http://evil.example/x"}, b"csrf=s3cret-token"),
    ({"cookie": ""}, b"csrf=s3cret-token"),  # no session: nothing to match
    ({"cookie": f"{SESSION_COOKIE}=good-session", "content-type": "text/plain"},
     b"csrf=s3cret-token"),  # not a form: no field read
])
def test_gate_refuses_state_changes_without_origin_or_token(change: dict[str, str],
                                                            body: bytes) -> None:
    headers = {k: v for k, v in {**_FORM, **change}.items() if v}
    status, _, reached = _call("POST", "/alerts/1/triage", headers, body)
    assert status == 403
    assert reached.calls == 0


def test_a_store_failure_reading_the_session_is_a_503_with_the_headers() -> None:
    status, headers, reached = _call("GET", "/alerts", {
        "host": "127.0.0.1:8765", "cookie": f"{SESSION_COOKIE}=store-down"})
    assert (status, reached.calls) == (503, 0)
    assert headers["content-security-policy"] == CSP


def test_gate_takes_the_token_from_the_htmx_header_and_a_referer_for_origin() -> None:
    headers = {**_FORM, "x-csrf-token": "s3cret-token", "referer": "http://127.0.0.1:8765/a"}
    del headers["origin"]
    status, _, reached = _call("POST", "/logout", headers, b"")
    assert (status, reached.calls) == (200, 1)


def test_gate_login_uses_the_double_submit_cookie() -> None:
    headers = {**_FORM, "cookie": f"{LOGIN_COOKIE}=pre-session"}
    assert _call("POST", "/login", headers, b"csrf=pre-session&name=a")[0] == 200
    assert _call("POST", "/login", headers, b"csrf=other&name=a")[0] == 403
    # The session's token is not the login's, and the login's opens nothing else.
    assert _call("POST", "/logout", headers, b"csrf=pre-session")[0] == 403


def test_gate_refuses_other_hosts_even_for_get() -> None:
    status, headers, reached = _call("GET", "/alerts", {"host": "evil.example"})
    assert (status, reached.calls) == (400, 0)
    assert headers["content-security-policy"] == CSP
    assert _call("GET", "/alerts", {})[0] == 400


def test_gate_refuses_a_huge_body_before_reading_it_all() -> None:
    status, _, reached = _call("POST", "/alerts/bulk", _FORM,
                               b"csrf=s3cret-token&x=" + b"a" * 300_000)
    assert (status, reached.calls) == (413, 0)


def test_gate_lets_reads_through_without_a_token() -> None:
    status, headers, reached = _call("GET", "/static/console.css", {"host": "localhost"})
    assert (status, reached.calls) == (200, 1)
    assert "cache-control" not in headers  # static files may be cached


# --- exports ---

@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("   =cmd|' /C calc'!A0", "'   =cmd|' /C calc'!A0"), ("\t=1", "'\\t=1"),
    ("\r=1", "'\\r=1"), ("plain", "plain"), ("a=b", "a=b"), ("a\nb", "a\\nb"),
    ("\x1b[31mred", "\\x1b[31mred"), (None, ""), (("a", "b"), "a b"), (42, "42"),
])
def test_csv_cell(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_lines_keep_one_record_per_row() -> None:
    text = "".join(csv_lines(("id", "path"), [(1, "/x/a\nb,c"), (2, '=HYPERLINK("x")')]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["id", "path"], ["1", "/x/a\\nb,c"], ["2", "'=HYPERLINK(\"x\")"]]


# --- accounts ---

def test_login_throttle_by_name_and_by_address() -> None:
    throttle = LoginThrottle(3, 60.0)
    for i in range(3):
        assert throttle.retry_after("alice", "10.0.0.1", 100.0 + i) is None
        throttle.failed("alice", "10.0.0.1", 100.0 + i)
    # Locked for the name from any address, and for the address with any name.
    assert throttle.retry_after("alice", "10.0.0.9", 103.0) == pytest.approx(57.0)
    assert throttle.retry_after("ALICE", "10.0.0.9", 103.0) is not None
    assert throttle.retry_after("bob", "10.0.0.1", 103.0) is not None
    assert throttle.retry_after("bob", "10.0.0.2", 103.0) is None
    # The oldest failure leaves the window: one more attempt is heard.
    assert throttle.retry_after("alice", "10.0.0.9", 160.5) is None


def test_a_lock_is_told_once_however_many_attempts_it_refuses() -> None:
    throttle = LoginThrottle(2, 60.0)
    throttle.failed("alice", "10.0.0.1", 1.0)
    throttle.failed("alice", "10.0.0.1", 2.0)
    told = [throttle.is_new_lock("alice", "10.0.0.1", 3.0 + i) for i in range(50)]
    assert told == [True] + [False] * 49
    # The lock ends, two new failures begin another: told again.
    throttle.failed("alice", "10.0.0.1", 70.0)
    throttle.failed("alice", "10.0.0.1", 71.0)
    assert throttle.is_new_lock("alice", "10.0.0.1", 72.0)


def test_login_throttle_success_clears_the_name_not_the_address() -> None:
    throttle = LoginThrottle(2, 60.0)
    throttle.failed("alice", "10.0.0.1", 1.0)
    throttle.failed("alice", "10.0.0.1", 2.0)
    throttle.succeeded("alice")
    assert throttle.retry_after("alice", "10.0.0.2", 3.0) is None
    assert throttle.retry_after("carol", "10.0.0.1", 3.0) is not None


def test_login_throttle_without_an_address_counts_names_only() -> None:
    # A Unix socket behind a proxy: every client looks alike; one guesser must not lock
    # out every account.
    throttle = LoginThrottle(2, 60.0)
    throttle.failed("alice", "", 1.0)
    throttle.failed("alice", "", 2.0)
    assert throttle.retry_after("alice", "", 3.0) is not None
    assert throttle.retry_after("bob", "", 3.0) is None


def test_login_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(5, 60.0, max_keys=100)
    for i in range(1000):
        throttle.failed(f"made-up-{i}", "10.0.0.1", 1.0)
    assert len(throttle._failures) <= 100


def test_password_and_name_rules() -> None:
    assert password_problem("short") is not None
    assert password_problem("x" * 12) is None
    assert password_problem("x" * 2000) is not None
    assert name_problem("alice.smith@lab") is None
    for bad in ("", "-rf", "a b", "<script>", "a" * 65, "x\n"):
        assert name_problem(bad) is not None, bad


def test_verify_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery").ok
    assert not verify_password(stored, "wrong horse battery").ok
    assert not verify_password(None, "correct horse battery").ok  # no such account
    assert not verify_password("not a hash", "x").ok


def test_verify_password_rehashes_old_parameters() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192).hash("correct horse battery")
    verdict = verify_password(old, "correct horse battery")
    assert verdict.ok
    assert verdict.rehash is not None
    assert verdict.rehash.startswith("$argon2id$") and "t=3" in verdict.rehash


@pytest.mark.parametrize(("target", "where"), [
    ("/alerts?label=x", "/alerts?label=x"), ("//evil.example/", "/alerts"),
    ("https://evil.example/", "/alerts"), ("/\\evil.example", "/alerts"),
    ("/login?next=/x", "/alerts"), ("", "/alerts"),
])
def test_login_next_stays_on_the_console(target: str, where: str) -> None:
    assert _next(target) == where


def test_redirect_only_to_our_paths() -> None:
    assert redirect("/alerts/3").headers["location"] == "/alerts/3"
    assert redirect("//evil.example").headers["location"] == "/"
    assert redirect("https://evil.example").headers["location"] == "/"
    assert redirect("/x").status_code == 303


# --- the alert filter in a URL and in a bulk form ---

def _query(raw: bytes) -> Query:
    return Query(Request({"type": "http", "query_string": raw}))


def test_alert_query_reads_the_url() -> None:
    q = filters.alert_query(_query(
        b"status=open&severity=high&severity=bogus&label=itar,pii&kind=exposed"
        b"&host=fs1&path=data/x&since=2026-01-02&until=2026-01-03&before=77"))
    f = q.filter
    assert (q.tab, f.statuses, f.severities, f.labels, f.kinds, f.hosts) == (
        "open", ("open",), ("high",), ("itar", "pii"), ("exposed",), ("fs1",))
    assert f.path_prefix == "/data/x"
    assert f.since is not None and f.until is not None
    assert f.until - f.since == pytest.approx(2 * 86400, abs=3600)  # until is inclusive
    assert q.before == 77
    assert not q.problems


def test_alert_query_defaults_and_problems() -> None:
    q = filters.alert_query(_query(b"since=yesterday"))
    assert (q.tab, q.filter.statuses) == ("active", ("open", "acknowledged"))
    assert q.filter.since is None
    assert q.problems and "yesterday" in q.problems[0]
    assert filters.alert_query(_query(b"status=all")).filter.statuses == ()


def test_bulk_filter_round_trip_keeps_a_path_that_is_not_utf8() -> None:
    path = os.fsdecode(b"/data/caf\xe9 <b>&x")
    q = filters.alert_query(_query(b"status=open&label=itar"))
    q = filters.AlertQuery(filter=filters.AlertFilter(
        statuses=q.filter.statuses, labels=q.filter.labels, path_prefix=path),
        tab=q.tab, before=None)
    text = filters.bulk_filter(q, 1234)
    assert text.isascii()
    back = filters.from_bulk(text)
    assert back.filter.path_prefix == path
    assert back.filter.max_id == 1234
    assert back.filter.labels == ("itar",)
    assert back.tab == "open"
