"""``SinkSettings`` -> a ready ``Sink``. The one place that reads a webhook secret file.

Everything that can be wrong with a sink's configuration (an unreadable secret, a bad
URL, address or facility) is reported here, at start-up, as a ``ConfigError`` naming the
key, rather than as a delivery failure retried forever. ``min_severity`` is not the
sink's concern: the outbox only queues the severities a sink takes.
"""

from __future__ import annotations

from pathlib import Path

from dlpd.config import SinkSettings
from dlpd.errors import ConfigError
from dlpd.sinks.base import Sink
from dlpd.sinks.formats import facility_code, parse_webhook_secret
from dlpd.sinks.jsonl import JsonlSink
from dlpd.sinks.syslog import SyslogSink, parse_address
from dlpd.sinks.webhook import WebhookSink, parse_url


def build_sink(name: str, settings: SinkSettings, *, hostname: str,
               key: str | None = None) -> Sink:
    """The sink ``settings`` describe, named ``name``.

    ``key`` is where the settings sit in the config (``sinks.0``), for error messages;
    it defaults to ``sinks.<name>``. ``hostname`` is the syslog HOSTNAME field.
    """
    key = key or f"sinks.{name}"
    if settings.type == "webhook":
        try:
            target = parse_url(settings.url)
        except ValueError as exc:
            raise ConfigError(f"{key}.url", str(exc)) from None
        _check_host_name(target.host, f"{key}.url")
        return WebhookSink(name, target, _webhook_secret(settings, key), settings.timeout)
    if settings.type == "jsonl":
        if settings.path is None:  # config validation requires it; keep mypy and us honest
            raise ConfigError(f"{key}.path", "a jsonl sink needs a file path")
        return JsonlSink(name, settings.path, settings.timeout)
    try:
        address = parse_address(settings.address)
    except ValueError as exc:
        raise ConfigError(f"{key}.address", str(exc)) from None
    if address.transport != "unix":
        _check_host_name(address.host, f"{key}.address")
    try:
        facility_code(settings.facility)
    except ValueError as exc:
        raise ConfigError(f"{key}.facility", str(exc)) from None
    return SyslogSink(name, address, settings.facility, settings.app_name, hostname,
                      settings.timeout)


def _check_host_name(host: str, key: str) -> None:
    """A name the resolver is never asked about: IDNA encoding (which ``getaddrinfo``
    applies to every name, ASCII too) refuses a label over 63 characters or an empty
    one. Found here, it is a ConfigError at start; found at delivery, it was an
    unexpected exception at every attempt."""
    try:
        host.encode("idna")
    except UnicodeError as exc:
        reason = exc.__cause__ or exc  # the codec's own words: "label empty or too long"
        raise ConfigError(key, f"host name {host!r} cannot be looked up: {reason}") from None


def _webhook_secret(settings: SinkSettings, key: str) -> bytes:
    """The HMAC key: ``secret``, or the first line of ``secret_file``; empty: unsigned."""
    text, source = settings.secret, f"{key}.secret"
    if settings.secret_file is not None:
        source = f"{key}.secret_file"
        text = _read_secret_file(settings.secret_file, source)
    try:
        return parse_webhook_secret(text) if text else b""
    except ValueError as exc:
        raise ConfigError(source, str(exc)) from None


def _read_secret_file(path: Path, key: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(key, f"{path} is not UTF-8 text") from None
    if not text:
        # A secret file was configured so that requests are signed: an empty one is a
        # mistake (a failed provisioning step), not a request to send unsigned.
        raise ConfigError(key, f"{path} is empty")
    return text
