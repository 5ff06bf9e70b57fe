"""TOML configuration -> validated, frozen ``Settings``. The only reader of config files.

Every key has a default, so an empty file (or none at all) is a working configuration:
local SQLite state, the shipped signatures, the shipped category->label map.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

# pydantic loads "plugins" from every installed distribution's entry points the first time
# a model is built: code from any package on the path run inside a root daemon's config
# validation, and an entry-point scan of site-packages on every start (~12 ms here).
# dlpd wants none of them. Set before pydantic first builds a model (this import).
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dlpd.errors import ConfigError
from dlpd.model import CATEGORIES, Confidence, Limits, Severity

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4,
}
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

DEFAULT_CATEGORY_LABELS: dict[str, str] = {
    "export-control": "export-controlled",
    "cui": "cui",
    "us-ssn": "personal-data",
    "jp-my-number": "personal-data",
    "credit-card": "financial",
    "iban": "financial",
    "credential": "credentials",
    "private-key": "credentials",
    "jp-confidential": "confidential",
    "genomic-data": "genomic",
    "medical-image": "health",
    "ml-model": "ai-model",
}


def parse_size(value: object) -> int:
    """``"256MiB"``, ``"1 GB"``, ``1048576`` -> bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 64MiB")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("size must not be negative")
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        if m and m.group(2).lower() in _SIZE_UNITS:
            return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    raise ValueError(f"expected a size such as 64MiB or 1GB, got {value!r}")


def parse_duration(value: object) -> float:
    """``"120s"``, ``"1h"``, ``"500ms"``, ``30`` (seconds) -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("duration must be positive")
        return float(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", value)
        if m and float(m.group(1)) > 0:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2) or "s"]
    raise ValueError(f"expected a duration such as 30s, 5m or 1h, got {value!r}")


_LIMITS = Limits()

Size = Annotated[int, BeforeValidator(parse_size)]
Duration = Annotated[float, BeforeValidator(parse_duration)]


def parse_severity(value: object) -> Severity:
    """``"high"`` (any case) to Severity.HIGH; a Severity passes through."""
    if isinstance(value, Severity):
        return value
    try:
        return Severity.parse(str(value))
    except KeyError:
        raise ValueError(f"must be one of {', '.join(Severity.names())}") from None


SeverityName = Annotated[Severity, BeforeValidator(parse_severity)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    # Empty means: SQLite in the state directory.
    url: str = ""
    # Who brings the schema to this dlpd's revision at open: "auto" (SQLite's default),
    # "never" (any other database's default: `dlpd db upgrade` does it). None: by engine.
    migrate: Literal["auto", "never"] | None = None
    # A file holding only the database password (read at start; kept out of the URL).
    password_file: Path | None = None


class ScanSettings(_Section):
    jobs: int = Field(default=0, ge=0, le=256)
    # Where `dlpd scan` reads files: worker processes (auto: when jobs > 1) or threads.
    workers: Literal["auto", "processes", "threads"] = "auto"
    # A worker process whose resident memory passes this after a batch is replaced.
    worker_memory: Size = 384 * 1024 * 1024
    min_confidence: str = "medium"
    exclude: tuple[str, ...] = ()
    # Walk into and read from other file systems mounted below a root. Off: a mount point
    # under a tree (a user's FUSE mount, say) is reported and not entered.
    cross_devices: bool = False

    @field_validator("min_confidence")
    @classmethod
    def _known_confidence(cls, value: str) -> str:
        if value.strip().lower() not in ("low", "medium", "high"):
            raise ValueError("must be one of low, medium, high")
        return value.strip().lower()


class LimitSettings(_Section):
    max_scan_bytes: Size = _LIMITS.max_scan_bytes
    max_buffer_bytes: Size = _LIMITS.max_buffer_bytes
    max_archive_depth: int = Field(default=_LIMITS.max_archive_depth, ge=0, le=100)
    max_members: int = Field(default=_LIMITS.max_members, ge=1)
    max_total_uncompressed: Size = _LIMITS.max_total_uncompressed
    max_ratio: int = Field(default=_LIMITS.max_ratio, ge=1)
    max_text_bytes: Size = _LIMITS.max_text_bytes
    scan_timeout: Duration = _LIMITS.scan_timeout

    def to_limits(self) -> Limits:
        return Limits(
            max_scan_bytes=self.max_scan_bytes,
            max_buffer_bytes=min(self.max_buffer_bytes, self.max_scan_bytes),
            max_archive_depth=self.max_archive_depth,
            max_members=self.max_members,
            max_total_uncompressed=self.max_total_uncompressed,
            max_ratio=self.max_ratio,
            max_text_bytes=self.max_text_bytes,
            scan_timeout=self.scan_timeout,
        )


class SignatureSettings(_Section):
    # Site rule directories, compiled together with the shipped rules.
    dirs: tuple[Path, ...] = ()
    # Set false to use only the site rules.
    shipped: bool = True


# `approved` as one word instead of a list of places. A word, not a path: a path is a list
# of absolute prefixes, so neither can be read as the other.
NOWHERE = "nowhere"    # not on this host at all: every copy, wherever it is, alerts
ANYWHERE = "anywhere"  # never alerts for its location (what [] or no `approved` means)


class LabelSettings(_Section):
    severity: SeverityName = Severity.MEDIUM
    # Absolute prefixes where the label may live, or "nowhere", or "anywhere". Empty (the
    # default) keeps its old meaning, anywhere; `dlpd check-config` says so.
    approved: tuple[str, ...] | Literal["nowhere", "anywhere"] = ()
    # Who may read files with this label: "user:NAME", "group:NAME", "uid:N", "gid:N".
    # Empty: no reader list, so neither unauthorized access nor exposure is judged.
    readers: tuple[str, ...] = ()

    @field_validator("readers")
    @classmethod
    def _reader_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not is_reader_entry(entry):
                raise ValueError(f"{entry!r} is not a reader: expected user:NAME, "
                                 f"group:NAME, uid:N or gid:N")
        return value

    @field_validator("approved", mode="before")
    @classmethod
    def _prefixes_or_word(cls, value: object) -> object:
        if isinstance(value, str) and value not in (NOWHERE, ANYWHERE):
            hint = f"; for one place write [{value!r}]" if value.startswith("/") else ""
            raise ValueError(f'expected a list of absolute paths, "{NOWHERE}" or '
                             f'"{ANYWHERE}", got {value!r}{hint}')
        if isinstance(value, list | tuple):
            if not all(isinstance(p, str) for p in value):
                raise ValueError("expected a list of absolute paths")
            return tuple(_absolute(p) for p in value)
        return value

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The approved places; none for "nowhere" and "anywhere"."""
        return self.approved if isinstance(self.approved, tuple) else ()

    @property
    def is_nowhere(self) -> bool:
        return self.approved == NOWHERE

    @property
    def is_anywhere(self) -> bool:
        """No place is checked: said so (``"anywhere"``) or left empty."""
        return self.approved in (ANYWHERE, ())


