"""Suppression rules: scope by whole path components, expiry by time alone, revocation,
the narrowest rule chosen, and what a new rule must have."""

from __future__ import annotations

import pytest

from dlpd.policy.suppress import MAX_DAYS, Suppression, problems, suppressing

NOW = 1_800_000_000.0
DAY = 86400.0


def _rule(sid: int, prefix: str = "/scratch/a", *, label: str = "itar", rule: str | None = None,
          expires: float = NOW + DAY, revoked: float | None = None) -> Suppression:
    return Suppression(id=sid, label=label, path_prefix=prefix, rule=rule, owner="lab-it",
                       reason="staging area", created=NOW - DAY, created_by="ana",
                       expires=expires, revoked=revoked)


@pytest.mark.parametrize(("path", "covered"), [
    ("/scratch/a", True), ("/scratch/a/x.docx", True), ("/scratch/a/b/c", True),
    ("/scratch/ab/x.docx", False), ("/scratch", False), ("/other/scratch/a/x", False),
])
def test_prefix_matches_whole_components(path: str, covered: bool) -> None:
    assert _rule(1).covers("itar", path, ()) is covered
    assert _rule(1, "/scratch/a/").covers("itar", path, ()) is covered


def test_label_and_rule_narrow() -> None:
    assert not _rule(1).covers("pii", "/scratch/a/x", ())
    named = _rule(2, rule="itar_marking")
    assert named.covers("itar", "/scratch/a/x", ("cui_banner", "itar_marking"))
    assert not named.covers("itar", "/scratch/a/x", ("cui_banner",))
    assert not named.covers("itar", "/scratch/a/x", ())  # an access alert fires no rule


def test_expired_and_revoked_stop_applying_by_themselves() -> None:
    rules = [_rule(1, expires=NOW + 10)]
    assert suppressing(rules, label="itar", path="/scratch/a/x", fired=(), now=NOW) == rules[0]
    assert suppressing(rules, label="itar", path="/scratch/a/x", fired=(), now=NOW + 10) is None
    assert rules[0].state(NOW + 10) == "expired" and rules[0].state(NOW) == "in force"
    revoked = _rule(2, revoked=NOW - 1)
    assert suppressing([revoked], label="itar", path="/scratch/a/x", fired=(), now=NOW) is None
    assert revoked.state(NOW) == "revoked"


def test_the_narrowest_rule_counts_the_hit() -> None:
    wide, deep, named = _rule(1, "/scratch"), _rule(2, "/scratch/a/b"), _rule(3, "/scratch/a/b",
                                                                         rule="r1")
    found = suppressing([wide, deep, named], label="itar", path="/scratch/a/b/f",
                        fired=("r1",), now=NOW)
    assert found == named
    assert suppressing([wide, deep], label="itar", path="/scratch/a/f", fired=(), now=NOW) == wide


def test_a_new_rule_needs_owner_reason_and_a_bounded_expiry() -> None:
    ok: dict[str, object] = dict(label="itar", path_prefix="/scratch/a", owner="lab-it",
                                 reason="staging", expires=NOW + DAY, now=NOW)
    assert problems(**ok) == []
    assert problems(**{**ok, "owner": " "}) == ["owner: required (who answers for this rule)"]
    assert problems(**{**ok, "reason": ""}) == ["reason: required"]
    assert problems(**{**ok, "expires": NOW}) == ["expires: must be in the future"]
    assert problems(**{**ok, "expires": NOW + (MAX_DAYS + 1) * DAY}) == [
        f"expires: at most {MAX_DAYS} days ahead"]
    assert problems(**{**ok, "path_prefix": "scratch"}) == [
        "path prefix: an absolute path is required"]
    assert problems(**ok, known_labels=["pii"]) == [
        "label: 'itar' is not a configured label"]
