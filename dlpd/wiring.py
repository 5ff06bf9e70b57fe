"""Factories that build the scanner's collaborators from Settings.

The only place that compiles rules, opens libmagic and connects to the store, so that
library classes stay free of hidden work and tests can build them from parts.

SQLAlchemy and the repositories built on it are imported inside the factories that use
them: `dlpd scan` on a local store where nothing is labelled needs none of them
(``open_scan_store``), and importing them was most of its start-up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from dlpd.classify.classifier import Classifier
from dlpd.classify.filetype import MimeTyper
from dlpd.classify.ocr import missing as ocr_missing
from dlpd.classify.prints import PrintOptions
from dlpd.classify.signatures import Ruleset, compile_rules
from dlpd.classify.validators import REGISTRY
from dlpd.config import Settings, database_url, default_state_dir, host_name
from dlpd.errors import ConfigError
from dlpd.model import ExtractOptions, FileResult, OcrOptions
from dlpd.policy.labels import labels_for
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.writer import Resolve
from dlpd.store import presence
from dlpd.store.direct import open_direct
from dlpd.store.sql import CoreSql, Sql, Transactions
from dlpd.store.sqlite_file import plain_sqlite_path, sqlite_files

if TYPE_CHECKING:
    from dlpd.labelling.resolve import PrintPlan, ResolverSettings
    from dlpd.store.alerts import SinkRoute
    from dlpd.store.db import Engine


def sink_routes(settings: Settings) -> tuple[SinkRoute, ...]:
    """Which sink takes which alerts: by name, with its minimum severity. The daemon queues
    new alerts through these and `dlpd alerts ack|resolve|...` queues status changes."""
    from dlpd.store.alerts import SinkRoute  # noqa: PLC0415 - `dlpd scan` raises no alert

    return tuple(SinkRoute(settings.sink_name(i), s.min_severity)
                 for i, s in enumerate(settings.sinks))


def build_ruleset(settings: Settings, *, strict: bool = False) -> Ruleset:
    """The configured rules, compiled or loaded from the compiled-rules cache in the state
    directory (the one place the systemd unit lets the daemon write)."""
    return compile_rules(
        list(settings.signatures.dirs),
        known_validators=REGISTRY.keys(),
        shipped=settings.signatures.shipped,
        strict=strict,
        cache_dir=default_state_dir() / "compiled-rules",
    )


def classification_version(settings: Settings, ruleset: Ruleset,
                           options: ExtractOptions) -> str:
    """Everything a file's stored result depends on besides the file: when any of it
    changes, the incremental cache must not answer for the file."""
    digest = hashlib.sha256()
    for part in (ruleset.version, repr(settings.limits.to_limits()), repr(options),
                 settings.scan.min_confidence, repr(sorted(settings.categories.items()))):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def build_classifier(settings: Settings, ruleset: Ruleset | None = None, *,
                     prints: PrintOptions | None = None) -> Classifier:
    """``prints``: compute content prints and read the label xattr of every file (labels
    are configured); None costs nothing."""
    ruleset = ruleset if ruleset is not None else build_ruleset(settings)
    options = extract_options(settings)
    return Classifier(
        ruleset=ruleset,
        typer=MimeTyper(),
        validators=REGISTRY,
        limits=settings.limits.to_limits(),
        min_confidence=settings.min_confidence,
        labels_for=partial(labels_for, mapping=settings.categories),
        version=classification_version(settings, ruleset, options),
        cross_devices=settings.scan.cross_devices,
        prints=prints,
        options=options,
    )


def extract_options(settings: Settings) -> ExtractOptions:
    """``[extract]`` as the classifier takes it; OCR resolved against what is installed.

    ``ocr = "on"`` without a usable engine is a ConfigError naming the key; ``"auto"``
    quietly goes without (``dlpd check-config`` says so)."""
    ex = settings.extract
    ocr: OcrOptions | None = None
    wanted = ex.ocr_wanted
    if wanted is not False:
        missing = ocr_missing(ex.ocr_languages)
        if missing is None:
            ocr = OcrOptions(languages=ex.ocr_languages, page_timeout=ex.ocr_page_timeout,
                             file_timeout=ex.ocr_file_timeout, max_pages=ex.ocr_max_pages)
        elif wanted:
            raise ConfigError("extract.ocr", f"OCR is on but cannot run: {missing}")
    # find_spec looks for pyarrow without importing it.
    return ExtractOptions(ocr=ocr, columnar=importlib.util.find_spec("pyarrow") is not None,
                          max_table_rows=ex.max_table_rows)


def resolver_settings(settings: Settings) -> ResolverSettings:
    from dlpd.labelling.resolve import ResolverSettings  # noqa: PLC0415 - see the module

    fp = settings.fingerprints
    return ResolverSettings(host=host_name(settings),
                            label_names=frozenset(settings.labels), min_share=fp.min_share,
                            max_df=fp.max_df, enabled=fp.enabled)


def prints_wanted(settings: Settings) -> bool:
    """Whether files get content prints (and the store's cell key is needed): some label
    is configured and fingerprints are on."""
    return settings.fingerprints.enabled and bool(settings.labels)


def print_options(settings: Settings, cell_key: bytes,
                  active: Callable[[], bool] | None = None,
                  kinds: Callable[[str], tuple[bool, bool]] | None = None
                  ) -> PrintOptions | None:
    """Content prints for the classifier, or None when no label is configured or
    fingerprints are off (then reading a file costs nothing more)."""
    if not prints_wanted(settings):
        return None
    fp = settings.fingerprints
    options = PrintOptions(cell_key=cell_key,
                           max_text_bytes=min(fp.max_text_bytes, settings.limits.max_text_bytes),
                           max_rows=fp.max_rows)
    if active is not None:
        options = dataclasses.replace(options, active=active)
    return options if kinds is None else dataclasses.replace(options, kinds=kinds)


def cell_key_of(engine: Engine) -> bytes:
    from dlpd.store import fingerprints as fp_repo  # noqa: PLC0415 - see the module
    from dlpd.store.db import transaction  # noqa: PLC0415

    with transaction(engine) as conn:
        return fp_repo.cell_key(conn)


@dataclass(frozen=True, slots=True)
class ScanLabelling:
    """What `dlpd scan` needs for labels: prints to compute, how to resolve a read file,
    which cached files to read anyway. All None when nothing is labelled or registered."""

    prints: PrintOptions | None = None
    resolve: Resolve | None = None
    must_read: Callable[[str], bool] | None = None
    # Which prints to make, as the resolver learns it during the scan: worker processes
    # follow it (scan.workers.SharedState).
    plan: PrintPlan | None = None


def scan_labelling(settings: Settings, engine: Engine) -> ScanLabelling:
    from dlpd.labelling.resolve import PrintPlan, Resolver, must_read  # noqa: PLC0415
    from dlpd.store import fingerprints as fp_repo  # noqa: PLC0415 - see the module
    from dlpd.store.db import transaction  # noqa: PLC0415

    plan = PrintPlan()
    resolver = Resolver(resolver_settings(settings), plan)
    with transaction(engine) as conn:
        resolver.refresh(conn)
        if resolver.idle:
            return ScanLabelling()
        key = fp_repo.cell_key(conn)
        must = must_read(conn, resolver.settings.host)

    def resolve(sql: Sql, result: FileResult) -> FileResult:
        # The scan's writer runs on this engine (open_scan_store): its transactions are
        # CoreSql, whose SQLAlchemy Connection the label repositories take.
        assert isinstance(sql, CoreSql)
        return resolver.resolve(sql.conn, result).applied(result)

    return ScanLabelling(print_options(settings, key, plan.active, plan.kinds), resolve, must,
                         plan)


def open_scan_store(settings: Settings) -> tuple[Transactions, ScanLabelling]:
    """Where `dlpd scan` reads and writes, and what it resolves labels with.

    The local SQLite store, once at the schema's head, with nothing labelled or registered
    (or fingerprints off): straight through sqlite3 (``store.direct``: nothing of
    SQLAlchemy imported). Otherwise through SQLAlchemy's engine, which also creates or
    migrates a local store, opens a shared one, and serves the label repositories."""
    url = database_url(settings)
    engine = None
    direct = open_direct(url)
    if direct is None and plain_sqlite_path(url) is not None:
        # A new or older local store, made current (and its directory judged) there.
        engine = build_engine(settings)
        direct = open_direct(url, warn=False)
    if direct is not None:
        # As the resolver decides (Resolver.refresh, idle): nothing to resolve.
        with direct.transaction() as sql:
            idle = (not settings.fingerprints.enabled
                    or presence.presence(sql, host_name(settings)).idle)
        if idle:
            if engine is not None:
                engine.dispose()
            return direct, ScanLabelling()
        direct.close()
    from dlpd.store.db import EngineStore  # noqa: PLC0415 - see the module

    engine = engine or build_engine(settings)
    return EngineStore(engine), scan_labelling(settings, engine)


def build_engine(settings: Settings) -> Engine:
    from dlpd.store.db import open_store  # noqa: PLC0415 - see the module

    return open_store(settings)


def build_pathfilter(settings: Settings, extra: Sequence[str] = ()) -> PathFilter:
    """The configured excludes and ``extra`` ones, plus dlpd's own database files (never
    scan ourselves)."""
    own = sqlite_files(database_url(settings))
    return PathFilter([*settings.scan.exclude, *extra], exact=own)


def default_jobs(settings: Settings) -> int:
    return settings.scan.jobs or len(os.sched_getaffinity(0)) or 1


def scan_processes(settings: Settings, jobs: int) -> bool:
    """Whether `dlpd scan` reads in worker processes (``[scan] workers``)."""
    match settings.scan.workers:
        case "processes":
            return True
        case "threads":
            return False
        case _:
            return jobs > 1
