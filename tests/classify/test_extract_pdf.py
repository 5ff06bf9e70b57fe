"""PDF text through PDFium on hostile and large input: page-tree loops, ten thousand
pages, a 50 MB file read from its descriptor, markings in the document info, and
documents read by several threads at once (PDFium is not thread-safe)."""

from __future__ import annotations

import io
import threading
import tracemalloc
import zlib
from pathlib import Path

import corpus_formats as fmt

from dlpd.classify.extract import Member, extract
from dlpd.classify.limits import Budget, Limits, MiB
from dlpd.errors import ExtractionError, LimitExceeded

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def write_pdf(objects: list[bytes], info: bytes | None = None) -> bytes:
    """Objects 1..n as given (1 is the catalog), the info dictionary last if given."""
    if info is None:
        return fmt.pdf_objects(objects)
    return fmt.pdf_objects([*objects, info], info=len(objects) + 1)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data)
    return (b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(packed), extra)
            + packed + b"\nendstream")


def text_line(text: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET\n"


def page(parent: int, contents: int, resources: bytes = b"/Font << /F1 3 0 R >>") -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << %s >> "
            b"/Contents %d 0 R >>" % (parent, resources, contents))


def run(data: bytes | io.BufferedReader, limits: Limits | None = None,
        budget: Budget | None = None) -> tuple[list[Member], Exception | None]:
    """The members yielded, then the error raised after them (if any)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    found: list[Member] = []
    try:
        for member in extract("pdf", source, budget or Budget(limits or Limits())):
            found.append(member)
    except (ExtractionError, LimitExceeded) as exc:
        return found, exc
    return found, None


def text(found: list[Member]) -> str:
    return b"\n".join(m.data for m in found if m.name == "text").decode()


def test_a_page_tree_that_loops_does_not_hang_and_the_real_page_is_read() -> None:
    # /Pages 2 lists a page and /Pages 5, whose only kid is /Pages 2 again.
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>",
        FONT,
        page(2, 6),
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        stream(text_line(b"CUI//SP-PRVCY looped tree")),
    ]
    found, error = run(write_pdf(objects))
    assert "CUI//SP-PRVCY looped tree" in text(found)
    assert error is None or isinstance(error, ExtractionError)


def test_a_page_tree_whose_only_kid_is_itself_is_an_error_naming_the_page() -> None:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    ]
    found, error = run(write_pdf(objects))
    assert isinstance(error, ExtractionError)
    assert str(error) == "1 unreadable in pdf: page not loaded x1 ('page 1')"
    assert not text(found)


def many_pages(count: int, last: bytes) -> bytes:
    """``count`` empty pages sharing one empty content stream; the last one says ``last``."""
    first_page = 6
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        FONT,
        stream(b""),
        stream(text_line(last)),
    ]
    objects += [page(2, 4) for _ in range(count - 1)] + [page(2, 5)]
    return write_pdf(objects)


def test_ten_thousand_empty_pages_are_all_read() -> None:
    found, error = run(many_pages(10_000, b"CUI//SP-PRVCY on the last page"))
    assert error is None
    assert text(found).strip() == "CUI//SP-PRVCY on the last page"


def test_ten_thousand_pages_stop_at_the_scan_timeout_between_pages() -> None:
    ticks = iter(range(1_000_000))  # one "second" per look at the clock

    def clock() -> float:
        return float(next(ticks))

    budget = Budget(Limits(scan_timeout=500), clock=clock)
    found, error = run(many_pages(10_000, b"never reached"), budget=budget)
    assert isinstance(error, LimitExceeded)
    assert error.limit == "scan_timeout"
    assert "never reached" not in text(found)
    assert [m.name for m in found] == ["text"]  # what was read before the limit stays


def test_a_50_mb_pdf_is_read_from_its_file_without_a_copy(tmp_path: Path) -> None:
    # Page 1 draws a 50 MB (53 MB) uncompressed image; page 2 holds the text.
    side = 4200
    pixels = b"\x80" * (side * side * 3)
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
             b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (side, side, len(pixels))
             + pixels + b"\nendstream")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>",
        FONT,
        page(2, 6, b"/Font << /F1 3 0 R >> /XObject << /Im1 8 0 R >>"),
        page(2, 7),
        stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q\n" + text_line(b"Figure 1: a photograph")),
        stream(text_line(b"Card 4111 1111 1111 1111 after the figure")),
        image,
    ]
    path = tmp_path / "big.pdf"
    path.write_bytes(write_pdf(objects))
    assert path.stat().st_size > 50 * MiB
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            found, error = run(file, Limits(max_buffer_bytes=32 * MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error is None
    assert "Card 4111 1111 1111 1111 after the figure" in text(found)
    assert peak < 4 * MiB  # Python never held the file (or its image) whole


def test_a_marking_in_the_document_info_is_read() -> None:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        FONT,
        page(2, 5),
        stream(text_line(b"Quarterly figures")),
    ]
    info = (b"<< /Title (CUI//SP-EXPT) /Subject <FEFF793E591679D8> "
            b"/Keywords (ITAR controlled) /Author (not read) >>")
    lines = text(run(write_pdf(objects, info))[0]).splitlines()
    assert lines[:3] == ["CUI//SP-EXPT", "社外秘", "ITAR controlled"]
    assert "Quarterly figures" in lines
    assert "not read" not in lines


def test_an_unreadable_file_has_our_own_reason_without_its_bytes() -> None:
    data = b"%PDF-1.7\n" + b"SECRET-123-45-6789 " * 500
    found, error = run(data)
    assert isinstance(error, ExtractionError)
    assert str(error).startswith("malformed pdf")
    assert "SECRET" not in str(error)
    assert found == []


def numbered_pdf(number: int) -> bytes:
    body = b"".join(
        b"BT /F1 12 Tf 72 %d Td (document %d line %d) Tj ET\n" % (720 - 12 * line, number, line)
        for line in range(40))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R 5 0 R 6 0 R] /Count 3 >>",
        FONT,
        page(2, 7), page(2, 7), page(2, 7),
        stream(body),
    ]
    return write_pdf(objects)


def test_documents_read_by_several_threads_at_once_come_out_whole() -> None:
    # PDFium crashes or mixes documents up when two threads call it at once.
    files = {number: numbered_pdf(number) for number in range(4)}
    results: dict[int, list[str]] = {number: [] for number in files}
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for _ in range(25):
                results[number].append(text(run(files[number])[0]))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,), name=f"pdf-{n}") for n in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    for number, texts in results.items():
        expected = "\n".join(f"document {number} line {line}" for line in range(40))
        assert texts == ["\n".join([expected] * 3)] * 25


def test_an_unfinished_extraction_leaves_pdfium_usable() -> None:
    # The consumer stops after the text member (the scan hit a limit elsewhere): the
    # document is already closed and the next file reads normally.
    data = numbered_pdf(7)
    first = next(iter(extract("pdf", io.BytesIO(data), Budget(Limits()))))
    assert first.name == "text"
    assert "document 7 line 39" in text(run(data)[0])