# An account name as useradd and LDAP sites spell them (a "$" ends Samba machine
# accounts); whether it exists is asked at run time, not here (it may be created later).
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}\$?")
READER_KINDS = ("user", "group", "uid", "gid")


def is_reader_entry(entry: str) -> bool:
    """``user:NAME``, ``group:NAME``, ``uid:N`` or ``gid:N`` (N a decimal id)."""
    kind, sep, name = entry.partition(":")
    if not sep or kind not in READER_KINDS:
        return False
    if kind in ("uid", "gid"):
        return name.isascii() and name.isdigit() and int(name) < 2**32
    return _ACCOUNT_NAME.fullmatch(name) is not None


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"{path!r} is not an absolute path")
    return os.path.normpath(path)


class WatchSettings(_Section):
    # Trees the daemon watches; empty: `dlpd run` refuses to start.
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # Full crawl (answered from the incremental cache) this often, and at start.
    reconcile_interval: Duration = 3600.0
    # "auto": fanotify where it can run (CAP_SYS_ADMIN, kernel >= 5.17), else dlpd's own
    # inotify reader on Linux, else watchdog.
    backend: Literal["auto", "fanotify", "inotify", "watchdog"] = "auto"
    # Quiet time after a path's last event before it is scanned...
    settle: Duration = 0.02
    # ...but never later than this after its first event (a file written continuously).
    max_delay: Duration = 5.0
    # Record read access (open) of labelled files in the access log. inotify cannot tell
    # who read, and dlpd's own reads are excluded by time, so this is off by default.
    access_events: bool = False

    @field_validator("paths")
    @classmethod
    def _absolute_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_absolute(p) for p in value)


