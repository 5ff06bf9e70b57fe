# Japanese documents use full-width brackets and punctuation as real Japanese documents do.
# ruff: noqa: RUF001
"""Markings against mentions: an acceptance corpus for export-control, CUI and 社外秘 text.

A document that *is* controlled carries its marking where a security officer looks for it:
a banner, a page header or footer, a document property, portion markings, a legend, or a
sentence about *this* document ("This technical data is subject to the EAR"). A document
that only *talks about* controlled data (a syllabus, a seminar announcement, a policy that
defines 極秘 and 社外秘, a bookshop list, a NOTICE saying software is not subject to the EAR,
a product page giving EAR99, a news story, a FAQ answering 非該当) is not.

``build(root)`` writes every document under ``root`` in the format such a document really
comes in (docx with header and footer parts, xlsx with page headers, pptx, odt, multi-page
PDF with Japanese text, HTML, plain text and Shift_JIS mail) and returns relative path ->
the exact categories expected at the default minimum confidence (medium). Written from
what a reviewer would expect of each document, not from any rule.

The English NDA notice (``marking/en/nda_disclosure_notice.docx``) is expected as
``jp-confidential``: issue 10 names the Japanese notice (秘密保持契約に基づき開示); the
same notice in a Japanese institute's English material is the same marking.
"""

from __future__ import annotations

import base64
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import corpus_formats as fmt

FIXED_MTIME = 1_704_164_646  # 2024-01-02
CATEGORIES = frozenset({"export-control", "cui", "jp-confidential"})

EC, CUI, JP = "export-control", "cui", "jp-confidential"


@dataclass(frozen=True)
class Doc:
    path: str
    categories: frozenset[str]
    make: Callable[[], bytes]
    why: str


DOCS: dict[str, Doc] = {}


def doc(path: str, *categories: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    unknown = set(categories) - CATEGORIES
    assert not unknown, f"{path}: unknown categories {unknown}"
    assert path not in DOCS, path

    def register(make: Callable[[], bytes]) -> Callable[[], bytes]:
        DOCS[path] = Doc(path, frozenset(categories), make, (make.__doc__ or "").strip())
        return make

    return register


def expected() -> dict[str, frozenset[str]]:
    return {path: d.categories for path, d in DOCS.items()}


def build(root: Path) -> dict[str, frozenset[str]]:
    root = Path(root)
    for d in DOCS.values():
        target = root / d.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(d.make())
        os.utime(target, (FIXED_MTIME, FIXED_MTIME))
    return expected()


# -- writers ----------------------------------------------------------------------------------

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument."
_CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_CUSTOM_REL = _R + "/custom-properties"
_CORE_NS = (
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)

Table = Sequence[Sequence[str]]
Block = str | Table


def _w_par(text: str) -> str:
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def _w_table(rows: Table) -> str:
    width = max(len(r) for r in rows)
    grid = '<w:gridCol w:w="2400"/>' * width
    body = "".join(
        "<w:tr>" + "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="2400" w:type="dxa"/></w:tcPr>{_w_par(c)}</w:tc>'
            for c in row
        ) + "</w:tr>"
        for row in rows
    )
    return (f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
            f"<w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>")


