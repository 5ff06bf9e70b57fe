"""Labels travel with the data, end to end (issue 9, "Tests"): the real daemon as root
with CAP_DAC_READ_SEARCH only (as the unit runs it), real Unix users labelling through
its control socket, real files written, copied (`cp`, `cp -a`) and moved, and the alerts
read from the store.

One daemon serves the module; each test works in its own files. The watched tree:

    data/approved/k17/   the owner's dataset, labelled by her through the socket
                         ([labels.export-controlled] approved = [data/approved])
    data/elsewhere/      where copies, extracts and moved files land: they alert

Sources are placed after the label (new files inherit it), except ``spec.docx``, there
before the label: it is registered only if the daemon reads the tree again after
``label set``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from corpus_formats import docx_bytes, pdf_bytes, xlsx_bytes
from fingerprint.text_corpus import module_text

from dlpd.classify.extract import extract
from dlpd.classify.limits import Budget, Limits
from dlpd.fingerprint.text import text_prints
from dlpd.store import fingerprints as fp_repo
from dlpd.store.db import open_engine, transaction
from tests.daemon.harness import Daemon
from tests.daemon.test_control_socket import DAEMON_PREFIX, User, as_user

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None,
    reason="needs root, useradd and setpriv to create users and run commands as them")

LABEL = "export-controlled"
WAIT = 30.0
# A lab's report form: every report of the institute starts with it. Stoplisted before
# the daemon starts, so two reports that share only the form are not copies of each other.
LAB_FORM = """Institute for Applied Flow Physics - Laboratory Report Form LR-9 (rev. 5)
Enter the project number, the principal investigator, the cost centre and the export
classification of every attachment before the report is filed. The results described in
this report belong to the institute and are shared only with the persons named on the
distribution list. Instruments: give the calibration certificate of each sensor used and
its expiry date. Safety: the laboratory manager signs the hazard assessment referenced
below before any run is made. Signature of the principal investigator and date; signature
of the laboratory manager and date. Keep this form for ten years after the last run."""

HEADER = ["run_id", "date", "mach", "alpha_deg", "pressure_kpa", "temperature_k", "config",
          "operator", "status"]
_CONFIGS = ["clean", "flaps-10", "flaps-20", "gear-down", "spoiler", "clean-trip"]
_OPERATORS = ["a.kato", "b.lee", "c.ngata", "d.moreau", "e.silva", "f.ito", "g.khan",
              "h.berg", "i.rossi", "j.novak", "k.tanaka", "l.odu"]
_STATUS = ["ok", "ok", "ok", "rerun", "fail"]


def run_table(rng: random.Random, n: int) -> list[list[str]]:
    """A wind-tunnel run table: an identifier, a date, five measurements, three choices."""
    ids = rng.sample(range(100_000), n)
    return [[f"K17-R{ids[i]:05d}",
             f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
             f"{rng.uniform(0.3, 3.0):.2f}", f"{rng.uniform(-5, 15):.1f}",
             f"{rng.uniform(50, 500):.1f}", f"{rng.gauss(290, 15):.2f}",
             rng.choice(_CONFIGS), rng.choice(_OPERATORS), rng.choice(_STATUS)]
            for i in range(n)]


def csv_bytes(rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _number(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


def paragraphs(module: str) -> list[str]:
    return [p for p in module_text(module).split("\n\n") if len(p) > 80]


def docx_text(data: bytes) -> str:
    return next(iter(extract("zip", io.BytesIO(data), Budget(Limits())))).data.decode()


def pdf_page(text: str, width: int) -> bytes:
    """One PDF page of ``text`` set in lines of ``width`` characters."""
    ops = [b"BT /F1 7 Tf 9 TL 20 780 Td"]
    for line in textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False):
        escaped = line.encode("cp1252", "replace").replace(b"\\", b"\\\\")
        ops.append(b"(" + escaped.replace(b"(", b"\\(").replace(b")", b"\\)") + b") Tj T*")
    ops.append(b"ET")
    return pdf_bytes(b"\n".join(ops))


def share_of(source_text: str, query_text: str) -> float:
    """The share of the source's text prints found in the query (what min_share meets)."""
    source, query = text_prints(source_text).prints, text_prints(query_text).prints
    return len(source & query) / len(source)


