"""The ACL xattr parser: the kernel's format in, an Acl or a reason out, never an
exception (the value is read from files other people control)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.exposure.acl import (
    GROUP,
    GROUP_OBJ,
    MASK,
    OTHER,
    USER,
    USER_OBJ,
    Acl,
    Malformed,
    encode,
    parse,
)

UNDEF = 0xFFFFFFFF


def _value(*entries: tuple[int, int, int], version: int = 2) -> bytes:
    return struct.pack("<I", version) + b"".join(struct.pack("<HHI", *e) for e in entries)


def test_getfacl_shaped_value_parses() -> None:
    # user::rw- user:1001:r-- group::r-- group:2000:rw- mask::r-- other::---
    value = _value((USER_OBJ, 6, UNDEF), (USER, 4, 1001), (GROUP_OBJ, 4, UNDEF),
                   (GROUP, 6, 2000), (MASK, 4, UNDEF), (OTHER, 0, UNDEF))
    assert parse(value) == Acl(user_obj=6, group_obj=4, other=0, mask=4,
                               users=((1001, 4),), groups=((2000, 6),))


def test_minimal_acl_has_no_mask() -> None:
    acl = parse(_value((USER_OBJ, 6, UNDEF), (GROUP_OBJ, 4, UNDEF), (OTHER, 4, UNDEF)))
    assert isinstance(acl, Acl)
    assert acl.mask is None and acl.effective_mask == 0o7


@pytest.mark.parametrize(("value", "why"), [
    (b"", "shorter than the 4-byte header"),
    (b"\x02\x00", "shorter than the 4-byte header"),
    (_value((USER_OBJ, 6, UNDEF), version=1), "version 1"),
    (_value((USER_OBJ, 6, UNDEF)) + b"\x00\x00\x00", "not a multiple of 8"),
    (_value((USER_OBJ, 6, UNDEF), (0x40, 4, 0), (GROUP_OBJ, 4, UNDEF), (OTHER, 0, UNDEF)),
     "unknown entry tag 0x40"),
    (_value((USER_OBJ, 0o17, UNDEF), (GROUP_OBJ, 4, UNDEF), (OTHER, 0, UNDEF)),
     "permission bits"),
    (_value((USER_OBJ, 6, UNDEF), (OTHER, 0, UNDEF)), "no group_obj entry"),
    (_value((USER_OBJ, 6, UNDEF), (GROUP_OBJ, 4, UNDEF), (OTHER, 0, UNDEF),
            (OTHER, 4, UNDEF)), "more than one other entry"),
    (_value((USER_OBJ, 6, UNDEF), (USER, 4, 7), (USER, 6, 7), (GROUP_OBJ, 4, UNDEF),
            (MASK, 6, UNDEF), (OTHER, 0, UNDEF)), "more than one user id 7"),
    (_value((USER_OBJ, 6, UNDEF), (USER, 4, 7), (GROUP_OBJ, 4, UNDEF), (OTHER, 0, UNDEF)),
     "named entries without a mask entry"),
    (_value(*[(USER, 4, n) for n in range(9000)]), "more than an xattr holds"),
])
def test_malformed_values_say_why(value: bytes, why: str) -> None:
    parsed = parse(value)
    assert isinstance(parsed, Malformed)
    assert why in parsed.reason


@given(st.binary(max_size=200))
def test_any_bytes_give_an_answer_never_an_exception(value: bytes) -> None:
    assert isinstance(parse(value), Acl | Malformed)


@given(st.lists(st.tuples(st.integers(0, 2**32 - 2), st.integers(0, 7)), max_size=8,
                unique_by=lambda e: e[0]),
       st.integers(0, 7), st.integers(0, 7), st.integers(0, 7))
def test_encode_parse_round_trip(users: list[tuple[int, int]], owner: int, group: int,
                                 other: int) -> None:
    acl = Acl(owner, group, other, mask=7 if users else None, users=tuple(sorted(users)))
    assert parse(encode(acl)) == acl
