"""A research-storage tree for ``extract_bench.py``: the file families of issue 10.

    python bench/corpus_research.py [--root bench/corpus-research] [--scale 1]

``make(root, scale)`` writes, deterministically (one seeded RNG), ~30-60 MB at scale 1:
Jupyter notebooks (big text outputs, base64 PNG outputs, a few with a PEM key or an
``hf_`` token in a cell), SQLite databases (IDs, measurements, one with an ``ssn`` column),
Parquet (when pyarrow imports), JSON/JSONL with escaped strings, credential dotfiles,
a 23andMe-style genotype export, scanned pages (PNG, TIFF, image-only PDF drawn with the
IPA Gothic font) and plain text/CSV filler. Nothing of dlpd or of tests/ is used here.
"""

from __future__ import annotations

import argparse
import base64
import glob
import io
import json
import random
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpus_plants import SNIPPETS, ssn

SEED = 10
DPI = 200  # 200 dpi: the low end of what office scanners write; 300 dpi costs OCR ~2x
A4 = (1654, 2339)  # 210 x 297 mm at 200 dpi
_FONTS = sorted(glob.glob("/usr/share/fonts/**/ipag.ttf", recursive=True))
_WORDS = ("sample", "assay", "buffer", "protein", "cell", "culture", "plate", "reading",
          "control", "batch", "run", "median", "variance", "lab", "notebook", "sequence",
          "primer", "reagent", "analysis", "cohort", "baseline")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CALLS = ("AA", "AG", "GG", "CT", "CC", "TT", "--")


def _prose(rng: random.Random, size: int) -> str:
    out, total = [], 0
    while total < size:
        line = " ".join(rng.choices(_WORDS, k=rng.randint(6, 14))).capitalize() + "."
        out.append(line)
        total += len(line) + 1
    return "\n".join(out) + "\n"


def _hf_token(rng: random.Random) -> str:
    return "hf_" + "".join(rng.choices(_LETTERS, k=34))


# -- notebooks (nbformat 4.5, as Jupyter writes them) -------------------------------------


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _code(rng: random.Random, source: str, *outputs: dict[str, Any], n: int) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": n, "id": f"c{rng.getrandbits(32):08x}",
            "metadata": {}, "outputs": list(outputs), "source": _lines(source)}


def _stream(text: str) -> dict[str, Any]:
    return {"name": "stdout", "output_type": "stream", "text": _lines(text)}


