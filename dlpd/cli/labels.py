"""Researchers' commands: `dlpd label set|remove|show|list|history`.

While the daemon runs they talk to it over its control socket (``[daemon] control_socket``,
default /run/dlpd/control.sock, or ``--socket``): the daemon knows the caller from the
kernel and decides, so researchers need neither root nor a readable config. Without a
daemon on that socket the same request goes to ``labelling.service.handle`` on the local
store (``--config``), as this process's user. Which one answered is said on stderr ("via
the daemon" / "local store") and, in JSON, as ``mode``.

Exit status: 0 done; 5 (REFUSED) a path was refused: not the caller's, not found, or
reached through a symlink (the others of the same command were still done, and the
refusal is in the history); 2 a bad request (unknown label, no --note on remove) or no
way to answer.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import click

from dlpd.cli.common import ExitCode, errors, fail
from dlpd.config import Settings, load_settings
from dlpd.errors import DlpdError
from dlpd.labelling import xattrs
from dlpd.labelling.service import (
    LabelContext,
    LabelRequest,
    LabelResponse,
    caller_of_process,
    handle,
)
from dlpd.store.db import open_store
from dlpd.textsafe import json_text, visible

DEFAULT_SOCKET = Path("/run/dlpd/control.sock")
# The daemon answers within one store transaction; a busy store may make it wait.
_ANSWER_TIMEOUT = 60.0
_MAX_ANSWER = 64 << 20  # a `label list` of a large site; more is not an answer


class _NoDaemon(Exception):
    """Nothing answers on the socket: answer from the local store instead."""


def _socket_path(socket_path: Path | None, config_path: Path | None) -> Path:
    if socket_path is not None:
        return socket_path
    if config_path is None:
        return DEFAULT_SOCKET
    try:
        return load_settings(config_path).daemon.control_socket
    except DlpdError:
        # A config researchers may not read: the daemon's socket is where it always is.
        return DEFAULT_SOCKET


def _over_socket(path: Path, request: LabelRequest) -> dict[str, Any]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(_ANSWER_TIMEOUT)
        try:
            sock.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise _NoDaemon(f"no daemon on {path} ({exc.strerror})") from None
        except PermissionError:
            raise _NoDaemon(f"may not connect to {path} (permission denied)") from None
        line = json.dumps(request.to_json(), ensure_ascii=True) + "\n"
        answer = bytearray()
        try:
            sock.sendall(line.encode("ascii"))
            while len(answer) <= _MAX_ANSWER:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                answer += chunk
        except OSError as exc:
            raise DlpdError(f"the daemon on {path} did not answer: "
                            f"{exc.strerror or 'timed out'}") from None
    finally:
        sock.close()
    try:
        data = json.loads(answer)
    except ValueError:
        raise DlpdError(f"the daemon on {path} sent no valid answer") from None
    if not isinstance(data, dict):
        raise DlpdError(f"the daemon on {path} sent no valid answer")
    return data


def _locally(request: LabelRequest, config_path: Path | None) -> dict[str, Any]:
    settings: Settings = load_settings(config_path)
    # A first `label set` of a user on their own tree makes their store; reads do not.
    engine = open_store(settings, create=request.op in ("set", "remove"))
    try:
        ctx = LabelContext.from_settings(settings, engine, roots=())
        return handle(request, caller_of_process(), ctx).to_json()
    finally:
        engine.dispose()


def _ask(request: LabelRequest, socket_path: Path | None,
         config_path: Path | None) -> tuple[LabelResponse, str]:
    """The response and who gave it: "daemon" or "local"."""
    path = _socket_path(socket_path, config_path)
    with errors():
        try:
            data = _over_socket(path, request)
        except _NoDaemon as why:
            click.echo(f"dlpd: {visible(str(why), keep_backslash=True)}; answering from the "
                       "local store", err=True)
            return LabelResponse.from_json(_locally(request, config_path)), "local"
        click.echo(f"dlpd: via the daemon ({visible(str(path), keep_backslash=True)})",
                   err=True)
        return LabelResponse.from_json(data), "daemon"


def _exit_for(response: LabelResponse) -> None:
    if response.status == "error":
        fail(response.error or "the request failed")
    if response.status == "refused":
        sys.exit(ExitCode.REFUSED)


# -- rendering --------------------------------------------------------------------------

def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    """Aligned columns on a terminal, tab-separated lines with a header otherwise. Every
    cell is escaped (``visible``): paths and notes are someone else's bytes."""
    cells = [[visible(c) for c in row] for row in rows]
    if not out.isatty():
        for row in [list(headers), *cells]:
            out.write("\t".join(row) + "\n")
        return
    widths = [max(len(r[i]) for r in [list(headers), *cells]) for i in range(len(headers))]
    for row in [list(headers), *cells]:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")


