"""`dlpd rules`: compile the signatures strictly, try them on files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dlpd.cli.common import ExitCode, config_option, errors, settings_or_exit
from dlpd.cli.render import results_document
from dlpd.textsafe import visible
from dlpd.wiring import build_classifier, build_ruleset


@click.group()
def rules() -> None:
    """Check and try the signatures."""


@rules.command("check")
@config_option
def rules_check(config_path: Path | None) -> None:
    """Compile every rule strictly: syntax errors and slow rules are problems."""
    settings = settings_or_exit(config_path)
    with errors():
        ruleset = build_ruleset(settings, strict=True)
    click.echo(f"{len(ruleset.metas)} rules in {len(ruleset.files)} files: OK")


@rules.command("test")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def rules_test(files: tuple[Path, ...], config_path: Path | None, fmt: str) -> None:
    """Show which rules match FILES after validation (nothing is stored)."""
    settings = settings_or_exit(config_path)
    with errors():
        classifier = build_classifier(settings)
    found = False
    out = []
    for f in files:
        result = classifier.classify(str(f))
        found = found or bool(result.detections)
        out.append(result)
    if fmt == "json":
        sys.stdout.write(results_document(out, None) + "\n")
    else:
        for r in out:
            click.echo(f"{visible(r.path)}: {r.outcome.value}"
                       + (f" ({visible(r.reason)})" if r.reason else ""))
            for d in r.detections:
                where = f" in {visible(d.member)}" if d.member else ""
                click.echo(f"  {d.rule} [{d.category}] {d.confidence} x{d.count}{where}"
                           + (f"  {visible(', '.join(d.previews))}" if d.previews else ""))
            if not r.detections:
                click.echo("  no rule matched")
    sys.exit(ExitCode.FOUND if found else ExitCode.CLEAN)
