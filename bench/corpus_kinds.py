"""The file kinds of the benchmark corpus: generator, file-name suffix and share of the count.

A generator takes the run's ``Pools``, a random source, a target size and an optional
category to plant, and returns the file's bytes (``corpus_text``, ``corpus_containers``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from corpus_containers import gen_docx, gen_loggz, gen_targz, gen_xlsx, gen_zip
from corpus_text import (
    Pools,
    gen_bin,
    gen_csv_measure,
    gen_csv_samples,
    gen_fastq,
    gen_jptxt,
    gen_json,
    gen_log,
    gen_md,
    gen_npy,
    gen_src,
    gen_txt,
    gen_vcf,
)

__all__ = ["KINDS", "Kind", "Pools"]

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
