"""systemd/dlpd.service: systemd's own checks, and the keys the daemon's contract rests on.

No systemd runs here (PID 1 is not systemd), so only offline tools are used:
- ``systemd-analyze verify`` checks that every command exists and is executable, so it
  gets a copy of the unit whose ExecStart names this venv's real ``dlpd`` entry point
  (``--root`` would need a whole OS tree: sysinit.target, /bin/kill). It exits 0 even on
  unknown keys and bad values, which it only prints, so stderr must be empty too.
  ``--man=no``: the unit names no man pages, and the test machine has none.
- ``systemd-analyze security --offline=yes --threshold=20``: exits non-zero above
  exposure 2.0 (the threshold is on a x10 scale).
- ``systemd-sysusers --root``: the sysusers file makes the user the unit runs as.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD / "dlpd.service"
SYSUSERS = SYSTEMD / "dlpd.sysusers"
FANOTIFY = SYSTEMD / "dlpd-fanotify.conf"  # a drop-in: /etc/systemd/system/dlpd.service.d/
MAX_FANOTIFY_EXPOSURE = 2.5
# What the fanotify drop-in adds to ACCEPTED_EXPOSURES, and why (see its comments).
FANOTIFY_EXPOSURES = {
    "CapabilityBoundingSet_CAP_SYS_ADMIN": "fanotify marks a whole file system",
    "CapabilityBoundingSet_CAP_SYS_PTRACE": "another user's /proc/PID/exe: which program",
    "SystemCallFilter_privileged": "fanotify_init, fanotify_mark, open_by_handle_at only",
    "ProtectProc": "/proc/PID of every process: who did it",
}
EXEC_START = "/opt/dlpd/bin/dlpd"
MAX_EXPOSURE = 2.0

# Every check `systemd-analyze security` still counts against the unit, and why it stays.
ACCEPTED_EXPOSURES = {
    "RootDirectoryOrRootImage": "the daemon reads the host's files, so it runs in its root",
    "AmbientCapabilities": "CAP_DAC_READ_SEARCH: reading every file is the daemon's job",
    "CapabilityBoundingSet_CAP_DAC_FOWNER_IPC_OWNER": "the same capability, from the bounding set",
    "ProtectHome": "read-only, not hidden: research data lives in home directories too",
    "ProcSubset": "ProcSubset=pid would hide /proc/sys/fs/inotify/*, which the daemon reads",
    "PrivateUsers": "in a user namespace CAP_DAC_READ_SEARCH stops at unmapped owners' files",
    "PrivateNetwork": "webhook and syslog sinks",
    "RestrictAddressFamilies_AF_INET_INET6": "webhook and syslog sinks",
    "RestrictAddressFamilies_AF_UNIX": "sd_notify and the /dev/log syslog sink",
    "IPAddressDeny": "webhooks may go to any address; sites pin theirs in a drop-in",
    "DeviceAllow": "ProtectClock= itself allows reading the RTC",
}

systemd_analyze = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    systemd_analyze is None,
    reason="systemd-analyze not installed (Debian package systemd; scripts/test installs it)",
)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _service_keys() -> dict[str, list[str]]:
    """``[Service]`` keys of the unit, each with its values in order (comments dropped)."""
    keys: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        if section == "[Service]":
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def _entry_point() -> str:
    """This venv's ``dlpd`` console script, or the interpreter running ``-m dlpd``."""
    script = Path(sys.executable).with_name("dlpd")
    return str(script) if script.is_file() else f"{sys.executable} -m dlpd"