# -- the site ----------------------------------------------------------------------------

def _useradd(name: str) -> User:
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True, capture_output=True)
    entry = pwd.getpwnam(name)
    return User(name, entry.pw_uid, entry.pw_gid)


class Flow(NamedTuple):
    base: Path
    staging: Path  # not watched: files are written here, then renamed into place
    approved: Path
    k17: Path
    elsewhere: Path
    socket: Path
    owner: User
    other: User
    daemon: Daemon

    def label(self, user: User | None, *args: str | os.PathLike[str]
              ) -> subprocess.CompletedProcess[str]:
        return as_user(user, "label", *args, "--socket", self.socket, cwd=self.base)

    def place(self, path: Path, data: bytes, owner: User | None = None) -> Path:
        """``data`` appears at ``path`` whole (written aside, then renamed in), owned by
        ``owner`` from the first moment the daemon can see it."""
        aside = self.staging / uuid.uuid4().hex
        aside.write_bytes(data)
        if owner is not None:
            os.chown(aside, owner.uid, owner.gid)
        os.rename(aside, path)
        return path

    def mkdir(self, path: Path, owner: User | None = None) -> Path:
        path.mkdir(mode=0o755)
        if owner is not None:
            os.chown(path, owner.uid, owner.gid)
        return path

    # -- the store ------------------------------------------------------------------
    def wait_source(self, path: Path) -> None:
        """The daemon registered ``path`` as a labelled source of the fingerprint index."""
        self.daemon.wait_for(
            lambda: self.daemon.query("SELECT id FROM fp_sources WHERE path = ?", str(path)),
            WAIT, f"{path.name} registered as a fingerprint source")

    def wait_read(self, path: Path) -> None:
        """The daemon read ``path`` as it is now. An event's read writes the file's row,
        labels and alerts in one transaction; a crawl's read writes the row first and the
        decision after (wait for an alert, not for this, where one is expected)."""
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        self.daemon.wait_for(
            lambda: self.daemon.query("SELECT id FROM files WHERE path = ? AND sha256 = ?",
                                      str(path), sha),
            WAIT, f"{path.name} read")

    def wait_alert(self, path: Path) -> dict[str, Any]:
        self.daemon.wait_for(lambda: self.alerts(path), WAIT, f"an alert on {path.name}")
        (alert,) = self.alerts(path)
        return alert

    def alerts(self, path: Path) -> list[dict[str, Any]]:
        rows = self.daemon.query("SELECT * FROM alerts WHERE path = ? AND status = 'open' "
                                 "ORDER BY id", str(path))
        return [{**dict(r), "details": json.loads(r["details"] or "{}")} for r in rows]

    def matches(self, path: Path) -> list[dict[str, Any]]:
        return [dict(r) for r in self.daemon.query(
            "SELECT * FROM label_matches WHERE path = ? ORDER BY id", str(path))]

    def show(self, path: Path) -> list[dict[str, Any]]:
        done = self.label(self.other, "show", path, "--format", "json")
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["labels"])

    def history(self, path: Path) -> list[dict[str, Any]]:
        return [dict(r) for r in self.daemon.query(
            "SELECT * FROM label_history WHERE path = ? ORDER BY id", str(path))]

    def assert_alive(self) -> None:
        assert self.daemon.proc is not None and self.daemon.proc.poll() is None
        assert "Traceback" not in self.daemon.log_tail(1_000_000)


@pytest.fixture(scope="module")
def users() -> Iterator[tuple[User, User]]:
    tag = uuid.uuid4().hex[:6]
    made: list[User] = []
    try:
        made.append(_useradd(f"dlpdpi{tag}"))
        made.append(_useradd(f"dlpdst{tag}"))
        yield made[0], made[1]
    finally:
        for user in made:
            subprocess.run(["userdel", user.name], check=False, capture_output=True)


SPEC = paragraphs("typing")[:60]


