"""Byte-level writers for the fixture corpus: identifiers, keys, documents, containers, formats.

Pure functions from parameters to bytes, standard library only, so the corpus builds without
LibreOffice, OpenSSL or samtools. Each writer follows the format's specification closely
enough that libmagic and the real readers accept the result (checked when the writers were
made: openssl, ssh-keygen, python-docx/openpyxl/python-pptx/odfpy, pypdf, samtools).

Everything is deterministic: callers pass a seeded ``random.Random``; timestamps are fixed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

ZIP_DATE = (2024, 1, 2, 3, 4, 6)
TAR_MTIME = 1_704_164_646
DIGITS = "0123456789"


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def grouped(number: str, sizes: Sequence[int], sep: str = " ") -> str:
    """``grouped("4111111111111111", (4, 4, 4, 4))`` -> ``"4111 1111 1111 1111"``."""
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    assert at == len(number), (number, sizes)
    return sep.join(parts)


# -- identifiers: computed, never copied ------------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended on the right
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def is_luhn_valid(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


def make_card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + digits(rng, length - len(prefix) - 1)
    return body + luhn_check_digit(body)


def break_last_digit(number: str, rng: random.Random) -> str:
    """The same number with a wrong check digit (exactly one digit value is right)."""
    return number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)


MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def my_number_check_digit(first11: str) -> str:
    r = sum(int(d) * w for d, w in zip(first11, MY_NUMBER_WEIGHTS, strict=True)) % 11
    return "0" if r <= 1 else str(11 - r)


def is_my_number_valid(number: str) -> bool:
    return len(number) == 12 and my_number_check_digit(number[:11]) == number[11]


def make_my_number(rng: random.Random) -> str:
    first11 = str(rng.randint(1, 9)) + digits(rng, 10)
    return first11 + my_number_check_digit(first11)


def iban_remainder(iban: str) -> int:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97


def is_iban_valid(iban: str) -> bool:
    return iban_remainder(iban) == 1


def make_iban(country: str, bban: str) -> str:
    check = 98 - iban_remainder(country + "00" + bban)
    return f"{country}{check:02d}{bban}"


def break_iban(iban: str) -> str:
    """Check digits off by one: the mod-97 remainder becomes 0 or 2."""
    check = int(iban[2:4])
    return f"{iban[:2]}{check - 1 if check == 98 else check + 1:02d}{iban[4:]}"


# Numbers the SSA never issued or that were published as examples; kept out of positives.
_SSN_NOT_PERSONAL = {"123-45-6789", "219-09-9999", "078-05-1120"}


def make_ssn(rng: random.Random) -> str:
    while True:
        ssn = f"{rng.randint(100, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if ssn not in _SSN_NOT_PERSONAL:
            return ssn


def is_ssn_valid(ssn: str) -> bool:
    area, group, serial = (int(p) for p in ssn.split("-"))
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


# -- RSA keys, DER, PEM, OpenSSH, X.509 -------------------------------------------------------

_SMALL_PRIMES = tuple(p for p in range(3, 3000) if all(p % q for q in range(2, int(p**0.5) + 1)))


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 24) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int, e: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if candidate % e != 1 and _is_probable_prime(candidate, rng):
            return candidate


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int
    d: int
    p: int
    q: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8


@cache
def make_rsa_key(seed: str, bits: int = 2048) -> RsaKey:
    rng, e = random.Random(seed), 65537
    while True:
        p, q = _prime(rng, bits // 2, e), _prime(rng, bits // 2, e)
        if p == q:
            continue
        p, q = max(p, q), min(p, q)
        return RsaKey(n=p * q, e=e, d=pow(e, -1, (p - 1) * (q - 1)), p=p, q=q)


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk, rest = [arc & 0x7F], arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


_RSA_ALG = _der_seq(_der_oid("1.2.840.113549.1.1.1"), b"\x05\x00")
_SHA256_RSA_ALG = _der_seq(_der_oid("1.2.840.113549.1.1.11"), b"\x05\x00")
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def pkcs1_private_der(k: RsaKey) -> bytes:
    return _der_seq(
        *(_der_int(v) for v in (0, k.n, k.e, k.d, k.p, k.q,
                                k.d % (k.p - 1), k.d % (k.q - 1), pow(k.q, -1, k.p)))
    )


def pkcs8_private_der(k: RsaKey) -> bytes:
    return _der_seq(_der_int(0), _RSA_ALG, _der(0x04, pkcs1_private_der(k)))


def spki_der(k: RsaKey) -> bytes:
    return _der_seq(_RSA_ALG, _der(0x03, b"\x00" + _der_seq(_der_int(k.n), _der_int(k.e))))


def _rsa_sign_sha256(k: RsaKey, message: bytes) -> bytes:
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k.size - len(t) - 3) + b"\x00" + t
    return pow(int.from_bytes(em, "big"), k.d, k.n).to_bytes(k.size, "big")


def self_signed_cert_der(k: RsaKey, common_name: str, serial: int) -> bytes:
    name = _der_seq(_der(0x31, _der_seq(_der_oid("2.5.4.3"), _der(0x0C, common_name.encode()))))
    validity = _der_seq(_der(0x17, b"240101000000Z"), _der(0x17, b"340101000000Z"))
    tbs = _der_seq(
        _der(0xA0, _der_int(2)), _der_int(serial), _SHA256_RSA_ALG,
        name, validity, name, spki_der(k),
    )
    return _der_seq(tbs, _SHA256_RSA_ALG, _der(0x03, b"\x00" + _rsa_sign_sha256(k, tbs)))


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def ec_private_der(rng: random.Random) -> bytes:
    """RFC 5915 ECPrivateKey on P-256, without the optional public key (OpenSSL derives it)."""
    d = rng.randrange(1, P256_ORDER)
    return _der_seq(_der_int(1), _der(0x04, d.to_bytes(32, "big")),
                    _der(0xA0, _der_oid("1.2.840.10045.3.1.7")))


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ssh_mpint(value: int) -> bytes:
    return _ssh_string(value.to_bytes(value.bit_length() // 8 + 1, "big") if value else b"")


def _ssh_rsa_blob(k: RsaKey) -> bytes:
    return _ssh_string(b"ssh-rsa") + _ssh_mpint(k.e) + _ssh_mpint(k.n)


def openssh_public_line(k: RsaKey, comment: str) -> str:
    return f"ssh-rsa {base64.b64encode(_ssh_rsa_blob(k)).decode()} {comment}\n"


def openssh_private_key(k: RsaKey, comment: str, checkint: int) -> str:
    """An unencrypted ``openssh-key-v1`` key, as ``ssh-keygen -t rsa -N ''`` writes it."""
    private = (
        struct.pack(">II", checkint, checkint) + _ssh_string(b"ssh-rsa")
        + b"".join(_ssh_mpint(v) for v in (k.n, k.e, k.d, pow(k.q, -1, k.p), k.p, k.q))
        + _ssh_string(comment.encode())
    )
    private += bytes(range(1, 1 + (-len(private) % 8)))
    blob = (
        b"openssh-key-v1\x00" + _ssh_string(b"none") + _ssh_string(b"none") + _ssh_string(b"")
        + struct.pack(">I", 1) + _ssh_string(_ssh_rsa_blob(k)) + _ssh_string(private)
    )
    b64 = base64.b64encode(blob).decode()
    body = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


# -- plain containers -------------------------------------------------------------------------


def zip_bytes(
    entries: Iterable[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    stored: Iterable[str] = (),
) -> bytes:
    stored = set(stored)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED if name in stored else compression
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def tar_gz_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    return gzip_bytes(tar_bytes(entries))


def tar_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), TAR_MTIME, 0o644
            info.uname = info.gname = "lab"
            tf.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def bgzf_bytes(data: bytes, block: int = 0xFF00) -> bytes:
    """Blocked gzip as bgzip/samtools write it: BC extra field, then the empty EOF block."""
    out = bytearray()
    for at in range(0, len(data), block):
        chunk = data[at : at + block]
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        cdata = comp.compress(chunk) + comp.flush()
        bsize = 18 + len(cdata) + 8
        out += b"\x1f\x8b\x08\x04" + struct.pack("<I", 0) + b"\x00\xff"
        out += struct.pack("<H", 6) + b"BC" + struct.pack("<HH", 2, bsize - 1)
        out += cdata + struct.pack("<II", zlib.crc32(chunk), len(chunk))
    out += BGZF_EOF
    return bytes(out)


BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


# -- Office Open XML --------------------------------------------------------------------------

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_CT = "application/vnd.openxmlformats-officedocument."


def _content_types(overrides: dict[str, str]) -> bytes:
    parts = "".join(
        f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items()
    )
    return (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{parts}</Types>'
    ).encode()


def _rels(rels: Sequence[tuple[str, str]]) -> bytes:
    body = "".join(
        f'<Relationship Id="rId{i}" Type="{_R}/{kind}" Target="{target}"/>'
        if "://" not in kind
        else f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(rels, 1)
    )
    return (
        _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships">{body}</Relationships>'
    ).encode()


def _runs(runs: Sequence[str], prefix: str) -> str:
    return "".join(
        f'<{prefix}:r><{prefix}:t xml:space="preserve">{escape(r)}</{prefix}:t></{prefix}:r>'
        if prefix == "w"
        else f'<a:r><a:rPr lang="en-US"/><a:t>{escape(r)}</a:t></a:r>'
        for r in runs
    )


def docx_bytes(
    paragraphs: Sequence[Sequence[str]],
    header: Sequence[str] = (),
    *,
    table: Sequence[Sequence[str]] = (),
    content_types_last: bool = False,
) -> bytes:
    """A Word document; each paragraph is a list of run texts (a run boundary may split
    a word or a number, as Word does after an edit). ``header`` goes into a header part,
    ``table`` (rows of cell texts) after the paragraphs. ``content_types_last`` writes the
    package parts in reverse order, as some generators do (Word still opens it)."""
    body = "".join(f"<w:p>{_runs(p, 'w')}</w:p>" for p in paragraphs)
    if table:
        width = max(len(r) for r in table)
        grid = '<w:gridCol w:w="3000"/>' * width
        rows = "".join(
            "<w:tr>" + "".join(
                f'<w:tc><w:tcPr><w:tcW w:w="3000" w:type="dxa"/></w:tcPr>'
                f"<w:p>{_runs([cell], 'w')}</w:p></w:tc>" for cell in row
            ) + "</w:tr>"
            for row in table
        )
        body += (f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
                 f"<w:tblGrid>{grid}</w:tblGrid>{rows}</w:tbl><w:p/>")
    sect = '<w:headerReference w:type="default" r:id="rId1"/>' if header else ""
    document = (
        f'{_XML}<w:document xmlns:w="{_W}" xmlns:r="{_R}"><w:body>{body}'
        f'<w:sectPr>{sect}<w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    ).encode()
    overrides = {"/word/document.xml": _CT + "wordprocessingml.document.main+xml"}
    entries = [
        ("[Content_Types].xml", b""),
        ("_rels/.rels", _rels([("officeDocument", "word/document.xml")])),
        ("word/document.xml", document),
    ]
    if header:
        overrides["/word/header1.xml"] = _CT + "wordprocessingml.header+xml"
        hdr = f'{_XML}<w:hdr xmlns:w="{_W}" xmlns:r="{_R}"><w:p>{_runs(header, "w")}</w:p></w:hdr>'
        entries += [
            ("word/_rels/document.xml.rels", _rels([("header", "header1.xml")])),
            ("word/header1.xml", hdr.encode()),
        ]
    entries[0] = ("[Content_Types].xml", _content_types(overrides))
    return zip_bytes(reversed(entries) if content_types_last else entries)


def _column(i: int) -> str:
    return chr(ord("A") + i)


def xlsx_bytes(
    rows: Sequence[Sequence[str | int | float]], sheet: str = "Sheet1", *, inline: bool = False
) -> bytes:
    """A workbook; ``str`` cells go to the shared-strings part (or, with ``inline``, into the
    sheet as ``t="inlineStr"`` cells, as some exporters write them); numbers stay in the sheet."""
    shared: list[str] = []
    xml_rows = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if isinstance(value, str) and inline:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            elif isinstance(value, str):
                if value not in shared:
                    shared.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{shared.index(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    worksheet = (f'{_XML}<worksheet xmlns="{_S}"><sheetData>{"".join(xml_rows)}</sheetData>'
                 "</worksheet>")
    sst = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
    n = len(shared)
    strings = f'{_XML}<sst xmlns="{_S}" count="{n}" uniqueCount="{n}">{sst}</sst>'
    workbook = (
        f'{_XML}<workbook xmlns="{_S}" xmlns:r="{_R}"><sheets>'
        f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    return zip_bytes([
        ("[Content_Types].xml", _content_types({
            "/xl/workbook.xml": _CT + "spreadsheetml.sheet.main+xml",
            "/xl/worksheets/sheet1.xml": _CT + "spreadsheetml.worksheet+xml",
            "/xl/sharedStrings.xml": _CT + "spreadsheetml.sharedStrings+xml",
        })),
        ("_rels/.rels", _rels([("officeDocument", "xl/workbook.xml")])),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels",
         _rels([("worksheet", "worksheets/sheet1.xml"), ("sharedStrings", "sharedStrings.xml")])),
        ("xl/worksheets/sheet1.xml", worksheet.encode()),
        ("xl/sharedStrings.xml", strings.encode()),
    ])


_COLORS = ("dk1", "lt1", "dk2", "lt2", "accent1", "accent2", "accent3", "accent4", "accent5",
           "accent6", "hlink", "folHlink")
_THEME = (
    f'{_XML}<a:theme xmlns:a="{_A}" name="Office Theme"><a:themeElements>'
    '<a:clrScheme name="Office">'
    + "".join(f'<a:{c}><a:srgbClr val="{i * 0x131313:06X}"/></a:{c}>'
              for i, c in enumerate(_COLORS))
    + '</a:clrScheme><a:fontScheme name="Office">'
    + "".join(f'<a:{f}><a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/></a:{f}>'
              for f in ("majorFont", "minorFont"))
    + '</a:fontScheme><a:fmtScheme name="Office"><a:fillStyleLst>'
    + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + "</a:fillStyleLst><a:lnStyleLst>"
    + '<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>' * 3
    + "</a:lnStyleLst><a:effectStyleLst>"
    + "<a:effectStyle><a:effectLst/></a:effectStyle>" * 3
    + "</a:effectStyleLst><a:bgFillStyleLst>"
    + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + "</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>"
)
_GRP = ('<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
        "<p:grpSpPr/>")
_NS_P = f'xmlns:a="{_A}" xmlns:r="{_R}" xmlns:p="{_P}"'


def pptx_bytes(slides: Sequence[Sequence[Sequence[str]]]) -> bytes:
    """A presentation; each slide is a list of paragraphs, each a list of run texts."""
    master = (
        f"{_XML}<p:sldMaster {_NS_P}><p:cSld><p:spTree>{_GRP}</p:spTree></p:cSld>"
        '<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" '
        'accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" '
        'folHlink="folHlink"/><p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/>'
        "</p:sldLayoutIdLst></p:sldMaster>"
    )
    layout = (
        f'{_XML}<p:sldLayout {_NS_P}><p:cSld name="Blank"><p:spTree>{_GRP}</p:spTree></p:cSld>'
        "<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"
    )
    overrides = {
        "/ppt/presentation.xml": _CT + "presentationml.presentation.main+xml",
        "/ppt/slideMasters/slideMaster1.xml": _CT + "presentationml.slideMaster+xml",
        "/ppt/slideLayouts/slideLayout1.xml": _CT + "presentationml.slideLayout+xml",
        "/ppt/theme/theme1.xml": _CT + "theme+xml",
    }
    entries: list[tuple[str, bytes]] = []
    slide_ids = []
    for i, paragraphs in enumerate(slides, 1):
        body = "".join(f"<a:p>{_runs(p, 'a')}</a:p>" for p in paragraphs)
        slide = (
            f"{_XML}<p:sld {_NS_P}><p:cSld><p:spTree>{_GRP}<p:sp><p:nvSpPr>"
            f'<p:cNvPr id="2" name="TextBox 1"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>'
            '<p:spPr><a:xfrm><a:off x="457200" y="457200"/><a:ext cx="8229600" cy="4572000"/>'
            '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>'
            f"<p:txBody><a:bodyPr/><a:lstStyle/>{body}</p:txBody></p:sp></p:spTree></p:cSld>"
            "<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
        )
        overrides[f"/ppt/slides/slide{i}.xml"] = _CT + "presentationml.slide+xml"
        entries.append((f"ppt/slides/slide{i}.xml", slide.encode()))
        entries.append((f"ppt/slides/_rels/slide{i}.xml.rels",
                        _rels([("slideLayout", "../slideLayouts/slideLayout1.xml")])))
        slide_ids.append(f'<p:sldId id="{255 + i}" r:id="rId{2 + i}"/>')
    presentation = (
        f"{_XML}<p:presentation {_NS_P}><p:sldMasterIdLst>"
        '<p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>'
        f'<p:sldIdLst>{"".join(slide_ids)}</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/>'
        '<p:notesSz cx="6858000" cy="9144000"/></p:presentation>'
    )
    pres_rels = [("slideMaster", "slideMasters/slideMaster1.xml"), ("theme", "theme/theme1.xml")]
    pres_rels += [("slide", f"slides/slide{i}.xml") for i in range(1, len(slides) + 1)]
    return zip_bytes([
        ("[Content_Types].xml", _content_types(overrides)),
        ("_rels/.rels", _rels([("officeDocument", "ppt/presentation.xml")])),
        ("ppt/presentation.xml", presentation.encode()),
        ("ppt/_rels/presentation.xml.rels", _rels(pres_rels)),
        ("ppt/slideMasters/slideMaster1.xml", master.encode()),
        ("ppt/slideMasters/_rels/slideMaster1.xml.rels",
         _rels([("slideLayout", "../slideLayouts/slideLayout1.xml"),
                ("theme", "../theme/theme1.xml")])),
        ("ppt/slideLayouts/slideLayout1.xml", layout.encode()),
        ("ppt/slideLayouts/_rels/slideLayout1.xml.rels",
         _rels([("slideMaster", "../slideMasters/slideMaster1.xml")])),
        ("ppt/theme/theme1.xml", _THEME.encode()),
        *entries,
    ])


# -- OpenDocument -----------------------------------------------------------------------------

_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"'
)
ODF_TEXT = "application/vnd.oasis.opendocument.text"
ODF_SPREADSHEET = "application/vnd.oasis.opendocument.spreadsheet"
ODF_PRESENTATION = "application/vnd.oasis.opendocument.presentation"


def _odf_package(mimetype: str, body: str, auto_styles: str = "", master: str = "") -> bytes:
    """``mimetype`` stored first without compression or extra field (libmagic reads it at
    offset 38), then the manifest, content, styles and meta parts."""
    x = '<?xml version="1.0" encoding="UTF-8"?>\n'
    manifest = (
        f'{x}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
        'manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
        f'manifest:media-type="{mimetype}"/>'
        + "".join(
            f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="text/xml"/>'
            for p in ("content.xml", "styles.xml", "meta.xml")
        )
        + "</manifest:manifest>"
    )
    content = (
        f"{x}<office:document-content {_ODF_NS}><office:automatic-styles>{auto_styles}"
        f"</office:automatic-styles><office:body>{body}</office:body></office:document-content>"
    )
    styles = (
        f"{x}<office:document-styles {_ODF_NS}><office:styles/>"
        '<office:automatic-styles><style:page-layout style:name="PM1"/></office:automatic-styles>'
        f"<office:master-styles>{master}</office:master-styles></office:document-styles>"
    )
    meta = (
        f"{x}<office:document-meta {_ODF_NS}><office:meta><meta:generator>dlpd-corpus"
        "</meta:generator><dc:language>ja-JP</dc:language></office:meta></office:document-meta>"
    )
    return zip_bytes(
        [("mimetype", mimetype.encode()), ("META-INF/manifest.xml", manifest.encode()),
         ("content.xml", content.encode()), ("styles.xml", styles.encode()),
         ("meta.xml", meta.encode())],
        stored={"mimetype"},
    )


def odt_bytes(paragraphs_xml: Sequence[str]) -> bytes:
    """``paragraphs_xml``: the inner XML of each ``text:p`` (may use text:span, text:s)."""
    body = "".join(f'<text:p text:style-name="Standard">{p}</text:p>' for p in paragraphs_xml)
    styles = ('<style:style style:name="T1" style:family="text">'
              '<style:text-properties fo:font-weight="bold"/></style:style>')
    return _odf_package(ODF_TEXT, f"<office:text>{body}</office:text>", styles)


def ods_bytes(rows: Sequence[Sequence[str | float]], sheet: str = "Sheet1") -> bytes:
    xml_rows = []
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                cells.append('<table:table-cell office:value-type="string">'
                             f"<text:p>{escape(value)}</text:p></table:table-cell>")
            else:
                cells.append(f'<table:table-cell office:value-type="float" office:value="{value}">'
                             f"<text:p>{value}</text:p></table:table-cell>")
        xml_rows.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    width = max(len(r) for r in rows)
    body = (
        f'<office:spreadsheet><table:table table:name="{escape(sheet)}">'
        f'<table:table-column table:number-columns-repeated="{width}"/>'
        f"{''.join(xml_rows)}</table:table></office:spreadsheet>"
    )
    return _odf_package(ODF_SPREADSHEET, body)


def odp_bytes(slides: Sequence[Sequence[str]]) -> bytes:
    """Each slide is a list of paragraph texts in one text box."""
    pages = []
    for i, paragraphs in enumerate(slides, 1):
        text = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
        pages.append(
            f'<draw:page draw:name="page{i}" draw:master-page-name="Default">'
            '<draw:frame svg:x="2cm" svg:y="2cm" svg:width="24cm" svg:height="12cm">'
            f"<draw:text-box>{text}</draw:text-box></draw:frame></draw:page>"
        )
    master = '<style:master-page style:name="Default" style:page-layout-name="PM1"/>'
    return _odf_package(
        ODF_PRESENTATION, f"<office:presentation>{''.join(pages)}</office:presentation>",
        master=master,
    )


# -- PDF --------------------------------------------------------------------------------------


def pdf_bytes(
    content: bytes, *, compress: bool = True, info: bytes = b"<< /Producer (dlpd-corpus) >>"
) -> bytes:
    """A one-page PDF 1.4 with Helvetica; ``content`` is the page's content stream.
    Offsets in the xref table are computed, so strict readers accept it."""
    stream = zlib.compress(content, 9) if compress else content
    filt = b" /Filter /FlateDecode" if compress else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d%s >>\nstream\n" % (len(stream), filt) + stream + b"\nendstream",
        info,
    ]
    return pdf_objects(objects, info=6)


def pdf_objects(objects: list[bytes], *, info: int | None = None,
                version: bytes = b"1.4") -> bytes:
    """Objects 1..n as given (1 is the catalog) and an xref table with computed offsets,
    so strict readers accept the file; ``info``: the number of the document information
    dictionary, if any."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    info_ref = b" /Info %d 0 R" % info if info is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, info_ref, xref)
    return bytes(out)


