"""The MIME type of a buffer (``classify.filetype``) against libmagic's full answer:
compressed streams named by their magic number must be named as libmagic itself names
them. Real libmagic. (The first pass without soft magic names less exactly by design:
b"\xb8   " is text/plain to it and application/x-dosexec to the full database.)"""

from __future__ import annotations

import bz2
import gzip
import lzma

import magic
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.filetype import MimeTyper

TYPER = MimeTyper()
_FULL = magic.Magic(mime=True)


def _libmagic(head: bytes) -> str:
    return _FULL.from_buffer(head)


@settings(max_examples=600, deadline=None)
@given(prefix=st.sampled_from([b"\x1f\x8b", b"\x1f\x8b\x08", b"BZh", b"BZh9", b"\xfd7zXZ\x00"]),
       rest=st.binary(max_size=300))
def test_compressed_streams_are_named_as_libmagic_names_them(prefix: bytes, rest: bytes) -> None:
    head = prefix + rest
    assert TYPER.mime(head) == _libmagic(head)


def test_real_compressed_files() -> None:
    text = b"harmless documentation\n" * 200
    for data, mime in ((gzip.compress(text), "application/gzip"),
                       (bz2.compress(text), "application/x-bzip2"),
                       (lzma.compress(text), "application/x-xz")):
        assert TYPER.mime(data) == _libmagic(data) == mime
