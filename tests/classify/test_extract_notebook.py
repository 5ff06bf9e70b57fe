"""Notebooks cell by cell, and JSON strings behind escapes: extractor, tokenizer, classifier.

Notebooks are written as Jupyter writes them (nbformat 4.5: ``json.dumps(indent=1,
sort_keys=True, ensure_ascii=False)``, sources as lists of lines); nbformat 3 with
``worksheets`` as IPython 2 wrote it.
"""

from __future__ import annotations

import codecs
import io
import json
import random
import string
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import corpus_formats as fmt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.classifier import Classifier
from dlpd.classify.extract import Member, extract
from dlpd.classify.extract.jsonstrings import StringDecoder, escaped_strings, safe_cut
from dlpd.classify.extract.jsontokens import (
    ARRAY,
    CLOSE,
    KEY,
    LAST,
    OBJECT,
    SCALAR,
    SCALARS,
    STRING,
    STRINGS,
    JsonTokens,
    Malformed,
)
from dlpd.classify.limits import Budget, Limits, MiB
from dlpd.config import Settings
from dlpd.errors import ExtractionError
from dlpd.model import FileResult, Outcome
from dlpd.wiring import build_classifier

RNG = random.Random(10)
ALNUM = string.ascii_letters + string.digits
HF_TOKEN = "hf_" + "".join(RNG.choice(string.ascii_letters) for _ in range(34))
WANDB_KEY = "".join(RNG.choice("0123456789abcdef") for _ in range(40))
SSN = fmt.make_ssn(RNG)
PEM = fmt.pem("RSA PRIVATE KEY", fmt.pkcs1_private_der(fmt.make_rsa_key("notebook", 1024)))
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
           "RU5ErkJggg==")


# -- notebooks as Jupyter writes them -------------------------------------------------
def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def code(source: str, *outputs: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": n, "id": f"c{RNG.getrandbits(32):08x}",
            "metadata": {}, "outputs": list(outputs), "source": lines(source)}


def markdown(source: str, **extra: Any) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": f"m{RNG.getrandbits(32):08x}", "metadata": {},
            "source": lines(source), **extra}


def stream(text: str) -> dict[str, Any]:
    return {"name": "stdout", "output_type": "stream", "text": lines(text)}