@pytest.fixture(scope="module")
def flow(users: tuple[User, User]) -> Iterator[Flow]:
    owner, other = users
    # Not under pytest's tmp_path: its parents are 0700, and the users must get through.
    base = Path(tempfile.mkdtemp(prefix="dlpd-flow-", dir="/tmp"))
    daemon: Daemon | None = None
    try:
        base.chmod(0o755)
        data, staging, run, state = (base / n for n in ("data", "staging", "run", "state"))
        for d in (data, staging, run):
            d.mkdir(mode=0o755)
        state.mkdir(mode=0o700)
        approved, elsewhere = data / "approved", data / "elsewhere"
        approved.mkdir(mode=0o755)
        elsewhere.mkdir(mode=0o755)
        k17 = approved / "k17"
        k17.mkdir(mode=0o755)
        os.chown(k17, owner.uid, owner.gid)
        # There before the label: registered only by a read of the tree after `label set`.
        spec = k17 / "spec.docx"
        spec.write_bytes(docx_bytes([[p] for p in paragraphs("email.message")[:40]]))
        os.chown(spec, owner.uid, owner.gid)
        sock = run / "control.sock"
        db = state / "dlpd.db"
        config = base / "dlpd.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n\n'
            f'[daemon]\nruntime_dir = "{run}"\ncontrol_socket = "{sock}"\n'
            f'shutdown_timeout = "10s"\n\n'
            f'[watch]\npaths = ["{data}"]\nreconcile_interval = "1h"\n\n'
            f'[labels.{LABEL}]\nseverity = "high"\napproved = ["{approved}"]\n')
        # The lab's report form is a known template, before anything is labelled.
        engine = open_engine(f"sqlite:///{db}")
        try:
            with transaction(engine) as conn:
                assert fp_repo.stop_template(conn, LAB_FORM, "template: report form LR-9") > 0
        finally:
            engine.dispose()
        daemon = Daemon(config, base, base / "daemon.log", prefix=DAEMON_PREFIX).start()
        daemon.wait_for(daemon.crawls_done, WAIT, "the first crawl")
        site = Flow(base, staging, approved, k17, elsewhere, sock, owner, other, daemon)
        done = site.label(owner, "set", k17, "--label", LABEL, "--note",
                          "EAR 9E003, project K-17")
        assert done.returncode == 0, done.stderr
        yield site
    finally:
        if daemon is not None:
            daemon.close()
        shutil.rmtree(base, ignore_errors=True)


def assert_origin(alert: dict[str, Any], flow: Flow, kind: str,
                  source: Path | None) -> dict[str, Any]:
    """The alert is the label's, with ``kind`` and ``source`` as fields a program reads,
    and a sentence that names the source and who labelled it."""
    assert alert["label"] == LABEL, alert
    origin = alert["details"].get("origin")
    assert origin is not None, f"no details.origin in {alert}"
    assert origin["kind"] == kind, origin
    if source is not None:
        assert origin["source_path"] == str(source), origin
        assert str(source) in (alert["provenance"] or ""), alert["provenance"]
    assert origin["set_by"] == flow.owner.name, origin
    assert f"set by {flow.owner.name}" in (alert["provenance"] or ""), alert["provenance"]
    return dict(origin)


