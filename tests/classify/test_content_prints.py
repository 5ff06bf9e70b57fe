"""Content prints from the real classifier (issue 9): the same text in a .txt, a docx, an
odt, a PDF and a zip gives the same text prints; the same rows in a CSV, an xlsx and an ods
give the same table prints; the label xattr is read, a hostile one is not; with prints off
nothing of it runs."""

from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import json
import logging
import os
import random
import sys
import textwrap
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import escape

import pytest
from corpus_formats import docx_bytes, ods_bytes, odt_bytes, pdf_bytes, xlsx_bytes, zip_bytes

from dlpd.classify.classifier import Classifier
from dlpd.classify.prints import PrintOptions, segmented_prints
from dlpd.config import LimitSettings, Settings
from dlpd.fingerprint.table import TablePrints
from dlpd.fingerprint.text import TextPrints, text_prints
from dlpd.model import FileResult
from dlpd.wiring import build_classifier, build_ruleset

KEY = bytes(range(32))
OPTIONS = PrintOptions(cell_key=KEY)


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def on(settings: Settings) -> Classifier:
    return build_classifier(settings, build_ruleset(settings), prints=OPTIONS)


@pytest.fixture(scope="module")
def off(settings: Settings, on: Classifier) -> Classifier:
    return build_classifier(settings, on.ruleset)


def _prose() -> str:
    """Real English prose (the logging module's docstrings), as CP1252 can set it in a PDF."""
    docs = [inspect.getdoc(obj) or "" for _, obj in sorted(vars(logging).items())
            if getattr(obj, "__module__", None) == "logging"]
    text = "\n\n".join(d for d in docs if len(d) >= 200)[:12_000]
    return text.encode("cp1252", "replace").decode("cp1252")


PROSE = _prose()


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def _pdf(text: str, width: int) -> bytes:
    """One PDF page of ``text`` set in lines of ``width`` characters."""
    ops = [b"BT /F1 7 Tf 9 TL 20 780 Td"]
    for line in textwrap.wrap(" ".join(text.split()), width):
        escaped = line.encode("cp1252").replace(b"\\", b"\\\\")
        ops.append(b"(" + escaped.replace(b"(", b"\\(").replace(b")", b"\\)") + b") Tj T*")
    ops.append(b"ET")
    return pdf_bytes(b"\n".join(ops))


def _write(directory: Path, name: str, data: bytes) -> str:
    path = directory / name
    path.write_bytes(data)
    return str(path)


def _text(result: FileResult) -> TextPrints:
    assert result.outcome.value == "ok", result.reason
    assert result.text_prints is not None, result.path
    return result.text_prints


def _held(source: TextPrints, other: TextPrints) -> float:
    """The share of ``source``'s prints that ``other`` holds (what a match is judged by)."""
    return len(source.prints & other.prints) / len(source.prints)


# -- text -----------------------------------------------------------------------------
def test_a_document_and_its_text_give_the_same_prints(on: Classifier, tmp_path: Path) -> None:
    paragraphs = _paragraphs(PROSE)
    txt = _text(on.classify(_write(tmp_path, "spec.txt", PROSE.encode())))
    assert len(txt.prints) >= 100
    docx = _text(on.classify(_write(tmp_path, "spec.docx",
                                    docx_bytes([[p] for p in paragraphs]))))
    odt = _text(on.classify(_write(tmp_path, "spec.odt",
                                   odt_bytes([escape(p) for p in paragraphs]))))
    pdf = _text(on.classify(_write(tmp_path, "spec.pdf", _pdf(PROSE, 80))))
    latin1 = _text(on.classify(_write(tmp_path, "spec-latin1.txt", PROSE.encode("cp1252"))))
    for name, prints in (("docx", docx), ("odt", odt), ("pdf", pdf), ("cp1252 txt", latin1)):
        assert _held(txt, prints) >= 0.9, (name, _held(txt, prints))
        assert _held(prints, txt) >= 0.9, (name, _held(prints, txt))


def test_an_archive_holds_the_prints_of_its_documents(on: Classifier, tmp_path: Path) -> None:
    txt = _text(on.classify(_write(tmp_path, "spec.txt", PROSE.encode())))
    other = "\n\n".join(inspect.getdoc(f) or "" for f in (csv.reader, csv.writer, io.open))
    docx = docx_bytes([[p] for p in _paragraphs(PROSE)])
    archive = zip_bytes([("notes.txt", other.encode()), ("k17/spec.docx", docx),
                         ("run.bin", random.Random(1).randbytes(4096))])
    zipped = _text(on.classify(_write(tmp_path, "out.zip", archive)))
    assert _held(txt, zipped) >= 0.9


def test_prints_take_at_most_max_text_bytes(settings: Settings, on: Classifier,
                                            tmp_path: Path) -> None:
    small = build_classifier(settings, on.ruleset,
                             prints=PrintOptions(cell_key=KEY, max_text_bytes=3000))
    data = ("é" + PROSE).encode()
    cut = _text(small.classify(_write(tmp_path, "long.txt", data)))
    whole = _text(on.classify(str(tmp_path / "long.txt")))
    assert cut.chars < 3000 < whole.chars
    assert cut.prints and cut.prints < whole.prints


