"""The webhook sink against a real HTTP server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from dlpd import __version__
from dlpd.errors import SinkError
from dlpd.model import OutboxMessage
from dlpd.sinks.webhook import WebhookSink, parse_url

from .conftest import make_alert, make_message
from .receivers import HANG, Request, WebhookReceiver

SECRET = os.urandom(24)


def sink(url: str, secret: bytes = SECRET, timeout: float = 5.0) -> WebhookSink:
    return WebhookSink("hook", parse_url(url), secret, timeout)


def assert_signed(request: Request, secret: bytes) -> None:
    """Verify as a receiver would, with our own HMAC, not dlpd's."""
    msg_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    assert abs(int(timestamp) - time.time()) < 30
    expected = hmac.new(secret, f"{msg_id}.{timestamp}.".encode() + request.body,
                        hashlib.sha256).digest()
    versions = dict(s.split(",", 1) for s in request.headers["webhook-signature"].split())
    assert hmac.compare_digest(base64.b64decode(versions["v1"]), expected)


def test_posts_the_body_unchanged_and_signed(message: OutboxMessage) -> None:
    with WebhookReceiver() as receiver:
        sink(receiver.url("/hooks/dlp?tenant=lab")).deliver(message)
    [request] = receiver.received
    assert request.path == "/hooks/dlp?tenant=lab"
    assert request.body == message.body.encode("utf-8")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == message.msg_id
    assert request.headers["user-agent"] == f"dlpd/{__version__}"
    assert_signed(request, SECRET)


def test_only_the_alert_event_goes_out(message: OutboxMessage) -> None:
    with WebhookReceiver() as receiver:
        sink(receiver.url()).deliver(message)
    [request] = receiver.received
    assert set(request.headers) == {
        "host", "accept-encoding", "content-length", "content-type", "user-agent",
        "webhook-id", "webhook-timestamp", "webhook-signature", "connection",
    }
    event = json.loads(request.body)
    assert set(event) == {"type", "timestamp", "data"}
    assert event["data"] == make_alert().to_json()
    assert SECRET.hex() not in request.body.decode() + str(request.headers)


def test_no_secret_no_signature(message: OutboxMessage) -> None:
    with WebhookReceiver() as receiver:
        sink(receiver.url(), secret=b"").deliver(message)
    assert "webhook-signature" not in receiver.received[0].headers


def test_a_500_fails_and_the_retry_is_the_same_message() -> None:
    message = make_message(make_alert(path="/home/山田/機密.dwg"))
    with WebhookReceiver([500, 503, 200]) as receiver:
        hook = sink(receiver.url())
        with pytest.raises(SinkError, match="HTTP 500"):
            hook.deliver(message)
        with pytest.raises(SinkError, match="HTTP 503"):
            hook.deliver(message)
        hook.deliver(message)
    first, second, third = receiver.received
    assert first.body == second.body == third.body == message.body.encode()
    assert first.headers["webhook-id"] == third.headers["webhook-id"] == message.msg_id
    for request in receiver.received:
        assert_signed(request, SECRET)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_failures_and_not_followed(status: int, message: OutboxMessage) -> None:
    with WebhookReceiver([status]) as receiver, pytest.raises(SinkError, match=f"HTTP {status}"):
        sink(receiver.url()).deliver(message)
    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [201, 202, 204])
def test_any_2xx_is_delivered(status: int, message: OutboxMessage) -> None:
    with WebhookReceiver([status]) as receiver:
        sink(receiver.url()).deliver(message)


def test_connection_refused(message: OutboxMessage) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SinkError, match="connection refused"):
        sink(f"http://127.0.0.1:{port}/").deliver(message)


def test_a_silent_receiver_times_out(message: OutboxMessage) -> None:
    with WebhookReceiver([HANG]) as receiver:
        start = time.monotonic()
        with pytest.raises(SinkError, match="timed out"):
            sink(receiver.url(), timeout=0.5).deliver(message)
        assert time.monotonic() - start < 2.0


def test_basic_auth_from_the_url(message: OutboxMessage) -> None:
    with WebhookReceiver() as receiver:
        sink(f"http://alert%40lab:p%3Ass@127.0.0.1:{receiver.port}/").deliver(message)
    auth = receiver.received[0].headers["authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"alert@lab:p:ss"


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one PEM file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pem = tmp_path / "server.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(pem), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True)
    pem.write_text(pem.read_text() + (tmp_path / "cert.pem").read_text())
    return pem


def test_https_verifies_the_certificate(certificate: Path, message: OutboxMessage,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate)
    with WebhookReceiver(tls=tls) as receiver:
        with pytest.raises(SinkError, match="certificate verification failed"):
            sink(receiver.url(scheme="https")).deliver(message)
        assert receiver.received == []
        # Trusted (as a site CA bundle would make it), the same receiver gets the message.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate.parent / "cert.pem"))
        sink(receiver.url(scheme="https")).deliver(message)
    [request] = receiver.received
    assert_signed(request, SECRET)


@pytest.mark.parametrize("url", ["ftp://x/", "http:///nohost", "http://h:99999/"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)