def execute_result(data: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {"data": data, "execution_count": n, "metadata": {}, "output_type": "execute_result"}


def error(ename: str, evalue: str, traceback: list[str]) -> dict[str, Any]:
    return {"ename": ename, "evalue": evalue, "output_type": "error", "traceback": traceback}


def notebook(*cells: dict[str, Any], metadata: dict[str, Any] | None = None) -> bytes:
    meta = metadata if metadata is not None else {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.2"},
    }
    nb = {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def members(kind: str, data: bytes | io.BufferedReader, limits: Limits | None = None,
            budget: Budget | None = None) -> list[Member]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return list(extract(kind, source, budget or Budget(limits or Limits())))


def texts(found: list[Member]) -> dict[str, str]:
    return {m.name: m.data.decode() for m in found}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return build_classifier(Settings())


def classify(classifier: Classifier, tmp_path: Path, name: str, data: bytes) -> FileResult:
    path = tmp_path / name
    path.write_bytes(data)
    return classifier.classify(str(path))


def found(result: FileResult) -> set[tuple[str, str | None]]:
    return {(d.category, d.member) for d in result.detections}


# -- cells, outputs, metadata ---------------------------------------------------------
def test_cells_are_parts_named_by_their_number_with_source_and_text_outputs() -> None:
    data = notebook(
        markdown(""),  # empty: no part, but it is cell 1
        code("print('hello')\n", stream("hello\nworld\n")),
        code("df", execute_result({"text/plain": lines("   a\n0  1"),
                                   "text/html": lines("<td>1</td>"), "image/png": PNG_B64}, n=2)),
        code("1/0", error("ZeroDivisionError", "division by zero",
                          ["\x1b[0;31m---------\x1b[0m", "\x1b[0;31mZeroDivisionError\x1b[0m"])),
    )
    got = members("notebook", data)
    assert [m.name for m in got] == ["cell-2", "cell-3", "cell-4", "metadata"]
    assert all(m.is_text and m.part and not m.truncated for m in got)
    text = texts(got)
    assert "print('hello')" in text["cell-2"]
    assert "hello\nworld\n" in text["cell-2"]
    assert "   a\n0  1" in text["cell-3"] and "<td>1</td>" in text["cell-3"]
    assert "iVBORw0KGgo" not in text["cell-3"]  # base64 images are not text
    # Jupyter prints a traceback an item a line; the ANSI colours stay (harmless).
    assert "\x1b[0;31m---------\x1b[0m\n\x1b[0;31mZeroDivisionError" in text["cell-4"]
    assert "ZeroDivisionError" in text["cell-4"] and "division by zero" in text["cell-4"]
    assert "python3" in text["metadata"] and "3.11.2" in text["metadata"]
    assert "cell_type" not in "".join(text.values())


def test_metadata_holds_cell_metadata_and_attachment_names_not_their_bytes() -> None:
    data = notebook(markdown("![x](attachment:scan.png)\n",
                             attachments={"scan.png": {"image/png": PNG_B64}}),
                    metadata={"papermill": {"parameters": {"api_host": "db.internal"}}})
    got = texts(members("notebook", data))
    assert "attachment: scan.png" in got["metadata"]
    assert "api_host: db.internal" in got["metadata"]
    assert "iVBORw0KGgo" not in "".join(got.values())


def test_json_data_outputs_keep_their_keys() -> None:
    data = notebook(code("r", execute_result({
                             "application/json": {"patient": {"ssn": SSN}},
                             "text/plain": ["<IPython.core.display.JSON object>"]}),
                         execute_result({"application/vnd.plotly.v1+json": {
                             "data": [{"x": [1, 2.5, -3e-4], "type": "scatter"}]}})))
    text = texts(members("notebook", data))["cell-1"]
    assert f"ssn: {SSN}" in text
    assert "1, 2.5,\n-0.0003" in text and "type: scatter" in text


def test_nbformat_3_worksheets_number_cells_across_worksheets() -> None:
    cell = {"cell_type": "code", "collapsed": False, "input": ["x = 1\n", "print(x)"],
            "language": "python", "metadata": {}, "prompt_number": 1,
            "outputs": [{"output_type": "stream", "stream": "stdout", "text": ["1\n"]},
                        {"output_type": "display_data", "png": PNG_B64,
                         "text": ["<Figure>"]}]}
    heading = {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Results"]}
    nb = {"metadata": {"name": "old"}, "nbformat": 3, "nbformat_minor": 0,
          "worksheets": [{"cells": [heading, cell], "metadata": {}},
                         {"cells": [dict(cell, input=["y = 2"])], "metadata": {}}]}
    got = texts(members("notebook", json.dumps(nb, indent=1, sort_keys=True).encode()))
    assert list(got) == ["cell-1", "cell-2", "cell-3", "metadata"]
    assert got["cell-1"] == "Results"
    assert "x = 1\nprint(x)" in got["cell-2"] and "1\n" in got["cell-2"]
    assert "<Figure>" in got["cell-2"] and "iVBORw0KGgo" not in got["cell-2"]
    assert "y = 2" in got["cell-3"]
    assert "name: old" in got["metadata"]


def test_notebooks_with_the_version_first_or_a_bom_are_read_as_notebooks(
    classifier: Classifier, tmp_path: Path
) -> None:
    cells = [code(f'token = "{HF_TOKEN}"\n')]
    version_first = json.dumps({"nbformat_minor": 0, "nbformat": 4, "metadata": {},
                                "cells": cells}, indent=2).encode()
    bom = codecs.BOM_UTF8 + notebook(*cells)
    for name, data in (("colab.ipynb", version_first), ("bom.ipynb", bom)):
        result = classify(classifier, tmp_path, name, data)
        assert result.outcome is Outcome.OK, result.reason
        assert found(result) == {("credential", f"{name}!cell-1")}


# -- what the classifier finds in notebooks -------------------------------------------
def research_notebook() -> bytes:
    html = (f"<table>\n<thead><tr><th>name</th><th>SSN</th></tr></thead>\n"
            f"<tbody><tr><td>J. Smith</td><td>{SSN}</td></tr></tbody>\n</table>")
    return notebook(
        markdown("# Cohort analysis\n"),
        code(f'SERVICE_KEY = """{PEM}"""\n'),
        code(f'from huggingface_hub import login\nlogin(token="{HF_TOKEN}")\n'),
        code(f'import wandb\nwandb.login(key="{WANDB_KEY}")\n'),
        code('import psycopg2\ndb_password = "Gx7#kq2!Lm9v"\n'),
        code("df.head()", execute_result({
            "text/html": lines(html),
            "text/plain": lines(f"       name          SSN\n0  J. Smith  {SSN}")})),
        markdown("## 社外秘\n\n本資料は社外秘です。\n"),
    )


def test_secrets_and_markings_in_cells_are_found_and_named_by_cell(
    classifier: Classifier, tmp_path: Path
) -> None:
    result = classify(classifier, tmp_path, "nb.ipynb", research_notebook())
    assert result.outcome is Outcome.OK, result.reason
    assert found(result) == {
        ("private-key", "nb.ipynb!cell-2"),
        ("credential", "nb.ipynb!cell-3"),  # hf_
        ("credential", "nb.ipynb!cell-4"),  # wandb.login(key=...)
        ("credential", "nb.ipynb!cell-5"),  # password assignment
        ("us-ssn", "nb.ipynb!cell-6"),  # a DataFrame's HTML and text output
        ("jp-confidential", "nb.ipynb!cell-7"),
    }, result.detections


def test_tutorial_placeholders_stay_negative(classifier: Classifier, tmp_path: Path) -> None:
    data = notebook(
        markdown("Set your token: replace the placeholder below.\n"),
        code('GITHUB_TOKEN = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n'),
        code("import boto3\nprint('AKIAIOSFODNN7EXAMPLE')\n",
             stream("AKIAIOSFODNN7EXAMPLE\n"),
             execute_result({"text/plain": ["'AKIAIOSFODNN7EXAMPLE'"]})),
    )
    result = classify(classifier, tmp_path, "tutorial.ipynb", data)
    assert result.outcome is Outcome.OK and result.detections == ()


def test_a_50_mb_output_is_cut_and_every_later_cell_still_read(
    classifier: Classifier, tmp_path: Path
) -> None:
    big = "".join(f"step {i}: loss={i * 0.001:.4f}\n" for i in range(2_000_000))
    assert len(big) > 50 * MiB
    data = notebook(code("train()", stream(big)), code(f'login(token="{HF_TOKEN}")\n'),
                    markdown("社外秘\n"))
    started = time.monotonic()
    result = classify(classifier, tmp_path, "train.ipynb", data)
    elapsed = time.monotonic() - started
    assert result.outcome is Outcome.LIMIT_EXCEEDED
    assert result.reason is not None and "cell-1: text cut" in result.reason
    assert found(result) == {("credential", "train.ipynb!cell-2"),
                             ("jp-confidential", "train.ipynb!cell-3")}
    assert elapsed < 30, elapsed


def test_memory_does_not_grow_with_the_notebook(tmp_path: Path) -> None:
    """A 50 MB output read with a 1 MiB text cap: what is held is a chunk, a piece and
    the cell's capped text, not the file."""
    big = "x" * (50 * MiB)
    path = tmp_path / "big.ipynb"
    path.write_bytes(notebook(code("print(blob)", stream(big)), code("secret = 1\n")))
    del big
    limits = Limits(max_text_bytes=1 * MiB)
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            names = [(m.name, len(m.data), m.truncated)
                     for m in extract("notebook", handle, Budget(limits))]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert names[:2] == [("cell-1", 1 * MiB, True), ("cell-2", len("secret = 1\n"), False)]
    assert peak < 12 * MiB, peak


def test_a_notebook_is_read_to_max_scan_bytes_and_says_so() -> None:
    data = notebook(*(code(f"x_{i} = {i}  # " + "." * 1000 + "\n") for i in range(3000)))
    assert len(data) > 3 * MiB
    budget = Budget(Limits(max_scan_bytes=1 * MiB))
    got = list(extract("notebook", io.BufferedReader(io.BytesIO(data)), budget))
    assert 500 < len(got) < 1100 and got[-1].name != "rest"
    assert [limit for limit, _ in budget.notes] == ["max_scan_bytes"]
    assert all(f"x_{n - 1} = {n - 1}" in m.data.decode()
               for m in got for n in [int(m.name.removeprefix("cell-"))])


def test_a_string_longer_than_a_piece_is_joined_whole() -> None:
    filler = "a" * (3 * MiB)
    data = notebook(code(f'x = "{filler}"\nKEY = """{PEM}"""\n'))
    text = texts(members("notebook", data))["cell-1"]
    assert PEM in text and len(text) > 3 * MiB


# -- malformed and hostile notebooks --------------------------------------------------
def test_truncated_notebook_yields_cells_read_then_the_rest_as_text(
    classifier: Classifier, tmp_path: Path
) -> None:
    data = notebook(code("print(1)\n"), code(f'token = "{HF_TOKEN}"\nmore = 1\n'),
                    code("x = 2\n"))
    cut = data.index(HF_TOKEN.encode()) + len(HF_TOKEN) + 2  # in its line's literal
    got = []
    with pytest.raises(ExtractionError, match=r"malformed notebook \(truncated in a string"):
        for member in extract("notebook", io.BytesIO(data[:cut]), Budget(Limits())):
            got.append(member)
    assert [m.name for m in got] == ["cell-1", "rest"]  # cell-2 had no whole string yet
    assert not got[0].truncated and got[-1].part is False
    assert HF_TOKEN in got[-1].data.decode()
    result = classify(classifier, tmp_path, "cut.ipynb", data[:cut])
    assert result.outcome is Outcome.ERROR
    assert result.reason is not None and "malformed notebook" in result.reason
    assert HF_TOKEN not in result.reason
    assert ("credential", None) in found(result)


def test_garbage_after_a_cell_keeps_the_cells_after_it_findable(
    classifier: Classifier, tmp_path: Path
) -> None:
    data = notebook(code("print(1)\n"), code("marker()\n"), code(f'KEY = """{PEM}"""\n'))
    at = data.index(b'"marker()')
    at = data.index(b"}", at)  # right after the second cell ("source" is its last key)
    broken = data[: at + 1] + b" <<<garbage>>> " + data[at + 1 :]
    got = []
    with pytest.raises(ExtractionError, match="malformed notebook"):
        for member in extract("notebook", io.BytesIO(broken), Budget(Limits())):
            got.append(member)
    assert [m.name for m in got][:2] == ["cell-1", "cell-2"]
    assert PEM in got[-1].data.decode()  # the key's escaped lines, decoded, in the rest
    result = classify(classifier, tmp_path, "broken.ipynb", broken)
    assert result.outcome is Outcome.ERROR
    assert ("private-key", None) in found(result)


def test_a_nesting_bomb_is_malformed_not_a_crash(classifier: Classifier, tmp_path: Path) -> None:
    bomb = b'{"nbformat": 4, "cells": [' + b"[" * 500_000 + b"]" * 500_000 + b"]}"
    started = time.monotonic()
    with pytest.raises(ExtractionError, match="nested deeper than"):
        members("notebook", bomb)
    result = classify(classifier, tmp_path, "bomb.ipynb", bomb)
    assert time.monotonic() - started < 20
    assert result.outcome is Outcome.ERROR
    assert result.reason is not None and "nested deeper than" in result.reason


def test_a_notebook_not_in_utf8_is_read_in_its_encoding(
    classifier: Classifier, tmp_path: Path
) -> None:
    data = notebook(markdown("# 報告書\n本資料は社外秘です。取扱注意。\n"), code("x = 1\n"))
    result = classify(classifier, tmp_path, "sjis.ipynb", data.decode().encode("cp932"))
    assert ("jp-confidential", "sjis.ipynb!cell-1") in found(result)
    assert result.outcome is Outcome.OK
    assert result.reason is not None and "not in UTF-8" in result.reason


def test_invalid_escapes_do_not_stop_the_cell(classifier: Classifier, tmp_path: Path) -> None:
    data = notebook(code(f'bad = "x"\ntoken = "{HF_TOKEN}"\n'))
    # A lone surrogate and an escape JSON does not have, as a careless writer leaves them.
    data = data.replace(b'bad = \\"x\\"', b'bad = \\"\\ud800\\q\\udc00x\\"')
    got = texts(members("notebook", data))
    assert "\ufffd" in got["cell-1"] and "\\q" in got["cell-1"] and HF_TOKEN in got["cell-1"]
    result = classify(classifier, tmp_path, "esc.ipynb", data)
    assert result.outcome is Outcome.OK
    assert found(result) == {("credential", "esc.ipynb!cell-1")}


# -- other JSON -----------------------------------------------------------------------
def test_json_escapes_hide_keys_passwords_and_unicode_escaped_ids(
    classifier: Classifier, tmp_path: Path
) -> None:
    account = {"type": "service_account", "project_id": "lab-42", "private_key_id": "a1b2",
               "private_key": PEM, "client_email": "svc@lab-42.iam.gserviceaccount.com"}
    result = classify(classifier, tmp_path, "sa.json", json.dumps(account, indent=2).encode())
    assert ("private-key", None) in found(result)
    inner = json.dumps({"user": "etl", "password": "s3cr3t!x"})
    result = classify(classifier, tmp_path, "cfg.json",
                      json.dumps({"name": "etl", "settings": inner}).encode())
    assert ("credential", None) in found(result)
    got = texts(members("json", json.dumps({"settings": inner}).encode()))
    assert got == {"json": 'settings: {"user": "etl", "password": "s3cr3t!x"}\n'}
    token = json.dumps({"token": HF_TOKEN}, ensure_ascii=True).replace("hf_", "\\u0068f_")
    result = classify(classifier, tmp_path, "tok.json", token.encode())
    assert ("credential", None) in found(result)


def test_json_without_escapes_costs_nothing_and_adds_nothing(
    classifier: Classifier, tmp_path: Path
) -> None:
    plain = json.dumps({"name": "dlpd", "version": "1.0", "list": [1, 2, {"a": "b"}]})
    assert members("json", plain.encode()) == []
    lock = {"name": "app", "lockfileVersion": 3, "packages": {
        f"node_modules/p{i}": {"version": f"1.{i}.0", "integrity": "sha512-" + "A" * 86 + "=="}
        for i in range(200)}}
    assert members("json", json.dumps(lock, indent=2).encode()) == []
    result = classify(classifier, tmp_path, "package-lock.json", json.dumps(lock).encode())
    assert result.detections == ()


def test_json_lines_and_big_streams_cross_chunk_boundaries(tmp_path: Path) -> None:
    """Records past the 1 MiB chunk, and a literal cut by the chunk boundary."""
    path = tmp_path / "log.jsonl"
    row = json.dumps({"msg": "plain", "n": 1}) + "\n"
    with path.open("w") as out:
        size = 0
        while size < 1 * MiB - 20:
            out.write(row)
            size += len(row)
        for _ in range(3):
            out.write(json.dumps({"event": "login", "note": f"user\tetl\npw\t{HF_TOKEN}"}) + "\n")
    with path.open("rb") as handle:
        got = members("json", handle)  # type: ignore[arg-type]
    assert texts(got) == {"json": f"note: user\tetl\npw\t{HF_TOKEN}\n" * 3}


# -- the pieces: safe cuts, decoding, the tokenizer -----------------------------------
def test_every_safe_cut_leaves_two_pieces_that_decode_to_the_whole() -> None:
    text = 'a\\b"c\n\t😀é社 \\u0041 \x01' * 3
    for ascii_only in (True, False):
        # A lone surrogate escape, and a pair, at the end: cuts must keep the pair whole.
        body = json.dumps(text, ensure_ascii=ascii_only)[1:-1].encode() + rb"\ud800\ud83d\ude00"
        decoder = StringDecoder(Budget(Limits()))
        whole = decoder.text(body)
        for end in range(1, len(body) + 1):
            cut = safe_cut(body, 0, end)
            assert 0 < cut <= end
            if cut < len(body):
                assert decoder.text(body[:cut]) + decoder.text(body[cut:]) == whole, end


def _rebuild(events: Iterator[tuple[int, bytes, int]], decoder: StringDecoder) -> Any:
    """The value the events describe (the inverse of the tokenizer, for the property)."""
    stack: list[Any] = []
    keys: list[str | None] = []
    pieces: list[str] = []
    root: list[Any] = []

    def put(value: Any) -> None:
        if not stack:
            root.append(value)
        elif isinstance(stack[-1], list):
            stack[-1].append(value)
        else:
            stack[-1][keys.pop()] = value

    for kind, raw, flags in events:
        if kind in (OBJECT, ARRAY):
            container: Any = {} if kind == OBJECT else []
            put(container)
            stack.append(container)
        elif kind == CLOSE:
            stack.pop()
        elif kind == KEY:
            keys.append(decoder.text(raw))
        elif kind == STRING:
            pieces.append(decoder.text(raw))
            if flags & LAST:
                put("".join(pieces))
                pieces.clear()
        elif kind == SCALAR:
            put(json.loads(raw))
        elif kind == SCALARS:
            for item in json.loads(b"[" + raw.rstrip().rstrip(b",") + b"]"):
                put(item)
        elif kind == STRINGS:
            for item in decoder.items(raw):
                put(item)
    return root[0]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_tokenizer_events_rebuild_what_json_loads_reads(value: Any, ascii_only: bool,
                                                        indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    data = text.encode("utf-8", "surrogatepass")
    budget = Budget(Limits())
    rebuilt = _rebuild(iter(JsonTokens(io.BytesIO(data), budget)), StringDecoder(budget))
    expected = json.loads(text)
    # Lone surrogates become U+FFFD when they are decoded, as nowhere else is right.
    assert json.dumps(rebuilt) == json.dumps(_fffd(expected))


def _fffd(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, list):
        return [_fffd(v) for v in value]
    if isinstance(value, dict):
        return {_fffd(k): _fffd(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("broken", [b"", b"   ", b"{", b'{"a": ', b'{"a": 1 2}', b"[1,]]", b"{}{}",
                                    b'{"a": tru}', b"[" + b"9" * 5000 + b"]", b'{"a":"\\'])
def test_malformed_json_says_so_with_an_offset(broken: bytes) -> None:
    with pytest.raises(Malformed) as caught:
        list(JsonTokens(io.BytesIO(broken), Budget(Limits())))
    assert 0 <= caught.value.offset <= len(broken)


def test_escaped_strings_of_a_truncated_literal_and_keys_with_escapes() -> None:
    data = b'{"k\\u0065y": "a\\nb", "x": "c\\td'
    got = "".join(escaped_strings(io.BytesIO(data), Budget(Limits())))
    assert got == "key\nkey: a\nb\nx: c\td\n"
