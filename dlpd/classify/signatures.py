"""The YARA adapter: compile signatures once, match buffers. The only module importing yara.

Rules live in ``*.yar`` files: the shipped set in ``dlpd/data/signatures`` plus site
directories from the config. Each rule's ``meta:`` is parsed into a ``RuleMeta`` at compile
time, so a bad category or validator name is a compile problem, not a scan-time surprise.

Compiling costs more than the rest of `dlpd scan`'s start-up (each file alone, to name its
problems and its rules' namespaces, then all together), so the result is cached in a
directory the caller names: one file per set of rule files, keyed by their bytes, the
yara-python version and the externals. A compiled rules file is code-like input to libyara
(it is not validated the way source is), so it is read only when the current user owns it
and its directory and no one else may write either, and only if its checksum holds;
anything off and the rules are compiled as without a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import stat
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yara

from dlpd.errors import LimitExceeded, SignatureError
from dlpd.model import CATEGORIES, Confidence, RuleHit, RuleMeta, StringHit

_LOCATION = re.compile(r"^(?P<file>.*?)\((?P<line>\d+)\): (?P<message>.*)$")
_SLOW_WARNING = "may slow down scanning"


def shipped_dir() -> Path:
    return Path(str(files("dlpd") / "data" / "signatures"))


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    """Every ``*.yar``/``*.yara`` under the given directories (or files), sorted."""
    found: list[Path] = []
    for d in dirs:
        if d.is_file():
            found.append(d)
            continue
        if not d.is_dir():
            raise SignatureError([f"{d}: not a directory of rules"])
        found.extend(sorted(p for p in d.rglob("*") if p.suffix in (".yar", ".yara")))
    return found


def _problem(text: str) -> str:
    """``file(12): msg`` (yara's form) -> ``file:12: msg`` (the form editors jump to)."""
    m = _LOCATION.match(text)
    return f"{m['file']}:{m['line']}: {m['message']}" if m else text


def rule_meta(rule: str, namespace: str, raw: dict[str, Any]) -> RuleMeta:
    """A rule's ``meta:`` block as dlpd reads it; SignatureError naming the rule."""
    where = f"{namespace}: rule {rule}"
    category = raw.get("category")
    if category not in CATEGORIES:
        raise SignatureError([f"{where}: meta category {category!r} is not one of {CATEGORIES}"])
    try:
        confidence = Confidence.parse(str(raw.get("confidence", "medium")))
    except KeyError:
        raise SignatureError([f"{where}: meta confidence must be low, medium or high"]) from None
    proximity = raw.get("proximity", 300)
    if not isinstance(proximity, int) or isinstance(proximity, bool) or proximity < 0:
        raise SignatureError([f"{where}: meta proximity must be a non-negative integer"])
    marking = raw.get("marking")
    if marking not in (None, "stamp", "reference"):
        raise SignatureError([f"{where}: meta marking must be \"stamp\" or \"reference\""])
    validator = raw.get("validator")
    if validator is not None and not isinstance(validator, str):
        raise SignatureError([f"{where}: meta validator must be a string"])
    return RuleMeta(
        rule=rule,
        category=category,
        confidence=confidence,
        validator=validator,
        proximity=proximity,
        require_keyword=bool(raw.get("require_keyword", False)),
        description=str(raw.get("description", "")),
        marking=marking,
    )


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Compiled rules plus what dlpd knows about each. Thread-safe to match from many threads."""

    rules: Any  # yara.Rules
    metas: dict[str, RuleMeta]
    version: str
    files: tuple[Path, ...]
    warnings: tuple[str, ...]

    def match(self, data: bytes, timeout: float) -> list[RuleHit]:
        """Match one buffer. A YARA timeout becomes ``LimitExceeded("scan_timeout")``."""
        try:
            matches = self.rules.match(data=data, timeout=max(1, int(timeout + 0.999)))
        except yara.TimeoutError:
            raise LimitExceeded("scan_timeout", "signature matching timed out") from None
        except yara.Error as exc:
            # e.g. "internal error: 30" (too many matches): contain it to this buffer.
            raise LimitExceeded("scan_timeout", f"signature matching failed: {exc}") from None
        hits = []
        for m in matches:
            strings = tuple(
                StringHit(s.identifier, i.offset, i.matched_data)
                for s in m.strings
                for i in s.instances
            )
            hits.append(RuleHit(self.metas[f"{m.namespace}:{m.rule}"], strings))
        return hits


def compile_rules(
    dirs: Sequence[Path],
    *,
    known_validators: Collection[str],
    shipped: bool = True,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> Ruleset:
    """Compile the shipped rules (unless ``shipped`` is false) with the site ``dirs``.

    ``strict`` turns YARA warnings (``may slow down scanning``) into problems: that is what
    ``dlpd rules check`` uses, and it never reads the cache. ``cache_dir``: where compiled
    rules are kept between runs (see the module's docstring); None compiles every time.
    Raises ``SignatureError`` listing ``file:line: message``.
    """
    paths = rule_files(([shipped_dir()] if shipped else []) + list(dirs))
    if not paths:
        raise SignatureError(["no rule files found"])
    # One namespace per file so that two files may each have a rule called `marking`.
    namespaces = {f"f{i}_{p.stem}": str(p) for i, p in enumerate(paths)}
    sources = [p.read_bytes() for p in paths]
    version = _version(paths, sources)
    key = None if strict or cache_dir is None else _cache_key(namespaces, sources)
    if key is not None and cache_dir is not None:
        cached = _load_cached(cache_dir, key, known_validators)
        if cached is not None:
            rules, metas, warnings = cached
            return Ruleset(rules=rules, metas=metas, version=version, files=tuple(paths),
                           warnings=warnings)
    problems: list[str] = []
    metas = {}
    raw_metas: list[tuple[str, str, str, dict[str, Any]]] = []
    for ns, path in namespaces.items():
        # Compile per file first: a syntax error then names its own file, one bad site
        # file does not hide the problems of another, and each rule's namespace is known
        # (yara-python's rule iterator does not report it).
        try:
            single = yara.compile(filepaths={ns: path}, error_on_warning=strict)
        except yara.WarningError as exc:
            problems.extend(_problem(str(w)) for w in exc.warnings)
            continue
        except yara.SyntaxError as exc:
            problems.append(_problem(str(exc)))
            continue
        except yara.Error as exc:
            problems.append(f"{path}: {exc}")
            continue
        for rule in single:
            raw = dict(rule.meta)
            try:
                meta = _checked_meta(rule.identifier, path, raw, known_validators)
            except SignatureError as exc:
                problems.extend(exc.problems)
                continue
            metas[f"{ns}:{rule.identifier}"] = meta
            raw_metas.append((ns, rule.identifier, path, raw))
    if problems:
        raise SignatureError(problems)
    rules = yara.compile(filepaths=namespaces)
    warnings = tuple(_problem(str(w)) for w in rules.warnings if _SLOW_WARNING in str(w))
    # Saved only if the files still hold the bytes the key was made of: one edited while
    # it was compiled must not be cached under its old contents.
    if key is not None and cache_dir is not None and [p.read_bytes() for p in paths] == sources:
        _save_cached(cache_dir, key, rules, raw_metas, warnings)
    return Ruleset(rules=rules, metas=metas, version=version, files=tuple(paths),
                   warnings=warnings)


def _checked_meta(rule: str, path: str, raw: dict[str, Any],
                  known_validators: Collection[str]) -> RuleMeta:
    meta = rule_meta(rule, path, raw)
    if meta.validator is not None and meta.validator not in known_validators:
        raise SignatureError([f"{path}: rule {rule}: unknown validator {meta.validator!r}"])
    return meta


def _version(paths: Sequence[Path], sources: Sequence[bytes]) -> str:
    """What results depend on: the rule files' names and bytes (part of the classification
    version, so a changed rule re-reads every file)."""
    digest = hashlib.sha256()
    for path, source in zip(paths, sources, strict=True):
        digest.update(path.name.encode())
        digest.update(source)
    return digest.hexdigest()[:16]


# --- the compiled-rules cache -------------------------------------------------------------

_CACHE_MAGIC = b"dlpd-compiled-rules 1\n"
_CACHE_SUFFIX = ".yarc"
# dlpd passes no externals to yara.compile; they are part of the key all the same, so that
# passing some one day cannot load rules compiled without them.
_EXTERNALS: dict[str, str] = {}
# A compiled file is a few hundred KiB for the shipped rules; a site's rules could be more.
_MAX_CACHE_BYTES = 256 * 1024 * 1024
# Old keys (rules since edited, other configs) kept at most: the oldest beyond go.
_KEEP_CACHED = 8
# `include` pulls in files the key does not hash: such rule sets are not cached.
_INCLUDE = re.compile(rb"^[ \t]*include[ \t]", re.MULTILINE)

_Cached = tuple[Any, dict[str, RuleMeta], tuple[str, ...]]


def _cache_key(namespaces: dict[str, str], sources: Sequence[bytes]) -> str | None:
    if any(_INCLUDE.search(source) for source in sources):
        return None
    digest = hashlib.sha256(_CACHE_MAGIC)
    digest.update(f"{yara.__version__}\0{yara.YARA_VERSION}\0{sorted(_EXTERNALS.items())}"
                  .encode())
    for (ns, path), source in zip(namespaces.items(), sources, strict=True):
        digest.update(f"\0{ns}\0{path}\0".encode("utf-8", "surrogateescape"))
        digest.update(hashlib.sha256(source).digest())
    return digest.hexdigest()


def _private_dir(cache_dir: Path, *, create: bool) -> int | None:
    """``cache_dir`` opened (not through a symlink), if the current user owns it and no one
    else may write to it; else None."""
    try:
        if create:
            cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        os.close(fd)
        return None
    return fd


def _read_private(dir_fd: int, name: str) -> bytes | None:
    """The bytes of ``name`` if it is a regular file the current user owns, that no one
    else may write and that is not too big; else None."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & 0o022 or st.st_size > _MAX_CACHE_BYTES):
            return None
        data = f.read(_MAX_CACHE_BYTES + 1)
    return data if len(data) <= _MAX_CACHE_BYTES else None


def _load_cached(cache_dir: Path, key: str, known_validators: Collection[str]) -> _Cached | None:
    dir_fd = _private_dir(cache_dir, create=False)
    if dir_fd is None:
        return None
    try:
        data = _read_private(dir_fd, key[:32] + _CACHE_SUFFIX)
    finally:
        os.close(dir_fd)
    if data is None:
        return None
    try:
        return _parse_cached(data, key, known_validators)
    except (ValueError, KeyError, TypeError, SignatureError, yara.Error):
        # Corrupt, or written by a dlpd that read meta differently: compile instead.
        return None


def _parse_cached(data: bytes, key: str, known_validators: Collection[str]) -> _Cached | None:
    """``magic, key, header length, checksum of the compiled rules`` (one line each), the
    JSON header (metas, warnings), the compiled rules."""
    magic, stored_key, size, checksum, rest = data.split(b"\n", 4)
    if magic + b"\n" != _CACHE_MAGIC or stored_key.decode() != key:
        return None
    header_bytes, blob = rest[:int(size)], rest[int(size):]
    # Checked before libyara sees a byte: it loads a truncated file without complaint.
    if hashlib.sha256(header_bytes + blob).hexdigest().encode() != checksum:
        return None
    header = json.loads(header_bytes)
    metas = {f"{ns}:{rule}": _checked_meta(rule, path, raw, known_validators)
             for ns, rule, path, raw in header["metas"]}
    rules = yara.load(file=io.BytesIO(blob))
    if sorted(r.identifier for r in rules) != sorted(k.partition(":")[2] for k in metas):
        return None
    return rules, metas, tuple(str(w) for w in header["warnings"])


def _save_cached(cache_dir: Path, key: str, rules: Any,
                 raw_metas: list[tuple[str, str, str, dict[str, Any]]],
                 warnings: tuple[str, ...]) -> None:
    """Written to a private temporary file and renamed into place; any failure leaves the
    cache as it was (the next run compiles again)."""
    buffer = io.BytesIO()
    try:
        rules.save(file=buffer)
    except yara.Error:
        return
    header = json.dumps({"metas": raw_metas, "warnings": warnings}).encode()
    blob = buffer.getvalue()
    checksum = hashlib.sha256(header + blob).hexdigest()
    data = b"".join((_CACHE_MAGIC, f"{key}\n{len(header)}\n{checksum}\n".encode(), header,
                     blob))
    dir_fd = _private_dir(cache_dir, create=True)
    if dir_fd is None:
        return
    temp = f".{key[:32]}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, key[:32] + _CACHE_SUFFIX, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        _prune(dir_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _prune(dir_fd: int) -> None:
    """Keep the ``_KEEP_CACHED`` newest compiled files."""
    with os.scandir(dir_fd) as entries:
        found = [(e.stat(follow_symlinks=False).st_mtime, e.name) for e in entries
                 if e.name.endswith(_CACHE_SUFFIX) and e.is_file(follow_symlinks=False)]
    for _, name in sorted(found, reverse=True)[_KEEP_CACHED:]:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
