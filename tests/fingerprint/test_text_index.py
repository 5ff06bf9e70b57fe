"""The text fingerprint index on a real SQLite file: excerpts, pastes, boilerplate, plans."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from corpus_formats import docx_bytes

from dlpd.classify.extract import extract
from dlpd.classify.limits import Budget, Limits
from dlpd.fingerprint.match import MIN_PRINTS, copy_of, text_matches
from dlpd.fingerprint.text import text_prints
from dlpd.store import fingerprints as repo
from dlpd.store.db import open_engine, transaction
from fingerprint.text_corpus import SAME_TOPIC, corpus, excerpts, module_text

HOST = "h"
LAB_FORM = """Institute for Applied Flow Physics - Laboratory Report Form LR-7 (rev. 3)
Project number, principal investigator, cost centre and the export classification of
every attachment must be entered before the report is filed. Results described in this
report are the property of the institute and may be shared only with the persons named
on the distribution list. Instruments: list the calibration certificate of every sensor
used, with its expiry date. Safety: the hazard assessment referenced below must be signed
by the laboratory manager before any run. Signature of the principal investigator, date,
signature of the laboratory manager, date. Retain this form for ten years."""


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return open_engine(f"sqlite:///{tmp_path}/dlpd.db")


def _register(conn: sa.Connection, path: str, text: str, sha: str | None = None) -> int:
    return repo.register(conn, host=HOST, path=path, sha256=sha or f"{hash(path) & 0xFFFF:064x}",
                         labels=["export-controlled"], origin={"export-controlled": {
                             "set_by": "prof_k", "set_at": 1.0}},
                         text=text_prints(text), table=None, now=1.0)


def _shared(conn: sa.Connection, text: str, **kw: int) -> dict[int, int]:
    return dict(repo.text_candidates(conn, text_prints(text).prints, **kw))


def test_excerpts_of_500_and_1000_characters_are_found_and_nothing_else(
        engine: sa.Engine) -> None:
    docs = corpus()
    assert len(docs) >= 30
    with transaction(engine) as conn:
        ids = {name: _register(conn, f"/data/{name}.txt", text) for name, text in docs.items()}
        rng = random.Random(9)
        for size, floor in ((500, 0.79), (1000, 0.99)):
            found = false = total = 0
            for name, text in docs.items():
                for piece in excerpts(text, size, 8, rng):
                    shared = _shared(conn, piece)
                    total += 1
                    found += shared.get(ids[name], 0) >= MIN_PRINTS
                    false += any(n >= MIN_PRINTS for s, n in shared.items() if s != ids[name])
            recall = found / total
            print(f"{size}-character excerpts: {recall:.3f} of {total} found, {false} false")
            assert recall >= floor, f"{size}: recall {recall:.3f}"
            assert false == 0


def _docx_text(paragraphs: list[str]) -> str:
    data = docx_bytes([[p] for p in paragraphs])
    return next(iter(extract("zip", io.BytesIO(data), Budget(Limits())))).data.decode()


def test_a_third_of_a_labelled_docx_pasted_into_a_new_one_is_derived(engine: sa.Engine) -> None:
    spec = [p for p in module_text("typing").split("\n\n") if len(p) > 80][:60]
    spec_text = _docx_text(spec)
    with transaction(engine) as conn:
        source_id = _register(conn, "/data/itar/k17/spec.docx", spec_text)
        _register(conn, "/data/itar/k17/other.docx", module_text("socket"))
        pasted = spec_text[len(spec_text) // 3: len(spec_text) // 3 + int(0.3 * len(spec_text))]
        draft = _docx_text([*module_text("argparse").split("\n\n")[:40], pasted,
                            *module_text("shutil").split("\n\n")[:20]])
        shared = repo.text_candidates(conn, text_prints(draft).prints)
        prints = {s.id: s.prints for s in repo.sources(conn, [s for s, _ in shared]).values()}
        found = text_matches(shared, prints, min_share=0.25)
    assert [m.source_id for m in found] == [source_id]
    share = found[0].share
    assert share is not None and 0.25 <= share <= 0.36, share
    print(f"30% paste: share {share}")


@pytest.mark.parametrize(("a", "b"), SAME_TOPIC)
def test_unrelated_documents_on_the_same_topic_do_not_match(engine: sa.Engine, a: str,
                                                             b: str) -> None:
    with transaction(engine) as conn:
        _register(conn, f"/data/{a}.txt", module_text(a))
        shared = _shared(conn, module_text(b))
    assert not any(n >= MIN_PRINTS for n in shared.values()), shared


def test_a_stoplisted_template_does_not_match(engine: sa.Engine) -> None:
    report_a = LAB_FORM + "\n" + module_text("heapq")[:1500]
    report_b = LAB_FORM + "\n" + module_text("bz2")[:1500]
    with transaction(engine) as conn:
        source_id = _register(conn, "/data/lab/run-17.txt", report_a)
        before = _shared(conn, report_b)
        assert before.get(source_id, 0) >= MIN_PRINTS  # the form alone would match
        added = repo.stop_template(conn, LAB_FORM, "template: lab report form LR-7")
        after = _shared(conn, report_b)
        stops = repo.stoplist(conn)
    assert added > 0 and stops == {"template: lab report form LR-7": added}
    assert after.get(source_id, 0) < MIN_PRINTS


def test_a_print_in_more_than_max_df_sources_is_ignored(engine: sa.Engine) -> None:
    boiler = LAB_FORM  # not stoplisted: common to every dataset of this institute
    texts = [boiler + "\n" + t[:1200] for t in list(corpus().values())[:25]]
    probe = boiler + "\n" + module_text("tarfile")[:1200]
    with transaction(engine) as conn:
        for i, t in enumerate(texts[:5]):
            _register(conn, f"/data/set{i}.txt", t)
        few = _shared(conn, probe, max_df=20)
        for i, t in enumerate(texts[5:], 5):
            _register(conn, f"/data/set{i}.txt", t)
        many = _shared(conn, probe, max_df=20)
        tight = _shared(conn, probe, max_df=4)
    assert len(few) == 5 and all(n >= MIN_PRINTS for n in few.values())
    assert not any(n >= MIN_PRINTS for n in (*many.values(), *tight.values()))


def test_lookup_searches_the_index_never_scans_it(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        for i, text in enumerate(list(corpus().values())[:20]):
            _register(conn, f"/data/{i}.txt", text)
        conn.exec_driver_sql("ANALYZE")  # statistics must not turn the join around
        query = sorted(text_prints(module_text("json")).prints)
        repo._fill_query(conn, query)
        plan = [row[-1] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(repo._CANDIDATES),
            {"cap": 21, "max_df": 20}).all()]
    text = "\n".join(plan)
    assert "SEARCH t USING PRIMARY KEY (print=?)" in text, text
    assert "SEARCH d USING PRIMARY KEY (print=?)" in text, text
    assert not any(line.startswith(("SCAN t", "SCAN d", "SCAN fp_text")) for line in plan), text


def test_register_replaces_unregister_forgets_copies_by_sha256(engine: sa.Engine) -> None:
    old, new = module_text("json"), module_text("pickle")
    with transaction(engine) as conn:
        first = _register(conn, "/data/x.txt", old, sha="aa" * 32)
        again = _register(conn, "/data/x.txt", new, sha="bb" * 32)
        assert first == again
        assert _shared(conn, old) == {}
        assert _shared(conn, new)[first] == len(text_prints(new).prints)
        src = repo.source(conn, first)
        assert src is not None and src.prints == len(text_prints(new).prints)
        assert src.origin["export-controlled"]["set_by"] == "prof_k"
        assert [s.id for s in repo.by_sha256(conn, "bb" * 32)] == [first]
        assert repo.by_sha256(conn, "aa" * 32) == []
        assert [m.kind for m in copy_of([first])] == ["copy"]
        key = repo.cell_key(conn)
        assert len(key) == 32 and repo.cell_key(conn) == key
        assert repo.unregister(conn, HOST, "/data/x.txt")
        assert not repo.unregister(conn, HOST, "/data/x.txt")
        assert _shared(conn, new) == {} and repo.source(conn, first) is None


def test_paths_are_bytes_and_hosts_apart(engine: sa.Engine) -> None:
    odd = "/data/\udcff\udcfe.txt"  # undecodable bytes in the name
    with transaction(engine) as conn:
        sid = _register(conn, odd, module_text("csv"))
        other = repo.register(conn, host="h2", path=odd, sha256="cc" * 32, labels=["x"],
                              origin={}, text=None, table=None, now=2.0)
        src = repo.source(conn, sid)
        assert src is not None and src.path == odd and other != sid
        binary = repo.source(conn, other)
        assert binary is not None and binary.kind == "binary" and binary.prints == 0
