"""`dlpd exposure`: labelled files and directories that accounts outside their label's
``readers`` can read, with the reason (world-readable, a group, an ACL entry, the owner).

Exit status as a scan's: 0 nothing exposed, 1 something is, 2 an error (a bad label, no
store, a labelled path that could not be examined). A path gone since the store saw it is
said on stderr and is not an error.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import click

from dlpd.cli.common import (
    ExitCode,
    config_option,
    errors,
    existing_store,
    fail,
    settings_or_exit,
)
from dlpd.config import host_name
from dlpd.exposure.accounts import load
from dlpd.exposure.model import Accounts, Node
from dlpd.exposure.report import Judged, Unexamined, judge_all, labelled
from dlpd.model import path_fields
from dlpd.store.db import transaction
from dlpd.textsafe import json_text, visible

_COLUMNS = ("label", "path", "kind", "owner", "mode", "reasons")


@click.command("exposure")
@config_option
@click.option("--label", "name", help="Only this label.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
def exposure(config_path: Path | None, name: str | None, fmt: str) -> None:
    """Labelled files and directories that users outside the label's readers can read.

    From POSIX modes, ACLs and group membership, as the kernel checks them (search
    permission on every directory above included); root is never counted. Labels without
    `readers` are not judged.
    """
    settings = settings_or_exit(config_path)
    readers = {label: policy.readers for label, policy in settings.labels.items()}
    if name is not None and not readers.get(name):
        fail(f"label {name!r} has no readers configured ([labels.{name}] readers): "
             "there is nothing to judge its exposure against")
    if not any(readers.values()):
        fail("no [labels.NAME] has readers configured: nothing to judge")
    host = host_name(settings)
    engine = existing_store(settings)
    try:
        with errors(), transaction(engine) as conn:
            paths = labelled(conn, host, name)
    finally:
        engine.dispose()
    accounts = load(sorted({e for entries in readers.values() for e in entries}))
    exposed = failed = checked = 0
    rows: list[Judged] = []
    for item in judge_all(paths, readers, accounts, settings.watch.paths,
                          cross_devices=settings.scan.cross_devices):
        if isinstance(item, Unexamined):
            failed += not item.gone
            click.echo(f"dlpd: {visible(item.path)}: not examined: "
                       f"{visible(item.why, keep_backslash=True)}", err=True)
            continue
        checked += 1
        for problem in item.exposure.problems:
            click.echo(f"dlpd: {visible(problem, keep_backslash=True)}", err=True)
        if item.exposure.is_exposed:
            exposed += 1
            rows.append(item)
            if fmt == "jsonl":
                click.echo(json_text(_record(item, accounts)))
    if fmt == "table":
        _table([_cells(item, accounts) for item in rows], sys.stdout)
    click.echo(f"dlpd: {checked} labelled path(s) judged, {exposed} exposed"
               + (f", {failed} not examined" if failed else ""), err=True)
    if exposed:
        sys.exit(ExitCode.FOUND)
    sys.exit(ExitCode.ERROR if failed else ExitCode.CLEAN)


def _owner(node: Node, accounts: Accounts) -> str:
    return f"{accounts.user_name(node.uid)}:{accounts.group_name(node.gid)}"


def _mode(node: Node) -> str:
    # As ls -l: a "+" when an ACL with more than the mode bits is set.
    extended = node.acl is not None and node.acl.mask is not None
    return stat.filemode(node.mode) + ("+" if extended else "")


def _record(item: Judged, accounts: Accounts) -> dict[str, object]:
    node = item.node
    return {"label": item.label, **path_fields(item.path),
            "kind": "directory" if item.is_dir else "file",
            "owner": accounts.user_name(node.uid), "group": accounts.group_name(node.gid),
            "uid": node.uid, "gid": node.gid, "mode": f"{stat.S_IMODE(node.mode):04o}",
            "acl": node.acl is not None and node.acl.mask is not None,
            "outsiders": item.exposure.outsiders,
            "reasons": [r.to_json() for r in item.exposure.reasons]}


def _cells(item: Judged, accounts: Accounts) -> tuple[str, ...]:
    return (item.label, item.path, "directory" if item.is_dir else "file",
            _owner(item.node, accounts), _mode(item.node), item.exposure.summary)


def _table(rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    """Aligned columns on a terminal, tab-separated lines with a header otherwise. Every
    cell is escaped: paths, account and group names are other people's bytes."""
    cells = [[visible(c) for c in row] for row in rows]
    lines = [list(_COLUMNS), *cells]
    if not out.isatty():
        out.writelines("\t".join(row) + "\n" for row in lines)
        return
    widths = [max(len(r[i]) for r in lines) for i in range(len(_COLUMNS))]
    for row in lines:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")
