"""Settings -> sinks: the right sink, the secret file, and config errors naming their key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from dlpd.config import SinkSettings, settings_from_mapping
from dlpd.errors import ConfigError, SinkError
from dlpd.model import OutboxMessage
from dlpd.sinks.base import Sink
from dlpd.sinks.factory import build_sink
from dlpd.sinks.jsonl import JsonlSink
from dlpd.sinks.syslog import SyslogSink
from dlpd.sinks.webhook import WebhookSink

from .grammar import parse_syslog
from .receivers import WebhookReceiver


def settings(**values: Any) -> SinkSettings:
    return SinkSettings.model_validate(values)


def test_each_type(tmp_path: Path) -> None:
    hook = build_sink("h", settings(type="webhook", url="https://example.org/x"),
                      hostname="ws", key="sinks.0")
    jsonl = build_sink("j", settings(type="jsonl", path=tmp_path / "a.jsonl"), hostname="ws")
    syslog = build_sink("s", settings(type="syslog", address="udp://127.0.0.1:5514",
                                      facility="local2", timeout="2s"), hostname="ws")
    assert isinstance(hook, WebhookSink) and hook.name == "h"
    assert isinstance(jsonl, JsonlSink) and jsonl.path == tmp_path / "a.jsonl"
    assert isinstance(syslog, SyslogSink) and syslog.timeout == 2.0
    assert not (tmp_path / "a.jsonl").exists()  # nothing happens before a delivery


def test_names_from_settings_sink_name(tmp_path: Path) -> None:
    config = settings_from_mapping({"sinks": [
        {"type": "jsonl", "path": str(tmp_path / "a.jsonl")},
        {"type": "syslog", "name": "siem"},
    ]})
    names = [build_sink(config.sink_name(i), s, hostname="ws", key=f"sinks.{i}").name
             for i, s in enumerate(config.sinks)]
    assert names == ["jsonl-0", "siem"]


def test_secret_file_signs_requests(tmp_path: Path, message: OutboxMessage) -> None:
    key = os.urandom(32)
    secret_file = tmp_path / "secret"
    secret_file.write_text("whsec_" + base64.b64encode(key).decode() + "\n")
    with WebhookReceiver() as receiver:
        sink = build_sink("h", settings(type="webhook", url=receiver.url(),
                                        secret_file=secret_file), hostname="ws", key="sinks.0")
        sink.deliver(message)
    [request] = receiver.received
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
    expected = hmac.new(key, signed.encode() + request.body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_inline_plain_secret_is_its_utf8_bytes(message: OutboxMessage) -> None:
    with WebhookReceiver() as receiver:
        build_sink("h", settings(type="webhook", url=receiver.url(), secret="s3cret"),
                   hostname="ws").deliver(message)
    [request] = receiver.received
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
    expected = hmac.new(b"s3cret", signed.encode() + request.body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot read"), ("", "is empty"), ("  \n", "is empty"),
    (b"\xff\xfe", "not UTF-8"), ("whsec_!!", "base64"),
])
def test_bad_secret_files(tmp_path: Path, content: str | bytes | None, problem: str) -> None:
    secret_file = tmp_path / "secret"
    if isinstance(content, bytes):
        secret_file.write_bytes(content)
    elif content is not None:
        secret_file.write_text(content)
    with pytest.raises(ConfigError, match=problem) as caught:
        build_sink("h", settings(type="webhook", url="http://127.0.0.1/",
                                 secret_file=secret_file), hostname="ws", key="sinks.3")
    assert caught.value.key == "sinks.3.secret_file"


@pytest.mark.parametrize(("values", "key"), [
    ({"type": "webhook", "url": "http://127.0.0.1/", "secret": "whsec_*"}, "sinks.1.secret"),
    ({"type": "webhook", "url": "http://h:99999/"}, "sinks.1.url"),
    ({"type": "syslog", "facility": "local9"}, "sinks.1.facility"),
    ({"type": "syslog", "address": "udp://"}, "sinks.1.address"),
    ({"type": "syslog", "address": "tcp://h:1/x"}, "sinks.1.address"),
])
def test_config_errors_name_their_key(values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_sink("x", settings(**values), hostname="ws", key="sinks.1")
    assert caught.value.key == key


def test_default_key_names_the_sink() -> None:
    with pytest.raises(ConfigError) as caught:
        build_sink("siem", settings(type="syslog", facility="nope"), hostname="ws")
    assert caught.value.key == "sinks.siem.facility"


def test_syslog_hostname_comes_from_the_caller(message: OutboxMessage) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        sink = build_sink("s", settings(type="syslog", address=f"udp://127.0.0.1:{port}",
                                        app_name="dlpd-test"), hostname="files-01")
        sink.deliver(message)
        sink.close()
        parsed = parse_syslog(receiver.recv(65536))
    assert (parsed.hostname, parsed.app_name, parsed.pri // 8) == ("files-01", "dlpd-test", 4)


@pytest.mark.parametrize("cls", [WebhookSink, JsonlSink, SyslogSink])
def test_sinks_take_only_the_outbox_message(cls: type[Sink]) -> None:
    """A sink's only input at delivery is the outbox message: no store, no scan result."""
    assert list(inspect.signature(cls.deliver).parameters) == ["self", "message"]
    assert inspect.get_annotations(cls.deliver)["message"] in (OutboxMessage, "OutboxMessage")


# A webhook URL may carry a password (user:password@) and a token (?token=...); neither
# may reach an error message, a log line or the outbox's last_error.
_SECRET_URLS = [
    ("https://siem:Pa55w0rd-XYZ@siem.example:99999/in?token=Tok-QRS", "bad port"),
    ("https://siem:Pa55w0rd-XYZ@siem.example:http/in?token=Tok-QRS", "bad port"),
    ("https://siem:Pa55w0rd-XYZ@[siem.example/in?token=Tok-QRS", "not a URL"),
]


@pytest.mark.parametrize(("url", "problem"), _SECRET_URLS)
def test_url_errors_hide_the_password_and_the_token(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        build_sink("h", settings(type="webhook", url=url), hostname="ws", key="sinks.0")
    message = str(caught.value)
    assert "Pa55w0rd" not in message and "Tok-QRS" not in message, message
    assert message.startswith("sinks.0.url: ")


def test_delivery_errors_hide_the_password_and_the_token(message: OutboxMessage) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sink = build_sink("h", settings(type="webhook", timeout="2s",
                                    url=f"http://siem:Pa55w0rd-XYZ@127.0.0.1:{port}/in"
                                        "?token=Tok-QRS&tenant=lab"),
                      hostname="ws")
    with pytest.raises(SinkError) as caught:
        sink.deliver(message)
    text = str(caught.value)
    assert "Pa55w0rd" not in text and "Tok-QRS" not in text, text
    assert f"127.0.0.1:{port}/in?token=***&tenant=***" in text
    assert "connection refused" in text
