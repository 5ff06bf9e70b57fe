"""OCR through Tesseract, in a child process per page: the only user of the engine.

Tesseract runs as a separate program: a hostile image that crashes or stalls it costs
that page, not the scanner, and each page is killed at its time bound.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil

# Where Debian (tesseract-ocr 4/5), other distributions and source builds keep the data.
_TESSDATA_GLOBS = (
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tesseract-ocr/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


def tessdata_dirs() -> list[str]:
    dirs = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    for pattern in _TESSDATA_GLOBS:
        dirs.extend(sorted(glob.glob(pattern), reverse=True))
    return dirs


@functools.lru_cache(maxsize=8)
def missing(languages: tuple[str, ...]) -> str | None:
    """Why OCR in ``languages`` cannot run here, or None when it can. Looks for files
    only (no process is started: every scan's start-up asks)."""
    if shutil.which("tesseract") is None:
        return "tesseract is not installed (Debian: apt-get install tesseract-ocr)"
    dirs = tessdata_dirs()
    absent = [lang for lang in languages
              if not any(os.path.isfile(os.path.join(d, f"{lang}.traineddata")) for d in dirs)]
    if absent:
        names = " ".join(f"tesseract-ocr-{lang}" for lang in absent)
        return f"no tesseract language data for {', '.join(absent)} (Debian: {names})"
    return None
