"""Document text: OOXML, ODF and PDF, hand-made and as LibreOffice writes them.

Hand-made documents hold the constructs real writers use (runs split mid-number, text
boxes in ``mc:AlternateContent``, shared strings with phonetic runs, repeated ODF cells).
The files in ``tests/data/office/`` are real LibreOffice output (see its README.md).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus_formats import pdf_bytes
from pypdf import PdfWriter

from dlpd.classify.extract import Member, extract
from dlpd.classify.limits import Budget, Limits, MiB
from dlpd.errors import ExtractionError, LimitExceeded

OFFICE = Path(__file__).resolve().parent.parent / "data" / "office"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
X_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}
ODF_DECL = " ".join(f'xmlns:{p}="{ns}"' for p, ns in ODF_NS.items())


def package(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def members(kind: str, data: bytes, limits: Limits | None = None) -> list[Member]:
    return list(extract(kind, io.BytesIO(data), Budget(limits or Limits())))


def text_of(kind: str, data: bytes, limits: Limits | None = None) -> str:
    found = members(kind, data, limits)
    assert found[0].is_text
    return found[0].data.decode()


def docx(body: str, **parts: str | bytes) -> bytes:
    document = (
        f'<w:document xmlns:w="{W_NS}" xmlns:mc="{MC_NS}"><w:body>{body}</w:body></w:document>'
    )
    return package({"[Content_Types].xml": "<Types/>", "word/document.xml": document, **parts})


def w_part(root: str, body: str) -> str:
    return f'<w:{root} xmlns:w="{W_NS}">{body}</w:{root}>'


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


# -- docx -------------------------------------------------------------------------------
def test_docx_joins_runs_split_mid_number_and_keeps_tabs_and_breaks() -> None:
    body = (
        '<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
        + run("Card 41")
        + run("11 11")
        + "<w:r><w:rPr><w:b/></w:rPr><w:t>11</w:t></w:r>"
        + run(" 1111 1111")
        + "<w:r><w:tab/><w:t>exp</w:t><w:br/><w:t>line2</w:t></w:r></w:p>"
        + "<w:p><w:r><w:t>SSN 078</w:t><w:noBreakHyphen/><w:t>05</w:t><w:noBreakHyphen/>"
        + "<w:t>1120</w:t></w:r></w:p>"
    )
    assert text_of("zip", docx(body)) == "Card 4111 1111 1111 1111\texp\nline2\nSSN 078-05-1120"


def test_docx_reads_inline_containers_and_tracked_changes() -> None:
    body = (
        f'<w:p><w:hyperlink xmlns:r="{R_NS}" r:id="rId1">{run("link ")}</w:hyperlink>'
        f'<w:smartTag w:uri="u" w:element="place">{run("Tokyo ")}</w:smartTag>'
        f'<w:ins w:id="1" w:author="a">{run("inserted ")}</w:ins>'
        '<w:del w:id="2" w:author="a"><w:r><w:delText>deleted </w:delText></w:r></w:del>'
        f'<w:fldSimple w:instr="PAGE">{run("7 ")}</w:fldSimple>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText> HYPERLINK "x" </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        f'<w:sdt><w:sdtPr><w:alias w:val="Label"/></w:sdtPr><w:sdtContent>{run("CUI")}'
        "</w:sdtContent></w:sdt></w:p>"
    )
    assert text_of("zip", docx(body)) == "link Tokyo inserted deleted 7 CUI"


def test_docx_text_box_is_read_once_not_from_choice_and_fallback() -> None:
    box = f"<w:txbxContent><w:p>{run('boxed 123-45-6789')}</w:p></w:txbxContent>"
    body = (
        f"<w:p>{run('before ')}<w:r><mc:AlternateContent>"
        f'<mc:Choice Requires="wps"><w:drawing><wps:txbx xmlns:wps="urn:wps">{box}'
        "</wps:txbx></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:textbox xmlns:v='urn:v'>{box}</v:textbox></w:pict>"
        f"</mc:Fallback></mc:AlternateContent></w:r>{run('after')}</w:p>"
    )
    text = text_of("zip", docx(body))
    assert text.count("boxed 123-45-6789") == 1
    assert "before" in text and "after" in text


def test_docx_table_cells_are_tab_separated_rows_on_lines() -> None:
    def cell(text: str) -> str:
        return f"<w:tc><w:tcPr/><w:p>{run(text)}</w:p></w:tc>"

    body = (
        f"<w:tbl><w:tr>{cell('Name')}{cell('SSN')}</w:tr>"
        f"<w:tr>{cell('John')}{cell('078-05-1120')}</w:tr></w:tbl>"
    )
    assert text_of("zip", docx(body)) == "Name\tSSN\nJohn\t078-05-1120"


def test_docx_reads_headers_footers_notes_comments_and_properties() -> None:
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>Budget</dc:title><dc:creator>Alice</dc:creator>"
        "<cp:keywords>ITAR</cp:keywords></cp:coreProperties>"
    )
    custom = (
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        '2006/docPropsVTypes"><property fmtid="{D5CDD505}" pid="2" '
        'name="MSIP_Label_1234_Name"><vt:lpwstr>Confidential</vt:lpwstr></property>'
        "</Properties>"
    )
    data = docx(
        f"<w:p>{run('body')}</w:p>",
        **{
            "word/header1.xml": w_part("hdr", f"<w:p>{run('CUI//SP-PRVCY')}</w:p>"),
            "word/footer2.xml": w_part("ftr", f"<w:p>{run('社外秘')}</w:p>"),
            "word/footnotes.xml": w_part(
                "footnotes", f"<w:footnote><w:p>{run('fn')}</w:p></w:footnote>"
            ),
            "word/comments.xml": w_part(
                "comments", f"<w:comment><w:p>{run('remark')}</w:p></w:comment>"
            ),
            "docProps/core.xml": core,
            "docProps/custom.xml": custom,
        },
    )
    lines = text_of("zip", data).splitlines()
    assert lines == [
        "Budget",
        "ITAR",
        "MSIP_Label_1234_Name: Confidential",
        "CUI//SP-PRVCY",
        "body",
        "社外秘",
        "fn",
        "remark",
    ]


def test_docx_embedded_workbook_is_a_raw_member() -> None:
    inner = package({"a.txt": "x"})
    found = members(
        "zip",
        docx(
            f"<w:p>{run('see sheet')}</w:p>",
            **{"word/embeddings/Sheet1.xlsx": inner, "word/media/image1.png": b"\x89PNG"},
        ),
    )
    assert [(m.name, m.is_text) for m in found] == [
        ("word/document.xml", True),
        ("word/embeddings/Sheet1.xlsx", False),
    ]
    assert found[1].data == inner


def test_billion_laughs_is_ignored_without_expansion_and_the_text_is_read() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 or "")) * 10}">' for n in range(1, 10)
    )
    document = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t a="&lol9;">before &lol9; '
        f"after</w:t></w:r></w:p><w:p>{run('4111 1111 1111 1111')}</w:p></w:body></w:document>"
    )
    data = package({"[Content_Types].xml": "<Types/>", "word/document.xml": document})
    started = time.monotonic()
    budget = Budget(Limits())
    (text,) = extract("zip", io.BytesIO(data), budget)
    assert time.monotonic() - started < 1
    # Neither in content nor in an attribute is an entity expanded; the text around is kept.
    assert text.data.decode().split() == ["before", "after", "4111", "1111", "1111", "1111"]
    assert budget.remarks == ["word/document.xml: DTD ignored (no entity expanded)"]
    assert budget.notes == [] and budget.total_uncompressed < 10_000


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE d SYSTEM "file:///etc/passwd">',
        '<!DOCTYPE d PUBLIC "-//x//y" "http://127.0.0.1:9/x.dtd">',
        # Brackets and ">" in comments and literals do not end the declaration early.
        '<!DOCTYPE d [<!-- ] > --> <!ENTITY q "a>b]"> <!ENTITY % p "]>">]>',
    ],
)
def test_external_entities_and_dtds_are_never_read(doctype: str) -> None:
    document = (
        f'<?xml version="1.0"?>{doctype}'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>x=&x;&q;</w:t></w:r></w:p>'
        f"<w:p>{run('ITAR controlled')}</w:p></w:body></w:document>"
    )
    data = package({"[Content_Types].xml": "<Types/>", "word/document.xml": document})
    budget = Budget(Limits())
    (text,) = extract("zip", io.BytesIO(data), budget)
    assert text.data == b"x=\nITAR controlled"
    assert "root:" not in text.data.decode()
    assert budget.remarks == ["word/document.xml: DTD ignored (no entity expanded)"]


def test_dtd_in_odf_content_and_in_a_worksheet_is_ignored() -> None:
    dtd = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "hidden">]>'
    odt = package(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "content.xml": (
                f'{dtd}<office:document-content xmlns:office="{ODF_NS["office"]}" '
                f'xmlns:text="{ODF_NS["text"]}"><office:body><office:text>'
                "<text:p>Card 4111 1111 1111 1111 &e;</text:p>"
                "</office:text></office:body></office:document-content>"
            ),
        }
    )
    budget = Budget(Limits())
    (text,) = extract("zip", io.BytesIO(odt), budget)
    assert text.data.strip() == b"Card 4111 1111 1111 1111"
    assert budget.remarks == ["content.xml: DTD ignored (no entity expanded)"]
    book = zipfile.ZipFile(io.BytesIO(xlsx("", [("S", '<row><c t="inlineStr"><is><t>ITAR'
                                                   "</t></is></c></row>")])))
    parts = {name: book.read(name) for name in book.namelist()}
    parts["xl/worksheets/sheet1.xml"] = dtd.encode() + parts["xl/worksheets/sheet1.xml"]
    budget = Budget(Limits())
    (text,) = extract("zip", io.BytesIO(package(parts)), budget)
    assert b"ITAR" in text.data and b"hidden" not in text.data
    assert budget.remarks == ["xl/worksheets/sheet1.xml: DTD ignored (no entity expanded)"]


def test_malformed_part_keeps_the_text_before_the_error_and_of_other_parts() -> None:
    data = docx(
        f"<w:p>{run('4111 1111 1111 1111')}</w:p><w:p>{run('oops')}",
        **{"word/footer1.xml": w_part("ftr", f"<w:p>{run('footer')}</w:p>")},
    )
    found: list[Member] = []
    with pytest.raises(ExtractionError, match="malformed XML"):
        found.extend(extract("zip", io.BytesIO(data), Budget(Limits())))
    assert found[0].data.decode().splitlines() == ["4111 1111 1111 1111", "oops", "footer"]


def test_truncated_docx_is_an_extraction_error() -> None:
    data = docx("".join(f"<w:p>{run(f'paragraph {n}')}</w:p>" for n in range(2000)))
    with pytest.raises(ExtractionError):
        members("zip", data[: len(data) // 2])


def test_huge_document_text_is_cut_at_max_text_bytes() -> None:
    """100 MB of document.xml; the parse stops once the text budget is spent."""
    paragraph = f"<w:p>{run('%s')}</w:p>"
    line = b"".join(
        (paragraph % f"{n:08d} lorem ipsum dolor sit amet").encode() for n in range(1000)
    )
    body_size = 100 * MiB
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as part:
            part.write(f'<w:document xmlns:w="{W_NS}"><w:body>'.encode())
            for _ in range(body_size // len(line)):
                part.write(line)
            part.write(b"</w:body></w:document>")
    budget = Budget(Limits(max_text_bytes=2 * MiB, max_ratio=1000))
    started = time.monotonic()
    (text,) = extract("zip", io.BytesIO(out.getvalue()), budget)
    assert text.truncated and len(text.data) <= 2 * MiB
    assert text.data.startswith(b"00000000 lorem ipsum")
    assert ("max_text_bytes", "word/document.xml: text cut") in budget.notes
    assert budget.total_uncompressed < 20 * MiB  # stopped reading, too
    assert time.monotonic() - started < 5


# -- xlsx -------------------------------------------------------------------------------
def xlsx(shared: str, sheets: list[tuple[str, str]]) -> bytes:
    workbook = (
        f'<workbook xmlns="{X_NS}" xmlns:r="{R_NS}"><sheets>'
        + "".join(
            f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
            for n, (name, _) in enumerate(sheets, 1)
        )
        + "</sheets></workbook>"
    )
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{len(sheets) - n + 1}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        + "</Relationships>"
    )
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels,
        "xl/sharedStrings.xml": f'<sst xmlns="{X_NS}">{shared}</sst>',
    }
    for n, (_, rows) in enumerate(sheets, 1):
        # Sheets are stored in reverse order: the workbook's order must win.
        parts[f"xl/worksheets/sheet{len(sheets) - n + 1}.xml"] = (
            f'<worksheet xmlns="{X_NS}"><sheetData>{rows}</sheetData>'
            '<headerFooter><oddHeader>&amp;L&amp;"Arial,Bold"CUI//SP-PRVCY&amp;RPage &amp;P'
            "</oddHeader></headerFooter></worksheet>"
        )
    return package(parts)


def test_xlsx_rows_from_shared_inline_and_numeric_cells_in_workbook_order() -> None:
    shared = (
        "<si><t>Name</t></si><si><t>SSN</t></si>"
        "<si><r><t>078-</t></r><r><rPr><b/></rPr><t>05-1120</t></r></si>"
        '<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh></si>'
    )
    first = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>2</v></c>'
        '<c r="C2"><f>SUM(1,2)</f><v>4111111111111111</v></c>'
        '<c r="D2" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c>'
        '<c r="E2" s="1"/></row>'
    )
    second = '<row r="1"><c r="A1"><v>3.5</v></c><c r="B1" t="b"><v>1</v></c></row>'
    text = text_of("zip", xlsx(shared, [("People", first), ("Numbers", second)]))
    assert text.splitlines() == [
        "People",
        "Name\tSSN",
        "山田\t078-05-1120\t4111111111111111\tinline",
        "CUI//SP-PRVCY Page",
        "Numbers",
        "3.5\t1",
        "CUI//SP-PRVCY Page",
    ]


# -- pptx -------------------------------------------------------------------------------
def test_pptx_slides_in_order_with_tables_and_notes() -> None:
    def slide(body: str) -> str:
        return (
            f'<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
            f' xmlns:a="{A_NS}"><p:cSld><p:spTree>{body}</p:spTree></p:cSld></p:sld>'
        )

    def para(*runs: str) -> str:
        return "<a:p>" + "".join(f"<a:r><a:t>{r}</a:t></a:r>" for r in runs) + "</a:p>"

    table = (
        "<a:tbl><a:tr><a:tc><a:txBody>" + para("IBAN") + "</a:txBody></a:tc><a:tc>"
        "<a:txBody>" + para("DE89 3704 ", "0044 0532 0130 00") + "</a:txBody></a:tc></a:tr>"
        "</a:tbl>"
    )
    data = package(
        {
            "[Content_Types].xml": "<Types/>",
            "ppt/presentation.xml": "<p:presentation xmlns:p='urn:p'/>",
            "ppt/slides/slide10.xml": slide(para("ten")),
            "ppt/slides/slide2.xml": slide(para("Card 41", "11 1111 1111 1111") + table),
            "ppt/slides/slide1.xml": slide(
                "<a:p><a:r><a:t>one</a:t></a:r><a:br/><a:r><a:t>two</a:t></a:r></a:p>"
            ),
            "ppt/notesSlides/notesSlide1.xml": slide(para("speaker: 社外秘")),
        }
    )
    assert text_of("zip", data).splitlines() == [
        "one",
        "two",
        "Card 4111 1111 1111 1111",
        "IBAN\tDE89 3704 0044 0532 0130 00",
        "ten",
        "speaker: 社外秘",
    ]


# -- ODF --------------------------------------------------------------------------------
def odt(body: str, meta: str = "") -> bytes:
    content = (
        f"<office:document-content {ODF_DECL}><office:body><office:text>{body}"
        "</office:text></office:body></office:document-content>"
    )
    return package(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "content.xml": content,
            "meta.xml": f"<office:document-meta {ODF_DECL}><office:meta>{meta}</office:meta>"
            "</office:document-meta>",
        }
    )


def test_odt_spans_spaces_tabs_breaks_notes_and_annotations() -> None:
    body = (
        '<text:h text:outline-level="1">Title</text:h>'
        '<text:p>Card 41<text:span text:style-name="b">11 1</text:span>111'
        '<text:s/>1111<text:s text:c="1"/>1111<text:note text:note-class="footnote">'
        "<text:note-citation>1</text:note-citation><text:note-body><text:p>source</text:p>"
        "</text:note-body></text:note></text:p>"
        '<text:p>a<text:s text:c="3"/>b<text:tab/>c<text:line-break/>d</text:p>'
        "<text:p>x<office:annotation><dc:creator>Bob</dc:creator><dc:date>2024</dc:date>"
        "<text:p>check ITAR</text:p></office:annotation>y</text:p>"
        '<text:p>huge<text:s text:c="999999999"/>end</text:p>'
    )
    meta = (
        "<dc:title>Plan</dc:title>"
        '<meta:user-defined meta:name="Classification">CUI</meta:user-defined>'
    )
    lines = text_of("zip", odt(body, meta)).splitlines()
    assert lines[:7] == [
        "Plan",
        "Classification: CUI",
        "Title",
        "Card 4111 1111 1111 1111",
        "source",
        "a   b\tc",
        "d",
    ]
    assert lines[7:10] == ["x", "check ITAR", "y"]
    assert lines[10].startswith("huge ") and lines[10].endswith(" end")
    assert len(lines[10]) < 300


def test_ods_repeated_rows_and_cells_do_not_explode() -> None:
    body = (
        '<table:table table:name="Sheet1">'
        "<table:table-row><table:table-cell><text:p>SSN</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="2"/>'
        "<table:table-cell><text:p>078-05-1120</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="16380"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="3">'
        "<table:table-cell><text:p>same</text:p></table:table-cell></table:table-row>"
        "</table:table>"
    )
    data = package(
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": f"<office:document-content {ODF_DECL}><office:body><office:spreadsheet>"
            f"{body}</office:spreadsheet></office:body></office:document-content>",
        }
    )
    assert text_of("zip", data).splitlines() == [
        "Sheet1",
        "SSN\t\t\t078-05-1120",
        "same",
        "same",
        "same",
    ]


def test_zip_with_content_and_manifest_but_no_mimetype_is_odf() -> None:
    content = (
        f"<office:document-content {ODF_DECL}><office:body><office:text>"
        "<text:p>CUI</text:p></office:text></office:body></office:document-content>"
    )
    data = package({"content.xml": content, "META-INF/manifest.xml": "<m/>"})
    assert text_of("zip", data) == "CUI"


# -- PDF --------------------------------------------------------------------------------
def make_pdf(
    content: bytes, info: bytes = b"<< /Title (Export review) /Keywords (ITAR) >>"
) -> bytes:
    """A one-page PDF written by hand: Helvetica, one FlateDecode content stream."""
    return pdf_bytes(content, info=info)


SPLIT_TEXT = (
    b"BT /F1 12 Tf 72 720 Td [(Card 41) -12 (11 11) 8 (11 1111 1111)] TJ ET\n"
    b"BT /F1 12 Tf 72 700 Td (SSN 078) Tj (-05-) Tj (1120) Tj ET\n"
    b"BT /F1 12 Tf 72 680 Td [(IBAN DE89 3704 )] TJ [(0044 0532 0130 00)] TJ ET\n"
)


def test_pdf_joins_numbers_split_across_tj_arrays_and_tj_operators() -> None:
    lines = text_of("pdf", make_pdf(SPLIT_TEXT)).splitlines()
    assert lines == [
        "Export review",
        "ITAR",
        "Card 4111 1111 1111 1111",
        "SSN 078-05-1120",
        "IBAN DE89 3704 0044 0532 0130 00",
    ]


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(SPLIT_TEXT)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_encrypted_with_the_empty_user_password_is_read() -> None:
    assert "Card 4111 1111 1111 1111" in text_of("pdf", _encrypted(""))


def test_pdf_with_a_real_password_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match=r"^encrypted$"):
        members("pdf", _encrypted("secret"))


def test_truncated_pdf_yields_what_was_read_then_raises() -> None:
    data = make_pdf(SPLIT_TEXT)
    found: list[Member] = []
    with pytest.raises(ExtractionError, match=r"truncated pdf|malformed pdf"):
        found.extend(extract("pdf", io.BytesIO(data[: len(data) - 60]), Budget(Limits())))


def test_not_a_pdf_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="malformed pdf"):
        members("pdf", b"%PDF-1.4\n" + bytes(range(256)) * 10)


# -- real LibreOffice output --------------------------------------------------------------
REPORT = [
    "Card number 4111 1111 1111 1111 expires 12/29.",
    "CUI//SP-PRVCY header marking",
    "社外秘 footer marking",
    "個人番号 123456789018",
    "マイナンバー",
    "外為法に基づく該非判定",
    "DE89 3704 0044 0532 0130 00",
    "078-05-1120",
]
SHEET = [
    "078-05-1120\t4111 1111 1111 1111",
    "CUI//SP-PRVCY sheet header",
    "社外秘 sheet footer",
    "個人番号\t123456789018\t社外秘",
    "ECCN\t3A001.a.1",
]
SLIDES = [
    "CUI//SP-PRVCY briefing",
    "Card 4111 1111 1111 1111 on file",
    "社外秘：該非判定",  # noqa: RUF001 -- real Japanese punctuation
    "マイナンバー 123456789018",
    "ECCN 5A002",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.docx", [*REPORT, "Classification: CUI//SP-EXPT", "Comment: ITAR controlled"]),
        ("report.odt", [*REPORT, "Classification: CUI//SP-EXPT", "Comment: ITAR controlled"]),
        # PDFium keeps the space between CJK and Latin text that LibreOffice drew as a gap
        # (pypdf and pdftotext dropped it): the PDF reads as the documents do.
        ("report.pdf", REPORT),
        ("patients.xlsx", [*SHEET, "Classification: Confidential"]),
        ("patients.ods", [*SHEET, "Classification: Confidential"]),
        ("briefing.pptx", SLIDES),
        ("briefing.odp", SLIDES),
    ],
)
def test_libreoffice_documents(name: str, expected: list[str]) -> None:
    data = (OFFICE / name).read_bytes()
    text = text_of("pdf" if name.endswith(".pdf") else "zip", data)
    missing = [snippet for snippet in expected if snippet not in text]
    assert not missing, f"{name}: missing {missing} in:\n{text}"


def test_password_protected_odf_is_an_extraction_error() -> None:
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>'
        "</manifest:manifest>"
    )
    data = package(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "META-INF/manifest.xml": manifest,
            "content.xml": b"\x8f\x13 encrypted bytes \x00\xff",
        }
    )
    found: list[Member] = []
    with pytest.raises(ExtractionError, match="encrypted"):
        found.extend(extract("zip", io.BytesIO(data), Budget(Limits())))
    assert found == [Member("content.xml", b"", is_text=True)]


def test_hard_limit_in_a_later_part_keeps_the_text_found_before() -> None:
    data = docx(
        f"<w:p>{run('4111 1111 1111 1111')}</w:p>",
        **{"word/footer1.xml": w_part("ftr", f"<w:p>{run('footer')}</w:p>")},
    )
    budget = Budget(Limits(max_members=1))
    found: list[Member] = []
    with pytest.raises(LimitExceeded, match="max_members"):
        found.extend(extract("zip", io.BytesIO(data), budget))
    assert found[0].data == b"4111 1111 1111 1111"


def test_pdf_page_limit_keeps_the_text_of_the_pages_before() -> None:
    budget = Budget(Limits(max_members=0))
    found: list[Member] = []
    with pytest.raises(LimitExceeded, match="max_members"):
        found.extend(extract("pdf", io.BytesIO(make_pdf(SPLIT_TEXT)), budget))
    assert found[0].data.decode().splitlines() == ["Export review", "ITAR"]


def test_absurd_numbers_in_attributes_and_indexes_are_harmless() -> None:
    """``int()`` refuses 4,300+ digits; a hostile count or index must not escape as an error."""
    digits = "9" * 5000
    body = (
        '<table:table table:name="S"><table:table-row>'
        f'<table:table-cell table:number-columns-repeated="{digits}"><text:p>x</text:p>'
        "</table:table-cell></table:table-row></table:table>"
        f'<text:p>a<text:s text:c="{digits}"/>b<text:s text:c="²"/>c</text:p>'
    )
    lines = text_of("zip", odt(body)).splitlines()
    assert lines[1] == "\t".join(["x"] * 32)
    assert lines[2].startswith("a ") and lines[2].endswith(" b c")
    sheet = f'<row r="1"><c r="A1" t="s"><v>{digits}</v></c><c r="B1"><v>{digits}</v></c></row>'
    assert text_of("zip", xlsx("<si><t>s</t></si>", [("S", sheet)])).splitlines()[1] == (
        "\t" + digits
    )


def test_ruby_furigana_does_not_split_japanese_words() -> None:
    ruby = (
        "<w:r><w:ruby><w:rubyPr/><w:rt><w:r><w:t>こじんばんごう</w:t></w:r></w:rt>"
        "<w:rubyBase><w:r><w:t>個人番号</w:t></w:r></w:rubyBase></w:ruby></w:r>"
    )
    assert text_of("zip", docx(f"<w:p>{run('社外秘 ')}{ruby}{run(' 123456789018')}</w:p>")) == (
        "社外秘 個人番号 123456789018"
    )
    body = (
        "<text:p>外為法<text:ruby><text:ruby-base>該非判定</text:ruby-base>"
        "<text:ruby-text>がいひはんてい</text:ruby-text></text:ruby>済み</text:p>"
    )
    assert text_of("zip", odt(body)) == "外為法該非判定済み"


def test_smartart_text_is_read_from_the_diagram_data() -> None:
    data_part = (
        f'<dgm:dataModel xmlns:dgm="urn:dgm" xmlns:a="{A_NS}"><dgm:ptLst><dgm:pt><dgm:t>'
        "<a:p><a:r><a:t>Export controlled: ECCN 5A002</a:t></a:r></a:p></dgm:t></dgm:pt>"
        "</dgm:ptLst></dgm:dataModel>"
    )
    data = docx(f"<w:p>{run('body')}</w:p>", **{"word/diagrams/data1.xml": data_part})
    assert text_of("zip", data).splitlines() == ["body", "Export controlled: ECCN 5A002"]


def test_main_part_is_found_through_the_package_relationships() -> None:
    """Word for the web names the main part ``word/document2.xml``."""
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document2.xml"/></Relationships>'
    )
    document = w_part("document", f"<w:body><w:p>{run('CUI//SP-PRVCY')}</w:p></w:body>")
    data = package(
        {"[Content_Types].xml": "<Types/>", "_rels/.rels": rels, "word/document2.xml": document}
    )
    (text,) = members("zip", data)
    assert (text.name, text.data, text.is_text) == ("word/document2.xml", b"CUI//SP-PRVCY", True)


def test_binary_workbook_without_xml_main_part_yields_raw_members() -> None:
    data = package(
        {"[Content_Types].xml": "<Types/>", "xl/workbook.bin": b"\x83\x01", "xl/styles.bin": b""}
    )
    assert [(m.name, m.is_text) for m in members("zip", data)] == [
        ("[Content_Types].xml", False),
        ("xl/workbook.bin", False),
        ("xl/styles.bin", False),
    ]


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-128"])
def test_permission_restricted_pdf_is_read(tmp_path: Path, algorithm: str) -> None:
    """PDFs that only restrict printing/copying are encrypted with an empty user password;
    readers open them without asking, and so must we (AES needs `cryptography`)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(OFFICE / "report.pdf"))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm=algorithm)
    encrypted = tmp_path / "restricted.pdf"
    with encrypted.open("wb") as out:
        writer.write(out)
    assert PdfReader(encrypted).is_encrypted
    text = text_of("pdf", encrypted.read_bytes())
    assert "CUI//SP-PRVCY" in text and "4111 1111 1111 1111" in text