class SinkSettings(_Section):
    type: Literal["webhook", "jsonl", "syslog"]
    # Names the sink in the outbox and in `dlpd status`; default "<type>-<n>".
    name: str = ""
    # webhook
    url: str = ""
    secret: str = ""
    secret_file: Path | None = None
    # jsonl
    path: Path | None = None
    # syslog: "unix:/dev/log", "udp://127.0.0.1:514" or "tcp://127.0.0.1:601"
    address: str = "unix:/dev/log"
    facility: str = "auth"
    app_name: str = "dlpd"
    # every sink
    timeout: Duration = 10.0
    min_severity: SeverityName = Severity.LOW

    @model_validator(mode="after")
    def _required_per_type(self) -> SinkSettings:
        if self.type == "webhook":
            if not self.url.startswith(("http://", "https://")):
                raise ValueError("url: a webhook sink needs an http:// or https:// url")
            if self.secret and self.secret_file:
                raise ValueError("secret: give secret or secret_file, not both")
        if self.type == "jsonl" and self.path is None:
            raise ValueError("path: a jsonl sink needs a file path")
        if self.type == "syslog" and not self.address.startswith(("unix:", "udp://", "tcp://")):
            raise ValueError("address: expected unix:/path, udp://host:port or tcp://host:port")
        return self


class AccessSettings(_Section):
    # Repeats of the same event on the same file by the same actor within this window
    # are one access-log row with a count.
    aggregate_window: Duration = 60.0
    # Accounts whose opens of labelled files are never "unauthorized-access" (root never
    # is): backup agents, indexers. By user name, or by the absolute executable path.
    exempt_users: tuple[str, ...] = ()
    exempt_executables: tuple[str, ...] = ()

    @field_validator("exempt_executables")
    @classmethod
    def _absolute_executables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for exe in value:
            if not exe.startswith("/"):
                raise ValueError(f"{exe!r}: an executable is named by its absolute path")
        return value


class DaemonSettings(_Section):
    # Where `dlpd run` writes its status file; default $RUNTIME_DIRECTORY (systemd),
    # /run/dlpd for root, else the state directory.
    runtime_dir: Path | None = None
    # SIGTERM waits this long for in-flight scans and deliveries.
    shutdown_timeout: Duration = 10.0
    # The host name in alerts; default: this machine's.
    host: str = ""
    # The Unix socket `dlpd label` talks to while the daemon runs (callers named by
    # SO_PEERCRED).
    control_socket: Path = Path("/run/dlpd/control.sock")
    # Members of this group may remove any label; "" = none (only its setter and root).
    label_admin_group: str = ""

    @field_validator("control_socket")
    @classmethod
    def _absolute_socket(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError(f"{str(value)!r} is not an absolute path")
        return value


class ConsoleSettings(_Section):
    # host:port ("[::1]:8765" for IPv6); ignored when uds is set.
    listen: str = "127.0.0.1:8765"
    # A Unix socket to serve on instead (behind a TLS reverse proxy); "" = listen.
    uds: Path | None = None
    # Host headers accepted; empty: the listen host, localhost, 127.0.0.1 and [::1].
    allowed_hosts: tuple[str, ...] = ()
    # TLS certificate and key (PEM); required to listen on a non-loopback address.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # A session ends after this long without a request, and after session_max in all.
    session_idle: Duration = 1800.0
    session_max: Duration = 12 * 3600.0
    # This many failed logins for one name or one client address within login_window
    # lock further attempts (even right ones) until the window has passed.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window: Duration = 900.0
    # Rows per page of the alert and access lists.
    page_size: int = Field(default=50, ge=10, le=500)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r}: expected HOST:PORT, such as 127.0.0.1:8765")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key: set both or neither")
        return self


class FingerprintSettings(_Section):
    # Register labelled files' content and check every scanned file against it.
    enabled: bool = True
    # A file is "derived" from a labelled one when it holds at least this share of the
    # labelled file's text prints.
    min_share: float = Field(default=0.2, gt=0.0, le=1.0)
    # A print held by more than this many labelled files is boilerplate, not evidence.
    max_df: int = Field(default=20, ge=1)
    # Of each file read while anything is labelled, this much text and this many table
    # rows are fingerprinted (pure Python: about 7 MB/s of text, 1-2 MB/s of table cells).
    max_text_bytes: Size = 4 * 1024 * 1024
    max_rows: int = Field(default=20_000, ge=1)