def _jsonl(items: Sequence[dict[str, Any]], mode: str) -> None:
    for item in items:
        click.echo(json_text({**item, "mode": mode}))


# -- the xattr mirror -------------------------------------------------------------------

def _mirror(paths: Sequence[str], response: LabelResponse, label: str, *, add: bool) -> None:
    """Write ``user.dlpd.labels`` on the FILES named that the daemon changed but could not
    mirror (it runs without the right to write other users' attributes; the owner, who
    runs this, has it). A file system without user xattrs is "not mirrored", not an error.
    """
    for path, result in zip(paths, response.results, strict=False):
        if not result.allowed or result.mirrored:
            continue
        try:
            fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            current = set(xattrs.read_labels(fd))
            wanted = current | {label} if add else current - {label}
            if wanted != current:
                xattrs.write_labels(fd, wanted)
        finally:
            os.close(fd)


# -- commands ---------------------------------------------------------------------------

def _common(f: Any) -> Any:
    f = click.option("--socket", "socket_path", type=click.Path(path_type=Path),
                     help=f"The daemon's control socket (default: [daemon] control_socket "
                          f"of --config, else {DEFAULT_SOCKET}).")(f)
    return click.option("--config", "config_path",
                        type=click.Path(path_type=Path, dir_okay=False),
                        help="TOML config: the socket, and the store when no daemon "
                             "answers (default: embedded defaults).")(f)


def _paths(args: Sequence[str]) -> tuple[str, ...]:
    # Absolute, not resolved: the daemon opens each component without following links.
    return tuple(os.path.abspath(a) for a in args)


def _change(op: str, paths: tuple[str, ...], label: str, note: str,
            socket_path: Path | None, config_path: Path | None) -> None:
    request = LabelRequest(op="set" if op == "set" else "remove", paths=paths,
                           label=label, note=note)
    response, mode = _ask(request, socket_path, config_path)
    if response.status != "error" and mode == "daemon":
        _mirror(paths, response, label, add=op == "set")
    for result in response.results:
        line = f"{result.path}: {result.message}"
        if result.allowed:
            click.echo(visible(line, keep_backslash=True))
        else:
            click.echo(f"dlpd: refused: {visible(line, keep_backslash=True)}", err=True)
    _exit_for(response)


@click.group()
def label() -> None:
    """Label datasets as controlled, and see what carries which label and why."""


@label.command("set")
@click.argument("paths", nargs=-1, required=True)
@click.option("--label", "name", required=True, help="A label configured as [labels.NAME].")
@click.option("--note", default="", help="Why (e.g. the export classification).")
@_common
def label_set(paths: tuple[str, ...], name: str, note: str, socket_path: Path | None,
              config_path: Path | None) -> None:
    """Label PATHs (a directory: everything beneath it, now and later). Only a path's
    owner, or root, may."""
    _change("set", _paths(paths), name, note, socket_path, config_path)


@label.command("remove")
@click.argument("paths", nargs=-1, required=True)
@click.option("--label", "name", required=True)
@click.option("--note", required=True, help="Why the label is lifted (kept in the history).")
@_common
def label_remove(paths: tuple[str, ...], name: str, note: str, socket_path: Path | None,
                 config_path: Path | None) -> None:
    """Take a label off PATHs. Only whoever set it, root or [daemon] label_admin_group may."""
    if not note.strip():
        raise click.BadParameter("a note saying why is required", param_hint="--note")
    _change("remove", _paths(paths), name, note, socket_path, config_path)


