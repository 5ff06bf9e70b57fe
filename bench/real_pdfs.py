"""Gather the real PDFs this machine's packages ship into one tree, for bench/real_trees.py.

    python bench/real_pdfs.py [DIR] [--force]

Walks /usr/share, /usr/lib, /usr/local, /opt and the repository's venv without crossing a
mount or following a link, and copies every ``*.pdf`` and ``*.pdf.gz`` of at least 10 KiB
into ``DIR/tree/`` (default DIR ``bench/real-pdfs/``, git-ignored), gunzipped, once per
content. The names keep where each came from (``bzip2--manual.pdf`` for
``/usr/share/doc/bzip2/manual.pdf.gz``). ``DIR/MANIFEST.json``, outside the scanned tree,
lists sources, sizes and sha256; a second call reuses the tree unless ``--force``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO / "bench" / "real-pdfs"
SEARCH_ROOTS = (
    Path("/usr/share"),
    Path("/usr/lib"),
    Path("/usr/local"),
    Path("/opt"),
    REPO / ".venv",
)
MANIFEST = "MANIFEST.json"
TREE = "tree"  # what the bench scans: PDFs only, the manifest sits beside it
MIN_BYTES = 10 * 1024
# A gzip member that inflates past this is no manual: stop reading it (a bounded copy).
MAX_PDF_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20


def find_pdfs(roots: tuple[Path, ...] = SEARCH_ROOTS) -> list[Path]:
    """Regular files named *.pdf / *.pdf.gz, >= MIN_BYTES, on each root's own device."""
    found = []
    for root in roots:
        try:
            device = root.stat().st_dev
        except OSError:
            continue
        for directory, dirs, names in os.walk(root):  # os.walk does not follow dir links
            dirs[:] = [d for d in dirs if _same_device(Path(directory, d), device)]
            for name in names:
                lower = name.lower()
                if not lower.endswith((".pdf", ".pdf.gz")):
                    continue
                path = Path(directory, name)
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if path.is_file() and not path.is_symlink() and info.st_size >= MIN_BYTES:
                    found.append(path)
    return sorted(found)


def _same_device(path: Path, device: int) -> bool:
    try:
        return path.lstat().st_dev == device
    except OSError:
        return False


def _read_pdf(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise ValueError(f"{path}: more than {MAX_PDF_BYTES} bytes")
    return data


def _target_name(path: Path, taken: set[str]) -> str:
    stem = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    name = f"{path.parent.name}--{stem}"
    base, number = name, 1
    while name in taken:
        number += 1
        name = f"{Path(base).stem}-{number}.pdf"
    return name


def gather(target: Path, force: bool = False) -> dict[str, Any]:
    """Copy (gunzip) the machine's PDFs into ``target``; return its manifest."""
    existing = read_manifest(target)
    if existing is not None and not force:
        return existing
    if target.exists():
        shutil.rmtree(target)
    (target / TREE).mkdir(parents=True)
    seen: set[str] = set()
    taken: set[str] = set()
    files: list[dict[str, Any]] = []
    for source in find_pdfs():
        try:
            data = _read_pdf(source)
        except (OSError, EOFError, ValueError) as exc:
            print(f"skipped {source}: {exc}", file=sys.stderr)
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen or not data.startswith(b"%PDF"):
            continue
        seen.add(digest)
        name = _target_name(source, taken)
        taken.add(name)
        (target / TREE / name).write_bytes(data)
        files.append({"name": name, "source": str(source), "bytes": len(data), "sha256": digest})
    manifest = {
        "generator": "bench/real_pdfs.py",
        "roots": [str(r) for r in SEARCH_ROOTS],
        "files": files,
        "bytes": sum(f["bytes"] for f in files),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def read_manifest(target: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--force", action="store_true", help="gather again")
    args = parser.parse_args(argv)
    manifest = gather(args.dir, args.force)
    for entry in manifest["files"]:
        print(f"{entry['bytes']:>10}  {entry['name']}  <- {entry['source']}")
    print(f"{len(manifest['files'])} PDFs, {manifest['bytes'] / 1e6:.1f} MB in {args.dir / TREE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
