"""The golden corpus through the real CLI: ``dlpd scan ROOT --format jsonl``.

One scan of the whole generated corpus (tests/corpus.py), then:
- precision and recall over (file, category) pairs, both at least 0.95, listing every miss
  and false alarm;
- a table of exact categories per file, one test id per file (strelka's
  ``test_scanner_assignment`` style), so a failure names the file and what it is;
- the record contract: fields, types, sha256 of the file, no matched text anywhere;
- the incremental cache: an unchanged tree comes back ``cached`` with the same results,
  ``--no-cache`` reads again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import corpus
import pytest

EXPECTED = corpus.expected()
CONFIDENCES = ("low", "medium", "high")
OUTCOMES = ("ok", "skipped", "limit_exceeded", "error", "unstable")
MIN_PRECISION = MIN_RECALL = 0.95


class Golden:
    state: Path

    def __init__(self, built: corpus.Corpus, run: Any) -> None:
        self.built = built
        self.run = run
        self.root = built.root
        self.records: dict[str, dict[str, Any]] = {}
        self.unexpected: dict[str, dict[str, Any]] = {}
        for path, rec in run.by_path().items():
            rel = os.path.relpath(path, self.root) if os.path.isabs(path) else path
            if rel in EXPECTED:
                self.records[rel] = rec
            else:
                self.unexpected[path] = rec

    def record(self, rel: str) -> dict[str, Any]:
        if rel not in self.records:
            pytest.fail(f"{rel}: no record in dlpd's output (scan {self.run.describe(800)})")
        return self.records[rel]


def _scan_corpus(tmp: Path, dlpd_config: Any, scan_jsonl: Any, *args: str) -> tuple[Any, Any]:
    built = corpus.build(tmp / "corpus")
    config = dlpd_config(tmp)
    return built, scan_jsonl(built.root, config=config, args=args)


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory, dlpd_config: Any, scan_jsonl: Any) -> Golden:
    tmp = tmp_path_factory.mktemp("golden").resolve()
    built, run = _scan_corpus(tmp, dlpd_config, scan_jsonl)
    golden = Golden(built, run)
    golden.state = tmp  # the config's directory: dlpd.db and its WAL live there
    return golden


def test_scan_finishes_and_exits_1(golden: Golden) -> None:
    golden.run.assert_finished_cleanly()
    assert golden.run.returncode == 1, (
        "the corpus holds sensitive files, so the exit code must be 1; " + golden.run.describe()
    )


def test_every_file_reported_once(golden: Golden) -> None:
    missing = sorted(set(EXPECTED) - set(golden.records))
    assert not missing, f"files with no record: {missing}"
    assert not golden.unexpected, f"records for paths not in the corpus: {list(golden.unexpected)}"


def test_precision_and_recall(golden: Golden) -> None:
    truth = {(f, c) for f, cats in EXPECTED.items() for c in cats}
    found = {(f, c) for f, rec in golden.records.items() for c in rec.get("categories") or ()}
    found |= {(p, c) for p, rec in golden.unexpected.items() for c in rec.get("categories") or ()}
    hits = truth & found
    misses, false_alarms = sorted(truth - found), sorted(found - truth)
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(truth)
    report = (
        f"precision {precision:.3f} ({len(hits)}/{len(found)}), "
        f"recall {recall:.3f} ({len(hits)}/{len(truth)})\n"
        + "".join(f"  MISS         {f}: {c}\n" for f, c in misses)
        + "".join(f"  FALSE ALARM  {f}: {c}\n" for f, c in false_alarms)
    )
    print(report)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, report


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_golden_table(golden: Golden, rel: str) -> None:
    rec = golden.record(rel)
    got = (rec.get("outcome"), sorted(rec.get("categories") or []))
    want = ("ok", sorted(EXPECTED[rel]))
    detections = [
        (d.get("rule"), d.get("category"), d.get("confidence"), d.get("member"), d.get("reasons"))
        for d in rec.get("detections") or []
    ]
    assert got == want, (
        f"{rel} ({corpus.FIXTURES[rel].why})\n  expected (outcome, categories) {want}\n"
        f"  got {got}, mime {rec.get('mime')!r}, reason {rec.get('reason')!r}\n"
        f"  detections {detections}"
    )


def test_records_follow_the_contract(golden: Golden) -> None:
    problems = []
    for rel, rec in sorted(golden.records.items()):
        data = (golden.root / rel).read_bytes()
        want_keys = {"path", "size", "sha256", "mime", "outcome", "reason", "labels",
                     "categories", "detections"}
        if missing := want_keys - rec.keys():
            problems.append(f"{rel}: missing keys {sorted(missing)}")
            continue
        if not os.path.isabs(rec["path"]):
            problems.append(f"{rel}: path {rec['path']!r} is not absolute")
        if rec["size"] != len(data):
            problems.append(f"{rel}: size {rec['size']} != {len(data)}")
        if rec["outcome"] == "ok" and rec["sha256"] != hashlib.sha256(data).hexdigest():
            problems.append(f"{rel}: sha256 {rec['sha256']} is not the file's")
        if rec["outcome"] not in OUTCOMES:
            problems.append(f"{rel}: outcome {rec['outcome']!r}")
        if rec["outcome"] != "ok" and not isinstance(rec["reason"], str):
            problems.append(f"{rel}: outcome {rec['outcome']} without a reason")
        if rec["categories"] != sorted(rec["categories"]):
            problems.append(f"{rel}: categories not sorted: {rec['categories']}")
        if not set(rec["categories"]) <= corpus.CATEGORIES:
            problems.append(f"{rel}: unknown categories {rec['categories']}")
        if set(rec["categories"]) != {d.get("category") for d in rec["detections"]}:
            problems.append(f"{rel}: categories {rec['categories']} do not match detections")
        if not isinstance(rec["labels"], list):
            problems.append(f"{rel}: labels is not a list")
        for d in rec["detections"]:
            if d.get("confidence") not in ("medium", "high"):
                problems.append(f"{rel}: detection below the default minimum confidence: {d}")
            if not (isinstance(d.get("count"), int) and d["count"] >= 1):
                problems.append(f"{rel}: detection count {d.get('count')!r}")
            if not isinstance(d.get("rule"), str) or not d["rule"]:
                problems.append(f"{rel}: detection without a rule: {d}")
            if d.get("member") is not None and not isinstance(d["member"], str):
                problems.append(f"{rel}: member {d['member']!r}")
            if not isinstance(d.get("previews"), list) or not isinstance(d.get("reasons"), list):
                problems.append(f"{rel}: previews/reasons are not lists: {d}")
    assert not problems, "\n".join(problems)


def test_no_matched_text_in_output(golden: Golden) -> None:
    """Previews are redacted: no card number, SSN, token or key line appears verbatim."""
    leaked = sorted(s for s in golden.built.secrets if s in golden.run.stdout)
    assert not leaked, f"matched text in dlpd's output: {leaked}"


def test_no_matched_text_in_the_store_or_logs(
    golden: Golden, dlpd_config: Any, run_dlpd: Any, tmp_path: Path
) -> None:
    """The database files, byte for byte (free pages and WAL included), and a debug-level
    log of a whole scan hold no card number, SSN, token or key line."""
    stored = b"".join(p.read_bytes() for p in golden.state.glob("dlpd.db*"))
    assert stored, "no database files next to the config"
    leaked = sorted(s for s in golden.built.secrets if s.encode("utf-8") in stored)
    assert not leaked, f"matched text in the store: {leaked}"
    debug = run_dlpd("--log-level", "debug", "scan", golden.root, "--no-cache", "--format",
                     "jsonl", "--config", dlpd_config(tmp_path))
    assert debug.stderr.count("\n") >= len(EXPECTED), "expected a log line per file"
    leaked = sorted(s for s in golden.built.secrets if s in debug.stderr)
    assert not leaked, f"matched text in the log: {leaked}"


def test_nested_member_path(golden: Golden) -> None:
    rec = golden.record(corpus.NESTED_PATH)
    members = [d.get("member") for d in rec.get("detections") or []]
    assert corpus.NESTED_MEMBER in members, (
        f"{corpus.NESTED_PATH}: expected a detection with member {corpus.NESTED_MEMBER!r}, "
        f"got members {members}"
    )


def test_top_level_content_has_no_member(golden: Golden) -> None:
    rec = golden.record("text/kitchen_sink.txt")
    members = {d.get("member") for d in rec.get("detections") or []}
    assert members <= {None}, f"a plain file's own content must have member null: {members}"


# -- incremental cache ------------------------------------------------------------------------


def _comparable(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "cached"}


@pytest.fixture(scope="module")
def cache_runs(
    tmp_path_factory: pytest.TempPathFactory, dlpd_config: Any, scan_jsonl: Any
) -> tuple[Any, Any, Any]:
    tmp = tmp_path_factory.mktemp("cache").resolve()
    built, first = _scan_corpus(tmp, dlpd_config, scan_jsonl)
    config = tmp / "dlpd.toml"
    second = scan_jsonl(built.root, config=config)
    uncached = scan_jsonl(built.root, config=config, args=("--no-cache",))
    return first, second, uncached


@pytest.fixture(scope="module")
def parallel_run(cache_runs: tuple[Any, Any, Any], tmp_path_factory: pytest.TempPathFactory,
                 dlpd_config: Any, scan_jsonl: Any) -> Any:
    tmp = tmp_path_factory.mktemp("parallel").resolve()
    built = corpus.build(tmp / "corpus")
    return built, scan_jsonl(built.root, config=dlpd_config(tmp), args=("--jobs", "2"))


def test_second_run_is_cached_with_same_results(cache_runs: tuple[Any, Any, Any]) -> None:
    first, second, _ = cache_runs
    second.assert_finished_cleanly()
    a, b = first.by_path(), second.by_path()
    assert set(a) == set(b), f"paths differ: {sorted(set(a) ^ set(b))}"
    not_cached = sorted(p for p, rec in b.items() if rec.get("cached") is not True)
    assert not not_cached, f"{len(not_cached)}/{len(b)} files not cached on the second run: " \
        f"{not_cached[:10]}"
    changed = [p for p in a if _comparable(a[p]) != _comparable(b[p])]
    assert not changed, "results differ on the cached run:\n" + "\n".join(
        f"{p}\n  first:  {_comparable(a[p])}\n  cached: {_comparable(b[p])}" for p in changed[:5]
    )
    assert first.returncode == second.returncode


def test_no_cache_reads_again(cache_runs: tuple[Any, Any, Any]) -> None:
    first, _, uncached = cache_runs
    uncached.assert_finished_cleanly()
    a, c = first.by_path(), uncached.by_path()
    assert set(a) == set(c), f"paths differ: {sorted(set(a) ^ set(c))}"
    cached = sorted(p for p, rec in c.items() if rec.get("cached") is not False)
    assert not cached, f"--no-cache still reported cached results for {cached[:10]}"
    changed = [p for p in a if _comparable(a[p]) != _comparable(c[p])]
    assert not changed, "results differ with --no-cache:\n" + "\n".join(
        f"{p}\n  first:    {_comparable(a[p])}\n  no-cache: {_comparable(c[p])}"
        for p in changed[:5]
    )


def test_parallel_scan_gives_the_same_results(golden: Golden, parallel_run: Any) -> None:
    built, run = parallel_run
    run.assert_finished_cleanly()
    serial = {rel: _comparable(rec) for rel, rec in golden.records.items()}
    parallel = {os.path.relpath(p, built.root): _comparable(r) for p, r in run.by_path().items()}
    for recs in (serial, parallel):  # absolute paths differ between the two trees
        for rec in recs.values():
            rec.pop("path", None)
    changed = sorted(rel for rel in serial.keys() | parallel.keys()
                     if serial.get(rel) != parallel.get(rel))
    assert not changed, "--jobs 2 changed results:\n" + "\n".join(
        f"{rel}\n  serial:   {serial.get(rel)}\n  parallel: {parallel.get(rel)}"
        for rel in changed[:5]
    )


# -- paths as arguments, minimum confidence ---------------------------------------------------


def test_file_arguments_are_reported_as_given(golden: Golden, scan_jsonl: Any) -> None:
    files = [golden.root / "text/cui_banner.txt", golden.root / "keys/server.crt"]
    run = scan_jsonl(*files, config=golden.root.parent / "dlpd.toml")
    run.assert_finished_cleanly()
    records = run.by_path()
    assert set(records) == {str(f) for f in files}, f"got paths {sorted(records)}"
    assert records[str(files[0])]["categories"] == ["cui"]
    assert records[str(files[1])]["categories"] == []
    assert run.returncode == 1


def test_card_without_keyword_is_low_confidence(
    tmp_path: Path, dlpd_config: Any, scan_jsonl: Any
) -> None:
    """Luhn + issuer but no card keyword: low confidence, so shown only at min_confidence low."""
    built = corpus.build(tmp_path / "corpus")
    target = built.root / "neg/card_no_keyword.txt"
    config = dlpd_config(tmp_path, '[scan]\nmin_confidence = "low"\n')
    run = scan_jsonl(target, config=config)
    run.assert_finished_cleanly()
    rec = run.by_path()[str(target)]
    cards = [d for d in rec["detections"] if d["category"] == "credit-card"]
    assert cards and {d["confidence"] for d in cards} == {"low"}, rec["detections"]
