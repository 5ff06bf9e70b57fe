"""The compiled-rules cache: used when it is ours and intact, ignored otherwise.

Real YARA throughout. Whether a ruleset came from the cache is seen through a cached file
re-signed by the test with a different rule description (the checksum is not a secret:
it guards against corruption; ownership and mode guard against other users).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from dlpd.classify.signatures import Ruleset, compile_rules
from dlpd.classify.validators import REGISTRY

RULE = """rule lab_codename {{
    meta:
        category = "cui"
        confidence = "high"
        description = "{description}"
    strings:
        $a = "{word}"
    condition:
        $a
}}
"""


def site_rules(directory: Path, word: str = "BLUEHERON", description: str = "codename") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "site.yar").write_text(RULE.format(word=word, description=description))
    return directory


def build(rules: Path, cache: Path, **kwargs: bool) -> Ruleset:
    return compile_rules([rules], known_validators=REGISTRY.keys(), shipped=False,
                         cache_dir=cache, **kwargs)


def description(ruleset: Ruleset) -> str:
    (meta,) = ruleset.metas.values()
    return meta.description


def matched(ruleset: Ruleset, data: bytes) -> list[str]:
    return [hit.meta.rule for hit in ruleset.match(data, timeout=10)]


def cached_file(cache: Path) -> Path:
    (found,) = cache.glob("*.yarc")
    return found


def resign(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    """Rewrite the cached header with ``change`` applied and a checksum that holds."""
    magic, key, size, _, rest = path.read_bytes().split(b"\n", 4)
    header = json.loads(rest[:int(size)])
    change(header)
    new = json.dumps(header).encode()
    blob = rest[int(size):]
    checksum = hashlib.sha256(new + blob).hexdigest().encode()
    path.write_bytes(b"\n".join((magic, key, str(len(new)).encode(), checksum, new + blob)))


def _describe_as_cached(header: dict[str, object]) -> None:
    metas = header["metas"]
    assert isinstance(metas, list)
    metas[0][3]["description"] = "from the cache"


@pytest.fixture
def primed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Site rules, a cache holding them, and the cached file re-signed so that a ruleset
    loaded from it says "from the cache"."""
    rules, cache = site_rules(tmp_path / "rules"), tmp_path / "cache"
    build(rules, cache)
    compiled = cached_file(cache)
    resign(compiled, _describe_as_cached)
    return rules, cache, compiled


def test_compiled_rules_are_saved_privately_and_loaded_the_next_time(
    primed: tuple[Path, Path, Path],
) -> None:
    rules, cache, compiled = primed
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(compiled.stat().st_mode) == 0o600
    assert not [p for p in cache.iterdir() if p.suffix != ".yarc"]  # no temporary left
    loaded = build(rules, cache)
    assert description(loaded) == "from the cache"
    assert matched(loaded, b"project BLUEHERON status") == ["lab_codename"]
    assert matched(loaded, b"project heron status") == []
    assert loaded.version == build(rules, cache, strict=True).version


def test_strict_compiling_never_reads_the_cache(primed: tuple[Path, Path, Path]) -> None:
    rules, cache, _ = primed
    assert description(build(rules, cache, strict=True)) == "codename"


def test_an_edited_rule_file_is_compiled_again(primed: tuple[Path, Path, Path]) -> None:
    rules, cache, _ = primed
    site_rules(rules, word="REDKITE")
    fresh = build(rules, cache)
    assert description(fresh) == "codename"
    assert matched(fresh, b"BLUEHERON") == []
    assert matched(fresh, b"REDKITE") == ["lab_codename"]
    assert len(list(cache.glob("*.yarc"))) == 2


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_cached_file_others_may_write_is_ignored(
    primed: tuple[Path, Path, Path], mode: int,
) -> None:
    rules, cache, compiled = primed
    compiled.chmod(mode)
    assert description(build(rules, cache)) == "codename"


def test_a_cache_directory_others_may_write_is_ignored(
    primed: tuple[Path, Path, Path],
) -> None:
    rules, cache, _ = primed
    cache.chmod(0o777)
    assert description(build(rules, cache)) == "codename"


def test_a_symlinked_cache_file_is_ignored(primed: tuple[Path, Path, Path]) -> None:
    rules, cache, compiled = primed
    elsewhere = cache.parent / "planted.yarc"
    compiled.rename(elsewhere)
    compiled.symlink_to(elsewhere)
    assert description(build(rules, cache)) == "codename"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_cached_file_planted_by_another_user_is_ignored(
    primed: tuple[Path, Path, Path],
) -> None:
    rules, cache, compiled = primed
    os.chown(compiled, 65534, 65534)
    assert description(build(rules, cache)) == "codename"
    os.chown(compiled, 0, 0)
    os.chown(cache, 65534, 65534)
    assert description(build(rules, cache)) == "codename"


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "garbage"])
def test_a_corrupt_cached_file_is_compiled_again_and_replaced(
    tmp_path: Path, damage: str,
) -> None:
    rules, cache = site_rules(tmp_path / "rules"), tmp_path / "cache"
    build(rules, cache)
    compiled = cached_file(cache)
    data = compiled.read_bytes()
    compiled.write_bytes({
        "truncated": data[:-50],
        "flipped": data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:],
        "empty": b"",
        "garbage": os.urandom(len(data)),
    }[damage])
    fresh = build(rules, cache)
    assert matched(fresh, b"BLUEHERON") == ["lab_codename"]
    assert cached_file(cache).read_bytes() == data


def test_an_unknown_validator_in_a_cached_file_is_a_miss(
    primed: tuple[Path, Path, Path],
) -> None:
    """A cached file written by a dlpd that knew a validator this one does not: the rules
    are compiled, and the unknown name is reported as a compile problem would be."""
    rules, cache, compiled = primed

    def unknown(header: dict[str, object]) -> None:
        metas = header["metas"]
        assert isinstance(metas, list)
        metas[0][3]["validator"] = "no-such-validator"

    resign(compiled, unknown)
    assert description(build(rules, cache)) == "codename"


def test_an_unwritable_cache_directory_only_costs_the_compile(tmp_path: Path) -> None:
    rules = site_rules(tmp_path / "rules")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    assert matched(build(rules, blocked / "cache"), b"BLUEHERON") == ["lab_codename"]
