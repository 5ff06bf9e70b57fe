"""OCR through Tesseract, in a child process per page: the only user of the engine (and
of poppler's ``pdftoppm``, which draws a PDF page for it).

Tesseract runs as a separate program: a hostile image that crashes or stalls it costs
that page, not the scanner. Each child is started through ``prlimit`` (address space,
CPU seconds, bytes written: set before the program runs, with no ``preexec_fn`` in a
threaded parent), with one OpenMP thread (its threads would fight the scan pool), reads
its input from a file descriptor (a ``memfd`` or the scanned file's own: never a path in
a shared directory), writes into a ``memfd`` bounded by that limit, and is killed at its
time bound. Its exit status becomes a short reason; its stderr is never read (leptonica
quotes what it choked on).
"""

from __future__ import annotations

import functools
import glob
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import BinaryIO

from dlpd.classify.limits import Budget, GiB, MiB
from dlpd.model import OcrOptions

# Where Debian (tesseract-ocr 4/5), other distributions and source builds keep the data.
_TESSDATA_GLOBS = (
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tesseract-ocr/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
# A 100-megapixel page in 32-bit colour is 400 MB; tesseract with jpn+eng reads an A4
# page at 300 dpi in ~100 MB. Past this the child fails its allocation and that page
# is noted.
ADDRESS_SPACE = 2 * GiB
# The long side of a drawn PDF page, in pixels: A4 at 600 dpi. A page declared bigger is
# drawn at a lower resolution, so its raster stays under ~49 MB of 8-bit grey.
MAX_RENDER_SIDE = 7_000
RENDER_DPI = 300
_RASTER_BYTES = MAX_RENDER_SIDE * MAX_RENDER_SIDE + 64


class OcrFailed(Exception):
    """One page could not be read; the message is a short reason with no file bytes."""


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
    if shutil.which("prlimit") is None:
        return "prlimit is not installed (Debian: apt-get install util-linux)"
    dirs = tessdata_dirs()
    absent = [lang for lang in languages
              if not any(os.path.isfile(os.path.join(d, f"{lang}.traineddata")) for d in dirs)]
    if absent:
        names = " ".join(f"tesseract-ocr-{lang}" for lang in absent)
        return f"no tesseract language data for {', '.join(absent)} (Debian: {names})"
    return None


def renderer_missing() -> str | None:
    """Why image-only PDF pages cannot be drawn for OCR here, or None."""
    if shutil.which("pdftoppm") is None:
        return "pdftoppm is not installed (Debian: apt-get install poppler-utils)"
    return None


def render_dpi(width_pt: float, height_pt: float) -> int:
    """The resolution a PDF page of this size (in points) is drawn at: 300 dpi, less for
    a page so big that its raster would pass ``MAX_RENDER_SIDE``."""
    longest = max(width_pt, height_pt, 1.0)
    return max(1, min(RENDER_DPI, math.floor(MAX_RENDER_SIDE * 72 / longest)))


class PageReader:
    """The OCR of one file, a page at a time. Each page gets ``min(page_timeout, what is
    left of file_timeout, what is left of the scan)``; text comes back within
    ``max_text_bytes`` over all pages."""

    def __init__(self, options: OcrOptions, budget: Budget,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._options = options
        self._budget = budget
        self._clock = clock
        self._file_deadline = clock() + options.file_timeout
        self._text_left = budget.limits.max_text_bytes
        self.pages = 0  # pages handed to the engine, read or not
        self._page_started = 0.0

    def stop_reason(self) -> str | None:
        """Why no further page may be read, or None."""
        if self.pages >= self._options.max_pages:
            return f"ocr_max_pages is {self._options.max_pages}"
        if self._file_deadline - self._clock() <= 0:
            return f"ocr_file_timeout of {self._options.file_timeout:g}s spent"
        if self._budget.remaining_seconds() <= 0:
            return "scan_timeout spent"
        if self._text_left <= 0:
            return "max_text_bytes reached"
        return None

    def read_image(self, image: int, page: int | None = None, dpi: int | None = None) -> str:
        """The text of the image at file descriptor ``image`` (read from its current
        offset); ``page``: that page of a multi-page TIFF (0 first)."""
        self.pages += 1
        self._page_started = self._clock()
        return self._ocr(image, self._page_deadline(), page, dpi)

    def read_pdf_page(self, pdf: int, number: int, dpi: int) -> str:
        """Draw page ``number`` (1 first) of the PDF at file descriptor ``pdf`` in grey,
        then read it; both within the page's one time bound."""
        self.pages += 1
        self._page_started = self._clock()
        deadline = self._page_deadline()
        program = _program("pdftoppm")
        args = [program, "-r", str(dpi), "-gray", "-f", str(number), "-l", str(number),
                f"/dev/fd/{pdf}"]
        raster = _run(args, stdin=None, pass_fds=(pdf,), deadline=deadline,
                      started=self._page_started, max_output=_RASTER_BYTES,
                      clock=self._clock, what="drawing the page")
        try:
            if os.fstat(raster).st_size == 0:
                raise OcrFailed("the page drew nothing")
            return self._ocr(raster, deadline, None, dpi)
        finally:
            os.close(raster)

    def _page_deadline(self) -> float:
        now = self._clock()
        seconds = min(self._options.page_timeout, self._file_deadline - now,
                      self._budget.remaining_seconds())
        return now + max(0.0, seconds)

    def _ocr(self, image: int, deadline: float, page: int | None, dpi: int | None) -> str:
        args = [_program("tesseract"), "stdin", "stdout", "-l", "+".join(self._options.languages)]
        if dpi is not None:
            args += ["--dpi", str(dpi)]
        if page is not None:
            args += ["-c", f"tessedit_page_number={page}"]
        os.lseek(image, 0, os.SEEK_SET)
        out = _run(args, stdin=image, pass_fds=(), deadline=deadline,
                   started=self._page_started, max_output=max(1, self._text_left),
                   clock=self._clock, what="OCR")
        try:
            data = _read_all(out, max(1, self._text_left))
        finally:
            os.close(out)
        text = data.decode("utf-8", "replace")
        self._text_left -= len(data)
        return text


def input_fd(stream: BinaryIO) -> int:
    """A file descriptor of the whole of ``stream`` for a child to read, closed by the
    caller: a fresh open of the scanned file itself (its own offset, so the child and
    the stream do not move each other), else a ``memfd`` holding a copy of the bytes."""
    try:
        fileno = stream.fileno()
    except (OSError, ValueError):  # io.BytesIO has none
        fileno = -1
    if fileno >= 0:
        try:
            return os.open(f"/proc/self/fd/{fileno}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # no /proc: copy it, as for a member
            pass
    fd = os.memfd_create("dlpd-ocr-in", os.MFD_CLOEXEC)
    try:
        stream.seek(0)
        while chunk := stream.read(MiB):
            os.write(fd, chunk)
    except BaseException:
        os.close(fd)
        raise
    return fd


@functools.lru_cache(maxsize=4)
def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OcrFailed(f"{name} is not installed")
    return path


def _environment() -> dict[str, str]:
    env = {"OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}
    if os.environ.get("TESSDATA_PREFIX"):
        env["TESSDATA_PREFIX"] = os.environ["TESSDATA_PREFIX"]
    return env


def _run(args: list[str], *, stdin: int | None, pass_fds: tuple[int, ...], deadline: float,
         started: float, max_output: int, clock: Callable[[], float], what: str) -> int:
    """Run ``args`` under resource limits until ``deadline``; its stdout as a memfd
    (the caller closes it). ``OcrFailed`` when it times out, fails or writes too much;
    a timeout is said as the page's whole bound (the page ``started`` then)."""
    seconds = deadline - clock()
    if seconds <= 0:
        raise OcrFailed(f"{what}: no time left")
    limits = [_program("prlimit"), f"--as={ADDRESS_SPACE}",
              f"--cpu={math.ceil(seconds) + 1}", f"--fsize={max_output}", "--"]
    out = os.memfd_create("dlpd-ocr-out", os.MFD_CLOEXEC)
    try:
        # An argument list of absolute program paths and validated names; no shell.
        proc = subprocess.Popen(  # noqa: S603
            limits + args, stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out, stderr=subprocess.DEVNULL, pass_fds=pass_fds, env=_environment(),
            close_fds=True)
    except OSError as exc:
        os.close(out)
        raise OcrFailed(f"{what}: could not start ({type(exc).__name__})") from exc
    try:
        status = proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        os.close(out)
        raise OcrFailed(f"{what} timed out after {deadline - started:.2g}s") from None
    if status != 0:
        os.close(out)
        raise OcrFailed(f"{what} failed ({_status(status)})")
    return out


def _status(status: int) -> str:
    if status == -25:  # SIGXFSZ: the output limit
        return "output over its size bound"
    if status in (-24, -9):  # SIGXCPU, or SIGKILL past the hard CPU limit
        return "CPU limit"
    if status < 0:
        return f"signal {-status}"
    return f"exit {status}"


def _read_all(fd: int, cap: int) -> bytes:
    chunks = []
    got = 0
    while got < cap:
        chunk = os.pread(fd, min(MiB, cap - got), got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def describe_pages(numbers: list[int]) -> str:
    """``[3, 21, 22, 23]`` -> ``"pages 3, 21-23"`` (at most 8 ranges named)."""
    ranges: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    shown = [f"{a}-{b}" if a != b else str(a) for a, b in ranges[:8]]
    more = ", ..." if len(ranges) > 8 else ""
    single = len(ranges) == 1 and ranges[0][0] == ranges[0][1]
    return f"{'page' if single else 'pages'} {', '.join(shown)}{more}"
