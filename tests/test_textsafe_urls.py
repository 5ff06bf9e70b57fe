"""redact_url: what a URL looks like in a message or a log line."""

from __future__ import annotations

import pytest

from dlpd.textsafe import redact_url


@pytest.mark.parametrize(("url", "shown"), [
    # An absolute SQLite path keeps its four slashes (the authority is empty, not absent).
    ("sqlite:////var/lib/dlpd/dlpd.db", "sqlite:////var/lib/dlpd/dlpd.db"),
    ("sqlite:///relative.db", "sqlite:///relative.db"),
    ("postgresql+psycopg://dlpd:s3cret@db.lab:5432/dlpd?sslmode=require&password=x",
     "postgresql+psycopg://dlpd:***@db.lab:5432/dlpd?sslmode=***&password=***"),
    ("https://siem.lab/hook?token=abc&flag", "https://siem.lab/hook?token=***&flag"),
    ("https://user@siem.lab/hook", "https://user@siem.lab/hook"),
    ("https://siem.lab/hook#frag-with-secret", "https://siem.lab/hook"),
    ("unix:/dev/log", "unix:/dev/log"),
    ("http://[::1", "(unparsable URL)"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
