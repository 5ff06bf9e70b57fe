"""Scanned documents through the real `dlpd scan` and `dlpd check-config`: categories
found by OCR carry "ocr" in their reasons, members are named, and OCR that is off,
cut or impossible is said in the outcome."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import scans

from dlpd.classify.ocr import missing

pytestmark = pytest.mark.skipif(
    missing(("jpn", "eng")) is not None or shutil.which("pdftoppm") is None
    or scans.FONT is None,
    reason="tesseract with jpn+eng, pdftoppm or the IPA Gothic font is not installed")


def _bomb() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scans")
    gaihi = scans.page(scans.GAIHI, stamp="社外秘")
    itar = scans.page(scans.ITAR, size=scans.LETTER)
    nda = scans.page(scans.NDA, signed=True)
    ssn = scans.page(scans.SSN)
    (root / "gaihi.png").write_bytes(scans.png(gaihi))
    (root / "itar.jpg").write_bytes(scans.jpeg(itar))
    (root / "fax.tif").write_bytes(scans.tiff([nda, ssn], fax=True))
    (root / "scan.pdf").write_bytes(scans.image_pdf([gaihi, itar]))
    (root / "plain.png").write_bytes(scans.png(scans.page(scans.PLAIN)))
    (root / "chart.png").write_bytes(scans.png(scans.page(scans.ITAR, size=(1600, 600))))
    (root / "bomb.png").write_bytes(_bomb())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inbox/nda.png", scans.png(nda))
    (root / "scans.zip").write_bytes(out.getvalue())
    return root


def _records(run: Any) -> dict[str, dict[str, Any]]:
    return {Path(r["path"]).name: r for r in run.records() if "path" in r}


def _found(record: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(d["category"], d.get("member")) for d in record["detections"]}


def test_scans_found_with_ocr_in_reasons(tree: Path, tmp_path: Path,
                                         dlpd_config: Callable[..., Path],
                                         scan_jsonl: Callable[..., Any]) -> None:
    run = scan_jsonl(tree, config=dlpd_config(tmp_path), args=("--no-cache",), timeout=300)
    got = _records(run)
    assert _found(got["gaihi.png"]) == {("export-control", None), ("jp-confidential", None)}
    assert _found(got["itar.jpg"]) == {("export-control", None)}
    assert _found(got["fax.tif"]) == {("jp-confidential", None), ("us-ssn", None)}
    assert _found(got["scan.pdf"]) == {("export-control", None), ("jp-confidential", None)}
    assert _found(got["scans.zip"]) == {("jp-confidential", "scans.zip!inbox/nda.png")}
    for name in ("gaihi.png", "itar.jpg", "fax.tif", "scan.pdf", "scans.zip"):
        assert got[name]["outcome"] == "ok", got[name]
        assert all("ocr" in d["reasons"] for d in got[name]["detections"])
    assert got["plain.png"]["detections"] == [] and got["plain.png"]["outcome"] == "ok"
    assert got["chart.png"]["outcome"] == "ok"
    assert got["chart.png"]["reason"] is None  # not a page: nothing left unread to say
    assert got["bomb.png"]["outcome"] == "limit_exceeded"
    assert "declares 100000x100000 pixels" in got["bomb.png"]["reason"]
    # The SSN is previewed redacted only.
    assert "212-48-3197" not in run.stdout


def test_ocr_off_says_what_was_not_read(tree: Path, tmp_path: Path,
                                        dlpd_config: Callable[..., Path],
                                        scan_jsonl: Callable[..., Any]) -> None:
    config = dlpd_config(tmp_path, '[extract]\nocr = "off"\n')
    got = _records(scan_jsonl(tree / "gaihi.png", tree / "scan.pdf", config=config,
                              args=("--no-cache",)))
    assert got["gaihi.png"]["detections"] == [] and got["gaihi.png"]["outcome"] == "ok"
    assert got["gaihi.png"]["reason"] == "image not read: OCR is off"
    assert got["scan.pdf"]["reason"] == "image-only pages 1-2 not read: OCR is off"


def test_ocr_that_cannot_run(tmp_path: Path, dlpd_config: Callable[..., Path],
                             scan_jsonl: Callable[..., Any],
                             run_dlpd: Callable[..., Any]) -> None:
    (tmp_path / "a.txt").write_text("nothing\n")
    watched = tmp_path / "watched"
    watched.mkdir()
    on = dlpd_config(tmp_path / "on", f'[watch]\npaths = ["{watched}"]\n\n'
                     '[extract]\nocr = "on"\nocr_languages = ["xyz"]\n')
    said = "extract.ocr: OCR is on but cannot run: no tesseract language data for xyz"
    # `dlpd scan` answers as clamscan (2: error), `dlpd run` with EX_CONFIG (78), and
    # `dlpd check-config` lists it among the errors: all name the key.
    run = scan_jsonl(tmp_path / "a.txt", config=on)
    assert run.returncode == 2 and said in run.stderr
    run = run_dlpd("run", "--config", on, timeout=60)
    assert run.returncode == 78 and said in run.stderr
    run = run_dlpd("check-config", "--config", on)
    assert run.returncode == 2 and said in run.stdout
    auto = dlpd_config(tmp_path / "auto", '[extract]\nocr_languages = ["xyz"]\n')
    run = run_dlpd("check-config", "--config", auto)
    assert run.returncode == 0
    assert ('extract.ocr: "auto", but OCR cannot run here: no tesseract language data '
            "for xyz") in run.stdout
