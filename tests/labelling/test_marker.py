"""`.dlpd-label` marker files: good ones, and each bad one a LabelError naming why."""

from __future__ import annotations

import pytest

from dlpd.errors import LabelError
from dlpd.labelling.marker import MAX_MARKER_BYTES, Marker, parse_marker


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('label = "export-controlled"\n', Marker(("export-controlled",), "")),
        ('label = "ec"\nnote = "EAR 9E003, project K-17"\n',
         Marker(("ec",), "EAR 9E003, project K-17")),
        ('label = ["ec", "cui", "ec"]\n', Marker(("ec", "cui"), "")),
        ('note = "社外秘"\nlabel = "a.b_c-1"\n', Marker(("a.b_c-1",), "社外秘")),
    ],
)
def test_good_markers(text: str, expected: Marker) -> None:
    assert parse_marker(text.encode()) == expected


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"label = export-controlled\n", "not TOML"),
        (b"[label\n", "not TOML"),
        (b"\xff\xfe label", "not UTF-8"),
        (b'label = "ec"\n#' + b"x" * MAX_MARKER_BYTES, "larger than 4096 bytes"),
        (b"", "no label"),
        (b'note = "only a note"\n', "no label"),
        (b"label = 3\n", "label must be"),
        (b"label = []\n", "label must be"),
        (b'label = ["ec", 3]\n', "label must be"),
        (b'label = "Export Controlled"\n', "is not a label name"),
        (b'label = "ec,cui"\n', "is not a label name"),
        (b'label = "ec"\nnote = 5\n', "note must be a string"),
        (b'label = "ec"\nnote = "' + b"n" * 1001 + b'"\n', "note longer"),
        (b'label = "ec"\nowner = "root"\n', "unknown key 'owner'"),
        (b'label = "ec"\n[label2]\nx = 1\n', "unknown key 'label2'"),
    ],
)
def test_bad_markers_say_why(data: bytes, says: str) -> None:
    with pytest.raises(LabelError, match=r"^\.dlpd-label: ") as info:
        parse_marker(data)
    assert says in str(info.value)
