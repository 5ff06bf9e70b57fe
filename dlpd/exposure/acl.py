"""POSIX ACLs from the kernel's extended attributes: ``system.posix_acl_access`` (who may
do what to the file now) and, on directories, ``system.posix_acl_default`` (what new files
in it get). Pure: bytes in, an ``Acl`` or a ``Malformed`` reason out, never an exception.

The value is the kernel's own format (``include/uapi/linux/posix_acl_xattr.h``), little
endian: a u32 version (2), then 8-byte entries of u16 tag, u16 permission bits (r=4, w=2,
x=1), u32 id (a uid for USER, a gid for GROUP, unused for the others). A valid ACL is what
``posix_acl_valid`` accepts: exactly one USER_OBJ, GROUP_OBJ and OTHER, at most one MASK,
a MASK whenever there is a named USER or GROUP entry, no id named twice. Anything else
is reported, not guessed at: a value we cannot read is not a value we may call closed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ACCESS_XATTR = "system.posix_acl_access"
DEFAULT_XATTR = "system.posix_acl_default"

VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
READ, WRITE, EXECUTE = 4, 2, 1

_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
# An xattr value is at most 64 KiB (XATTR_SIZE_MAX): 8191 entries after the header.
MAX_BYTES = 65536
_TAG_NAMES = {USER_OBJ: "user_obj", USER: "user", GROUP_OBJ: "group_obj", GROUP: "group",
              MASK: "mask", OTHER: "other"}


@dataclass(frozen=True, slots=True)
class Acl:
    """One access (or default) ACL. ``mask`` is None in a minimal ACL (three entries:
    the mode bits and nothing more); ``users``/``groups`` are (id, permission) pairs."""

    user_obj: int
    group_obj: int
    other: int
    mask: int | None = None
    users: tuple[tuple[int, int], ...] = ()
    groups: tuple[tuple[int, int], ...] = ()

    @property
    def effective_mask(self) -> int:
        """What the mask lets through to named users and the group class."""
        return 0o7 if self.mask is None else self.mask


@dataclass(frozen=True, slots=True)
class Malformed:
    """Why a value is not an ACL, said for an operator."""

    reason: str


class _Bad(Exception):
    """Why the value is no ACL: raised inside this module, returned as ``Malformed``."""


def parse(value: bytes) -> Acl | Malformed:
    """The ACL in ``value`` (an xattr's bytes), or why it is not one."""
    try:
        return _parse(value)
    except _Bad as why:
        return Malformed(str(why))


def _parse(value: bytes) -> Acl:
    if len(value) > MAX_BYTES:
        raise _Bad(f"{len(value)} bytes, more than an xattr holds ({MAX_BYTES})")
    if len(value) < _HEADER.size:
        raise _Bad("shorter than the 4-byte header")
    (version,) = _HEADER.unpack_from(value)
    if version != VERSION:
        raise _Bad(f"version {version}, expected {VERSION}")
    body = len(value) - _HEADER.size
    if body % _ENTRY.size:
        raise _Bad(f"{body} bytes of entries, not a multiple of {_ENTRY.size}")
    single: dict[int, int] = {}
    named: dict[int, dict[int, int]] = {USER: {}, GROUP: {}}
    for offset in range(_HEADER.size, len(value), _ENTRY.size):
        tag, perm, ident = _ENTRY.unpack_from(value, offset)
        if tag not in _TAG_NAMES:
            raise _Bad(f"unknown entry tag {tag:#x}")
        if perm & ~0o7:
            raise _Bad(f"permission bits {perm:#o} in a {_TAG_NAMES[tag]} entry")
        entries = named.get(tag, single)
        key = ident if tag in named else tag
        if key in entries:
            what = f"id {ident}" if tag in named else "entry"
            raise _Bad(f"more than one {_TAG_NAMES[tag]} {what}")
        entries[key] = perm
    for required in (USER_OBJ, GROUP_OBJ, OTHER):
        if required not in single:
            raise _Bad(f"no {_TAG_NAMES[required]} entry")
    if (named[USER] or named[GROUP]) and MASK not in single:
        raise _Bad("named entries without a mask entry")
    return Acl(user_obj=single[USER_OBJ], group_obj=single[GROUP_OBJ], other=single[OTHER],
               mask=single.get(MASK), users=tuple(sorted(named[USER].items())),
               groups=tuple(sorted(named[GROUP].items())))


def encode(acl: Acl) -> bytes:
    """The xattr value of ``acl`` (for tests and for checking a round trip)."""
    undefined = 0xFFFFFFFF
    entries = [(USER_OBJ, acl.user_obj, undefined)]
    entries += [(USER, perm, uid) for uid, perm in acl.users]
    entries.append((GROUP_OBJ, acl.group_obj, undefined))
    entries += [(GROUP, perm, gid) for gid, perm in acl.groups]
    if acl.mask is not None:
        entries.append((MASK, acl.mask, undefined))
    entries.append((OTHER, acl.other, undefined))
    return _HEADER.pack(VERSION) + b"".join(_ENTRY.pack(*e) for e in entries)
