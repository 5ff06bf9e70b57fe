"""`pip install .` gives a working dlpd: a real wheel in a fresh venv, run from elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_scans_from_another_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                    str(REPO)], check=True, timeout=600)
    wheels = list(dist.glob("dlpd-*.whl"))
    assert len(wheels) == 1
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheels[0])], check=True,
                   timeout=900)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "memo.txt").write_text("【社外秘】\nEXPORT CONTROLLED: ITAR technical data\n")
    proc = subprocess.run(
        [str(env_dir / "bin" / "dlpd"), "scan", ".", "--format", "jsonl"],
        cwd=work, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "s")},
    )
    assert proc.returncode == 1, proc.stderr
    row = json.loads(proc.stdout.splitlines()[0])
    assert {"export-control", "jp-confidential"} <= set(row["categories"])
    where = subprocess.run([str(py), "-c", "import dlpd; print(dlpd.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, "the wheel, not the checkout, must be what runs"
    check = subprocess.run([str(env_dir / "bin" / "dlpd"), "check-config"], cwd=work,
                           capture_output=True, text=True, check=False,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                "XDG_STATE_HOME": str(tmp_path / "s")})
    assert check.returncode == 0, check.stderr
    example = subprocess.run([str(env_dir / "bin" / "dlpd"), "example-config"], cwd=work,
                             capture_output=True, text=True, check=False)
    assert example.returncode == 0 and "[signatures]" in example.stdout, "example not packaged"
    # The console's templates and static files (package data, not modules).
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    console = REPO / "dlpd" / "console"
    shipped = {p.relative_to(REPO).as_posix() for d in ("templates", "static")
               for p in (console / d).iterdir() if p.is_file()}
    assert shipped and shipped <= names, f"not in the wheel: {sorted(shipped - names)}"