# -- research data ----------------------------------------------------------------------------

_BASES = "ACGT"


def _seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_BASES) for _ in range(n))


def _qual(rng: random.Random, n: int) -> str:
    return "".join(chr(33 + rng.randint(2, 40)) for _ in range(n))


def fastq_text(rng: random.Random, reads: int = 8, length: int = 60) -> str:
    out = []
    for i in range(reads):
        name = f"@A00123:45:HKJ2DSXY3:1:1101:{10004 + 17 * i}:{1000 + 23 * i} 1:N:0:ATCACGAT"
        out += [name, _seq(rng, length), "+", _qual(rng, length)]
    return "\n".join(out) + "\n"


SAM_HEADER = (
    "@HD\tVN:1.6\tSO:coordinate\n"
    "@SQ\tSN:chr20\tLN:64444167\n"
    "@RG\tID:S1\tSM:NA12878\tPL:ILLUMINA\n"
    "@PG\tID:bwa\tPN:bwa\tVN:0.7.17-r1188\tCL:bwa mem ref.fa r1.fq r2.fq\n"
)
_CHR20_LEN = 64444167


@dataclass(frozen=True)
class Read:
    name: str
    flag: int
    pos: int  # 1-based
    mapq: int
    seq: str
    qual: str


def make_reads(rng: random.Random, n: int = 6, length: int = 50) -> list[Read]:
    reads, pos = [], 60_000
    for i in range(n):
        pos += rng.randint(10, 400)
        reads.append(Read(f"read{i:03d}", rng.choice((0, 16)), pos, 60,
                          _seq(rng, length), _qual(rng, length)))
    return reads