def test_binary_content_has_no_text_prints(on: Classifier, tmp_path: Path) -> None:
    result = on.classify(_write(tmp_path, "run.bin", random.Random(2).randbytes(64 * 1024)))
    assert result.text_prints is None and result.table_prints is None


# -- tables ---------------------------------------------------------------------------
NAMES = ("Okafor, N.", "Lindqvist, A.", "Tanaka, H.", "Moreau, C.", "O'Brien, S.")


def _rows(n: int, seed: int = 7) -> list[tuple[str, str, float, str, int]]:
    rng = random.Random(seed)
    return [(f"k17-r{rng.randrange(100_000):05d}", f"2026-{rng.randint(1, 12):02d}-"
             f"{rng.randint(1, 28):02d}", round(rng.uniform(1, 900), 2), rng.choice(NAMES),
             rng.randrange(1, 5000)) for _ in range(n)]


HEADER = ("sample", "date", "pressure", "operator", "count")


def _csv(rows: list[tuple[str, str, float, str, int]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    # 412.70, not 412.7: the canonical cell is the same.
    writer.writerows((s, d, f"{p:.2f}", o, c) for s, d, p, o, c in rows)
    return out.getvalue().encode()


def _table(result: FileResult) -> TablePrints:
    assert result.outcome.value == "ok", result.reason
    assert result.table_prints is not None, result.path
    return result.table_prints


def _same_table(a: TablePrints, b: TablePrints) -> None:
    shared = set(a.cells) & set(b.cells)
    assert len(shared) / len(set(a.cells) | set(b.cells)) >= 0.9
    assert a.rows == b.rows
    assert sorted(map(sorted, a.row_cells)) == sorted(map(sorted, b.row_cells))


def test_a_csv_and_a_workbook_of_the_same_rows_give_the_same_table_prints(
        on: Classifier, tmp_path: Path) -> None:
    rows = _rows(60)
    from_csv = _table(on.classify(_write(tmp_path, "runs.csv", _csv(rows))))
    assert from_csv.rows == 60 and from_csv.header
    # Every row holds five cells of evidence: "Okafor, N." is one cell, not two.
    assert all(len(cells) == 5 for cells in from_csv.row_cells)
    tsv = _table(on.classify(_write(tmp_path, "runs.tsv", _csv(rows, "\t"))))
    sheet = [list(HEADER), *[list(r) for r in rows]]
    xlsx = _table(on.classify(_write(tmp_path, "runs.xlsx", xlsx_bytes(sheet))))
    ods = _table(on.classify(_write(tmp_path, "runs.ods", ods_bytes(sheet))))
    for other in (tsv, xlsx, ods):
        _same_table(from_csv, other)


def test_a_streamed_csv_gives_the_table_of_the_whole_file(on: Classifier,
                                                          tmp_path: Path) -> None:
    """A file bigger than max_buffer_bytes is read in chunks: rows cut by a chunk's end
    (and a character cut in two) are joined again."""
    settings = Settings(limits=LimitSettings(max_buffer_bytes=16 * 1024))
    streamed = build_classifier(settings, on.ruleset, prints=OPTIONS)
    data = _csv(_rows(3000)).replace(b"Okafor", "Økafor".encode())
    path = _write(tmp_path, "big.csv", data)
    whole, chunked = on.classify(path), streamed.classify(path)
    assert chunked.scanned_bytes == len(data) > 16 * 1024
    _same_table(_table(whole), _table(chunked))
    assert _text(whole).prints == _text(chunked).prints


def test_prose_is_no_table(on: Classifier, tmp_path: Path) -> None:
    result = on.classify(_write(tmp_path, "spec.docx",
                                docx_bytes([[p] for p in _paragraphs(PROSE)])))
    assert result.text_prints is not None and result.table_prints is None


# -- the label xattr --------------------------------------------------------------------
@pytest.fixture
def shm(tmp_path: Path) -> Iterator[Path]:
    """A directory on a file system with user xattrs (tmpfs), else skip."""
    for base in ("/dev/shm", str(tmp_path)):
        probe = Path(base) / f"dlpd-xattr-probe-{os.getpid()}"
        try:
            probe.write_bytes(b"")
            os.setxattr(probe, "user.dlpd.probe", b"1")
        except OSError:
            probe.unlink(missing_ok=True)
            continue
        probe.unlink()
        directory = Path(base) / f"dlpd-prints-{os.getpid()}"
        directory.mkdir(exist_ok=True)
        yield directory
        for child in directory.iterdir():
            child.unlink()
        directory.rmdir()
        return
    pytest.skip("no file system with user xattrs")


def test_the_label_xattr_is_read(on: Classifier, off: Classifier, shm: Path) -> None:
    path = _write(shm, "k17.txt", PROSE.encode())
    os.setxattr(path, "user.dlpd.labels", b"phi,export-controlled")
    assert on.classify(path).xattr_labels == ("export-controlled", "phi")
    assert on.classify(path).to_json()["xattr_labels"] == ["export-controlled", "phi"]
    assert off.classify(path).xattr_labels == ()


@pytest.mark.parametrize("value", [
    b"a," * 600,  # over 1 KiB
    b"export-controlled,../../etc",
    b"export-controlled,\x1b[31mred",
    b"export controlled",
    "輸出管理".encode(),
    b"\xff\xfe",
])
def test_a_hostile_label_xattr_reads_as_nothing(on: Classifier, shm: Path,
                                                value: bytes) -> None:
    path = _write(shm, "k17.txt", b"data")
    os.setxattr(path, "user.dlpd.labels", value)
    result = on.classify(path)
    assert result.outcome.value == "ok"
    assert result.xattr_labels == ()


# -- prints off: nothing of it runs ---------------------------------------------------
_WATCHED = (os.sep + os.path.join("dlpd", "fingerprint") + os.sep,
            os.sep + os.path.join("dlpd", "classify", "prints.py"))


class _Calls:
    """Functions of the print path called, and xattrs read (audit events), meanwhile."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.events: list[str] = []
        self.active = False

    def profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code.co_filename.endswith(_WATCHED[1]) or _WATCHED[0] in code.co_filename \
                or code.co_name in ("is_plain_text", "read_labels"):
            self.calls.append(f"{code.co_filename}:{code.co_name}")

    def audit(self, event: str, _args: tuple[Any, ...]) -> None:
        if self.active and "xattr" in event:
            self.events.append(event)


_CALLS = _Calls()
sys.addaudithook(_CALLS.audit)  # audit hooks cannot be removed: it records only when active


def _watched(run: Callable[[], FileResult]) -> FileResult:
    _CALLS.calls.clear()
    _CALLS.events.clear()
    _CALLS.active = True
    sys.setprofile(_CALLS.profile)
    try:
        return run()
    finally:
        sys.setprofile(None)
        _CALLS.active = False


def test_with_prints_off_nothing_of_them_runs(on: Classifier, off: Classifier,
                                              shm: Path) -> None:
    rows = [list(HEADER), *[list(r) for r in _rows(20)]]
    files = {
        "k17.txt": PROSE.encode(), "k17.csv": _csv(_rows(20)), "k17.xlsx": xlsx_bytes(rows),
        "k17.docx": docx_bytes([[p] for p in _paragraphs(PROSE)]),
        "k17.zip": zip_bytes([("a.csv", _csv(_rows(5))), ("b.txt", b"notes")]),
        "k17.pdf": _pdf(PROSE[:2000], 80),
    }
    for name, data in files.items():
        path = _write(shm, name, data)
        os.setxattr(path, "user.dlpd.labels", b"export-controlled")
        plain = _watched(partial(off.classify, path))
        assert _CALLS.calls == [] and _CALLS.events == [], (name, _CALLS.calls[:3])
        assert (plain.text_prints, plain.table_prints, plain.xattr_labels) == (None, None, ())
        printed = _watched(partial(on.classify, path))
        assert _CALLS.calls and _CALLS.events, name  # the watch sees the print path
        # Besides the new fields, the result is the one prints off gives.
        assert dataclasses.replace(printed, xattr_labels=()) == plain, name
        assert printed.text_prints is not None


# -- bounded memory ---------------------------------------------------------------------
@pytest.mark.parametrize("segment", [2_000, 5_000, 50_000])
def test_segmented_prints_are_the_prints_of_the_whole_text(segment: int) -> None:
    text = "\n\n".join([PROSE, PROSE.upper().replace(" ", "  "), "Ünïcödé\u00ad " * 400, PROSE])
    whole = text_prints(text)
    parts = segmented_prints(text, segment=segment, overlap=1_000)
    assert parts.prints == whole.prints
    assert parts.chars == whole.chars


def test_a_csv_with_quoted_delimiters_is_still_a_table(on: Classifier, tmp_path: Path) -> None:
    """The cheap check before rows_from_text takes a quoted field as one, however many
    commas it holds."""
    rows = _rows(40)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for i, (s, d, p, o, c) in enumerate(rows):
        writer.writerow((s, d, p, o + ", PhD, MD" * (i % 3), c))
    table = _table(on.classify(_write(tmp_path, "quoted.csv", out.getvalue().encode())))
    assert table.rows == 40 and all(len(cells) == 5 for cells in table.row_cells)


def test_indented_json_is_no_table(on: Classifier, tmp_path: Path) -> None:
    data = json.dumps([{"sample": f"k17-r{i:05d}", "value": i * 1.5, "tags": ["a", "b"]}
                       for i in range(200)], indent=1)
    result = on.classify(_write(tmp_path, "runs.json", data.encode()))
    assert result.text_prints is not None and result.table_prints is None