def _part_rels(rels: Sequence[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{escape(target)}"/>'
                   for i, t, target in rels)
    return f'{_XML}<Relationships xmlns="{_PKG_R}">{body}</Relationships>'.encode()


def _types(defaults: dict[str, str], overrides: dict[str, str]) -> bytes:
    d = "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items())
    o = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
    return (f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types">{d}{o}</Types>').encode()


def docx(
    blocks: Sequence[Block],
    *,
    header: Sequence[str] = (),
    footer: Sequence[str] = (),
    core: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> bytes:
    """A Word document as Word writes it: body paragraphs and tables in order, the page header
    and footer in their own parts (referenced from the section), optional document
    properties (core: title, subject, keywords...; custom: name -> text)."""
    body = "".join(_w_par(b) if isinstance(b, str) else _w_table(b) for b in blocks)
    refs, doc_rels = "", [("rIdStyles", _R + "/styles", "styles.xml")]
    parts: list[tuple[str, bytes]] = []
    overrides = {"/word/document.xml": _CT + "wordprocessingml.document.main+xml",
                 "/word/styles.xml": _CT + "wordprocessingml.styles+xml"}
    for kind, tag, lines in (("header", "hdr", header), ("footer", "ftr", footer)):
        if not lines:
            continue
        name = f"{kind}1.xml"
        xml = (f'{_XML}<w:{tag} xmlns:w="{_W}" xmlns:r="{_R}">'
               + "".join(_w_par(line) for line in lines) + f"</w:{tag}>")
        parts.append((f"word/{name}", xml.encode()))
        doc_rels.append((f"rId{kind}", f"{_R}/{kind}", name))
        overrides[f"/word/{name}"] = _CT + f"wordprocessingml.{kind}+xml"
        refs += f'<w:{kind}Reference w:type="default" r:id="rId{kind}"/>'
    document = (
        f'{_XML}<w:document xmlns:w="{_W}" xmlns:r="{_R}"><w:body>{body}'
        f'<w:sectPr>{refs}<w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1985" w:right="1701" w:bottom="1701" w:left="1701" w:header="851" '
        'w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>'
    )
    styles = (f'{_XML}<w:styles xmlns:w="{_W}"><w:style w:type="paragraph" w:default="1" '
              'w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>')
    entries = [
        ("word/document.xml", document.encode()),
        ("word/styles.xml", styles.encode()),
        ("word/_rels/document.xml.rels", _part_rels(doc_rels)),
        *parts,
    ]
    return _opc(entries, overrides, "word/document.xml", core, custom)


def _opc(
    entries: list[tuple[str, bytes]],
    overrides: dict[str, str],
    main: str,
    core: dict[str, str] | None,
    custom: dict[str, str] | None,
) -> bytes:
    """The package around the parts: content types, package relationships, properties."""
    rels = [("rId1", _R + "/officeDocument", main)]
    props: list[tuple[str, bytes]] = []
    if core is not None:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in core.items())
        xml = (f"{_XML}<cp:coreProperties {_CORE_NS}>{fields}"
               '<dc:creator>Research Office</dc:creator>'
               '<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-02T03:04:05Z</dcterms:created>'
               "</cp:coreProperties>")
        props.append(("docProps/core.xml", xml.encode()))
        overrides["/docProps/core.xml"] = (
            "application/vnd.openxmlformats-package.core-properties+xml")
        rels.append(("rId2", _CORE_REL, "docProps/core.xml"))
    if custom is not None:
        items = "".join(
            '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" '
            f'pid="{pid}" name="{escape(name)}"><vt:lpwstr>{escape(value)}</vt:lpwstr></property>'
            for pid, (name, value) in enumerate(custom.items(), 2)
        )
        xml = (f'{_XML}<Properties xmlns="{_R.rsplit("/", 1)[0]}/custom-properties" '
               'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
               f"{items}</Properties>")
        props.append(("docProps/custom.xml", xml.encode()))
        overrides["/docProps/custom.xml"] = _CT + "custom-properties+xml"
        rels.append(("rId3", _CUSTOM_REL, "docProps/custom.xml"))
    types = _types({"rels": "application/vnd.openxmlformats-package.relationships+xml",
                    "xml": "application/xml"}, overrides)
    return fmt.zip_bytes([("[Content_Types].xml", types), ("_rels/.rels", _part_rels(rels)),
                          *entries, *props])


def _repackage(
    package: bytes,
    *,
    edit: Callable[[str, bytes], bytes] = lambda _name, data: data,
    core: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> bytes:
    """A package from corpus_formats with parts edited and document properties added."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        parts = [(n, edit(n, zf.read(n))) for n in zf.namelist()
                 if n not in ("[Content_Types].xml", "_rels/.rels")]
        types = zf.read("[Content_Types].xml").decode()
        main_rel = zf.read("_rels/.rels").decode()
    overrides = dict(_OVERRIDE.findall(types))
    main = _TARGET.findall(main_rel)[0]
    return _opc(parts, overrides, main, core, custom)


def xlsx(
    rows: Sequence[Sequence[str | int | float]],
    sheet: str = "Sheet1",
    *,
    page_header: str = "",
    page_footer: str = "",
    core: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> bytes:
    """A workbook; ``page_header``/``page_footer`` are Excel header codes (``&C社外秘``),
    written to the sheet's headerFooter element as Excel does for page setup."""
    hf = ""
    if page_header or page_footer:
        hf = ("<headerFooter>"
              + (f"<oddHeader>{escape(page_header)}</oddHeader>" if page_header else "")
              + (f"<oddFooter>{escape(page_footer)}</oddFooter>" if page_footer else "")
              + "</headerFooter>")

    def edit(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml" and hf:
            return data.replace(b"</sheetData>", b"</sheetData>" + hf.encode())
        return data

    return _repackage(fmt.xlsx_bytes(rows, sheet), edit=edit, core=core, custom=custom)


def pptx(
    slides: Sequence[Sequence[str]],
    *,
    core: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
) -> bytes:
    """Slides of paragraphs (one text box each), optional document properties."""
    return _repackage(fmt.pptx_bytes([[[p] for p in s] for s in slides]),
                      core=core, custom=custom)


def odt(paragraphs: Sequence[str]) -> bytes:
    return fmt.odt_bytes([escape(p) for p in paragraphs])


# -- PDF: pages with a header, a body and a footer; Japanese through a Type0 font -------------


@dataclass(frozen=True)
class Page:
    body: Sequence[str]
    header: Sequence[str] = ()
    footer: Sequence[str] = ()


def _pdf_literal(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _is_latin(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _pdf_show(text: str, x: int, y: int, size: int) -> bytes:
    """One line: Helvetica (WinAnsi) when it can, else the Identity-H font, whose codes are
    the UTF-16 code units (the ToUnicode map below makes that the text)."""
    if _is_latin(text):
        return b"BT /F1 %d Tf %d %d Td %s Tj ET\n" % (size, x, y, _pdf_literal(text))
    assert all(ord(c) < 0x10000 for c in text), text
    return b"BT /F2 %d Tf %d %d Td <%s> Tj ET\n" % (size, x, y, text.encode("utf-16-be").hex()
                                                    .upper().encode())


def _to_unicode_cmap() -> bytes:
    # bfrange entries may only vary in the last byte: one range per high byte.
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)
              if not 0xD8 <= hi <= 0xDF]
    blocks = "".join(
        f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange\n"
        for chunk in (ranges[i : i + 100] for i in range(0, len(ranges), 100))
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{blocks}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()


def _pdf_text_string(text: str) -> bytes:
    if _is_latin(text) and text.isascii():
        return _pdf_literal(text)
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def pdf(pages: Sequence[Page], *, title: str = "", keywords: str = "") -> bytes:
    """A multi-page A4 PDF 1.6 as office suites export it: each page's content stream runs
    top to bottom (header, body, footer). Japanese lines use a Type0/Identity-H font with a
    ToUnicode map, so pdftotext and pypdf give back the text. Offsets are computed."""
    fixed = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages have numbers
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /IPAGothic /Encoding /Identity-H "
        b"/DescendantFonts [5 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /IPAGothic /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 6 0 R "
        b"/CIDToGIDMap /Identity /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /IPAGothic /Flags 4 /FontBBox [0 -141 1000 859] "
        b"/ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 859 /StemV 80 >>",
        None,  # ToUnicode stream
        b"<< /Producer (LibreOffice 7.4) /Creator (Writer)"
        + (b" /Title " + _pdf_text_string(title) if title else b"")
        + (b" /Keywords " + _pdf_text_string(keywords) if keywords else b"") + b" >>",
    ]
    cmap = zlib.compress(_to_unicode_cmap(), 9)
    fixed[6] = (b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(cmap) + cmap
                + b"\nendstream")
    objects: list[bytes] = [o or b"" for o in fixed]
    kids = []
    for page in pages:
        content = bytearray()
        y = 800
        for line in page.header:
            content += _pdf_show(line, 57, y, 9)
            y -= 12
        y = 760
        for line in page.body:
            content += _pdf_show(line, 57, y, 10)
            y -= 14
        y = 30 + 12 * (len(page.footer) - 1)
        for line in page.footer:
            content += _pdf_show(line, 57, y, 8)
            y -= 12
        stream = zlib.compress(bytes(content), 9)
        page_no = len(objects) + 1
        kids.append(page_no)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
            b"<< /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>" % (page_no + 1))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
                       + stream + b"\nendstream")
    objects[1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                  + b"] /Count %d >>" % len(kids))
    return fmt.pdf_objects(objects, info=8, version=b"1.6")


def html(title: str, body: Sequence[str], *, lang: str = "en") -> bytes:
    """A web page: ``body`` items are HTML fragments (already marked up)."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/assets/site.css">\n</head>\n<body>\n'
        '<header class="site"><nav><a href="/">Home</a> <a href="/about/">About</a></nav>'
        "</header>\n<main>\n" + "\n".join(body) + "\n</main>\n"
        '<footer class="site"><p>&copy; 2024</p></footer>\n</body>\n</html>\n'
    ).encode("utf-8")


def text(lines: Sequence[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


_OVERRIDE = re.compile(r'<Override PartName="([^"]+)" ContentType="([^"]+)"/>')
_TARGET = re.compile(r'Target="([^"]+)"')


# == mentions: documents that talk about controlled data (expected: nothing) ==================

# -- syllabi ----------------------------------------------------------------------------------

_SYLLABUS_EN = [
    "HIST 3420 / STS 3420: Arms, Technology and the State",
    "Export Controls from the Cold War to the Present - Fall 2024",
    "Instructor: Prof. Margaret Ellison, Department of History. Office hours: Tue 14:00-16:00.",
    "Course description",
    "This seminar traces how the United States has governed the movement of weapons, "
    "technology and know-how across its borders, from the Export Control Act of 1949 and "
    "CoCom to today's International Traffic in Arms Regulations (ITAR, 22 CFR 120-130) and "
    "Export Administration Regulations (EAR, 15 CFR 730-774). We read the Arms Export Control "
    "Act of 1976 alongside memoirs of diplomats, engineers and exporters, and ask who decides "
    "which items are subject to the ITAR and which fall under the Commerce Control List.",
    "Learning outcomes: by the end of the term students can explain the difference between "
    "the United States Munitions List (USML) and the Commerce Control List, describe what an "
    "Export Control Classification Number (ECCN) is and why most consumer goods are EAR99, "
    "and analyse a historical licensing dispute from primary sources.",
    "Weekly schedule",
    "Week 1. Introduction: what is an export? Tangible items, technical data and services.",
    "Week 2. CoCom and the Cold War embargo; the Export Control Act of 1949.",
    "Week 3. The Arms Export Control Act and the birth of the ITAR; the USML categories.",
    "Week 4. Dual use: the Export Administration Act of 1979 and the EAR.",
    "Week 5. The crypto wars: when encryption software was on the USML (Bernstein v. DOJ).",
    "Week 6. Universities and fundamental research: why published results are not subject "
    "to the EAR, and what deemed exports mean for laboratories.",
    "Week 7. Space technology and satellites: the 1999 transfer to the USML and its reform.",
    "Week 8. Export Control Reform (2009-2016): the 600 series and the move of items to the CCL.",
    "Week 9. Sanctions, entity lists and the politics of technology denial.",
    "Week 10. Student presentations.",
    "Assessment: participation 20%, two response papers 30%, final paper (4,000 words) 50%.",
    "Readings are on the course site. All course materials are published, publicly available "
    "sources; no export-controlled information is used or discussed in this course.",
]


@doc("mention/en/syllabus_history_itar_ear.docx")
def _syllabus_docx() -> bytes:
    """A university history syllabus about ITAR and the EAR (Word)."""
    return docx(_SYLLABUS_EN, header=["HIST 3420 Syllabus - Fall 2024"],
                footer=["Department of History - page 1"],
                core={"dc:title": "HIST 3420 Syllabus", "cp:keywords": "syllabus; export controls"})


@doc("mention/en/syllabus_technology_policy.pdf")
def _syllabus_pdf() -> bytes:
    """A public-policy syllabus on export controls, two PDF pages."""
    page1 = [
        "PUBP 6725 Technology, Security and Trade Policy (3 credits)",
        "School of Public Policy - Spring 2025 - Mondays 17:00-19:45",
        "",
        "This course examines how states control the spread of sensitive technology.",
        "Topics include the Wassenaar Arrangement, the Missile Technology Control Regime,",
        "the Nuclear Suppliers Group, the U.S. International Traffic in Arms Regulations",
        "and the Export Administration Regulations, and Japan's Foreign Exchange and",
        "Foreign Trade Act. We compare how an item becomes subject to the EAR, how an",
        "ECCN such as 3A001 or 5A002 is assigned, and why the category EAR99 exists.",
        "",
        "Unit 1 - Multilateral regimes and their control lists",
        "Unit 2 - The Arms Export Control Act, the USML and the role of DDTC",
        "Unit 3 - Dual-use controls: the Commerce Control List and license exceptions",
        "Unit 4 - Academic research, deemed exports and the fundamental research exclusion",
        "Unit 5 - Enforcement: penalties, voluntary disclosures and notable cases",
        "Unit 6 - Emerging technologies: AI chips, quantum computing, biotechnology",
    ]
    page2 = [
        "Assignments",
        "1. Policy memo (1,500 words): should 15 CFR 734.8 be narrowed or widened?",
        "2. Classification exercise: using only the public Commerce Control List, propose an",
        "   ECCN for a product of your choice and justify it; most answers will be EAR99.",
        "3. Final paper on a reform proposal, presented in the last week.",
        "",
        "Policies",
        "Late work loses one grade step per day. Accommodations through Disability Services.",
        "This course uses public sources only. Do not bring export-controlled material from",
        "your research group to class discussions.",
    ]
    return pdf([Page(page1, footer=["PUBP 6725 Syllabus - 1"]),
                Page(page2, footer=["PUBP 6725 Syllabus - 2"])],
               title="PUBP 6725 Syllabus")


@doc("mention/en/seminar_trade_controls.html")
def _syllabus_html() -> bytes:
    """A law-school seminar page about export controls and sanctions."""
    return html("LAW 812 International Trade Controls Seminar", [
        "<h1>LAW 812 - Seminar: International Trade Controls</h1>",
        "<p>Spring term, 2 credits. Enrollment limited to 14 students.</p>",
        "<h2>Description</h2>",
        "<p>Export controls sit at the meeting point of national security and trade law. The "
        "seminar covers the Arms Export Control Act and the International Traffic in Arms "
        "Regulations (ITAR), the Export Control Reform Act of 2018 and the Export Administration "
        "Regulations (EAR), and economic sanctions administered by OFAC. We study how agencies "
        "decide whether an item is subject to the ITAR or the EAR, how an ECCN is determined, "
        "and how companies respond to penalties.</p>",
        "<h2>Topics</h2><ul><li>Jurisdiction and classification: the order of review, the "
        "catch-all EAR99</li><li>Technical data and defense services; the USML</li>"
        "<li>Licensing, TAAs and license exceptions</li><li>Voluntary disclosures and "
        "enforcement</li><li>Academic freedom and the fundamental research exclusion</li></ul>",
        "<h2>Grading</h2><p>Seminar paper (70%), presentation (20%), participation (10%).</p>",
    ])


@doc("mention/ja/講義シラバス_安全保障と技術移転.html")
def _syllabus_ja() -> bytes:
    """A Japanese syllabus page on security export control (外為法, リスト規制)."""
    return html("科学技術と安全保障 シラバス", [
        "<h1>科学技術と安全保障（2単位・後期）</h1>",
        "<p>担当教員：山田 太郎（公共政策大学院）</p>",
        "<h2>授業の概要</h2>",
        "<p>本講義では、外国為替及び外国貿易法（外為法）に基づく安全保障貿易管理の仕組みを、"
        "国際輸出管理レジームの歴史とともに学ぶ。リスト規制とキャッチオール規制の違い、"
        "該非判定の考え方、みなし輸出管理の運用明確化、大学における技術提供の管理を扱う。</p>",
        "<h2>授業計画</h2><ol><li>ガイダンス：輸出管理とは何か</li>"
        "<li>冷戦期のココム規制</li><li>外為法と輸出貿易管理令・外為令</li>"
        "<li>リスト規制（輸出令別表第1の1項〜15項）</li><li>キャッチオール規制</li>"
        "<li>米国のITARとEAR、再輸出規制</li><li>大学・研究機関と技術提供（役務取引許可）</li>"
        "<li>事例研究：不正輸出事件と行政処分</li><li>まとめと期末レポート</li></ol>",
        "<h2>成績評価</h2><p>平常点30％、期末レポート70％。</p>",
        "<p>教科書は使用しない。資料は授業支援システムで配布する。</p>",
    ], lang="ja")


# -- seminar and training announcements -------------------------------------------------------

@doc("mention/en/export_compliance_seminar_announcement.txt")
def _seminar_en_txt() -> bytes:
    """An e-mailed announcement of an export-control compliance seminar."""
    return text([
        "Subject: Export Control Compliance Seminar - March 12 (registration open)",
        "",
        "Dear colleagues,",
        "",
        "The Office of Research Compliance invites faculty, postdocs, graduate students and "
        "research administrators to a two-hour seminar on export control compliance.",
        "",
        "When: Tuesday, March 12, 10:00-12:00",
        "Where: Science Library, Room 214, and online",
        "",
        "Topics:",
        "  - How the International Traffic in Arms Regulations (ITAR) and the Export",
        "    Administration Regulations (EAR) apply to university research",
        "  - Fundamental research and when it stops being fundamental",
        "  - Determining an ECCN; what EAR99 means; the USML categories",
        "  - Shipping equipment abroad, hand-carrying laptops, foreign visitors",
        "  - Technology control plans for export-controlled projects",
        "  - Marking and handling of ITAR-controlled technical data in sponsored projects",
        "",
        "The seminar counts towards the annual compliance training requirement.",
        "Register at https://research.example.edu/training/export by March 8.",
        "",
        "Questions: exportcontrol@example.edu",
        "",
        "Office of Research Compliance",
    ])


@doc("mention/en/export_control_workshop.html")
def _seminar_en_html() -> bytes:
    """An events page for an export-control workshop for researchers."""
    return html("Workshop: Export Controls for Researchers", [
        "<article><h1>Workshop: Export Controls for Researchers</h1>",
        "<p class=date>April 24, 2024 &middot; 13:30-16:30 &middot; Engineering Hall 101</p>",
        "<p>Traveling to a conference with a laptop? Hosting a visiting scholar? Buying a "
        "sensor that is controlled under ECCN 6A003? This hands-on workshop walks through the "
        "export control questions researchers meet every year.</p>",
        "<h2>Agenda</h2><ul><li>Overview of the EAR and the ITAR, and how jurisdiction is "
        "decided</li><li>Classification practice: from EAR99 to 3A001 and 9E003</li>"
        "<li>Restricted party screening</li><li>What an export-controlled project needs: "
        "technology control plans, secure storage, marking</li></ul>",
        "<p>Presented by the Export Control Office. Lunch is provided; please register.</p>",
        "</article>",
    ])


_SEMINAR_JA = [
    "令和6年5月10日",
    "教職員各位",
    "研究推進部 安全保障輸出管理室",
    "安全保障輸出管理説明会のお知らせ",
    "本学では、外国為替及び外国貿易法（外為法）に基づき、安全保障輸出管理規程を定めて"
    "貨物の輸出及び技術の提供を管理しています。このたび、教職員を対象として下記のとおり"
    "説明会を開催します。海外との共同研究、留学生・外国人研究者の受入れ、海外出張を"
    "予定している方は、ぜひご参加ください。",
    "記",
    "1．日時　令和6年6月5日（水）14時00分〜15時30分",
    "2．場所　本部棟2階 大会議室（オンライン併用）",
    "3．内容",
    "　（1）安全保障輸出管理の概要（リスト規制とキャッチオール規制）",
    "　（2）該非判定の手順と該非判定書の書き方",
    "　（3）みなし輸出管理と特定類型の該当性判断",
    "　（4）外国出張時の貨物の持出しと技術提供の注意点",
    "4．申込方法　5月31日（金）までに学内ポータルの申込フォームから登録してください。",
    "5．問合せ先　安全保障輸出管理室（内線 2345）",
    "以上",
]


@doc("mention/ja/安全保障輸出管理説明会のお知らせ.docx")
def _seminar_ja_docx() -> bytes:
    """The Japanese seminar announcement (安全保障輸出管理説明会のお知らせ) as a Word notice."""
    return docx(_SEMINAR_JA, footer=["安全保障輸出管理室"])


@doc("mention/ja/輸出管理説明会_案内メール.eml")
def _seminar_ja_mail() -> bytes:
    """The same announcement as a Shift_JIS (ISO-2022-free) mail, as Japanese mailers send."""
    head = [
        "From: export-control@example.ac.jp",
        "To: all-staff@example.ac.jp",
        "Subject: =?UTF-8?B?" + base64.b64encode(
            "【ご案内】安全保障輸出管理説明会".encode()).decode() + "?=",
        "Date: Fri, 10 May 2024 09:00:00 +0900",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="Shift_JIS"',
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    return text(head, "ascii") + text(_SEMINAR_JA, "cp932")


@doc("mention/ja/輸出管理研修チラシ.pdf")
def _seminar_ja_pdf() -> bytes:
    """A one-page PDF flyer for an export-control training session (Japanese)."""
    return pdf([Page([
        "安全保障輸出管理 研修会のご案内",
        "",
        "対象：研究者、研究支援職員、事務職員",
        "日時：2024年7月3日（水）13:30〜15:00",
        "会場：総合研究棟 セミナー室A",
        "",
        "研修内容",
        "・外為法と輸出貿易管理令の基礎",
        "・リスト規制品の該非判定の進め方（パラメータシートの使い方）",
        "・該非判定書の書き方と保存期間",
        "・キャッチオール規制と外国ユーザーリスト",
        "・技術提供に関する役務取引許可",
        "",
        "受講者には修了証を発行します。",
        "申込：学内ポータル　締切：6月28日",
    ], footer=["主催：研究推進部 安全保障輸出管理室"])], title="輸出管理研修会")


# -- information-security policies ------------------------------------------------------------

_POLICY_JA = [
    "情報セキュリティ基本規程",
    "第1章 総則",
    "第1条（目的）この規程は、本学が保有する情報資産を適切に保護するため、情報の分類と"
    "取扱いの基準を定めることを目的とする。",
    "第2条（適用範囲）この規程は、役員、教職員、学生及び本学の情報資産を利用する全ての者に"
    "適用する。",
    "第2章 情報の分類",
    "第5条（秘密区分）情報資産は、その重要度に応じて、次の表のとおり分類する。",
]
_POLICY_TABLE_JA = [
    ["区分", "定義", "取扱いの例"],
    ["極秘", "漏えいした場合に本学の存続に重大な影響を与える情報", "役員会資料、入試問題"],
    ["秘", "漏えいした場合に本学に大きな損害を与える情報", "人事評価、個人情報"],
    ["社外秘", "学内での利用に限る情報", "内部の会議資料、業務マニュアル"],
    ["公開", "一般に公開された情報", "広報資料、公開講座の案内"],
]
_POLICY_TAIL_JA = [
    "第6条（表示）文書の作成者は、前条の区分に応じた表示を文書の見やすい位置に行う。"
    "電子ファイルにあっては、ヘッダー又はファイルのプロパティにより表示する。",
    "第7条（取扱い）極秘及び秘に分類された情報は、施錠できる場所に保管し、持ち出す際は"
    "情報管理責任者の承認を得る。社外秘の情報は、学外の者に提供してはならない。",
    "第8条（廃棄）分類された情報を廃棄するときは、復元できない方法により行う。",
    "附則　この規程は、令和5年4月1日から施行する。",
]


@doc("mention/ja/情報セキュリティ基本規程.docx")
def _policy_ja_docx() -> bytes:
    """A public security policy defining 極秘/秘/社外秘 in a table (Word)."""
    return docx([*_POLICY_JA, _POLICY_TABLE_JA, *_POLICY_TAIL_JA],
                footer=["情報セキュリティ基本規程（公開版）"])


@doc("mention/ja/information_security_policy.html")
def _policy_ja_html() -> bytes:
    """The same policy published on the university web site."""
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
                   for r in _POLICY_TABLE_JA)
    return html("情報セキュリティ基本規程", [
        *(f"<p>{p}</p>" for p in _POLICY_JA), f"<table>{rows}</table>",
        *(f"<p>{p}</p>" for p in _POLICY_TAIL_JA),
    ], lang="ja")


@doc("mention/ja/情報分類ガイドライン.pdf")
def _policy_ja_pdf() -> bytes:
    """A company's public information-classification guideline (PDF) with the levels."""
    return pdf([Page([
        "情報分類ガイドライン（2024年版）",
        "",
        "1. 目的",
        "当社が取り扱う情報を重要度に応じて分類し、分類ごとの取扱いを定める。",
        "2. 分類",
        "当社の情報は、極秘、秘、社外秘、公開の4区分に分類する。",
        "　極秘：経営に重大な影響を与える情報（例：未公表の合併計画）",
        "　秘：特定の関係者に限って共有する情報（例：顧客との契約条件）",
        "　社外秘：社内で共有してよいが社外に出さない情報（例：社内規程）",
        "　公開：公開済みの情報（例：プレスリリース）",
        "3. 表示方法",
        "分類は文書の右上又はヘッダーに表示する。電子メールでは件名の先頭に表示する。",
        "4. 見直し",
        "情報の作成者は、年1回分類を見直す。",
    ], footer=["公開資料　情報セキュリティ委員会"])], title="情報分類ガイドライン")


_CUI_POLICY = [
    "Controlled Unclassified Information (CUI) Program Guide for Researchers",
    "1. Purpose. This guide explains how the university identifies, marks, stores and shares "
    "Controlled Unclassified Information received under federal contracts, as required by "
    "32 CFR Part 2002 and DFARS 252.204-7012.",
    "2. What is CUI? CUI is information the government creates or possesses that a law, "
    "regulation or government-wide policy requires to be safeguarded. The CUI Registry lists "
    "the categories, for example Export Controlled (EXPT), Privacy (PRVCY) and Controlled "
    "Technical Information (CTI).",
    "3. Marking. A CUI document carries a banner marking at the top and bottom of each page. "
    "For CUI Basic the banner is simply the word CUI; for CUI Specified the banner adds the "
    "category, for example CUI//SP-EXPT for export-controlled research data or CUI//SP-PRVCY "
    "for privacy information. The first page also carries a designation indicator that names "
    "the agency that controls the information, the CUI category, any dissemination control "
    "and a point of contact.",
    "4. Portion marking. Portion markings such as (CUI) or (U) are optional but, when used, "
    "every portion of the document must be marked.",
    "5. Storage and transmission. Store CUI only in the Secure Research Enclave. Do not e-mail "
    "CUI outside the enclave. Report suspected incidents to the Information Security Office "
    "within one hour.",
    "6. Training. Everyone working on a CUI project completes annual CUI training.",
    "Contact: research-security@example.edu",
]


@doc("mention/en/cui_program_guide.docx")
def _cui_policy_docx() -> bytes:
    """A university CUI program guide that defines the categories and gives banner examples."""
    return docx(_CUI_POLICY, footer=["Office of Research Security - public guidance"])


@doc("mention/en/cui_marking_faq.html")
def _cui_policy_html() -> bytes:
    """A public web FAQ about CUI marking, with the categories as examples."""
    return html("CUI Marking FAQ", [
        "<h1>Frequently asked questions about CUI</h1>",
        *(f"<p>{p}</p>" for p in _CUI_POLICY[1:5]),
        "<h2>Which categories do we see most?</h2><p>In sponsored research, Controlled "
        "Technical Information (CTI), Export Controlled (EXPT) and Privacy (PRVCY). A DoD "
        "contract may require the banner CUI//SP-CTI on deliverables.</p>",
    ])


@doc("mention/en/cui_awareness_training.pdf")
def _cui_policy_pdf() -> bytes:
    """CUI awareness training handout (PDF) listing marking examples."""
    return pdf([Page([
        "CUI Awareness Training - Participant Handout",
        "",
        "Learning objectives",
        "- Recognise Controlled Unclassified Information in your project",
        "- Know the marking requirements of 32 CFR 2002.20",
        "- Know where CUI may be stored and how it is destroyed",
        "",
        "Marking examples (from the DoD CUI Marking Aid)",
        "- CUI Basic: banner 'CUI'",
        "- CUI Specified, export control: banner 'CUI//SP-EXPT'",
        "- Limited dissemination: 'CUI//NOFORN' or 'CUI//FEDCON'",
        "",
        "Quiz: which banner does a report with export-controlled data need?",
    ], footer=["Training material - not CUI"])], title="CUI Awareness Training")


# -- library and bookshop lists ---------------------------------------------------------------

def _isbn13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str(-total % 10)


_BOOKS_JA = [
    ("極秘指令", "高村 薫子", "文藝春夏社", "978416300011"),
    ("社外秘ファイル", "堂場 一", "講談書房", "978406500012"),
    ("関係者外秘", "今野 敏夫", "新潮舎", "978410300013"),
    ("マル秘おばあちゃんのレシピ帖", "小林 花", "主婦の書房", "978407400014"),
    ("輸出管理の実務", "佐藤 一郎", "商事法務社", "978478570015"),
    ("取扱注意 ― 刑事・鳴海の事件簿", "東 圭一", "光文館", "978433400016"),
]


@doc("mention/ja/書店_新刊案内.html")
def _bookshop_ja() -> bytes:
    """A bookshop's new-release page with novels titled 極秘, 社外秘, 関係者外秘."""
    items = "".join(
        f"<li><span class=title>『{t}』</span> {a}（{p}） ISBN {_isbn13(i)} "
        "税込1,980円</li>" for t, a, p, i in _BOOKS_JA)
    return html("今月の新刊案内 | ことのは書店", [
        "<h1>今月の新刊案内</h1><p>ミステリー・警察小説を中心に、話題の新刊をご紹介します。</p>",
        f"<ul class=books>{items}</ul>",
        "<p>店頭在庫は各店舗にお問い合わせください。</p>",
    ], lang="ja")


@doc("mention/ja/図書館_新着図書リスト.xlsx")
def _library_ja_xlsx() -> bytes:
    """A library's new-acquisitions list (Excel) with those titles."""
    rows: list[list[str | int | float]] = [
        ["書名", "著者", "出版社", "ISBN", "請求記号", "配架場所"]]
    rows += [[t, a, p, _isbn13(i), f"913.6/{a[:1]}", "2階 一般図書"] for t, a, p, i in _BOOKS_JA]
    return xlsx(rows, "新着図書")


@doc("mention/en/library_new_acquisitions.csv")
def _library_en_csv() -> bytes:
    """A public library's new-acquisitions export with a thriller titled Export Controlled."""
    rows = [
        ("Export Controlled: A Thriller", "Daniel Harper", "Blackwell Press", "978031600011"),
        ("EXPORT CONTROLLED (large print)", "Daniel Harper", "Thorndike", "978143280012"),
        ("Top Secret Twenty-One", "Janet Evanovich", "Ballantine", "978034554013"),
        ("Classified: The Untold Story", "A. L. Morgan", "Norton", "978039300014"),
        ("The Confidential Agent", "Graham Greene", "Penguin", "978014018015"),
    ]
    lines = ["title,author,publisher,isbn,call_number,branch,date_added"]
    lines += [f'"{t}","{a}",{p},{_isbn13(i)},FIC {a.split()[-1][:3].upper()},Central,2024-03-1{n}'
              for n, (t, a, p, i) in enumerate(rows)]
    return text(lines)


# -- NOTICE and README files ------------------------------------------------------------------

@doc("mention/en/NOTICE")
def _notice_apache() -> bytes:
    """An Apache-style NOTICE with the cryptographic software export paragraph."""
    return text([
        "Example Crypto Toolkit",
        "Copyright 2019-2024 The Example Software Foundation",
        "",
        "This product includes software developed at",
        "The Example Software Foundation (https://www.example.org/).",
        "",
        "Export Control Notice",
        "",
        "This distribution includes cryptographic software. The country in which you currently",
        "reside may have restrictions on the import, possession, use, and/or re-export to",
        "another country, of encryption software. BEFORE using any encryption software, please",
        "check your country's laws, regulations and policies concerning the import, possession,",
        "or use, and re-export of encryption software, to see if this is permitted.",
        "",
        "The U.S. Government Department of Commerce, Bureau of Industry and Security (BIS), has",
        "classified this software as Export Commodity Control Number (ECCN) 5D002.C.1, which",
        "includes information security software using or performing cryptographic functions",
        "with asymmetric algorithms. The form and manner of this distribution makes it eligible",
        "for export under the License Exception ENC Technology Software Unrestricted (TSU)",
        "exception (see the BIS Export Administration Regulations, Section 740.13) for both",
        "object code and source code.",
    ])


@doc("mention/en/README.md")
def _readme_not_subject() -> bytes:
    """A research code README saying the software is not subject to the EAR."""
    return text([
        "# fluxsolve",
        "",
        "A finite-volume solver for compressible flows, developed at the Example University",
        "Aerospace Computing Lab.",
        "",
        "## Installation",
        "",
        "    pip install fluxsolve",
        "",
        "## Usage",
        "",
        "    fluxsolve run cases/nozzle.yaml --threads 8",
        "",
        "## Export control",
        "",
        "fluxsolve is published, publicly available open-source software. It is therefore not",
        "subject to the EAR (15 CFR 734.3(b)(3) and 734.7), and no export license is required",
        "to download or use it. Had it been subject to the EAR, it would be classified EAR99.",
        "Do not contribute code derived from ITAR-controlled or other export-controlled",
        "projects.",
        "",
        "## License",
        "",
        "BSD-3-Clause. See LICENSE.",
    ])


@doc("mention/en/EXPORT.txt")
def _export_tsu() -> bytes:
    """An open-source project's export statement: 5D002, License Exception TSU."""
    return text([
        "Export classification of OpenCipherLib",
        "",
        "OpenCipherLib is publicly available encryption source code. It is classified under",
        "ECCN 5D002 and is eligible for export under License Exception TSU (15 CFR 740.13(e)).",
        "A notification was sent to BIS and the ENC Encryption Request Coordinator on",
        "2 February 2021, as 15 CFR 742.15(b) requires for publicly available encryption",
        "source code. The source code is not subject to the EAR once it is publicly available;",
        "binaries built from it are 5D002 and may be exported under TSU.",
        "",
        "This statement is informational and is not legal advice.",
    ])


@doc("mention/en/copyright")
def _copyright_crypto() -> bytes:
    """A package copyright file whose export paragraph says downloading may be an export
    subject to the EAR: a licence notice shipped with public software, not a marking."""
    return text([
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        "Upstream-Name: tinykrb",
        "Source: https://tinykrb.example.org/",
        "",
        "Files: *",
        "Copyright: 2003-2024 The tinykrb project contributors",
        "License: BSD-3-Clause",
        "",
        "Export notice from upstream:",
        " Obtaining or redistributing this software may amount to an export of cryptographic",
        " software from the United States, which is subject to the U.S. Export Administration",
        " Regulations (EAR), 15 CFR 730-774. Other laws may also apply. Whoever exports the",
        " software is responsible for complying with them, including obtaining any license the",
        " U.S. government requires.",
        "",
        "License: BSD-3-Clause",
        " Redistribution and use in source and binary forms, with or without modification, are",
        " permitted provided that the conditions of the BSD 3-clause license are met.",
    ])


@doc("mention/ja/README.ja.md")
def _readme_ja() -> bytes:
    """A Japanese open-source README: 外為法上の該非判定は非該当."""
    return text([
        "# kasumi-net",
        "",
        "日本語テキスト処理のためのニューラルネットワークライブラリです。",
        "",
        "## インストール",
        "",
        "    pip install kasumi-net",
        "",
        "## 輸出管理について",
        "",
        "本ソフトウェアは公知の技術として一般に公開されており、外為法上の規制対象外です。",
        "当研究室で行った該非判定の結果も非該当（リスト規制非該当）です。",
        "利用にあたって輸出許可は不要です。",
        "",
        "## ライセンス",
        "",
        "Apache License 2.0",
    ])


# -- public product pages ---------------------------------------------------------------------

@doc("mention/en/product_usb_daq.html")
def _product_ear99() -> bytes:
    """A product web page whose specification table says ECCN: EAR99."""
    return html("USB-6210 Data Acquisition Module", [
        "<h1>USB-6210 Bus-Powered Multifunction DAQ</h1>",
        "<p>16 analog inputs, 250 kS/s, 16-bit resolution, 4 digital inputs and outputs.</p>",
        "<table class=spec><tr><th>Part number</th><td>779676-01</td></tr>"
        "<tr><th>Country of origin</th><td>Hungary</td></tr>"
        "<tr><th>ECCN</th><td>EAR99</td></tr>"
        "<tr><th>HTS</th><td>8471.80.1000</td></tr>"
        "<tr><th>Warranty</th><td>1 year</td></tr></table>",
        "<p>Export classification: ECCN: EAR99. Schedule B: 8471.80.1000.</p>",
        "<p><a href=/cart>Add to cart</a></p>",
    ])


@doc("mention/en/product_network_switch.html")
def _product_5a992() -> bytes:
    """A network switch page: Export classification 5A992.c, CCATS number."""
    return html("ES-2448 Managed Ethernet Switch", [
        "<h1>ES-2448 48-Port Managed Gigabit Switch</h1>",
        "<ul><li>48 x 1 GbE, 4 x 10 GbE SFP+</li><li>SSH, SNMPv3, TLS 1.3 management</li></ul>",
        "<h2>Compliance</h2>",
        "<dl><dt>Export classification</dt><dd>5A992.c (mass market encryption, "
        "License Exception ENC 740.17(b)(1))</dd><dt>CCATS</dt><dd>G123456</dd>"
        "<dt>Certifications</dt><dd>FCC Class A, CE, UL 62368-1</dd></dl>",
        "<p>This product contains encryption. Export, re-export and transfer are governed "
        "by the U.S. Export Administration Regulations.</p>",
    ])


@doc("mention/ja/製品ページ_輸出管理情報.html")
def _product_ja() -> bytes:
    """A Japanese product page: 該非判定 非該当, 輸出令別表第1."""
    return html("高精度温度計 TM-500 | 製品情報", [
        "<h1>高精度温度計 TM-500</h1>",
        "<p>測定範囲 −200〜850℃、分解能0.001℃。研究用途向けの高精度温度計です。</p>",
        "<h2>輸出管理情報</h2>",
        "<table><tr><th>該非判定</th><td>非該当</td></tr>"
        "<tr><th>根拠</th><td>輸出令別表第1の1〜15項（リスト規制）のいずれにも該当しない</td></tr>"
        "<tr><th>米国ECCN</th><td>EAR99</td></tr></table>",
        "<p>該非判定書（非該当証明書）が必要な場合は、営業担当までお問い合わせください。</p>",
    ], lang="ja")


# -- news -------------------------------------------------------------------------------------

@doc("mention/en/news_itar_violation.html")
def _news_en_html() -> bytes:
    """A news article about a professor convicted of ITAR violations."""
    return html("Former professor sentenced for export violations", [
        "<article><h1>Former professor sentenced for sharing military drone data</h1>",
        "<p class=byline>By Staff Reporter &middot; July 2, 2024</p>",
        "<p>A former engineering professor was sentenced on Tuesday to four years in prison "
        "for giving foreign graduate students access to ITAR-controlled technical data from an "
        "Air Force research contract on plasma actuators for unmanned aircraft.</p>",
        "<p>Prosecutors said the professor knew the data was export-controlled and subject to "
        "the ITAR, and that the contract required a license from the State Department before "
        "the data could be shared with foreign persons. The jury found him guilty of conspiracy "
        "and of violating the Arms Export Control Act.</p>",
        "<p>The case alarmed universities, which rely on the fundamental research exclusion. "
        "Compliance officers said that contracts carrying export-control clauses need a "
        "technology control plan before work begins.</p>",
        "</article>",
    ])


@doc("mention/en/doj_press_release.txt")
def _news_en_txt() -> bytes:
    """A DOJ-style press release about illegal exports of controlled items."""
    return text([
        "FOR IMMEDIATE RELEASE",
        "Company and Executive Plead Guilty to Illegally Exporting Controlled Electronics",
        "",
        "WASHINGTON - A California electronics distributor and its president pleaded guilty",
        "today to conspiring to export items subject to the Export Administration Regulations",
        "(EAR) to a prohibited end user without the required licenses.",
        "",
        "According to court documents, between 2019 and 2022 the company shipped",
        "field-programmable gate arrays classified under ECCN 3A001.a.7 and analog-to-digital",
        "converters classified under ECCN 3A001.a.5 through intermediaries in Hong Kong,",
        "falsely declaring the items as EAR99 on export documents.",
        "",
        "Sentencing is scheduled for October 15. The president faces up to 20 years in",
        "prison. The case was investigated by the Department of Commerce's Office of",
        "Export Enforcement and Homeland Security Investigations.",
    ])


@doc("mention/ja/ニュース_外為法違反.html")
def _news_ja() -> bytes:
    """A Japanese news article: a company indicted for exports under リスト規制."""
    return html("精密機器メーカー社長らを外為法違反の疑いで逮捕", [
        "<article><h1>精密機器メーカー社長らを外為法違反の疑いで逮捕</h1>",
        "<p>2024年9月3日</p>",
        "<p>警視庁公安部は3日、生物兵器の製造に転用可能な噴霧乾燥機を経済産業大臣の許可を"
        "得ずに輸出したとして、外国為替及び外国貿易法（外為法）違反の疑いで、精密機器メーカー"
        "の社長ら3人を逮捕した。</p>",
        "<p>同部によると、装置は輸出貿易管理令のリスト規制に該当する性能を持つとされる。"
        "会社側は「自社の該非判定では非該当だった」と容疑を否認している。</p>",
        "<p>専門家は「該非判定書の根拠を社内で検証する体制が重要だ」と指摘している。</p>",
        "</article>",
    ], lang="ja")


# -- training slides --------------------------------------------------------------------------

@doc("mention/en/export_control_training.pptx")
def _training_pptx_en() -> bytes:
    """Compliance training slides listing marking examples in running text."""
    return pptx([
        ["Export Control Training for Research Staff", "Office of Research Compliance, 2024"],
        ["Why it matters", "Violations of the Arms Export Control Act carry criminal "
         "penalties; the EAR applies to dual-use items and technology."],
        ["Marking controlled documents", "Controlled technical data carries a legend in the "
         "header or footer of every page.", "Example legend: \"EXPORT CONTROLLED - ITAR\".",
         "DoD contracts use the warning \"This document contains technical data whose export "
         "is restricted by the Arms Export Control Act\" in the footer."],
        ["Classification basics", "USML category or ECCN (for example 9E003); items that are "
         "not on any list are EAR99."],
        ["Questions?", "exportcontrol@example.edu"],
    ], core={"dc:title": "Export Control Training", "cp:keywords": "training; compliance"})


@doc("mention/ja/輸出管理研修資料.pptx")
def _training_pptx_ja() -> bytes:
    """Japanese export-control training slides (該非判定の流れ, 表示の例)."""
    return pptx([
        ["安全保障輸出管理 基礎研修", "研究推進部 安全保障輸出管理室"],
        ["輸出管理とは", "外為法に基づき、大量破壊兵器や通常兵器の開発に転用されうる貨物・技術の"
         "輸出を管理する制度です。"],
        ["該非判定の流れ", "1. 貨物・技術の特定", "2. 輸出令別表第1・外為令別表との照合",
         "3. 該非判定書の作成と上長の確認", "4. 該当の場合は輸出許可・役務取引許可の申請"],
        ["管理対象技術の表示", "管理対象の資料には、表紙とヘッダーに管理区分を表示します。",
         "表示の例：「輸出管理対象技術」「社外秘」"],
        ["お問い合わせ", "安全保障輸出管理室（内線2345）"],
    ])


# -- FAQ, blog, templates ---------------------------------------------------------------------

@doc("mention/ja/よくある質問_輸出管理.html")
def _faq_ja() -> bytes:
    """A product FAQ where 非該当 is the answer."""
    return html("よくあるご質問（輸出管理）", [
        "<h1>よくあるご質問</h1>",
        "<dl><dt>Q. 本製品は輸出規制の対象ですか。</dt>"
        "<dd>A. 本製品はリスト規制非該当です。キャッチオール規制については、輸出先と用途に"
        "応じてお客様ご自身でご確認ください。</dd>",
        "<dt>Q. 該非判定書は発行してもらえますか。</dt><dd>A. はい。型番をお知らせいただければ、"
        "該非判定書（非該当）を発行します。</dd>",
        "<dt>Q. 米国EARの対象ですか。</dt><dd>A. 米国原産品を含まないため、EARの対象外です。</dd>"
        "</dl>",
    ], lang="ja")


@doc("mention/en/faq_export.html")
def _faq_en() -> bytes:
    """An English product FAQ: not export controlled, EAR99, NLR."""
    return html("Export FAQ", [
        "<h1>Export and shipping FAQ</h1>",
        "<h3>Is the LX-200 spectrometer export controlled?</h3>",
        "<p>No. The LX-200 is classified EAR99 and ships under NLR (no license required) to "
        "most destinations. It is not subject to the ITAR.</p>",
        "<h3>Can you provide an export classification letter?</h3>",
        "<p>Yes, contact trade-compliance@example.com with your order number.</p>",
    ])


@doc("mention/ja/ブログ_秘密保持契約の結び方.html")
def _blog_nda_ja() -> bytes:
    """A blog post on how to conclude an NDA, without any disclosure notice."""
    return html("秘密保持契約（NDA）の結び方と注意点", [
        "<article><h1>秘密保持契約（NDA）の結び方と注意点</h1>",
        "<p>共同研究や業務委託の前に、秘密保持契約（NDA）を結ぶことは珍しくありません。"
        "この記事では、大学の研究者が企業とNDAを結ぶときに確認したいポイントを解説します。</p>",
        "<h2>1. 秘密情報の定義</h2><p>何を秘密情報とするかを明確にします。"
        "「秘密である旨を表示した資料」に限定するのか、口頭で開示した情報も含めるのかで、"
        "管理の負担が大きく変わります。</p>",
        "<h2>2. 目的外使用の禁止と有効期間</h2><p>秘密保持義務の期間は、契約終了後2〜5年と"
        "するのが一般的です。</p>",
        "<h2>3. 学生が関わる場合</h2><p>学生は大学の雇用者ではないため、個別に誓約書を"
        "取ることを検討します。</p>",
        "<p>契約書のひな形は産学連携本部のウェブサイトからダウンロードできます。</p></article>",
    ], lang="ja")


@doc("mention/en/blog_how_to_write_an_nda.md")
def _blog_nda_en() -> bytes:
    """An English blog post about NDAs."""
    return text([
        "# How to write a mutual NDA for a research collaboration",
        "",
        "Before a company shares unpublished data with your lab, it will usually ask for a",
        "non-disclosure agreement. Here is what to look for.",
        "",
        "## Define confidential information narrowly",
        "",
        "Prefer a definition limited to information marked as confidential at disclosure,",
        "or identified as confidential in writing within 30 days of an oral disclosure.",
        "",
        "## Protect publication rights",
        "",
        "Universities must be able to publish. Allow a 30-60 day review period for the",
        "sponsor, not a veto.",
        "",
        "## Term",
        "",
        "Three to five years is common. Trade secrets may need longer protection.",
    ])


@doc("mention/en/purchase_requisition_template.docx")
def _template_en_docx() -> bytes:
    """A blank procurement form with an empty export classification field."""
    return docx([
        "Purchase Requisition - Research Equipment",
        "Complete all fields and send to procurement@example.edu.",
        [["Requester", "________________"], ["Department", "________________"],
         ["Item description", "________________"], ["Vendor", "________________"],
         ["Export classification (ECCN / USML category)", "________________"],
         ["Will the item be shipped or taken abroad?", "Yes / No"],
         ["Budget code", "________________"]],
        "If the vendor lists an ECCN other than EAR99, or the item is on the USML, the Export "
        "Control Office will contact you before the order is placed.",
    ], footer=["Form PR-7 (rev. 2024-01)"])


@doc("mention/en/vendor_onboarding_form.xlsx")
def _template_en_xlsx() -> bytes:
    """A supplier onboarding workbook with an empty Export classification column."""
    return xlsx([
        ["Supplier onboarding - product list"],
        ["Part number", "Description", "Country of origin", "Export classification", "HTS code"],
        ["", "", "", "____", ""],
        ["", "", "", "____", ""],
        ["Instructions: enter the ECCN (e.g. 3A991) or EAR99 for every product."],
    ], "Products")


@doc("mention/ja/物品購入依頼書_様式.xlsx")
def _template_ja_xlsx() -> bytes:
    """A blank Japanese purchase request form with an empty 該非 field."""
    return xlsx([
        ["物品購入依頼書"],
        ["依頼日", "　年　月　日"], ["所属", ""], ["氏名", ""], ["品名・型番", ""],
        ["数量", ""], ["輸出管理（該非判定）", "□該当　□非該当　□未確認"],
        ["※海外への持出し予定がある場合は、安全保障輸出管理室に事前に相談してください。"],
    ], "様式")


@doc("mention/en/export_control_refresher.odp")
def _training_odp() -> bytes:
    """Refresher slides (LibreOffice Impress) on classification and marking duties."""
    return fmt.odp_bytes([
        ["Export Control Refresher 2024", "Research Compliance Office"],
        ["Jurisdiction first: is the item on the USML (ITAR) or subject to the EAR?",
         "No list entry and subject to the EAR: EAR99, usually no license required."],
        ["Marking duties", "Controlled documents carry an export-control legend on every "
         "page; the project's technology control plan says which legend to use."],
        ["Where to ask", "exportcontrol@example.edu, extension 4410"],
    ])


@doc("mention/ja/FAQ_該非判定.txt")
def _faq_ja_txt() -> bytes:
    """A plain-text FAQ from an export-control office: answers are 非該当 / not controlled."""
    return text([
        "安全保障輸出管理 よくある質問（研究者向け）",
        "",
        "Q1. 市販のノートPCを海外出張に持っていく場合、該非判定は必要ですか。",
        "A1. 一般的な市販PCは、暗号機能に関する例外により多くの場合リスト規制非該当です。"
        "ただし、管理対象技術のデータが保存されている場合は事前に相談してください。",
        "",
        "Q2. 論文として公開予定の研究成果を海外の共同研究者に送ってよいですか。",
        "A2. 公知となる技術の提供は、役務取引許可が不要な場合があります。該非判定書の作成は"
        "不要ですが、判断に迷う場合は輸出管理室に確認してください。",
        "",
        "Q3. メーカーから「該非判定：非該当」の回答がありました。そのまま使えますか。",
        "A3. はい。メーカーの該非判定書（非該当）を購入記録とともに保存してください。",
    ])


@doc("mention/ja/秘密保持契約書_ひな形.docx")
def _nda_template_ja() -> bytes:
    """An NDA contract template (秘密保持契約書 ひな形): the agreement, not a disclosure notice."""
    return docx([
        "秘密保持契約書（ひな形）",
        "国立大学法人〇〇大学（以下「甲」という。）と〇〇株式会社（以下「乙」という。）とは、"
        "甲乙間の共同研究の検討（以下「本目的」という。）に関し、相互に開示する秘密情報の"
        "取扱いについて、次のとおり秘密保持契約（以下「本契約」という。）を締結する。",
        "第1条（秘密情報）本契約において秘密情報とは、開示者が受領者に対し、秘密である旨を"
        "明示して開示した技術上又は営業上の情報をいう。",
        "第2条（秘密保持義務）受領者は、秘密情報を本目的以外に使用せず、第三者に開示しない。",
        "第3条（有効期間）本契約の有効期間は、締結日から3年間とする。",
        "本契約締結の証として本書2通を作成し、甲乙記名押印の上、各1通を保有する。",
        "　　年　　月　　日",
        "甲：　　　　　　　　　　乙：",
    ], footer=["産学連携本部 契約書ひな形 Ver.3"])


# -- quoting a marking as an example ----------------------------------------------------------

@doc("mention/en/handling_guide_quotes_markings.md")
def _quoting_en() -> bytes:
    """A handling guide that quotes markings as examples ('CUI//SP-PRVCY')."""
    return text([
        "# Handling sensitive project files: a quick guide",
        "",
        "If a sponsor sends you a file with privacy data, mark it 'CUI//SP-PRVCY' in the",
        "header and footer before you store it in the enclave. Files with export-controlled",
        "technical data get the banner \"CUI//SP-EXPT\" and, for DoD work, the legend",
        "\"EXPORT CONTROLLED\" on the cover page.",
        "",
        "Never mark a document 'CUI' just because it mentions a sponsor.",
        "",
        "Questions go to research-security@example.edu.",
    ])


@doc("mention/ja/文書表示の手引き.docx")
def _quoting_ja() -> bytes:
    """A Japanese handbook telling staff to stamp 「社外秘」 (quoted, not a stamp)."""
    return docx([
        "文書管理の手引き（職員向け）",
        "1．作成した文書には、情報の重要度に応じて「極秘」「社外秘」などの表示を行ってください。",
        "2．表示はヘッダーの右上に行い、全ページに表示されるようにします。",
        "3．秘密保持契約に基づき受領した資料は、契約の定めに従って管理してください。",
        "4．「取扱注意」と表示された資料は、コピーを取らないでください。",
        "5．不明な点は総務課（内線1100）にお問い合わせください。",
    ])


# == markings: controlled documents (expected: the category) ==================================

_ITAR_WARNING = (
    "WARNING - This document contains technical data whose export is restricted by the Arms "
    "Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) or the Export Administration Act "
    "of 1979 (Title 50, U.S.C., App. 2401 et seq.), as amended. Violations of these export laws "
    "are subject to severe criminal penalties. Disseminate in accordance with provisions of "
    "DoD Directive 5230.25."
)

_TVAC_BODY = [
    "Test Report TR-2024-0117",
    "Thermal Vacuum Qualification of the RWA-7 Reaction Wheel Assembly",
    "1. Scope. This report documents the thermal vacuum (TVAC) qualification of the RWA-7 "
    "reaction wheel assembly, serial numbers 003 and 004, performed in Chamber 2 between "
    "11 and 22 March 2024.",
    "2. Test configuration. The unit was mounted on a temperature-controlled baseplate with "
    "twelve type-T thermocouples. Chamber pressure was held below 1.0E-5 torr throughout.",
    "3. Profile. Eight thermal cycles between -34 C and +71 C with 4-hour dwells; functional "
    "tests at each plateau at 0, 3000 and 6000 rpm.",
    "4. Results. Bearing temperature rise at 6000 rpm was 9.8 K, within the 12 K limit. "
    "Motor current at cold plateau exceeded the predicted value by 6 percent; see NCR-0412.",
    "5. Conclusion. The RWA-7 meets the qualification requirements of the environmental "
    "test specification ETS-118 rev C, subject to closure of NCR-0412.",
]


@doc("marking/en/tvac_test_report_itar.docx", EC)
def _itar_docx() -> bytes:
    """A technical report: EXPORT CONTROLLED - ITAR header, the AECA warning in the footer."""
    return docx(_TVAC_BODY, header=["EXPORT CONTROLLED \u2013 ITAR"], footer=[_ITAR_WARNING])


@doc("marking/en/propulsion_valve_analysis.pdf", EC)
def _itar_pdf() -> bytes:
    """A two-page PDF report with the ITAR legend at the bottom of every page."""
    legend = ["ITAR WARNING: This document contains technical data as defined in 22 CFR 120.33. "
              "It may not be exported or", "released to a foreign person without prior "
              "authorization from the U.S. Department of State (ITAR, 22 CFR 120-130)."]
    page1 = [
        "Structural Analysis of the LV-22 Propellant Isolation Valve",
        "Document AN-3318 Rev B",
        "",
        "1 Introduction",
        "This analysis verifies the LV-22 valve body for the proof and burst pressure cases",
        "of the upper-stage feed system. Material: Ti-6Al-4V STA, forged.",
        "2 Loads",
        "MEOP 310 bar; proof factor 1.5; burst factor 2.5; random vibration 14.1 grms.",
    ]
    page2 = [
        "3 Results",
        "Minimum margin of safety on yield at proof: +0.21 (inlet boss fillet).",
        "Minimum margin on ultimate at burst: +0.34. Fatigue life exceeds 4 x the duty cycle.",
        "4 Conclusion",
        "The LV-22 valve body is acceptable for flight.",
    ]
    return pdf([Page(page1, header=["EXPORT CONTROLLED - ITAR"], footer=legend),
                Page(page2, header=["EXPORT CONTROLLED - ITAR"], footer=legend)],
               title="AN-3318 LV-22 valve analysis")


@doc("marking/en/vibration_test_data.xlsx", EC)
def _itar_xlsx() -> bytes:
    """A test-data workbook whose page header carries EXPORT CONTROLLED - ITAR."""
    rows: list[list[str | int | float]] = [
        ["Axis", "Frequency (Hz)", "PSD (g2/Hz)", "Response (grms)"]]
    for i, f in enumerate((20, 50, 100, 200, 500, 1000, 2000)):
        rows.append(["X", f, round(0.01 * (i + 1), 3), round(3.2 + 0.7 * i, 2)])
    return xlsx(rows, "Random vib", page_header="&LRWA-7 QUAL&CEXPORT CONTROLLED - ITAR&R&P",
                page_footer="&C" + _ITAR_WARNING[:120])


@doc("marking/en/drawing_notes_ear.pdf", EC)
def _ear_drawing() -> bytes:
    """A drawing's title-block notes: this technical data is subject to the EAR (ECCN 3E001)."""
    return pdf([Page([
        "DWG NO. 40-1187-02  REV C   SHEET 1 OF 1",
        "TITLE: MMIC AMPLIFIER CARRIER, GaN, X-BAND",
        "NOTES:",
        "1. INTERPRET DRAWING PER ASME Y14.5-2018.",
        "2. MATERIAL: CuW 85/15, GOLD PLATE PER MIL-DTL-45204 TYPE III, 1.27 um MIN.",
        "3. FLATNESS 0.005 mm OVER MOUNTING AREA.",
        "4. This technical data is subject to the EAR (ECCN 3E001). Export, re-export or",
        "   transfer to a foreign person without a license from the U.S. Department of",
        "   Commerce is prohibited.",
        "5. BREAK ALL SHARP EDGES 0.1 MAX.",
    ], footer=["PROPRIETARY - EXAMPLE MICROWAVE INC."])], title="40-1187-02 Rev C")


@doc("marking/en/drawing_notes_caps.pdf", EC)
def _ear_drawing_caps() -> bytes:
    """Drawing notes in capitals, as CAD title blocks are: the data is subject to the EAR."""
    return pdf([Page([
        "DWG NO. 77-0412-01  REV A   SHEET 1 OF 2",
        "TITLE: COOLED TURBINE BLADE, STAGE 1 HPT",
        "NOTES:",
        "1. DIMENSIONS AND TOLERANCES PER ASME Y14.5-2018.",
        "2. MATERIAL: CMSX-4 SINGLE CRYSTAL, <001> WITHIN 10 DEG OF RADIAL AXIS.",
        "3. FILM COOLING HOLES: 0.40 +/-0.03 DIA, 34 PLACES, SEE VIEW B.",
        "4. THIS TECHNICAL DATA IS SUBJECT TO THE EAR, ECCN 9E003.A.1. EXPORT, REEXPORT OR",
        "   TRANSFER TO A FOREIGN PERSON REQUIRES AUTHORIZATION FROM THE U.S. DEPARTMENT",
        "   OF COMMERCE.",
    ])], title="77-0412-01 Rev A")


@doc("marking/en/design_package/README.txt", EC)
def _ear_readme() -> bytes:
    """A data package README stating its own EAR classification and license requirement."""
    return text([
        "Turbine blade cooling design package - TBC-2024-07",
        "",
        "EXPORT CONTROL NOTICE",
        "The technical data in this package is subject to the Export Administration",
        "Regulations (EAR), ECCN 9E003.a. Export, re-export or transfer of this data to a",
        "foreign person, in the U.S. or abroad, requires a license from the Bureau of Industry",
        "and Security. Do not post to public repositories.",
        "",
        "Contents",
        "  cad/            blade and core geometry (STEP)",
        "  cfd/            conjugate heat transfer cases and results",
        "  reports/        design review slides, film-cooling correlations",
        "",
        "Contact: P. Nakamura, Propulsion Lab",
    ])


@doc("marking/en/cover_sheet_ear.docx", EC)
def _ear_docx() -> bytes:
    """A design review whose cover page states the document is EAR-controlled (ECCN)."""
    return docx([
        "Preliminary Design Review: High-Power Fiber Laser Module",
        "Export Control Notice: This document contains technology subject to the EAR, "
        "ECCN 6E002. It may not be exported, re-exported or released to a foreign person "
        "without authorization from the U.S. Department of Commerce.",
        "1. Objectives. Review the optical layout, thermal design and pump diode selection.",
        "2. Optical design. Two-stage MOPA, 25 um core Yb-doped fiber, 1070 nm.",
        "3. Thermal. Cold plate at 20 C; maximum diode junction temperature 45 C.",
        "4. Open items. Back-reflection protection, pump combiner qualification.",
    ], header=["EAR-CONTROLLED \u2013 ECCN 6E002"])


_DESIGNATION = [
    "Controlled by: Department of the Air Force",
    "Controlled by: AFRL/RQ",
    "CUI Category: CTI",
    "Distribution/Dissemination Control: FEDCON",
    "POC: Dr. Jane Morales, jane.morales@example.edu, (555) 010-0142",
]


@doc("marking/en/cui_basic_report.docx", CUI)
def _cui_docx() -> bytes:
    """A CUI report: 'CUI' banner in header and footer, a designation indicator block."""
    return docx([
        *_DESIGNATION,
        "Hypersonic Inlet Unstart Detection: Year 2 Progress Report",
        "(CUI) The pressure-based detector flagged all 14 unstart events in the Mach 5 tunnel "
        "runs with a mean lead time of 11 ms.",
        "(U) The test campaign used the university's blowdown facility in February 2024.",
        "(CUI) Detector thresholds and sensor locations are listed in Table 3.",
        [["Sensor", "Station (mm)", "Threshold (kPa)"], ["P1", "112", "18.5"],
         ["P2", "186", "22.0"]],
    ], header=["CUI"], footer=["CUI"])


@doc("marking/en/cui_sp_expt_specification.docx", CUI, EC)
def _cui_expt_docx() -> bytes:
    """A specification bannered CUI//SP-EXPT (export-controlled CUI): both categories."""
    return docx([
        "Controlled by: Department of Defense",
        "Controlled by: DEVCOM Army Research Laboratory",
        "CUI Category: Export Controlled",
        "Limited Dissemination Control: NOFORN",
        "POC: Contracting Officer's Representative, (555) 010-0199",
        "Specification SP-4471: Counter-UAS Radar Signal Processor",
        "1. The processor shall detect Group 1 UAS at 3 km with Pd 0.9 at Pfa 1e-6.",
        "2. Doppler processing: 1024-point FFT, 8 coherent processing intervals.",
        "3. Interfaces: 10GBASE-SR for radar data; MIL-STD-1553 for control.",
    ], header=["CUI//SP-EXPT//NOFORN"], footer=["CUI//SP-EXPT//NOFORN"])


@doc("marking/en/cui_sp_expt_dataset_description.pdf", CUI, EC)
def _cui_expt_pdf() -> bytes:
    """A PDF with the CUI//SP-EXPT banner on top and bottom of each page."""
    body = [
        "Controlled by: Department of Energy",
        "Controlled by: Office of Nuclear Energy",
        "CUI Category: EXPT",
        "POC: Program Manager, (555) 010-0177",
        "",
        "Dataset description: fuel assembly thermal-hydraulic test matrix",
        "The dataset holds 212 runs of the 5x5 rod bundle at 15.5 MPa, with",
        "spacer-grid mixing vane geometry and measured critical heat flux.",
    ]
    return pdf([Page(body, header=["CUI//SP-EXPT"], footer=["CUI//SP-EXPT"]),
                Page(["Run matrix and file layout: see Appendix A."],
                     header=["CUI//SP-EXPT"], footer=["CUI//SP-EXPT"])],
               title="Dataset description")


@doc("marking/en/portion_marked_memo.txt", CUI)
def _cui_portions() -> bytes:
    """A memo with a CUI banner top and bottom and (CUI)/(U) portion markings."""
    return text([
        "CUI",
        "",
        "MEMORANDUM FOR RECORD",
        "SUBJECT: Site visit to the composite repair facility, 14 May 2024",
        "",
        "1. (U) The visit team met with the facility manager and the quality lead.",
        "2. (CUI) The bonded repair process for the wing skin uses a modified cure cycle of "
        "121 C for 90 minutes with 0.3 MPa vacuum bag pressure.",
        "3. (CUI) Inspection found porosity above 2 percent in 3 of 11 repair coupons.",
        "4. (U) Follow-up visit planned for August.",
        "",
        "Controlled by: Naval Air Systems Command",
        "CUI Category: CTI",
        "POC: J. Alvarez, (555) 010-0166",
        "",
        "CUI",
    ])


# -- Japanese markings ------------------------------------------------------------------------

@doc("marking/ja/部内会議資料_社外秘.docx", JP)
def _shagaihi_header() -> bytes:
    """A meeting document with a 社外秘 stamp in the Word page header."""
    return docx([
        "2024年度 第2回 研究戦略会議 資料",
        "1．共同研究の進捗",
        "A社との共同研究は、試作品の評価を終え、来年度の量産化検討に移る予定である。",
        "2．予算",
        "研究費の執行率は9月末時点で48％。装置購入の前倒しを検討する。",
        "3．人員",
        "特任助教1名を10月1日付で採用予定。",
    ], header=["社外秘"], footer=["研究戦略室"])


@doc("marking/ja/議事録_社外秘.md", JP)
def _shagaihi_title() -> bytes:
    """Minutes whose title line begins with 【社外秘】."""
    return text([
        "# 【社外秘】新製品開発プロジェクト 定例会議 議事録",
        "",
        "- 日時：2024年10月8日（火）10:00〜11:00",
        "- 出席者：開発部 鈴木、佐々木、品質保証部 田中",
        "",
        "## 議題",
        "",
        "1. 試作2号機の評価結果：振動試験で基板の共振を確認。補強板を追加する。",
        "2. 量産開始時期：2025年4月から6月に変更する。",
        "3. 価格：目標原価を12％引き下げる方向で調達先と交渉する。",
        "",
        "次回：10月22日",
    ])


@doc("marking/ja/事業計画_極秘.docx", JP)
def _gokuhi_kubun() -> bytes:
    """A business plan with a 秘密区分 line (極秘) on its first page."""
    return docx([
        "秘密区分：極秘",
        "管理番号：SP-2024-017",
        "中期事業計画（2025〜2027年度）",
        "1．基本方針　半導体検査装置事業を中核とし、海外売上比率を60％に高める。",
        "2．重点施策　（1）米国子会社の設立　（2）次世代検査装置の開発投資 45億円",
        "3．M&A　候補企業3社と予備的協議を開始する。",
    ])


@doc("marking/ja/共同研究報告書_関係者外秘.pdf", JP)
def _kankeisha_pdf() -> bytes:
    """A joint-research report PDF with 関係者外秘 in the footer of every page."""
    pages = [
        Page(["共同研究中間報告書", "", "研究題目：高耐熱樹脂の成形条件最適化",
              "1．研究の目的", "成形温度と保圧時間が強度に与える影響を評価する。",
              "2．実施内容", "試験片120本を作製し、引張試験と曲げ試験を行った。"],
             footer=["関係者外秘"]),
        Page(["3．結果", "保圧時間20秒で引張強度が最大（182MPa）となった。",
              "4．今後の予定", "金型温度の影響を評価する。"],
             footer=["関係者外秘"]),
    ]
    return pdf(pages, title="共同研究中間報告書")


@doc("marking/ja/顧客リスト_取扱注意.xlsx", JP)
def _toriatsukai_xlsx() -> bytes:
    """A customer list workbook stamped 取扱注意 in its page header."""
    rows: list[list[str | int | float]] = [["会社名", "部署", "担当者", "電話", "最終訪問日"]]
    for i, (c, d) in enumerate((("東都精機", "購買部"), ("北陸化成", "研究開発部"),
                                ("南海電子", "品質保証部"), ("西日本計測", "営業部"))):
        rows.append([f"株式会社{c}", d, f"担当{i + 1}", f"03-5555-01{i:02d}", f"2024-09-{10 + i}"])
    return xlsx(rows, "顧客", page_header="&R取扱注意")


@doc("marking/ja/人事異動案_取扱注意.docx", JP)
def _toriatsukai_docx() -> bytes:
    """A personnel-change draft stamped 取扱注意 in its header."""
    return docx([
        "2025年4月1日付 人事異動案（第1次）",
        "1．部長級　3名（経営企画部、技術開発部、海外事業部）",
        "2．課長級　11名",
        "3．発表予定日　2025年3月10日",
        "本案は経営会議での承認前の案であり、変更の可能性がある。",
    ], header=["取扱注意"])


_GAIHI_ROWS: list[list[str | int | float]] = [
    ["該非判定書"],
    ["判定日", "2024年8月20日"],
    ["品名", "炭素繊維強化プリプレグ"],
    ["型番", "CF-T800-PP24"],
    ["製造者", "株式会社サンプル複合材"],
    ["判定対象", "貨物"],
    ["適用法令", "輸出貿易管理令別表第1（2024年5月改正）"],
    ["該非判定", "該当"],
    ["該当項番", "5項(15)"],
    ["判定根拠", "比強度 10.16×10^4 m 超、比弾性率 4.2×10^6 m 超のため"],
    ["判定者", "研究推進部 安全保障輸出管理室 田中"],
    ["承認者", "輸出管理責任者 佐藤"],
]


@doc("marking/ja/該非判定書_CF-T800.xlsx", EC)
def _gaihi_xlsx() -> bytes:
    """The 該非判定書 form itself (Excel, as CISTEC-style sheets are): 該当, 項番 5項(15)."""
    return xlsx(_GAIHI_ROWS, "該非判定書")


@doc("marking/ja/該非判定書_真空ポンプ.docx", EC)
def _gaihi_docx() -> bytes:
    """A 該非判定書 in Word: title, 品名, 該非判定: 該当, 項番 2(12)."""
    return docx([
        "該非判定書",
        "判定日：2024年6月14日　　判定番号：EC-2024-0231",
        [["品名", "ターボ分子ポンプ"], ["型番", "TMP-2203LM"],
         ["該非判定", "該当"], ["項番", "輸出令別表第1 2項(12)"],
         ["判定理由", "耐食性材料で構成され、排気速度が規定値を超えるため"],
         ["輸出先", "大韓民国"]],
        "上記のとおり判定する。",
        "安全保障輸出管理室長 印",
    ])


@doc("marking/ja/該非判定書_技術提供.pdf", EC)
def _gaihi_pdf() -> bytes:
    """A 該非判定書 for a technology transfer, as a PDF."""
    return pdf([Page([
        "該非判定書（技術）",
        "",
        "判定日：2024年11月5日",
        "技術の名称：高出力半導体レーザーの設計技術",
        "提供先：海外共同研究機関（シンガポール）",
        "該非判定：該当",
        "該当項番：外為令別表 9項(1)",
        "判定根拠：貨物等省令第8条に規定する技術に該当するため",
        "判定者：工学研究科 教授　山本",
        "確認者：安全保障輸出管理室",
    ])], title="該非判定書")


# -- marked only by document properties -------------------------------------------------------

@doc("marking/ja/製品ロードマップ_プロパティ.docx", JP)
def _prop_custom_docx() -> bytes:
    """Body and header unmarked; only the custom property Classification = 社外秘."""
    return docx([
        "製品ロードマップ 2025-2027",
        "2025年：計測モジュールの小型化（体積30％減）",
        "2026年：クラウド連携機能の追加",
        "2027年：次世代センサの搭載",
    ], custom={"Classification": "社外秘", "Department": "製品企画部"})


@doc("marking/en/test_plan_properties.pptx", EC)
def _prop_core_pptx() -> bytes:
    """Slides unmarked in their text; the core keywords say EXPORT CONTROLLED."""
    return pptx([
        ["Seeker Integration Test Plan", "Integration and Test, Q3 2024"],
        ["Schedule", "Bench integration: weeks 1-3", "Hardware-in-the-loop: weeks 4-7"],
        ["Facilities", "Anechoic chamber B; HIL rack 2"],
    ], core={"dc:title": "Seeker Integration Test Plan",
             "cp:keywords": "EXPORT CONTROLLED; ITAR"})


@doc("marking/ja/原価計算_プロパティ.xlsx", JP)
def _prop_custom_xlsx() -> bytes:
    """A costing workbook whose custom property 秘密区分 is 極秘."""
    return xlsx([["部品", "単価", "数量"], ["筐体", 1250, 2], ["基板", 3400, 1]], "原価",
                custom={"秘密区分": "極秘"})


# -- NDA-based disclosure notices -------------------------------------------------------------

@doc("marking/ja/技術資料_NDA開示.docx", JP)
def _nda_docx() -> bytes:
    """A technical document disclosed under an NDA: the notice in the footer, no 社外秘."""
    return docx([
        "高速分光イメージング装置 技術資料",
        "1．装置構成　光源、分光器、sCMOSカメラ、制御PCから構成される。",
        "2．主な仕様　波長範囲 400〜1000nm、波長分解能 2.5nm、フレームレート 100fps。",
        "3．評価結果　標準試料による波長校正誤差は0.3nm以下であった。",
    ], footer=["本資料は秘密保持契約に基づき開示するものです。第三者への開示・複製を禁じます。"])


@doc("marking/ja/共同研究提案書_NDA.pdf", JP)
def _nda_pdf() -> bytes:
    """A proposal PDF whose first line is the NDA-based disclosure notice."""
    return pdf([Page([
        "本資料は、国立大学法人サンプル大学と株式会社サンプル光学との間で締結した",
        "秘密保持契約に基づき開示するものです。",
        "",
        "共同研究提案書：次世代フォトニック結晶レーザーの開発",
        "1．背景　加工用レーザーの高輝度化が求められている。",
        "2．提案内容　フォトニック結晶構造の最適化により出力10W級を目指す。",
        "3．期間と費用　2025年4月から3年間、総額9,000万円。",
    ])], title="共同研究提案書")


@doc("marking/ja/事業提携説明資料_NDA.pptx", JP)
def _nda_pptx() -> bytes:
    """Slides with the NDA notice on the cover and closing slides."""
    notice = "本資料は秘密保持契約に基づき開示いたします。無断転載・第三者への開示を禁じます。"
    return pptx([
        ["事業提携に関するご説明", "株式会社サンプル製作所", notice],
        ["提携の目的", "製造ノウハウと販売網の相互活用"],
        ["想定スケジュール", "2025年1月 基本合意、4月 契約締結"],
        [notice],
    ])


@doc("marking/en/nda_disclosure_notice.docx", JP)
def _nda_en() -> bytes:
    """The English NDA disclosure notice in a Japanese institute's English material
    (expected jp-confidential by decision: the same notice as 秘密保持契約に基づき開示)."""
    return docx([
        "Joint Development Proposal: Solid-State Battery Separator",
        "1. Background. Example Institute of Science has developed a sulfide electrolyte "
        "separator with an ionic conductivity of 12 mS/cm at 25 C.",
        "2. Proposal. Scale the coating process to a 300 mm roll-to-roll line at the partner's "
        "Nagoya plant.",
        "3. Schedule. Pilot line in Q3 2025; sample shipment in Q1 2026.",
    ], footer=["Disclosed under the Non-Disclosure Agreement between Example Institute of "
               "Science and Acme Materials K.K. dated 1 April 2024; do not distribute."])


# == both: a marked document that discusses the rules (marking wins) ==========================

@doc("both/en/itar_licensing_report.docx", EC)
def _both_itar() -> bytes:
    """An ITAR-marked report whose body discusses the ITAR and the licensing it needs."""
    return docx([
        "Technical Assistance Agreement Support: Radar Cross Section Measurements",
        "1. Regulatory context. The measurements in this report are technical data under the "
        "ITAR (22 CFR 120.33), USML Category XI(d). Sharing them with the foreign partner "
        "requires an approved Technical Assistance Agreement; a DSP-5 is not sufficient.",
        "2. Measurement setup. Compact range, 2-18 GHz, model at 1:8 scale on a low-RCS pylon.",
        "3. Results. Peak monostatic RCS at nose-on aspect dropped 11 dB after the edge "
        "treatment; see Figures 4-7.",
        "4. Release. This report may be released to the partner only after the TAA is in force.",
    ], header=["EXPORT CONTROLLED - ITAR"], footer=[_ITAR_WARNING])


@doc("both/en/cui_program_report_marked.docx", CUI)
def _both_cui() -> bytes:
    """A CUI-bannered report that also discusses the CUI program in its body."""
    return docx([
        *_DESIGNATION,
        "Security Incident Review: Enclave Access Anomaly, June 2024",
        "(U) Background. The CUI program requires that Controlled Unclassified Information be "
        "stored only in the Secure Research Enclave, as described in the CUI Program Guide.",
        "(CUI) Finding. A service account kept read access to the CTI project share for 19 days "
        "after the project ended; logs show no access during that period.",
        "(U) Action. Quarterly access review added to the enclave runbook.",
    ], header=["CUI"], footer=["CUI"])


@doc("both/ja/情報管理規程改定案_社外秘.docx", JP)
def _both_ja() -> bytes:
    """A draft policy revision stamped 社外秘 whose body discusses the classification levels."""
    return docx([
        "情報管理規程 改定案（第3版）",
        "1．改定の趣旨　秘密区分を極秘・秘・社外秘・公開の4区分から3区分に整理する。",
        "2．主な変更点　「秘」を廃止し、極秘と社外秘に統合する。",
        "3．施行予定日　2025年4月1日",
    ], header=["社外秘"])