def sam_text(reads: Sequence[Read]) -> str:
    lines = [
        f"{r.name}\t{r.flag}\tchr20\t{r.pos}\t{r.mapq}\t{len(r.seq)}M\t*\t0\t0\t{r.seq}\t"
        f"{r.qual}\tRG:Z:S1"
        for r in reads
    ]
    return SAM_HEADER + "\n".join(lines) + "\n"


def _reg2bin(beg: int, end: int) -> int:
    end -= 1
    for shift, offset in ((14, 4681), (17, 585), (20, 73), (23, 9), (26, 1)):
        if beg >> shift == end >> shift:
            return offset + (beg >> shift)
    return 0


def bam_bytes(reads: Sequence[Read]) -> bytes:
    """BAM: BGZF-compressed ``BAM\\1`` + header text + references + alignment records."""
    text = SAM_HEADER.encode()
    raw = bytearray(b"BAM\x01" + struct.pack("<i", len(text)) + text)
    raw += struct.pack("<ii", 1, 6) + b"chr20\x00" + struct.pack("<i", _CHR20_LEN)
    code = {b: i for i, b in enumerate("=ACMGRSVTWYHKDBN")}
    for r in reads:
        name = r.name.encode() + b"\x00"
        pos0 = r.pos - 1
        cigar = struct.pack("<I", len(r.seq) << 4 | 0)  # nM
        packed = bytearray()
        for i in range(0, len(r.seq), 2):
            hi = code[r.seq[i]] << 4
            lo = code[r.seq[i + 1]] if i + 1 < len(r.seq) else 0
            packed.append(hi | lo)
        qual = bytes(ord(c) - 33 for c in r.qual)
        tag = b"RGZS1\x00"
        body = struct.pack(
            "<iiBBHHHIiii", 0, pos0, len(name), r.mapq, _reg2bin(pos0, pos0 + len(r.seq)),
            1, r.flag, len(r.seq), -1, -1, 0,
        ) + name + cigar + bytes(packed) + qual + tag
        raw += struct.pack("<i", len(body)) + body
    return bgzf_bytes(bytes(raw))


