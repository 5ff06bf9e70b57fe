"""Content generators for the benchmark corpus, one per file kind, found through ``KINDS``.

Each generator takes the run's ``Pools`` (pre-built paragraphs, log messages, numbers), a
target size and an optional category to plant, and returns the file's bytes. Speed comes
from sampling pre-built pools with ``random.choices`` and from ``randbytes``, never from
per-character loops: 500 MB must generate in well under a minute.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from corpus_plants import plant_in_text, snippet_lines

_WORD_TEXT = (
    "sample assay buffer plate well reagent protocol incubation centrifuge pellet supernatant "
    "absorbance fluorescence calibration replicate control baseline cohort subject visit dose "
    "response kinetics enzyme substrate ligand binding affinity sequencing library adapter "
    "alignment coverage variant genotype phenotype expression transcript cluster embedding "
    "model training validation epoch gradient checkpoint dataset split annotation label "
    "microscope objective exposure channel stack segmentation mask threshold intensity "
    "spectrometer wavelength peak resolution detector beamline sample holder cryostat "
    "temperature pressure humidity sensor drift offset noise filter bandwidth acquisition "
    "the a of and to in for with on by from was were is are this that these results method "
    "analysis data figure table appendix supplementary observed measured estimated mean median "
    "standard deviation error interval significant increase decrease compared relative"
)
_WORDS = tuple(_WORD_TEXT.split())
_JP_SENTENCES = (
    "実験データの解析結果を以下に示す。",
    "試料は四度で保存し、翌日に測定した。",
    "本資料は研究目的でのみ使用してください。",
    "測定値の平均と標準偏差を表にまとめた。",
    "次回の打ち合わせでは解析手順を確認する。",
    "装置の校正は毎週月曜日に実施すること。",
    "被験者の同意書は別途保管されている。",
    "追加の試料が必要な場合は担当者へ連絡する。",
)
_LOG_COMPONENTS = ("scheduler", "ingest", "aligner", "qc", "uploader", "db", "auth", "cache")
_LOG_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
_LOG_MESSAGES = (
    "job {a} finished in {b} ms",
    "processed batch {a} with {b} records",
    "retrying connection to 10.{a}.{b}.7 after timeout",
    "checkpoint saved at step {a} loss={b}",
    "user u{a} requested dataset ds-{b}",
    "queue depth {a} lag {b} s",
    "wrote {a} bytes to /data/run{b}/out.bin",
)
_WELLS = tuple(f"{row}{col:02d}" for row in "ABCDEFGH" for col in range(1, 13))
_TISSUES = ("blood", "liver", "lung", "skin", "plasma", "saliva", "tumor", "normal")


@dataclass(frozen=True, slots=True)
class Pools:
    """Pre-built material shared by all generators of one corpus run."""

    paragraphs: tuple[str, ...]
    floats: tuple[str, ...]
    float_block: bytes  # 1 MiB of float64 values, tiled for .npy arrays

    @classmethod
    def build(cls, rng: random.Random) -> Pools:
        paragraphs = tuple(_paragraph(rng) for _ in range(3000))
        floats = tuple(f"{rng.gauss(50.0, 20.0):.4f}" for _ in range(50_000))
        block = array("d", (rng.gauss(0.0, 1.0) for _ in range(131_072))).tobytes()
        return cls(paragraphs, floats, block)


def _paragraph(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(25, 90))
    # Numbers inside prose (dates, counts) are what digit-heavy DLP patterns trip over.
    words.insert(rng.randrange(len(words)), str(rng.randint(1, 99999)))
    return " ".join(words).capitalize() + "."


def _prose(pools: Pools, rng: random.Random, size: int) -> bytes:
    count = max(1, size // 380)
    return "\n\n".join(rng.choices(pools.paragraphs, k=count)).encode()[:size] + b"\n"


def _log_lines(rng: random.Random, size: int) -> bytes:
    lines: list[str] = []
    stamp = rng.randint(1_600_000_000, 1_700_000_000)
    total = 0
    while total < size:
        stamp += rng.randint(0, 5)
        message = rng.choice(_LOG_MESSAGES).format(a=rng.randint(1, 99999), b=rng.randint(1, 999))
        line = (
            f"{stamp}.{rng.randint(0, 999):03d} {rng.choice(_LOG_LEVELS)} "
            f"[{rng.choice(_LOG_COMPONENTS)}] {message}"
        )
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def _maybe_plant(body: bytes, plant: str | None, rng: random.Random) -> bytes:
    return plant_in_text(body, plant, rng) if plant else body


def gen_txt(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    return _maybe_plant(_prose(pools, rng, size), plant, rng)


def gen_md(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    parts = [f"# Lab notes {rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}\n"]
    body = _prose(pools, rng, size).decode()
    for number, chunk in enumerate(body.split("\n\n")):
        if number % 6 == 0:
            parts.append(f"\n## Section {number // 6 + 1}\n")
        parts.append(chunk + "\n")
    return _maybe_plant("\n".join(parts).encode(), plant, rng)


def gen_jptxt(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    count = max(1, size // 60)
    body = "\n".join(
        # Fullwidth brackets are what Japanese documents really contain.
        s + f"（試料番号 {rng.randint(1, 9999)}）"  # noqa: RUF001
        for s in rng.choices(_JP_SENTENCES, k=count)
    )
    return _maybe_plant(body.encode() + b"\n", plant, rng)


def gen_log(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    return _maybe_plant(_log_lines(rng, size), plant, rng)


def gen_src(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    lines = ["# analysis configuration", "import os", "", "SETTINGS = {"]
    total = 0
    while total < size:
        line = f"    'param_{rng.randint(1, 9999)}': {rng.choice(pools.floats)},"
        lines.append(line)
        total += len(line) + 1
    lines.append("}")
    return _maybe_plant(("\n".join(lines) + "\n").encode(), plant, rng)


def gen_csv_measure(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    header = "sample_id,well,timestamp,od600,temp_c,ph,conc_ng_ul,reads,barcode"
    rows = max(1, size // 80)
    values = rng.choices(pools.floats, k=rows * 4)
    start = rng.randint(1, 900_000)
    stamp = rng.randint(1_600_000_000, 1_700_000_000)
    lines = [header]
    lines.extend(
        f"S{start + i:07d},{_WELLS[i % 96]},{stamp + 60 * i},{values[4 * i]},{values[4 * i + 1]},"
        f"{values[4 * i + 2]},{values[4 * i + 3]},{(start * 7 + i * 13) % 9_000_000},"
        f"{100_000_000_000 + (start + i) * 7919 % 899_999_999_999}"
        for i in range(rows)
    )
    return _maybe_plant(("\n".join(lines) + "\n").encode(), plant, rng)


def gen_csv_samples(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    header = "sample_id,patient_id,collection_date,tissue,lab_id,index_seq,volume_ul"
    rows = max(1, size // 70)
    seqs = rng.randbytes(rows * 8).translate(_ACGT).decode()
    lines = [header]
    lines.extend(
        f"SM-{rng.randint(1, 99999):05d},P-{rng.randint(1, 999999):06d},"
        f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
        f"{rng.choice(_TISSUES)},{rng.randint(100_000_000, 999_999_999)},"
        f"{seqs[8 * i : 8 * i + 8]},{rng.choice(pools.floats)}"
        for i in range(rows)
    )
    return _maybe_plant(("\n".join(lines) + "\n").encode(), plant, rng)


def gen_json(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    records: list[dict[str, object]] = []
    total = 0
    while total < size:
        record: dict[str, object] = {
            "id": rng.randint(1, 10**9),
            "run": f"run-{rng.randint(1, 999):03d}",
            "metrics": {"mean": rng.choice(pools.floats), "sd": rng.choice(pools.floats)},
            "tags": rng.choices(_WORDS, k=3),
        }
        records.append(record)
        total += 130
    if plant:
        note = {"note": "\n".join(snippet_lines(plant, rng))}
        records.insert(rng.randrange(len(records) + 1), note)
    return json.dumps(records, indent=1, ensure_ascii=False).encode()


_ACGT = bytes(b"ACGT"[i % 4] for i in range(256))
_QUAL = bytes(33 + 2 + i % 39 for i in range(256))


def gen_fastq(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    reads = max(1, size // 340)
    seq = rng.randbytes(reads * 150).translate(_ACGT).decode()
    qual = rng.randbytes(reads * 150).translate(_QUAL).decode()
    flowcell = f"HW{rng.randint(1000, 9999)}BGXX"
    return "".join(
        f"@A00{i % 900}:{flowcell}:1:{1101 + i % 50}:{i * 7 % 32000}:{i * 13 % 32000} 1:N:0:1\n"
        f"{seq[150 * i : 150 * i + 150]}\n+\n{qual[150 * i : 150 * i + 150]}\n"
        for i in range(reads)
    ).encode()


def gen_vcf(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    header = (
        "##fileformat=VCFv4.2\n##source=benchcorpus\n##reference=GRCh38\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total Depth">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
    )
    rows = max(1, size // 60)
    bases = "ACGT"
    position = rng.randint(10_000, 1_000_000)
    lines = []
    for _ in range(rows):
        position += rng.randint(1, 5000)
        lines.append(
            f"chr{rng.randint(1, 22)}\t{position}\trs{rng.randint(1, 99_999_999)}\t"
            f"{rng.choice(bases)}\t{rng.choice(bases)}\t{rng.randint(10, 99)}\tPASS\t"
            f"DP={rng.randint(5, 200)}\tGT\t0/1\t1/1"
        )
    return (header + "\n".join(lines) + "\n").encode()


def gen_bin(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    return rng.randbytes(size)


def gen_npy(pools: Pools, rng: random.Random, size: int, plant: str | None) -> bytes:
    count = max(1, size // 8)
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({count},), }}"
    header = header.ljust(117) + "\n"  # magic(6)+version(2)+len(2)+header pads to 128
    offset = rng.randrange(0, len(pools.float_block), 8)
    block = pools.float_block[offset:] + pools.float_block[:offset]
    data = (block * (count * 8 // len(block) + 1))[: count * 8]
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


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


Generator = Callable[[Pools, random.Random, int, "str | None"], bytes]


@dataclass(frozen=True, slots=True)
class Kind:
    """A file kind: its generator, the file-name suffix and its share of the file count."""

    generator: Generator
    suffix: str
    weight: float
    family: str


# Shares of the file count, after the brief: ~40% text, ~25% CSV, ~10% JSON, ~10% binary,
# ~10% documents/archives, a few FASTQ/VCF.
KINDS: dict[str, Kind] = {
    "log": Kind(gen_log, ".log", 15, "text"),
    "txt": Kind(gen_txt, ".txt", 13, "text"),
    "md": Kind(gen_md, ".md", 8, "text"),
    "src": Kind(gen_src, ".py", 4, "text"),
    "jptxt": Kind(gen_jptxt, ".txt", 2.5, "text"),
    "csv": Kind(gen_csv_measure, ".csv", 17, "csv"),
    "samples": Kind(gen_csv_samples, ".csv", 8, "csv"),
    "json": Kind(gen_json, ".json", 10, "json"),
    "bin": Kind(gen_bin, ".bin", 5, "binary"),
    "npy": Kind(gen_npy, ".npy", 5, "binary"),
    "docx": Kind(gen_docx, ".docx", 3, "document"),
    "xlsx": Kind(gen_xlsx, ".xlsx", 2, "document"),
    "zip": Kind(gen_zip, ".zip", 2, "archive"),
    "targz": Kind(gen_targz, ".tar.gz", 1.5, "archive"),
    "loggz": Kind(gen_loggz, ".log.gz", 1.5, "archive"),
    "fastq": Kind(gen_fastq, ".fastq", 0.3, "genomic"),
    "vcf": Kind(gen_vcf, ".vcf", 0.2, "genomic"),
}
