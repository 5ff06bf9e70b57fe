"""Generators of documents and archives for the benchmark corpus: docx, xlsx, zip, tar.gz, gz.

Built by hand with ``zipfile``/``tarfile``/``gzip`` (fixed timestamps, so a seed gives the
same bytes). Their text is compressed, so a byte-level scanner cannot see a plant inside;
dlpd extracts it.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zipfile
from xml.sax.saxutils import escape

from corpus_plants import snippet_lines
from corpus_text import Pools, gen_csv_measure, gen_log, gen_txt

# Fixed timestamps keep archives byte-identical across runs with the same seed.
_ZIP_DATE = (2024, 1, 2, 3, 4, 6)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, _ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# Text compresses ~3x under deflate; generate that much so the file lands near its size.
_COMPRESSION = 3


def _paragraph_xml(text: str) -> str:
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def gen_docx(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    paragraphs = rng.choices(pools.paragraphs, k=max(1, size * _COMPRESSION // 380))
    if plant:
        lines = snippet_lines(plant, rng)
        at = rng.randrange(len(paragraphs) + 1)
        paragraphs[at:at] = lines
    body = "".join(_paragraph_xml(p) for p in paragraphs)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    return _zip(
        [
            (
                "[Content_Types].xml",
                _content_types(
                    "/word/document.xml",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                ),
            ),
            ("_rels/.rels", _rels("word/document.xml")),
            ("word/document.xml", document.encode()),
        ]
    )


def gen_xlsx(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    rows = max(2, size * _COMPRESSION // 60)
    values = rng.choices(pools.floats, k=rows * 3)
    cells = [
        f'<row r="{r + 2}"><c r="A{r + 2}" t="inlineStr"><is><t>S{r:06d}</t></is></c>'
        f'<c r="B{r + 2}"><v>{values[3 * r]}</v></c><c r="C{r + 2}"><v>{values[3 * r + 1]}</v></c>'
        f'<c r="D{r + 2}"><v>{values[3 * r + 2]}</v></c></row>'
        for r in range(rows)
    ]
    if plant:
        text = escape(" ".join(snippet_lines(plant, rng)))
        at = rng.randrange(len(cells) + 1)
        cells.insert(at, f'<row><c t="inlineStr"><is><t>{text}</t></is></c></row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>sample</t></is></c></row>'
        f"{''.join(cells)}</sheetData></worksheet>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    sheet_rel = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    return _zip(
        [
            (
                "[Content_Types].xml",
                _content_types(
                    "/xl/workbook.xml",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    extra='<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>',
                ),
            ),
            ("_rels/.rels", _rels("xl/workbook.xml")),
            ("xl/workbook.xml", workbook.encode()),
            ("xl/_rels/workbook.xml.rels", sheet_rel.encode()),
            ("xl/worksheets/sheet1.xml", sheet.encode()),
        ]
    )


def _content_types(main_part: str, main_type: str, extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{main_part}" ContentType="{main_type}"/>{extra}</Types>'
    ).encode()


def _rels(target: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{target}"/></Relationships>'
    ).encode()


def _text_members(
    pools: Pools, rng: random.Random, size: int, plant: str | None
) -> list[tuple[str, bytes]]:
    """A few text/CSV/log members totalling ~``size`` uncompressed; one carries the plant."""
    count = rng.randint(1, 6)
    carrier = rng.randrange(count)
    members = []
    for index in range(count):
        part = max(200, size // count)
        member_plant = plant if index == carrier else None
        name, generator = rng.choice(
            (("notes.txt", gen_txt), ("run.log", gen_log), ("table.csv", gen_csv_measure))
        )
        members.append((f"export/{index:02d}_{name}", generator(pools, rng, part, member_plant)))
    return members


def gen_zip(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    return _zip(_text_members(pools, rng, size * _COMPRESSION, plant))


def gen_targz(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in _text_members(pools, rng, size * _COMPRESSION, plant):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_704_164_646, 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)


def gen_loggz(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    body = gen_log(pools, rng, size * _COMPRESSION, plant)
    return gzip.compress(body, compresslevel=6, mtime=0)
