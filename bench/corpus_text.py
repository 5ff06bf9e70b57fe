"""Generators of plain files for the benchmark corpus: text, logs, CSV, JSON, FASTQ/VCF, binary.

Each takes the run's ``Pools`` (pre-built paragraphs and numbers), a target size and an
optional category to plant, and returns the file's bytes. Speed comes from sampling the
pools with ``random.choices`` and from ``randbytes``, never from per-character loops: 500 MB
must generate in well under a minute.
"""

from __future__ import annotations

import json
import random
from array import array
from dataclasses import dataclass

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
        note: dict[str, object] = {"note": "\n".join(snippet_lines(plant, rng))}
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
