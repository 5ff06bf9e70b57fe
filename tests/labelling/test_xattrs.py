"""The user.dlpd.labels mirror on real files: tmpfs, a file we may not write, bad values."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlpd.labelling.xattrs import MAX_XATTR_BYTES, XATTR, encode, read_labels, write_labels
from tests.conftest import DROP_CAPABILITIES

SHM = Path("/dev/shm")


@pytest.fixture
def tmpfs_file(tmp_path: Path) -> Iterator[Path]:
    if not SHM.is_dir():
        pytest.skip("no /dev/shm tmpfs")
    path = SHM / f"dlpd-xattr-{os.getpid()}-{tmp_path.name}"
    path.write_bytes(b"run table\n")
    try:
        os.setxattr(path, "user.dlpd.probe", b"1")
    except OSError as exc:
        path.unlink()
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            pytest.skip(f"this kernel's tmpfs has no user xattrs ({exc.strerror})")
        raise
    yield path
    path.unlink(missing_ok=True)


def _fd(path: Path, flags: int = os.O_PATH) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)


def test_round_trip_through_an_o_path_fd(tmpfs_file: Path) -> None:
    fd = _fd(tmpfs_file)
    try:
        assert read_labels(fd) == ()
        assert write_labels(fd, ["export-controlled", "cui", "cui"]) is True
        assert os.getxattr(tmpfs_file, XATTR) == b"cui,export-controlled"
        assert read_labels(fd) == ("cui", "export-controlled")
        assert write_labels(fd, []) is True  # empty: the attribute goes
        assert read_labels(fd) == ()
        assert XATTR not in os.listxattr(tmpfs_file)
        assert write_labels(fd, []) is True  # and going again is no error
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "value",
    [b"Export Controlled", b"ec,\x00cui", b"ec;rm -rf", "社外秘".encode(),
     b"a," * (MAX_XATTR_BYTES // 2 + 1), b"\xff"],
)
def test_hostile_values_read_as_nothing(tmpfs_file: Path, value: bytes) -> None:
    os.setxattr(tmpfs_file, XATTR, value)
    fd = _fd(tmpfs_file, os.O_RDONLY)
    try:
        assert read_labels(fd) == ()
    finally:
        os.close(fd)


def test_commas_and_spaces_tolerated(tmpfs_file: Path) -> None:
    os.setxattr(tmpfs_file, XATTR, b" ec , cui,,")
    fd = _fd(tmpfs_file)
    try:
        assert read_labels(fd) == ("cui", "ec")
    finally:
        os.close(fd)


def test_bad_names_are_not_written(tmpfs_file: Path) -> None:
    fd = _fd(tmpfs_file)
    try:
        assert write_labels(fd, ["ok", "Not OK"]) is False
        assert write_labels(fd, ["x" * 60 + str(n) for n in range(20)]) is False
        assert read_labels(fd) == ()
    finally:
        os.close(fd)
    with pytest.raises(ValueError, match="not a label name"):
        encode(["a,b"])


def test_a_file_we_may_not_write_is_not_mirrored_and_raises_nothing(tmpfs_file: Path) -> None:
    """Root without capabilities, on a file of another user with mode 0444: the kernel
    refuses the user xattr (EACCES/EPERM); write_labels says False, read still works."""
    os.setxattr(tmpfs_file, XATTR, b"cui")
    os.chown(tmpfs_file, 65534, 65534)
    tmpfs_file.chmod(0o444)
    code = (
        "import os, sys\n"
        "from dlpd.labelling.xattrs import read_labels, write_labels\n"
        f"fd = os.open({str(tmpfs_file)!r}, os.O_PATH | os.O_NOFOLLOW)\n"
        "print(write_labels(fd, ['export-controlled']), read_labels(fd))\n"
    )
    out = subprocess.run([*DROP_CAPABILITIES, sys.executable, "-c", code], check=True,
                         capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False ('cui',)", out.stderr
    assert os.getxattr(tmpfs_file, XATTR) == b"cui"


def test_a_file_system_without_user_xattrs(tmp_path: Path) -> None:
    """/proc refuses user xattrs (ENOTSUP or EPERM): not mirrored, never an exception."""
    fd = os.open("/proc/self/status", os.O_PATH | os.O_CLOEXEC)
    try:
        assert write_labels(fd, ["ec"]) is False
        assert read_labels(fd) == ()
    finally:
        os.close(fd)