@label.command("show")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@_common
def label_show(path: str, fmt: str, socket_path: Path | None,
               config_path: Path | None) -> None:
    """The labels PATH carries, each with its source (explicit, inherited, xattr, copy,
    derived, ...) and who set it when."""
    (shown,) = _paths([path])
    response, mode = _ask(LabelRequest(op="show", paths=(shown,)), socket_path, config_path)
    _exit_for(response)
    sources = [asdict(s) for s in response.sources]
    if fmt == "json":
        click.echo(json_text({"path": shown, "mode": mode, "labels": sources}, indent=2))
        return
    _table(("label", "source", "via", "set by", "set at", "share", "note"),
           [(s.label, s.source, s.via or "-", s.set_by or "-", _when(s.set_at),
             "-" if s.share is None else f"{s.share:.0%}", s.note or "-")
            for s in response.sources], sys.stdout)


@label.command("list")
@click.option("--label", "name", help="Only this label.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
@_common
def label_list(name: str | None, fmt: str, socket_path: Path | None,
               config_path: Path | None) -> None:
    """Every path labelled by someone (explicitly or by a marker file)."""
    response, mode = _ask(LabelRequest(op="list", label=name), socket_path, config_path)
    _exit_for(response)
    if fmt == "jsonl":
        _jsonl([asdict(a) for a in response.assignments], mode)
        return
    _table(("label", "path", "kind", "source", "set by", "set at", "note"),
           [(a.label, a.path, "directory" if a.is_dir else "file", a.source, a.set_by,
             _when(a.set_at), a.note or "-") for a in response.assignments], sys.stdout)


@label.command("history")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
@_common
def label_history(path: str, fmt: str, socket_path: Path | None,
                  config_path: Path | None) -> None:
    """Every decision on PATH's labels, allowed or refused: who, when, note, why."""
    (shown,) = _paths([path])
    response, mode = _ask(LabelRequest(op="history", paths=(shown,)), socket_path,
                          config_path)
    _exit_for(response)
    if fmt == "jsonl":
        _jsonl([asdict(h) for h in response.history], mode)
        return
    _table(("time", "action", "label", "allowed", "actor", "note", "reason"),
           [(_when(h.time), h.action, h.label, "yes" if h.allowed else "no",
             f"{h.actor} (uid {h.actor_uid})" if h.actor_uid is not None else h.actor,
             h.note or "-", h.reason or "-") for h in response.history], sys.stdout)


@label.command("stoplist")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--reason", default="template", show_default=True,
              help="Why these never count as evidence (kept with the prints).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML config file (default: embedded defaults).")
def label_stoplist(files: tuple[Path, ...], reason: str, config_path: Path | None) -> None:
    """Never let FILES' content count as evidence of a copy or extract: a licence text, a
    lab's report template, a form every dataset carries. Their text prints and table
    cells go to the stoplist of the store (lab IT: the store's owner runs this)."""
    from dlpd.store import fingerprints as fp_repo  # noqa: PLC0415 - only this command
    from dlpd.store.db import transaction  # noqa: PLC0415
    from dlpd.wiring import build_classifier, cell_key_of, print_options  # noqa: PLC0415

    with errors():
        settings = load_settings(config_path)
        engine = open_store(settings)
        prints = print_options(settings, cell_key_of(engine))
        if prints is None:
            fail("no [labels.NAME] configured, or [fingerprints] enabled = false: "
                 "nothing to stoplist against")
        classifier = build_classifier(settings, prints=prints)
        for path in files:
            result = classifier.classify(str(path.absolute()))
            text = result.text_prints.prints if result.text_prints else frozenset()
            cells = result.table_prints.cells.keys() if result.table_prints else ()
            if not text and not cells:
                click.echo(f"{visible(str(path))}: no text or table to stoplist "
                           f"({visible(result.outcome.value)})", err=True)
                continue
            with transaction(engine) as conn:
                added = fp_repo.stop_prints(conn, text, reason, kind="text")
                added += fp_repo.stop_prints(conn, cells, reason, kind="cell")
            click.echo(f"{visible(str(path))}: {added} prints stoplisted "
                       f"({len(text)} text, {len(cells)} cells)")