def _itf8(value: int) -> bytes:
    v = value & 0xFFFFFFFF
    if v < 0x80:
        return bytes([v])
    if v < 0x4000:
        return bytes([0x80 | v >> 8, v & 0xFF])
    if v < 0x200000:
        return bytes([0xC0 | v >> 16, v >> 8 & 0xFF, v & 0xFF])
    if v < 0x10000000:
        return bytes([0xE0 | v >> 24, v >> 16 & 0xFF, v >> 8 & 0xFF, v & 0xFF])
    return bytes([0xF0 | (v >> 28 & 0x0F), v >> 20 & 0xFF, v >> 12 & 0xFF, v >> 4 & 0xFF,
                  v & 0x0F])


# The CRAM 3.0 end-of-file container, byte for byte as htslib writes it.
CRAM3_EOF = bytes.fromhex(
    "0f000000ffffffff0fe0454f46000000000100" "05bdd94f0001000606010001000100ee63014b"
)


def cram_bytes(file_id: bytes = b"dlpd-corpus.cram") -> bytes:
    """CRAM 3.0: file definition, a header container holding the SAM header, the EOF
    container. No slices (no reference needed); ``samtools view -H`` reads it."""
    text = SAM_HEADER.encode()
    data = struct.pack("<i", len(text)) + text
    block = bytes([0, 0]) + _itf8(0) + _itf8(len(data)) + _itf8(len(data)) + data
    block += struct.pack("<I", zlib.crc32(block))
    header = struct.pack("<i", len(block)) + b"".join(
        _itf8(v) for v in (0, 0, 0, 0, 0, 0, 1, 0)  # ref, start, span, nrec, counter, bases
    )
    header += struct.pack("<I", zlib.crc32(header))
    file_def = b"CRAM\x03\x00" + file_id[:20].ljust(20, b"\x00")
    return file_def + header + block + CRAM3_EOF