def _png_output(png_b64: str, n: int) -> dict[str, Any]:
    return {"data": {"image/png": png_b64, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
            "execution_count": n, "metadata": {}, "output_type": "execute_result"}


def _plot_png(rng: random.Random) -> str:
    from PIL import Image, ImageChops, ImageDraw

    image = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(image)
    points = [(20 + 3 * i, 240 + rng.randint(-200, 200)) for i in range(200)]
    draw.line(points, fill=(31, 119, 180), width=2)
    # Noise so the PNG is the size of a real plot (~100-300 KB), not a few KB.
    red, green, blue = image.split()
    noise = Image.frombytes("L", image.size, rng.randbytes(640 * 480)).point(lambda v: v & 3)
    image = Image.merge("RGB", (red, green, ImageChops.subtract(blue, noise)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def _notebook(rng: random.Random, index: int) -> bytes:
    cells = [
        {"cell_type": "markdown", "id": f"m{index:08x}", "metadata": {},
         "source": _lines(f"# Analysis {index}\n" + _prose(rng, 400))},
        _code(rng, "import pandas as pd\ndf = pd.read_csv('runs.csv')\nprint(df)\n",
              _stream(_prose(rng, rng.choice((2_000, 50_000, 400_000)))), n=1),
    ]
    if index % 3 == 0:
        cells.append(_code(rng, "df.plot()\n", _png_output(_plot_png(rng), 2), n=2))
    if index % 10 == 3:
        cells.append(_code(rng, f'KEY = """{SNIPPETS["private-key"](rng)}"""\n', n=3))
    if index % 10 == 7:
        cells.append(_code(rng, f'HF_TOKEN = "{_hf_token(rng)}"\nlogin(HF_TOKEN)\n', n=3))
    nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
          "language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


# -- tables -------------------------------------------------------------------------------


def _sqlite(path: Path, rng: random.Random, rows: int, with_ssn: bool) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, sample_id TEXT, "
                   "plate INTEGER, od600 REAL, note TEXT)")
        db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", [
            (i, f"S{rng.randint(0, 10**8):08d}", rng.randint(1, 96), rng.random() * 2,
             " ".join(rng.choices(_WORDS, k=5))) for i in range(rows)])
        if with_ssn:
            db.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT, ssn TEXT, "
                       "dob TEXT)")
            db.executemany("INSERT INTO patients VALUES (?, ?, ?, ?)", [
                (i, f"Patient {i}", ssn(rng), f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1"
                 f"{rng.randint(0, 9)}") for i in range(rows // 20)])
        db.commit()
    finally:
        db.close()


def _parquet(path: Path, rng: random.Random, rows: int) -> bool:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    table = pa.table({
        "run_id": [f"R{rng.randint(0, 10**9):09d}" for _ in range(rows)],
        "value": [rng.gauss(0, 1) for _ in range(rows)],
        "label": [rng.choice(_WORDS) for _ in range(rows)],
    })
    pq.write_table(table, path)
    return True


def _jsonl(rng: random.Random, rows: int) -> bytes:
    out = []
    for i in range(rows):
        record = {"id": i, "text": f'He said "{rng.choice(_WORDS)}"\tthen\\left\n日本語 {i}',
                  "score": round(rng.random(), 4)}
        out.append(json.dumps(record))
    return ("\n".join(out) + "\n").encode()


def _genotype(rng: random.Random, rows: int) -> bytes:
    head = ("# This data file generated by 23andMe at: Thu Mar 02 10:11:12 2023\n"
            "#\n# More information on reference human assembly build 37 (GRCh37):\n"
            "# http://www.ncbi.nlm.nih.gov/assembly/2758/\n#\n"
            "# rsid\tchromosome\tposition\tgenotype\n")
    chroms = [str(c) for c in range(1, 23)] + ["X", "Y", "MT"]
    body = [f"rs{rng.randint(1000, 99_999_999)}\t{chroms[min(i * 25 // rows, 24)]}\t"
            f"{rng.randint(10_000, 200_000_000)}\t{rng.choice(_CALLS)}"
            for i in range(rows)]
    return (head + "\n".join(body) + "\n").encode()


def _dotfiles(root: Path, rng: random.Random) -> None:
    home = root / "home" / "alice"
    home.mkdir(parents=True, exist_ok=True)
    secret = "".join(rng.choices("abcdefghijkmnpqrstuvwxyz23456789", k=20))
    (home / ".netrc").write_text(f"machine data.example.org\nlogin alice\npassword {secret}\n")
    (home / ".pgpass").write_text(f"db.example.org:5432:study:alice:{secret[::-1]}\n")
    kaggle = home / ".kaggle"
    kaggle.mkdir(exist_ok=True)
    (kaggle / "kaggle.json").write_text(json.dumps(
        {"username": "alice", "key": "".join(rng.choices("0123456789abcdef", k=32))}))


# -- scans --------------------------------------------------------------------------------


def _page(lines: Sequence[str], stamp: str | None = None) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", A4, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(_FONTS[0], 44)
    y = 200
    for line in lines:
        draw.text((170, y), line, font=font, fill="black")
        y += 90
    if stamp:
        big = ImageFont.truetype(_FONTS[0], 75)
        x0 = A4[0] - 170 - 90 * len(stamp) - 60
        draw.rectangle((x0, 80, x0 + 90 * len(stamp) + 60, 210), outline="black", width=7)
        draw.text((x0 + 30, 100), stamp, font=big, fill="black")
    return image


_PAGES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("秘密保持契約書", "本資料は秘密保持契約に基づき開示されるものであり、",
      "第三者への開示を禁ずる。"), "社外秘"),
    (("EXPORT CONTROLLED - ITAR", "This document contains technical data whose export is",
      "restricted by the International Traffic in Arms Regulations",
      "(ITAR, 22 CFR 120-130)."), None),
    (("Employee record", "Name: Jane Q. Public", "SSN: 212-48-3197",
      "Start date: 2021-04-01"), None),
    (("Minutes of the seminar", "The group met on Tuesday to discuss",
      "the reading list for the autumn term."), None),
    (("該非判定書", "本書は輸出貿易管理令別表第一に基づく該非判定の結果である。",
      "判定: 該当 (3項)"), "社外秘"),
)


def _scans(root: Path) -> int:
    """Five single-page PNGs, one 2-page TIFF, 3 image-only PDFs; 0 without the font."""
    if not _FONTS:
        return 0
    scans = root / "scans"
    scans.mkdir(parents=True, exist_ok=True)
    pages = [_page(lines, stamp) for lines, stamp in _PAGES]
    for i, image in enumerate(pages):
        image.save(scans / f"scan-{i:02d}.png", "PNG", dpi=(DPI, DPI))
    # Copies: Pillow keeps a save's options on the images it saved, and a later save of
    # the same image would reuse them (tests/scans.py found this).
    pages[0].copy().save(scans / "fax-0001.tif", "TIFF", save_all=True,
                         append_images=[pages[1].copy()],
                  compression="tiff_lzw", dpi=(DPI, DPI))
    for i, (a, b) in enumerate(((0, 3), (1, 4), (2, 3))):
        pages[a].convert("RGB").save(scans / f"scanned-{i}.pdf", "PDF", save_all=True,
                                     append_images=[pages[b].convert("RGB")], resolution=DPI)
    return len(pages) + 1 + 3


# -- the tree -----------------------------------------------------------------------------


def make(root: Path, scale: int = 1) -> dict[str, Any]:
    """(Re)write the tree at ``root``; return its manifest (also ``root/manifest.json``)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    for lab in range(scale):
        base = root / f"lab{lab}"
        nbs = base / "notebooks"
        nbs.mkdir(parents=True)
        for i in range(40):
            (nbs / f"analysis-{i:03d}.ipynb").write_bytes(_notebook(rng, i))
        dbs = base / "db"
        dbs.mkdir()
        for i in range(4):
            _sqlite(dbs / f"plates-{i}.sqlite", rng, 30_000, with_ssn=(i == 0))
        parquet = base / "parquet"
        parquet.mkdir()
        made = sum(_parquet(parquet / f"runs-{i}.parquet", rng, 60_000) for i in range(3))
        counts["parquet"] = counts.get("parquet", 0) + made
        data = base / "data"
        data.mkdir()
        (data / "records.jsonl").write_bytes(_jsonl(rng, 40_000))
        (data / "config.json").write_text(json.dumps({"paths": ["C:\\data\\run"], "n": 3}))
        (data / "genome_Alice_v5_Full.txt").write_bytes(_genotype(rng, 600_000))
        for i in range(30):
            (data / f"notes-{i:02d}.txt").write_text(_prose(rng, 60_000))
            (data / f"runs-{i:02d}.csv").write_text("run,plate,value\n" + "".join(
                f"{j},{rng.randint(1, 96)},{rng.random():.5f}\n" for j in range(3_000)))
        _dotfiles(base, rng)
        counts["notebooks"] = counts.get("notebooks", 0) + 40
        counts["sqlite"] = counts.get("sqlite", 0) + 4
    counts["scans"] = _scans(root)
    files = [p for p in root.rglob("*") if p.is_file()]
    manifest = {"seed": SEED, "scale": scale, "counts": counts, "files": len(files),
                "bytes": sum(p.stat().st_size for p in files)}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path,
                        default=Path(__file__).resolve().parent / "corpus-research")
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(make(args.root, args.scale), indent=1))


if __name__ == "__main__":
    main()
