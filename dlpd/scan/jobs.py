"""What a scan hands to whoever reads its files, and what comes back: the batch types,
the protocol of state workers follow, and reading one job (threads and worker
processes alike)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Protocol

from dlpd.classify.classifier import Classifier
from dlpd.model import FileResult

# (path, its root, lstat if known, attempt): attempt 1 is the re-read of a file that was
# changing.
Job = tuple[str, str, os.stat_result | None, int]
# What a batch comes back as: (result, attempt) and the root, per job, in order.
Done = list[tuple[tuple[FileResult, int], str]]
Submit = Callable[[list[Job]], "Future[Done]"]


class SharedState(Protocol):
    """State the parent changes during a scan that workers must follow (which content
    prints to make): sent with a batch when its snapshot is a new object."""

    def snapshot(self) -> object: ...

    def restore(self, state: object) -> None: ...


def classify_batch(classifier: Classifier, jobs: Sequence[Job]) -> Done:
    """A batch, read in this process. The second read of a file that keeps changing keeps
    what it read (and says so): a file appended to forever must not stay unclassified."""
    return [((classify_job(classifier, job), job[3]), job[1]) for job in jobs]


def classify_job(classifier: Classifier, job: Job) -> FileResult:
    path, root, lst, attempt = job
    return classifier.classify(path, lst, root=root, accept_unstable=attempt > 0)