class ExtractSettings(_Section):
    # OCR of scanned documents (image-only PDF pages, TIFF/PNG/JPEG page scans) with
    # Tesseract: "auto" reads them when tesseract and its language data are installed.
    ocr: Literal["auto", "on", "off"] | bool = "auto"
    # Tesseract language data to read with, in the order given (jpn+eng by default).
    ocr_languages: tuple[str, ...] = ("jpn", "eng")
    # One page's OCR, and all pages of one file: past them the rest is not read and the
    # file's outcome says so (limit_exceeded).
    ocr_page_timeout: Duration = 30.0
    ocr_file_timeout: Duration = 120.0
    ocr_max_pages: int = Field(default=20, ge=1, le=10_000)
    # Rows read from one database table (SQLite, Parquet, Arrow/Feather); more: cut.
    max_table_rows: int = Field(default=10_000, ge=1)

    @field_validator("ocr_languages")
    @classmethod
    def _language_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Names are passed to tesseract's -l: letters, digits and underscores only.
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", name):
                raise ValueError(f"{name!r} is not a tesseract language name (e.g. jpn, eng)")
        if not value:
            raise ValueError("name at least one language (e.g. [\"jpn\", \"eng\"])")
        return value

    @property
    def ocr_wanted(self) -> bool | None:
        """True: on (an error at start if it cannot run); None: when installed; False."""
        if self.ocr in (True, "on"):
            return True
        if self.ocr in (False, "off"):
            return False
        return None


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    scan: ScanSettings = ScanSettings()
    limits: LimitSettings = LimitSettings()
    extract: ExtractSettings = ExtractSettings()
    signatures: SignatureSettings = SignatureSettings()
    categories: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CATEGORY_LABELS))
    labels: dict[str, LabelSettings] = Field(default_factory=dict)
    watch: WatchSettings = WatchSettings()
    sinks: tuple[SinkSettings, ...] = ()
    access: AccessSettings = AccessSettings()
    daemon: DaemonSettings = DaemonSettings()
    fingerprints: FingerprintSettings = FingerprintSettings()
    console: ConsoleSettings = ConsoleSettings()
    # Where this configuration came from (None: embedded defaults); not a TOML key.
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("categories", mode="before")
    @classmethod
    def _merge_categories(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown category {unknown[0]!r}; known: {', '.join(CATEGORIES)}"
            )
        # A site overrides some mappings; the rest keep the shipped defaults.
        return {**DEFAULT_CATEGORY_LABELS, **value}

    @model_validator(mode="after")
    def _unique_sink_names(self) -> Settings:
        seen: set[str] = set()
        for n, sink in enumerate(self.sinks):
            name = sink.name or f"{sink.type}-{n}"
            if name in seen:
                raise ValueError(f"sinks.{n}.name: {name!r} is used by another sink")
            seen.add(name)
        return self

    def sink_name(self, index: int) -> str:
        sink = self.sinks[index]
        return sink.name or f"{sink.type}-{index}"

    @property
    def min_confidence(self) -> Confidence:
        return Confidence.parse(self.scan.min_confidence)


def default_state_dir() -> Path:
    """systemd's ``$STATE_DIRECTORY`` (the service); else ``$XDG_STATE_HOME/dlpd`` (or
    ``~/.local/state/dlpd``); ``/var/lib/dlpd`` for root."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    if os.geteuid() == 0 and "XDG_STATE_HOME" not in os.environ:
        return Path("/var/lib/dlpd")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dlpd"


def host_name(settings: Settings) -> str:
    """The name this machine's rows carry in the store (``[daemon] host``, default the
    host name): its cache, scans, outbox and access log, and its alerts and labels."""
    return settings.daemon.host or socket.gethostname()


def database_url(settings: Settings) -> str:
    if settings.database.url:
        return settings.database.url
    return f"sqlite:///{default_state_dir() / 'dlpd.db'}"


def _describe(error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    message = message.removeprefix("Value error, ")
    # Checks across keys (model validators) name their key first: "url: ..." -> sinks.0.url
    named = re.fullmatch(r"([a-z_][\w.]*): (.*)", message, re.DOTALL)
    if first["type"] == "value_error" and named:
        key = ".".join(part for part in (key, named.group(1)) if part)
        message = named.group(2)
    return ConfigError(key, message)


def settings_from_mapping(data: dict[str, Any], source: Path | None = None) -> Settings:
    try:
        return Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise _describe(exc) from None


def load_settings(path: Path | None) -> Settings:
    """Read and validate a TOML file; ``None`` gives the embedded defaults."""
    if path is None:
        return Settings()
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None
    if "source" in data:
        raise ConfigError("source", "unknown key")
    return settings_from_mapping(data, source=path)