def vcf_text(rng: random.Random, rows: int = 8) -> str:
    head = (
        "##fileformat=VCFv4.2\n##fileDate=20240101\n##source=dlpd-corpus\n"
        "##reference=GRCh38\n##contig=<ID=chr20,length=64444167>\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total Depth">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA12878\n"
    )
    lines, pos = [], 14_000
    for _ in range(rows):
        pos += rng.randint(100, 5000)
        ref = rng.choice(_BASES)
        alt = rng.choice([b for b in _BASES if b != ref])
        gt = rng.choice(("0|1", "1|0", "1|1", "0/1"))
        lines.append(f"chr20\t{pos}\trs{rng.randint(1000, 9_999_999)}\t{ref}\t{alt}\t"
                     f"{rng.randint(20, 99)}\tPASS\tDP={rng.randint(8, 60)}\tGT:GQ\t{gt}:"
                     f"{rng.randint(20, 99)}")
    return head + "\n".join(lines) + "\n"


# -- medical images ---------------------------------------------------------------------------


def _dicom_element(group: int, elem: int, vr: str, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in ("UI", "OB") else b" "
    tag = struct.pack("<HH", group, elem) + vr.encode()
    if vr in ("OB", "OW", "SQ", "UN", "UT"):
        return tag + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return tag + struct.pack("<H", len(value)) + value


def dicom_bytes(rng: random.Random) -> bytes:
    """A tiny CT image: preamble, ``DICM``, file meta group, explicit VR little endian."""
    sop_class = b"1.2.840.10008.5.1.4.1.1.2"
    sop_instance = f"1.2.826.0.1.3680043.10.543.{rng.randint(10**6, 10**7)}".encode()
    meta = b"".join([
        _dicom_element(0x0002, 0x0001, "OB", b"\x00\x01"),
        _dicom_element(0x0002, 0x0002, "UI", sop_class),
        _dicom_element(0x0002, 0x0003, "UI", sop_instance),
        _dicom_element(0x0002, 0x0010, "UI", b"1.2.840.10008.1.2.1"),
        _dicom_element(0x0002, 0x0012, "UI", b"1.2.826.0.1.3680043.10.543"),
    ])
    meta = _dicom_element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta))) + meta
    pixels = b"".join(struct.pack("<H", rng.randint(0, 4095)) for _ in range(16))
    dataset = b"".join([
        _dicom_element(0x0008, 0x0016, "UI", sop_class),
        _dicom_element(0x0008, 0x0018, "UI", sop_instance),
        _dicom_element(0x0008, 0x0060, "CS", b"CT"),
        _dicom_element(0x0010, 0x0010, "PN", b"ANONYMIZED^SUBJECT"),
        _dicom_element(0x0010, 0x0020, "LO", b"SUBJ-0042"),
        _dicom_element(0x0028, 0x0002, "US", struct.pack("<H", 1)),
        _dicom_element(0x0028, 0x0004, "CS", b"MONOCHROME2"),
        _dicom_element(0x0028, 0x0010, "US", struct.pack("<H", 4)),
        _dicom_element(0x0028, 0x0011, "US", struct.pack("<H", 4)),
        _dicom_element(0x0028, 0x0100, "US", struct.pack("<H", 16)),
        _dicom_element(0x0028, 0x0101, "US", struct.pack("<H", 12)),
        _dicom_element(0x0028, 0x0102, "US", struct.pack("<H", 11)),
        _dicom_element(0x0028, 0x0103, "US", struct.pack("<H", 0)),
        _dicom_element(0x7FE0, 0x0010, "OW", pixels),
    ])
    return b"\x00" * 128 + b"DICM" + meta + dataset


