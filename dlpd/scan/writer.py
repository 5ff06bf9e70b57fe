"""The scan's single writer: results to the store in batches of ``WRITE_BATCH`` (one
transaction each), with what vanished forgotten in the same transactions, and a read
file's labels resolved there (a person's, copies, extracts) before it is handed on."""

from __future__ import annotations

import time
from collections.abc import Callable

from dlpd.model import FileResult, Outcome
from dlpd.store import files as repo
from dlpd.store.sql import Sql, Transactions

WRITE_BATCH = 500

# A read file's labels beyond those it was found to carry (labelling.resolve: a person's,
# copies, extracts), decided in the writer's transaction.
Resolve = Callable[[Sql, FileResult], FileResult]


class Writer:
    """Buffers results and writes them in one transaction per batch (single writer).

    With ``resolve``, a read file's result reaches ``on_result`` from here, resolved in
    the batch's transaction (so in batches); without, the caller hands it on at once."""

    def __init__(self, store: Transactions, rules_version: str, started_ns: int,
                 resolve: Resolve | None = None,
                 on_result: Callable[[FileResult], None] | None = None, *,
                 host: str) -> None:
        self._store = store
        self._host = host
        self._rules_version = rules_version
        self._started_ns = started_ns
        self._pending: list[FileResult] = []
        self._resolve = resolve
        self._on_result = on_result
        self._held: list[FileResult] = []  # to hand on once resolved
        # Stored files found gone (keys) and stored subtrees gone (paths), and the count.
        self._gone_keys: list[bytes] = []
        self._gone_trees: list[str] = []
        self.forgotten = 0

    @property
    def holding(self) -> bool:
        """Whether results reach ``on_result`` through the writer (once resolved)."""
        return self._resolve is not None

    def add(self, result: FileResult) -> None:
        if self._resolve is not None:  # holding, asked once a file
            self._held.append(result)
        if result.cached or (result.outcome is Outcome.UNSTABLE and result.sha256 is None):
            if len(self._held) >= WRITE_BATCH:
                self.flush()
            return
        self._pending.append(result)
        if len(self._pending) >= WRITE_BATCH:
            self.flush()

    def forget(self, keys: list[bytes], trees: list[str]) -> None:
        self._gone_keys.extend(keys)
        self._gone_trees.extend(trees)
        if len(self._gone_keys) + len(self._gone_trees) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending and not self._held and not self._gone_keys \
                and not self._gone_trees:
            return
        resolved: list[FileResult] = []
        with self._store.transaction() as sql:
            if self._gone_keys or self._gone_trees:
                self.forgotten += repo.forget(sql, self._gone_keys, self._gone_trees,
                                              host=self._host)
            if self._pending:
                repo.save_results(sql, self._pending, host=self._host,
                                  rules_version=self._rules_version,
                                  scan_started_ns=self._started_ns, now=time.time())
            if self._resolve is not None:
                resolved = [self._resolve(sql, r) for r in self._held]
        self._pending.clear()
        self._held.clear()
        self._gone_keys.clear()
        self._gone_trees.clear()
        if self._on_result is not None:
            for result in resolved:
                self._on_result(result)
