from __future__ import annotations

import pytest

from dlpd.scan.pathfilter import PathFilter


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["**/.cache/**"], "/home/a/.cache/pip/x.whl", True),
        (["**/.cache/**"], "/home/a/.cachey/x", False),
        (["*.tmp"], "/data/run/a.tmp", True),
        (["*.tmp"], "/data/run/a.tmpx", False),
        (["/data/*/scratch"], "/data/p1/scratch", True),
        (["/data/*/scratch"], "/data/p1/deep/scratch", False),
        (["/data/**/scratch"], "/data/p1/deep/scratch", True),
        (["file[0-9].txt"], "/x/file3.txt", True),
        (["file[!0-9].txt"], "/x/file3.txt", False),
        ([], "/anything", False),
    ],
)
def test_globs(patterns: list[str], path: str, excluded: bool) -> None:
    assert PathFilter(patterns).is_excluded(path) is excluded


def test_excluded_directory_is_pruned_and_exact_paths_are_excluded() -> None:
    f = PathFilter(["**/.cache/**"], exact=["/var/lib/dlpd/dlpd.db"])
    assert f.is_pruned("/home/a/.cache")
    assert not f.is_pruned("/home/a/cache")
    assert f.is_excluded("/var/lib/dlpd/dlpd.db")