def _sources(shown: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {(s["label"], s["source"], s["via"]) for s in shown}


# -- 1. inheritance, and moving out ------------------------------------------------------

def test_a_file_created_later_inherits_the_label_and_keeps_it_when_moved_out(
        flow: Flow) -> None:
    later = flow.place(flow.k17 / "later-results.txt",
                       module_text("statistics")[:6000].encode(), flow.owner)
    flow.wait_read(later)
    assert (LABEL, "inherited", str(flow.k17)) in _sources(flow.show(later))
    assert flow.alerts(later) == []  # in its approved place

    moved = flow.elsewhere / "later-results.txt"
    os.rename(later, moved)
    alert = flow.wait_alert(moved)
    assert_origin(alert, flow, "moved", later)
    assert "moved from" in alert["provenance"]
    assert (LABEL, "moved", str(later)) in _sources(flow.show(moved))
    flow.assert_alive()


def test_a_file_there_before_the_label_is_registered_after_label_set(flow: Flow) -> None:
    flow.wait_source(flow.k17 / "spec.docx")


# -- 2. exact copies, xattrs -------------------------------------------------------------

def test_an_exact_copy_under_a_new_name_is_a_copy(flow: Flow) -> None:
    spec = flow.place(flow.k17 / "wing-loads.docx",
                      docx_bytes([[p] for p in paragraphs("calendar")[:40]]), flow.owner)
    flow.wait_source(spec)
    copied = flow.elsewhere / "thesis-background.docx"
    subprocess.run(["cp", spec, copied], check=True)
    alert = flow.wait_alert(copied)
    assert_origin(alert, flow, "copy", spec)
    assert "copy of" in alert["provenance"]
    assert (LABEL, "copy", str(spec)) in _sources(flow.show(copied))


def test_copies_with_and_without_the_xattr_and_the_xattr_alone(flow: Flow) -> None:
    # A file labelled on its own: the owner's client mirrors the label to its xattr.
    note = flow.place(flow.k17 / "calibration.txt",
                      module_text("decimal")[:8000].encode(), flow.owner)
    flow.wait_read(note)
    done = flow.label(flow.owner, "set", note, "--label", LABEL, "--note", "K-17 tables")
    assert done.returncode == 0, done.stderr
    assert os.getxattr(note, "user.dlpd.labels") == LABEL.encode()
    flow.wait_source(note)

    stripped = flow.elsewhere / "calibration-plain.txt"
    subprocess.run(["cp", note, stripped], check=True)  # no -a: the xattr stays behind
    with pytest.raises(OSError):
        os.getxattr(stripped, "user.dlpd.labels")
    assert_origin(flow.wait_alert(stripped), flow, "copy", note)

    kept = flow.elsewhere / "calibration-archive.txt"
    subprocess.run(["cp", "-a", note, kept], check=True)
    assert os.getxattr(kept, "user.dlpd.labels") == LABEL.encode()
    assert_origin(flow.wait_alert(kept), flow, "copy", note)  # the content is the stronger
    assert {m["kind"] for m in flow.matches(kept)} >= {"copy", "xattr"}

    # Content no labelled file holds, arriving with the attribute (rsync -X, tar --xattrs).
    tagged = flow.staging / "arrived.txt"
    tagged.write_bytes(module_text("fractions")[:4000].encode())
    os.setxattr(tagged, "user.dlpd.labels", LABEL.encode())
    arrived = flow.elsewhere / "arrived.txt"
    os.rename(tagged, arrived)
    alert = flow.wait_alert(arrived)
    assert alert["label"] == LABEL
    origin = alert["details"].get("origin")
    assert origin is not None and origin["kind"] == "xattr", alert
    assert origin["source_path"] is None
    assert (LABEL, "xattr", None) in _sources(flow.show(arrived))


# -- 3. 30% of a docx pasted into a new one -----------------------------------------------

def test_a_third_of_a_labelled_docx_pasted_into_a_new_docx_is_derived(flow: Flow) -> None:
    spec = flow.place(flow.k17 / "design-spec.docx", docx_bytes([[p] for p in SPEC]),
                      flow.owner)
    flow.wait_source(spec)
    spec_text = docx_text(spec.read_bytes())
    start = len(spec_text) // 3
    pasted = spec_text[start:start + int(0.3 * len(spec_text))]
    draft_bytes = docx_bytes([[p] for p in [*paragraphs("argparse")[:40], pasted,
                                            *paragraphs("shutil")[:20]]])
    share = share_of(spec_text, docx_text(draft_bytes))
    print(f"30% docx paste: {share:.3f} of the source's prints (min_share 0.2)")
    draft = flow.mkdir(flow.elsewhere / "thesis", flow.other) / "draft.docx"
    flow.place(draft, draft_bytes, flow.other)
    flow.wait_read(draft)
    # A crawl of the new directory may have read it: a crawl writes the file's row before
    # the main thread decides on it. Wait for the decision before saying what was found.
    with contextlib.suppress(AssertionError):
        flow.wait_alert(draft)
    assert flow.alerts(draft), (
        f"no alert on a 30% paste; its share is {share:.3f} of the source's prints, "
        f"matches: {flow.matches(draft)}")
    origin = assert_origin(flow.wait_alert(draft), flow, "derived", spec)
    assert origin["share"] == pytest.approx(share, abs=0.02)
    assert 0.25 <= origin["share"] <= 0.4, origin
    provenance = flow.alerts(draft)[0]["provenance"]
    assert f"contains {round(origin['share'] * 100)}% of " in provenance, provenance


# -- 4. a reformatted PDF -----------------------------------------------------------------

def test_a_reformatted_pdf_of_the_same_text_is_derived(flow: Flow) -> None:
    text = module_text("logging")[:12_000].encode("cp1252", "replace").decode("cp1252")
    source = flow.place(flow.k17 / "design-note.pdf", pdf_page(text, 95), flow.owner)
    flow.wait_source(source)
    again = flow.place(flow.elsewhere / "design-note-a5.pdf", pdf_page(text, 57))
    origin = assert_origin(flow.wait_alert(again), flow, "derived", source)
    print(f"re-rendered PDF: share {origin['share']}")
    assert origin["share"] >= 0.9, origin


# -- 5. tables ----------------------------------------------------------------------------

RUNS = run_table(random.Random(17), 5000)


def test_200_of_5000_rows_reordered_one_column_dropped_are_derived(flow: Flow) -> None:
    runs = flow.place(flow.k17 / "runs.csv", csv_bytes([HEADER, *RUNS]), flow.owner)
    flow.wait_source(runs)
    rng = random.Random(200)
    picked = rng.sample(RUNS, 200)
    dropped = 4  # pressure_kpa

    def cut(row: Sequence[str]) -> list[str]:
        return [c for j, c in enumerate(row) if j != dropped]

    extract_csv = flow.place(flow.elsewhere / "extract.csv",
                             csv_bytes([cut(HEADER), *map(cut, picked)]), flow.other)
    origin = assert_origin(flow.wait_alert(extract_csv), flow, "derived", runs)
    print(f"200-row extract: rows {origin['rows']}")
    assert origin["rows"] is not None and 180 <= origin["rows"] <= 200, origin
    provenance = flow.alerts(extract_csv)[0]["provenance"]
    assert f"holds {origin['rows']} rows of " in provenance, provenance

    sheet = [HEADER, *([_number(c) for c in row] for row in RUNS[1000:1300])]
    workbook = flow.place(flow.elsewhere / "runs-summary.xlsx", xlsx_bytes(sheet), flow.other)
    origin = assert_origin(flow.wait_alert(workbook), flow, "derived", runs)
    print(f"xlsx of 300 rows: rows {origin['rows']}")
    assert origin["rows"] is not None and 270 <= origin["rows"] <= 300, origin


# -- 6. what must not match ---------------------------------------------------------------

def _assert_nothing(flow: Flow, path: Path) -> None:
    flow.wait_read(path)
    assert flow.alerts(path) == []
    assert flow.matches(path) == []
    assert not any(s["label"] == LABEL for s in flow.show(path))


def test_a_document_on_the_same_topic_is_not_matched(flow: Flow) -> None:
    zip_notes = flow.place(flow.k17 / "archive-format.txt",
                           module_text("zipfile").encode(), flow.owner)
    flow.wait_source(zip_notes)
    _assert_nothing(flow, flow.place(flow.elsewhere / "tar-notes.txt",
                                     module_text("tarfile").encode()))


def test_independent_rows_with_the_same_distributions_are_not_matched(flow: Flow) -> None:
    runs = flow.k17 / "runs-b.csv"
    flow.place(runs, csv_bytes([HEADER, *RUNS]), flow.owner)
    flow.wait_source(runs)
    rng = random.Random(5)
    columns = list(zip(*RUNS, strict=True))
    resampled = [[rng.choice(column) for column in columns] for _ in range(1000)]
    _assert_nothing(flow, flow.place(flow.elsewhere / "simulated-runs.csv",
                                     csv_bytes([HEADER, *resampled])))


def test_a_report_sharing_only_the_stoplisted_template_is_not_matched(flow: Flow) -> None:
    report = flow.place(flow.k17 / "report-17.txt",
                        (LAB_FORM + "\n" + module_text("heapq")[:1500]).encode(), flow.owner)
    flow.wait_source(report)
    _assert_nothing(flow, flow.place(flow.elsewhere / "report-other-lab.txt",
                                     (LAB_FORM + "\n" + module_text("bz2")[:1500]).encode()))


# -- 7. marker files ----------------------------------------------------------------------

MARKER = f'label = "{LABEL}"\nnote = "DUA 2026-04, cohort B"\n'.encode()


def _active(flow: Flow, path: Path) -> list[dict[str, Any]]:
    return [dict(r) for r in flow.daemon.query(
        "SELECT * FROM label_assignments WHERE path = ? AND removed IS NULL", str(path))]


def test_a_marker_of_the_directory_owner_labels_it_and_outlives_its_deletion(
        flow: Flow) -> None:
    cohort = flow.mkdir(flow.elsewhere / "cohort-b", flow.owner)
    marker = flow.place(cohort / ".dlpd-label", MARKER, flow.owner)
    flow.daemon.wait_for(lambda: _active(flow, cohort), WAIT, "the marker's label")
    (assignment,) = _active(flow, cohort)
    assert (assignment["label"], assignment["source"], assignment["set_by"]) == (
        LABEL, "marker", flow.owner.name)
    assert (LABEL, "marker", None) in _sources(flow.show(cohort))

    table = flow.place(cohort / "visits.csv",
                       csv_bytes([HEADER, *run_table(random.Random(3), 50)]), flow.owner)
    assert_origin(flow.wait_alert(table), flow, "inherited", cohort)

    marker.unlink()
    flow.daemon.wait_for(
        lambda: any(h["action"] == "marker-deleted" for h in flow.history(cohort)),
        WAIT, "the marker's deletion in the history")
    assert [a["label"] for a in _active(flow, cohort)] == [LABEL]
    flow.assert_alive()


def test_a_marker_in_a_directory_its_owner_does_not_own_is_refused(flow: Flow) -> None:
    theirs = flow.mkdir(flow.elsewhere / "scratch-st", flow.other)
    flow.place(theirs / ".dlpd-label", MARKER, flow.owner)
    flow.daemon.wait_for(
        lambda: any(h["action"] == "refused" for h in flow.history(theirs)),
        WAIT, "the refused marker in the history")
    refused = [h for h in flow.history(theirs) if h["action"] == "refused"]
    assert refused[0]["actor"] == flow.owner.name and not refused[0]["allowed"]
    assert _active(flow, theirs) == []


def test_a_marker_that_is_not_toml_is_a_clear_log_line(flow: Flow) -> None:
    broken = flow.mkdir(flow.elsewhere / "broken-marker", flow.owner)
    flow.place(broken / ".dlpd-label", b'label = ["export-controlled"\n', flow.owner)
    flow.daemon.wait_for(lambda: "not TOML" in flow.daemon.log_tail(1_000_000), WAIT,
                         "a log line on the broken marker")
    line = next(x for x in flow.daemon.log_tail(1_000_000).splitlines() if "not TOML" in x)
    assert str(broken) in line, line
    assert _active(flow, broken) == []
    flow.assert_alive()


# -- 8. bad input -------------------------------------------------------------------------

def test_an_unknown_label_and_a_path_outside_the_roots_are_clear_errors(flow: Flow) -> None:
    unknown = flow.label(flow.owner, "set", flow.k17, "--label", "top-secret")
    assert unknown.returncode == 2, unknown
    assert "unknown label 'top-secret'" in unknown.stderr

    outside = flow.base / "outside"
    if not outside.exists():
        flow.mkdir(outside, flow.owner)
    away = flow.label(flow.owner, "set", outside, "--label", LABEL)
    assert away.returncode == 2, away
    assert "not under a watched tree" in away.stderr
    assert _active(flow, outside) == []

    listed = flow.label(flow.other, "list", "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    assert str(flow.k17) in listed.stdout
    flow.assert_alive()
