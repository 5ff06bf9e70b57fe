"""Placeholder: being written (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.limits import Budget


def extract_notebook(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    return iter(())


def extract_json(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    return iter(())
