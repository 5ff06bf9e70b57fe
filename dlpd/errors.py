"""The one error tree of dlpd.

    DlpdError
    ├── ConfigError        bad or unreadable configuration (names the key)
    ├── SignatureError     rules that do not compile, or warn that they are slow
    ├── ExtractionError    a malformed document or archive (contained to its file)
    │   └── NotSupported   a format this installation does not read (an extra missing)
    ├── LimitExceeded      a scan budget ran out (contained to its file, names the limit)
    ├── StoreError         the database could not be opened, migrated or written
    ├── SinkError          a sink could not deliver (retried by the outbox)
    └── LabelError         a label request or marker file that cannot be honoured (says why)

Adapters translate library exceptions into these at one point, with ``raise ... from exc``.
"""

from __future__ import annotations


def os_reason(exc: OSError | None) -> str:
    """An OS error as the reason of a file's outcome, for people: the same words for the
    same cause wherever a file was walked, opened or read."""
    if isinstance(exc, FileNotFoundError):
        return "vanished: no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc is None:
        return "unknown error"
    return exc.strerror or str(exc) or type(exc).__name__


class DlpdError(Exception):
    """Base of every error dlpd raises on purpose."""


class ConfigError(DlpdError):
    """A configuration file is unreadable or a key holds a bad value."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class SignatureError(DlpdError):
    """Signatures failed to compile; ``problems`` holds ``file:line: message`` strings."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class ExtractionError(DlpdError):
    """A container or document could not be read (malformed, truncated, encrypted)."""


class NotSupported(ExtractionError):
    """A format this installation cannot read (``pip install 'dlpd[columnar]'``): the
    file's outcome is ``skipped`` with the reason, not an error of the file."""


class LimitExceeded(DlpdError):
    """A scan budget ran out; ``limit`` is the config key of the budget."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"{limit}: {detail}")
        self.limit = limit
        self.detail = detail


class StoreError(DlpdError):
    """The store could not be opened, migrated, read or written."""


class SinkError(DlpdError):
    """A sink failed to deliver."""


class LabelError(DlpdError):
    """A label request (or a ``.dlpd-label`` marker) that is malformed or names what is
    not there: an unknown label, a path outside the watched trees, a symlink in the path.
    The message is for the person who asked; it never holds file content."""