@needs_systemd_analyze
def test_verify(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(f"ExecStart={EXEC_START} ") == 1
    copy = tmp_path / "dlpd.service"
    copy.write_text(text.replace(f"ExecStart={EXEC_START} ", f"ExecStart={_entry_point()} "),
                    encoding="utf-8")
    run = _run("systemd-analyze", "verify", "--man=no", str(copy))
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == "", "verify warned:\n" + run.stderr


@needs_systemd_analyze
def test_verify_reports_a_missing_exec_start() -> None:
    # Why the test above verifies a copy: the installed path does not exist here.
    if Path(EXEC_START).exists():
        pytest.skip(f"{EXEC_START} is installed on this machine")
    run = _run("systemd-analyze", "verify", "--man=no", str(UNIT))
    assert run.returncode != 0
    assert f"Command {EXEC_START} is not executable" in run.stderr


@needs_systemd_analyze
def test_security_exposure() -> None:
    run = _run("systemd-analyze", "security", "--offline=yes", "--threshold=20",
               "--no-pager", str(UNIT))
    found = re.search(r"Overall exposure level for dlpd\.service: (\d+\.\d+)", run.stdout)
    assert found, run.stdout + run.stderr
    exposure = float(found.group(1))
    assert run.returncode == 0, f"exposure {exposure} over the threshold\n{run.stdout}"
    assert exposure <= MAX_EXPOSURE


@needs_systemd_analyze
def test_security_counts_only_the_accepted_exposures() -> None:
    run = _run("systemd-analyze", "security", "--offline=yes", "--json=short",
               "--no-pager", str(UNIT))
    assert run.returncode == 0, run.stderr
    checks = json.loads(run.stdout)
    exposed = {check["json_field"]: check["description"] for check in checks
               if check.get("exposure") not in (None, "0.0")}
    unexpected = {field: text for field, text in exposed.items()
                  if field not in ACCEPTED_EXPOSURES}
    assert unexpected == {}, "harden these or explain them in ACCEPTED_EXPOSURES"


def test_contract_keys() -> None:
    keys = _service_keys()

    def one(key: str) -> str:
        values = keys.get(key, [])
        assert len(values) == 1, f"{key}= set {len(values)} times: {values}"
        return values[0]

    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert one("ExecStart") == f"{EXEC_START} run --config /etc/dlpd/dlpd.toml"
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("Restart") == "on-failure"
    assert one("RestartPreventExitStatus") == "78"  # EX_CONFIG: a bad config
    assert one("WatchdogSec") == "60s"
    # The drain is bounded by [daemon] shutdown_timeout, 10 s by default.
    assert one("TimeoutStopSec") == "30s"
    assert one("User") == one("Group") == "dlpd"
    for key in ("ConfigurationDirectory", "StateDirectory", "RuntimeDirectory",
                "LogsDirectory"):
        assert one(key) == "dlpd", key
    assert one("AmbientCapabilities") == "CAP_DAC_READ_SEARCH"
    assert one("CapabilityBoundingSet") == "CAP_DAC_READ_SEARCH"
    assert one("ProtectSystem") == "strict"
    assert one("MemoryDenyWriteExecute") == "yes"
    assert one("UMask") == "0077"
    # Settings that would break the daemon (see the comments in the unit).
    assert "PrivateUsers" not in keys
    assert "ProcSubset" not in keys
    assert "IPAddressDeny" not in keys


def test_sysusers_makes_the_service_user(tmp_path: Path) -> None:
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd-sysusers not installed (Debian package systemd)")
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "usr/lib/sysusers.d/dlpd.conf"
    conf.parent.mkdir(parents=True)
    shutil.copyfile(SYSUSERS, conf)
    run = _run("systemd-sysusers", f"--root={tmp_path}")
    assert run.returncode == 0, run.stderr
    users = {line.split(":")[0]: line.split(":")
             for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0] for line in (tmp_path / "etc/group").read_text().splitlines()}
    assert users["dlpd"][5] == "/var/lib/dlpd"
    assert users["dlpd"][6].endswith("nologin")
    assert 0 < int(users["dlpd"][2]) < 1000  # a system user
    assert "dlpd" in groups


def _with_drop_in(tmp_path: Path) -> Path:
    """The unit as verify needs it (see test_verify) with the fanotify drop-in installed
    beside it, where systemd reads drop-ins: ``dlpd.service.d/``."""
    copy = tmp_path / "dlpd.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(
        f"ExecStart={EXEC_START} ", f"ExecStart={_entry_point()} "), encoding="utf-8")
    (tmp_path / "dlpd.service.d").mkdir()
    shutil.copy(FANOTIFY, tmp_path / "dlpd.service.d" / "fanotify.conf")
    return copy


@needs_systemd_analyze
def test_fanotify_drop_in_verifies_and_adds_only_what_it_says(tmp_path: Path) -> None:
    unit = _with_drop_in(tmp_path)
    run = _run("systemd-analyze", "verify", "--man=no", str(unit))
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr
    score = _run("systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit))
    found = re.search(r"Overall exposure level for dlpd\.service: (\d+\.\d+)", score.stdout)
    assert found and float(found.group(1)) <= MAX_FANOTIFY_EXPOSURE, score.stdout
    checks = json.loads(_run("systemd-analyze", "security", "--offline=yes", "--json=short",
                             "--no-pager", str(unit)).stdout)
    exposed = {c["json_field"] for c in checks if c.get("exposure") not in (None, "0.0")}
    assert exposed - set(ACCEPTED_EXPOSURES) == set(FANOTIFY_EXPOSURES)


def fanotify_capabilities() -> list[str]:
    """The capabilities the unit with the drop-in grants, as setpriv names them: what a
    test runs the daemon with to show that they are enough (and no more is needed)."""
    caps = {"dac_read_search"}
    for line in FANOTIFY.read_text(encoding="utf-8").splitlines():
        if line.startswith("CapabilityBoundingSet="):
            caps |= {c.removeprefix("CAP_").lower() for c in line.partition("=")[2].split()}
    return sorted(caps)


CONSOLE = SYSTEMD / "dlpd-console.service"


@needs_systemd_analyze
def test_console_unit_verifies_and_is_tighter_than_the_daemon(tmp_path: Path) -> None:
    """The console reads no watched file: no capability, its exposure below the daemon's."""
    text = CONSOLE.read_text(encoding="utf-8")
    assert text.count(f"ExecStart={EXEC_START} console ") == 1
    copy = tmp_path / "dlpd-console.service"
    copy.write_text(text.replace(f"ExecStart={EXEC_START} ", f"ExecStart={_entry_point()} "),
                    encoding="utf-8")
    run = _run("systemd-analyze", "verify", "--man=no", str(copy))
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr
    run = _run("systemd-analyze", "security", "--offline=yes", "--threshold=15",
               "--no-pager", str(CONSOLE))
    found = re.search(r"Overall exposure level for dlpd-console\.service: (\d+\.\d+)",
                      run.stdout)
    assert found and run.returncode == 0, run.stdout + run.stderr
    assert "CapabilityBoundingSet=\n" in text and "AmbientCapabilities=\n" in text
