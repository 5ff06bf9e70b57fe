"""Memory of ``dlpd scan`` stays bounded on hostile archives (issue 7, item 6).

The bombs are written in the test, streaming, so the test itself stays small: zips whose
members decompress to hundreds of MiB at a ratio just under ``max_ratio`` (the ratio
check cannot stop them, only the memory bound can), a zip in a zip, and a bzip2 member
that lies about its size (915 bytes are a GiB of zeros). The real CLI runs as a
subprocess and its peak RSS is read from ``RUSAGE_CHILDREN`` in a waiter of its own (a
fresh interpreter), so that neither other tests' children nor pytest's size count.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

MiB = 1 << 20
# Per MiB: a little noise and zeros, ~200:1 deflated: under max_ratio (250), so only the
# memory bound stops a member from being held whole.
_NOISE = os.urandom(4400)
_CHUNK = _NOISE + bytes(MiB - len(_NOISE))
# Interpreter, rules, libmagic and SQLite take ~80 MB; each job may hold about
# 2 x max_buffer_bytes (32 MiB) of content plus copies made while matching.
PEAK_LIMIT_MB = 250


def _write_members(target: zipfile.ZipFile, members: int, mib: int) -> None:
    for n in range(members):
        with target.open(f"member{n}.bin", "w", force_zip64=True) as member:
            for _ in range(mib):
                member.write(_CHUNK)


def mid_ratio_zip(path: Path, members: int, mib: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _write_members(archive, members, mib)


def nested_zip(path: Path, mib: int) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _write_members(archive, 2, mib)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as outer:
        outer.writestr("inner.zip", inner.getvalue())
        outer.writestr("again.zip", inner.getvalue())


def lying_bzip2_zip(path: Path, gib: int = 1) -> None:
    """A bzip2 member of ``gib`` GiB of zeros whose headers say it is 1000 bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("readme.txt", "nothing to see")
        with archive.open("zeros.bin", "w") as member:
            zero = bytes(16 * MiB)
            for _ in range(gib * 64):
                member.write(zero)
    data = bytearray(path.read_bytes())
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.rfind(signature)
        struct.pack_into("<I", data, at + size_at, 1000)
    path.write_bytes(bytes(data))


# Runs dlpd and reports the peak RSS of it and its workers. A fresh interpreter, not a fork
# of this one: on Linux a process's peak RSS starts from that of the memory it replaced at
# exec, and a child spawned from a fork of pytest would start from pytest's whole size
# (257 MB by the middle of a full run), whatever dlpd itself used.
_WAITER = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, timeout=600, check=False)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout.decode(),
                  "stderr": proc.stderr.decode()[-3000:], "peak": peak}))
"""


def scan_peak_rss(
    paths: list[Path], config: Path, jobs: int
) -> tuple[list[dict[str, object]], int]:
    """Records of ``dlpd scan --no-cache --format jsonl`` and its peak RSS in MB."""
    waiter = subprocess.run(
        [sys.executable, "-c", _WAITER, sys.executable, "-m", "dlpd", "scan", "--no-cache",
         "--format", "jsonl", "--config", str(config), "--jobs", str(jobs), *map(str, paths)],
        capture_output=True, timeout=660, check=True,
    )
    report = json.loads(waiter.stdout)
    assert report["rc"] in (0, 1), report["stderr"]
    records = [json.loads(line) for line in report["stdout"].splitlines() if line.strip()]
    return records, int(report["peak"])


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bombs")
    mid_ratio_zip(root / "wide1.zip", members=3, mib=300)
    mid_ratio_zip(root / "wide2.zip", members=3, mib=300)
    nested_zip(root / "nested.zip", mib=120)
    lying_bzip2_zip(root / "liar.zip")
    return root


@pytest.fixture
def config(tmp_path: Path, dlpd_config: object) -> Path:
    return dlpd_config(tmp_path)  # type: ignore[operator,no-any-return]


def test_wide_and_nested_zips_stay_under_the_memory_bound(bombs: Path, config: Path) -> None:
    files = [bombs / "wide1.zip", bombs / "wide2.zip", bombs / "nested.zip"]
    records, peak = scan_peak_rss(files, config, jobs=2)
    by_name = {Path(str(r["path"])).name: r for r in records}
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak} MB"
    for name in ("wide1.zip", "wide2.zip", "nested.zip"):
        record = by_name[name]
        assert record["outcome"] == "limit_exceeded", record
        assert "max_buffer_bytes" in str(record["reason"]), record


def test_nesting_does_not_multiply_the_bound(bombs: Path, config: Path) -> None:
    records, _ = scan_peak_rss([bombs / "nested.zip"], config, jobs=1)
    reason = str(records[0]["reason"])
    # inner.zip (~1 MB) is held; its members get what is left of the 32 MiB together.
    cuts = [int(part.split("first ")[1].split()[0]) for part in reason.split("; ")
            if "max_buffer_bytes" in part]
    assert cuts and max(cuts) <= 32 * MiB


def test_bzip2_member_lying_about_its_size_is_stopped_while_decompressing(
    bombs: Path, config: Path
) -> None:
    records, peak = scan_peak_rss([bombs / "liar.zip"], config, jobs=1)
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak} MB"
    (record,) = records
    assert record["outcome"] == "limit_exceeded", record
    assert "max_ratio" in str(record["reason"]), record