@pytest.mark.parametrize(
    "payload",
    [b"<c t='s' " * 300_000, b"<" * 3_000_000, b"<f>" * 1_000_000, b"<oddHeader>" * 500_000,
     b"<rPh><t>" * 500_000],
    ids=["unclosed-cells", "bare-angles", "unclosed-formulas", "unclosed-headers", "rph"],
)
def test_hostile_worksheet_markup_is_linear(payload: bytes) -> None:
    """Patterns that could rescan (quadratic) would take hours on these 3 MB parts; the
    bound is a hang guard with a 100x margin, not a speed target."""
    from dlpd.classify.extract.sheets import SheetText

    started = time.monotonic()
    SheetText([], 10**8).run([b"<worksheet><sheetData><row>" + payload])
    assert time.monotonic() - started < 20


def test_docx_with_a_doctype_is_still_detected_by_the_cli(
    tmp_path: Path, scan_jsonl: Callable[..., Any], dlpd_config: Callable[..., Path]
) -> None:
    """Issue 7: a DOCTYPE made the body unreadable (outcome ``error``, nothing found)."""
    document = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY hide "x">]>'
        f'<w:document xmlns:w="{W_NS}"><w:body>'
        f"<w:p>{run('Subject to the International Traffic in Arms Regulations (ITAR).')}</w:p>"
        f"<w:p>{run('&hide; Customer credit card number: 4111 1111 1111 1111')}</w:p>"
        "</w:body></w:document>"
    )
    path = tmp_path / "tree" / "itar.docx"
    path.parent.mkdir()
    path.write_bytes(package({"[Content_Types].xml": "<Types/>", "word/document.xml": document}))
    scan = scan_jsonl(path, config=dlpd_config(tmp_path / "cfg"), args=("--no-cache",))
    (record,) = scan.records()
    assert record["outcome"] == "ok", record
    assert record["reason"] == "word/document.xml: DTD ignored (no entity expanded)"
    categories = {d["category"] for d in record["detections"]}
    assert {"export-control", "credit-card"} <= categories, record
