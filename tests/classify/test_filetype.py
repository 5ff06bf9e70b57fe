"""The MIME type of a buffer (``classify.filetype``) against libmagic's full answer: the
fast paths (no soft magic for text, compressed streams named by their prefix) must give
what libmagic itself gives. Real libmagic."""

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


@settings(max_examples=300, deadline=None)
@given(head=st.binary(min_size=1, max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_buffer_gets_libmagics_type_or_a_plainer_one(head: bytes) -> None:
    """Without soft magic a text may be named less exactly than libmagic's full database
    names it (text/plain for what a soft test calls text/x-c), never as another family."""
    ours, theirs = TYPER.mime(head), _libmagic(head)
    assert ours == theirs or (ours.startswith("text/") and theirs.startswith("text/")) or \
        ours == "application/octet-stream", (ours, theirs)
