"""Notebooks and JSON through ``dlpd scan``: detections named by cell, big notebooks
streamed from the file (over ``max_buffer_bytes``), JSON escapes decoded."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import corpus_formats as fmt

RNG = random.Random(1010)
PEM = fmt.pem("PRIVATE KEY", fmt.pkcs8_private_der(fmt.make_rsa_key("cli-notebook", 1024)))
HF_TOKEN = "hf_" + "".join(RNG.choice(string.ascii_letters) for _ in range(34))


def _notebook(*sources: str, big_output: str = "") -> bytes:
    cells = []
    for n, source in enumerate(sources, 1):
        outputs = ([{"name": "stdout", "output_type": "stream",
                     "text": big_output.splitlines(keepends=True)}]
                   if n == 1 and big_output else [])
        cells.append({"cell_type": "code", "execution_count": n, "id": f"cell{n}",
                      "metadata": {}, "outputs": outputs,
                      "source": source.splitlines(keepends=True)})
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _detections(record: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(d["category"], d["member"]) for d in record.get("detections") or ()}


def test_scan_names_cells_streams_big_notebooks_and_decodes_json(
    tmp_path: Path, dlpd_config: Callable[..., Path], scan_jsonl: Callable[..., Any]
) -> None:
    root = tmp_path / "lab"
    root.mkdir()
    (root / "analysis.ipynb").write_bytes(
        _notebook("import pandas as pd\n", f'KEY = """{PEM}"""\n'))
    log = "".join(f"epoch {i}: loss={i / 7:.6f}\n" for i in range(1_400_000))
    (root / "train.ipynb").write_bytes(_notebook("fit()\n", f'login("{HF_TOKEN}")\n',
                                                 big_output=log))
    assert (root / "train.ipynb").stat().st_size > 40 * 2**20  # over max_buffer_bytes
    (root / "key.json").write_bytes(json.dumps(
        {"type": "service_account", "private_key": PEM}, indent=2).encode())
    (root / "tutorial.ipynb").write_bytes(
        _notebook('token = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n',
                  "print('AKIAIOSFODNN7EXAMPLE')\n"))

    run = scan_jsonl(root, config=dlpd_config(tmp_path), args=("--no-cache",))
    run.assert_finished_cleanly()
    records = {Path(path).name: rec for path, rec in run.by_path().items()}

    assert _detections(records["analysis.ipynb"]) == {("private-key", "analysis.ipynb!cell-2")}
    assert records["analysis.ipynb"]["outcome"] == "ok"
    train = records["train.ipynb"]
    assert _detections(train) == {("credential", "train.ipynb!cell-2")}
    assert train["outcome"] == "limit_exceeded" and "cell-1: text cut" in train["reason"]
    assert _detections(records["key.json"]) == {("private-key", None)}
    assert _detections(records["tutorial.ipynb"]) == set()
