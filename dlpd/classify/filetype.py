"""The libmagic adapter: a MIME type for a buffer. The only module importing magic.

libmagic's full database costs ~1 ms per text file (its soft-magic text tests); the
"hard" checks (encoding, JSON, CSV, compress, tar, ELF, CDF) cost microseconds. So: a
first pass without soft magic, and the full database only for what that pass cannot
name (binary data) or for containers, whose exact kind (docx vs zip) is worth it.
Compressed streams are named by their magic number alone, as libmagic names them (a test
holds the two to the same answer): its full database took ~150 µs a file for them, 0.3 s
of CPU for the 2,000 gzip'd files of a Debian /usr/share/doc.
"""

from __future__ import annotations

import threading

import magic

from dlpd.classify.sniff import sniff_kind
from dlpd.errors import DlpdError

# libmagic looks at most at this much; handing it more only costs copying.
HEAD_BYTES = 64 * 1024
_FAST = magic.MAGIC_MIME_TYPE | magic.MAGIC_NO_CHECK_SOFT | magic.MAGIC_ERROR
_FULL = magic.MAGIC_MIME_TYPE | magic.MAGIC_ERROR
_UNKNOWN = "application/octet-stream"
# libmagic's answer for these sniffed kinds (their magic numbers) whatever follows, from
# 4 bytes on (gzip's 2-byte magic with nothing after it is "application/octet-stream").
_NAMED_KINDS = {"gzip": "application/gzip", "bzip2": "application/x-bzip2",
                "xz": "application/x-xz"}
_NAMED_FROM = 4


class MimeTyper:
    """One libmagic cookie pair per thread: cookies are not thread-safe."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _cookies(self) -> tuple[object, object]:
        cookies: tuple[object, object] | None = getattr(self._local, "cookies", None)
        if cookies is None:
            cookies = (_open(_FAST), _open(_FULL))
            self._local.cookies = cookies
        return cookies

    def mime(self, head: bytes) -> str:
        if not head:
            return "application/x-empty"
        head = head[:HEAD_BYTES]
        sniffed = sniff_kind(head)
        if sniffed in _NAMED_KINDS and len(head) >= _NAMED_FROM:
            return _NAMED_KINDS[sniffed]
        fast, full = self._cookies()
        if sniffed is None:
            kind = _buffer(fast, head)
            if kind != _UNKNOWN:
                return kind
        return _buffer(full, head)


def _open(flags: int) -> object:
    cookie = magic.magic_open(flags)
    if not cookie:
        raise DlpdError("libmagic: cannot open a cookie")
    try:
        magic.magic_load(cookie, None)
    except magic.MagicException as exc:
        raise DlpdError(f"libmagic: cannot load its database: {exc}") from exc
    return cookie


def _buffer(cookie: object, head: bytes) -> str:
    try:
        result = magic.magic_buffer(cookie, head)
    except magic.MagicException:
        return _UNKNOWN
    if isinstance(result, bytes):
        result = result.decode("ascii", "replace")
    return str(result) if result else _UNKNOWN
