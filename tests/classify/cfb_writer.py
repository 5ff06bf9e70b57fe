"""A minimal OLE2 compound-file writer for tests (Outlook .msg fixtures).

Nothing on this machine writes .msg files, so tests build them: 512-byte sectors, one FAT,
no mini stream — every stream is padded to the 4096-byte cutoff — and each storage's
children chained as right siblings. olefile (and Outlook's readers) accept that layout.
"""

from __future__ import annotations

import struct

SECTOR = 512
END, FREE, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
CUTOFF = 4096


class _Node:
    def __init__(self, name: str, kind: int, data: bytes = b"") -> None:
        self.name, self.kind, self.data = name, kind, data
        self.children: list[_Node] = []
        self.id = 0
        self.right = NOSTREAM
        self.start = END


def write_cfb(streams: dict[tuple[str, ...], bytes]) -> bytes:
    """``{("storage", "stream"): data}`` -> compound-file bytes. Data shorter than 4096
    bytes is padded with NULs (a stream under the cutoff would belong in a mini stream)."""
    root = _Node("Root Entry", 5)
    for path, data in streams.items():
        parent = root
        for name in path[:-1]:
            found = next((c for c in parent.children if c.name == name), None)
            if found is None:
                found = _Node(name, 1)
                parent.children.append(found)
            parent = found
        parent.children.append(_Node(path[-1], 2, data.ljust(CUTOFF, b"\0")))
    nodes: list[_Node] = []

    def number(node: _Node) -> None:
        node.id = len(nodes)
        nodes.append(node)
        for child in node.children:
            number(child)

    number(root)
    for node in nodes:
        for left, right in zip(node.children, node.children[1:], strict=False):
            left.right = right.id
    body = bytearray()
    fat: list[int] = []
    for node in nodes:
        if node.kind != 2:
            continue
        node.start = len(fat)
        count = -(-len(node.data) // SECTOR)
        fat.extend(range(node.start + 1, node.start + count))
        fat.append(END)
        body += node.data.ljust(count * SECTOR, b"\0")
    directory = bytearray()
    for node in nodes:
        directory += _entry(node)
    directory = directory.ljust(-(-len(directory) // SECTOR) * SECTOR, b"\0")
    first_dir = len(fat)
    dir_count = len(directory) // SECTOR
    fat.extend(range(first_dir + 1, first_dir + dir_count))
    fat.append(END)
    body += directory
    fat_count = 1
    while (len(fat) + fat_count) > fat_count * (SECTOR // 4):
        fat_count += 1
    first_fat = len(fat)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREE] * (fat_count * (SECTOR // 4) - len(fat)))
    body += struct.pack(f"<{len(fat)}I", *fat)
    difat = list(range(first_fat, first_fat + fat_count)) + [FREE] * (109 - fat_count)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, fat_count,
                            first_dir, 0, CUTOFF, END, 0, END, 0)
              + struct.pack("<109I", *difat))
    return bytes(header) + bytes(body)


def _entry(node: _Node) -> bytes:
    name = node.name.encode("utf-16-le") + b"\0\0"
    children = node.children
    child = children[0].id if children else NOSTREAM
    return struct.pack(
        "<64sHBBIII16sIQQIQ", name, len(name), node.kind, 1, NOSTREAM,
        node.right, child, b"\0" * 16, 0, 0, 0,
        node.start if node.kind == 2 else (END if node.kind == 5 else 0),
        len(node.data) if node.kind == 2 else 0,
    )