# -- machine-learning models ------------------------------------------------------------------


def _floats(rng: random.Random, n: int) -> bytes:
    return struct.pack(f"<{n}f", *(rng.uniform(-1, 1) for _ in range(n)))


def safetensors_bytes(rng: random.Random) -> bytes:
    weight, bias = _floats(rng, 6), _floats(rng, 3)
    header = json.dumps({
        "__metadata__": {"format": "pt"},
        "linear.bias": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
        "linear.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [12, 36]},
    }, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bias + weight


def _gguf_string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_bytes(rng: random.Random) -> bytes:
    """GGUF v3: header, metadata key/values, one F32 tensor, aligned tensor data."""
    kv = [
        (_gguf_string("general.architecture"), 8, _gguf_string("llama")),
        (_gguf_string("general.name"), 8, _gguf_string("dlpd-corpus-tiny")),
        (_gguf_string("general.alignment"), 4, struct.pack("<I", 32)),
        (_gguf_string("llama.context_length"), 4, struct.pack("<I", 128)),
    ]
    tensors = [("token_embd.weight", (4, 2))]
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    for key, vtype, value in kv:
        out += key + struct.pack("<I", vtype) + value
    for name, dims in tensors:
        out += _gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", 0, 0)
    out += b"\x00" * (-len(out) % 32)
    out += _floats(rng, 8)
    return bytes(out)


def _pickle_str(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def torch_pickle() -> bytes:
    """``{"weight": Tensor(2x3 float32)}`` pickled the way ``torch.save`` does (protocol 2,
    tensor storage by persistent id). Written opcode by opcode; never to be unpickled."""
    return b"".join([
        b"\x80\x02}q\x00(", _pickle_str("weight"), b"q\x01",
        b"ctorch._utils\n_rebuild_tensor_v2\nq\x02((", _pickle_str("storage"), b"q\x03",
        b"ctorch\nFloatStorage\nq\x04", _pickle_str("0"), b"q\x05", _pickle_str("cpu"),
        b"q\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\x09\x89",
        b"ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.",
    ])


def torch_checkpoint_bytes(rng: random.Random) -> bytes:
    """A ``torch.save`` zip: stored members under ``archive/``."""
    return zip_bytes(
        [
            ("archive/data.pkl", torch_pickle()),
            ("archive/byteorder", b"little"),
            ("archive/data/0", _floats(rng, 6)),
            ("archive/version", b"3\n"),
            ("archive/.data/serialization_id", b"1234567890123456789012345678901234567890"[:40]),
        ],
        compression=zipfile.ZIP_STORED,
    )


def _pb_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(0x80 | b)
        else:
            out.append(b)
            return bytes(out)


def _pb(field: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _pb_varint(field << 3) + _pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _pb_varint(field << 3 | 2) + _pb_varint(len(data)) + data


def onnx_bytes() -> bytes:
    """ModelProto for ``y = Relu(x)``, x and y float[1,4], as torch.onnx.export writes it."""

    def value_info(name: str) -> bytes:
        dims = b"".join(_pb(1, _pb(1, d)) for d in (1, 4))  # TensorShapeProto.dim.dim_value
        tensor = _pb(1, 1) + _pb(2, dims)  # elem_type FLOAT, shape
        return _pb(1, name) + _pb(2, _pb(1, tensor))  # name, type.tensor_type

    node = _pb(1, "x") + _pb(2, "y") + _pb(3, "/Relu") + _pb(4, "Relu")
    graph = (_pb(1, node) + _pb(2, "main_graph")
             + _pb(11, value_info("x")) + _pb(12, value_info("y")))
    return (
        _pb(1, 8) + _pb(2, "pytorch") + _pb(3, "2.1.0") + _pb(7, graph)
        + _pb(8, _pb(1, "") + _pb(2, 17))
    )


# -- hostile inputs ---------------------------------------------------------------------------


def zip_bomb(uncompressed: int = 64 * 1024 * 1024) -> bytes:
    """One member of zeros: deflate gives a ratio of about 1000:1."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("zeros.bin", date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=False) as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(uncompressed // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


def _local_header(
    name: bytes, method: int, crc: int, csize: int, usize: int, flags: int = 0
) -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0x1823, 0x5822,
                       crc, csize, usize, len(name), 0) + name


def _central_entry(
    name: bytes, method: int, crc: int, csize: int, usize: int, offset: int, flags: int = 0
) -> bytes:
    return struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0x1823, 0x5822, crc, csize,
        usize, len(name), 0, 0, 0, 0, 0o644 << 16, offset,
    ) + name


def _eocd(entries: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, cd_size, cd_offset, 0)


_CRC_TABLE = [0] * 256
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE[_i] = _c


class _ZipCrypto:
    """Traditional PKWARE encryption (APPNOTE 6.1), the cipher of ``zip -e``."""

    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = (k0 >> 8) ^ _CRC_TABLE[(k0 ^ byte) & 0xFF]
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = (k2 >> 8) ^ _CRC_TABLE[(k2 ^ (k1 >> 24)) & 0xFF]
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def encrypted_zip(name: str, data: bytes, password: bytes, rng: random.Random) -> bytes:
    """One deflated member under traditional zip encryption (``zip -e``)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(data) + comp.flush()
    crc = zlib.crc32(data)
    header = rng.randbytes(11) + bytes([crc >> 24])
    payload = _ZipCrypto(password).encrypt(header + deflated)
    raw_name = name.encode()
    local = _local_header(raw_name, 8, crc, len(payload), len(data), flags=1) + payload
    central = _central_entry(raw_name, 8, crc, len(payload), len(data), 0, flags=1)
    return local + central + _eocd(1, len(central), len(local))


def overlapping_zip(levels: int = 4) -> bytes:
    """Entries whose data ranges overlap (the CVE-2024-0450 shape): entry k is stored and its
    data is exactly the local records of entries k+1..n, so each CRC is right and every
    name matches its local header; Python before 3.11.8 opens all of them."""
    inner_text = b"payload\n" * 512
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(inner_text) + comp.flush()
    names = [f"layer{i}.bin".encode() for i in range(levels)]
    # Build from the innermost entry outwards.
    records: list[tuple[bytes, int, int, int, int]] = []  # name, method, crc, csize, usize
    tail = _local_header(names[-1], 8, zlib.crc32(inner_text), len(deflated), len(inner_text))
    tail += deflated
    records.append((names[-1], 8, zlib.crc32(inner_text), len(deflated), len(inner_text)))
    for name in reversed(names[:-1]):
        data = tail
        records.append((name, 0, zlib.crc32(data), len(data), len(data)))
        tail = _local_header(name, 0, zlib.crc32(data), len(data), len(data)) + data
    records.reverse()
    offsets, at = [], 0
    for name, *_ in records:
        offsets.append(at)
        at += 30 + len(name)
    central = b"".join(
        _central_entry(name, method, crc, csize, usize, offset)
        for (name, method, crc, csize, usize), offset in zip(records, offsets, strict=True)
    )
    return tail + central + _eocd(len(records), len(central), len(tail))


def nested_zip(depth: int, leaf_name: str, leaf: bytes) -> bytes:
    """``depth`` zips inside each other; the innermost holds ``leaf_name``."""
    data = zip_bytes([(leaf_name, leaf)])
    for level in range(depth - 1, 0, -1):
        data = zip_bytes([(f"level{level}.zip", data)])
    return data
