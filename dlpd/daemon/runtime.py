"""Everything `dlpd run` builds from one configuration, built in one place.

A reload builds a new ``Runtime`` from the new file; only when every part of it built
does the daemon swap it in, so a broken rule file or config leaves the old one running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from dlpd.classify.classifier import Classifier
from dlpd.config import Settings, host_name
from dlpd.config_checks import problems, raise_errors
from dlpd.daemon.alerting import AlertPolicy
from dlpd.daemon.attribution import AccessJudge
from dlpd.labelling.resolve import PrintPlan, ResolverSettings
from dlpd.policy.decide import LabelPolicy
from dlpd.policy.readers import Exemptions
from dlpd.scan.pathfilter import PathFilter
from dlpd.sinks.base import Sink
from dlpd.sinks.factory import build_sink
from dlpd.wiring import (
    build_classifier,
    build_pathfilter,
    build_ruleset,
    default_jobs,
    print_options,
    resolver_settings,
    sink_routes,
)

_log = structlog.get_logger("dlpd.daemon")


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    classifier: Classifier
    pathfilter: PathFilter
    policy: AlertPolicy
    jobs: int
    roots: tuple[str, ...]
    resolver: ResolverSettings
    cell_key: bytes | None = None
    plan: PrintPlan | None = None
    # Who may open labelled files (readers, exempt accounts): fanotify opens are judged.
    judge: AccessJudge = field(default_factory=lambda: AccessJudge({}, Exemptions()))


def own_files(settings: Settings, runtime_dir: str) -> list[str]:
    """Files the daemon itself writes under watched trees: never scanned, never alerted."""
    own = [str(s.path) for s in settings.sinks if s.type == "jsonl" and s.path is not None]
    return [*own, runtime_dir.rstrip("/") + "/**"]


def build_runtime(settings: Settings, runtime_dir: str, *, cell_key: bytes | None = None,
                  plan: PrintPlan | None = None) -> Runtime:
    """Compile rules, open libmagic, derive the policy. Raises ConfigError/SignatureError.
    What `dlpd check-config` calls an error is refused here, and its warnings logged.

    ``cell_key`` (the store's) and ``plan`` (what to print, as the resolver last saw the
    store; it outlives reloads) switch the classifier's content prints on."""
    findings = problems(settings)
    raise_errors(findings)
    check_sinks(settings)
    prints = (print_options(settings, cell_key, plan.active, plan.kinds)
              if cell_key is not None and plan is not None else None)
    classifier = build_classifier(settings, build_ruleset(settings), prints=prints)
    pathfilter = build_pathfilter(settings, [*settings.watch.exclude,
                                             *own_files(settings, runtime_dir)])
    labels = {name: LabelPolicy(cfg.severity, cfg.prefixes, nowhere=cfg.is_nowhere)
              for name, cfg in settings.labels.items()}
    policy = AlertPolicy(host=host_name(settings), labels=labels,
                         categories=dict(settings.categories), routes=sink_routes(settings))
    for finding in findings:
        _log.warning("configuration problem", key=finding.key, problem=finding.message)
    return Runtime(settings=settings, classifier=classifier, pathfilter=pathfilter,
                   policy=policy, jobs=default_jobs(settings), roots=settings.watch.paths,
                   resolver=resolver_settings(settings), cell_key=cell_key,
                   plan=plan, judge=AccessJudge.of(settings))


def build_sinks(settings: Settings, hostname: str) -> list[Sink]:
    return [build_sink(settings.sink_name(i), s, hostname=hostname, key=f"sinks.{i}")
            for i, s in enumerate(settings.sinks)]


def check_sinks(settings: Settings) -> None:
    """Build and drop every sink: a bad url, address or secret file fails here, with its
    key, rather than at the first delivery."""
    for sink in build_sinks(settings, "check"):
        sink.close()
