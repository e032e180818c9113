"""`tools/free_disk.py`, which `make install` runs before anything else: a disk too short for a fresh install is one
line naming the free and needed space, not a build error deep in pyspark's wheel (CI's stop 79)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from parkpal_lakehouse.runtime.jars import cache_root

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "free_disk.py"


def free_disk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60)


def test_room_enough_says_nothing_and_short_disk_is_one_line_naming_free_and_needed(tmp_path):
    free = shutil.disk_usage(tmp_path).free // 2**20
    ok = free_disk("--for", "a test", f"{tmp_path}=1", f"{tmp_path / 'not' / 'made'}=1")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    # each path alone fits, together they do not: the needs of paths on one disk add up (10% over what is free, so
    # other processes writing or deleting meanwhile do not change the answer)
    half = free * 55 // 100
    short = free_disk("--for", "a test", f"{tmp_path / 'a'}={half}", f"{tmp_path / 'b'}={half}")
    assert short.returncode == 2 and short.stdout == ""
    (line,) = short.stderr.splitlines()
    assert line.startswith("not enough disk for a test: ") and f"{2 * half:,} MiB needed" in line, line
    assert str(tmp_path) in line  # the nearest folder that exists names the disk
    assert free_disk(f"{tmp_path / 'a'}={half}").returncode == 0


def test_bad_arguments_are_one_line():
    for args in ([], ["/tmp"], ["/tmp=lots"], ["=5"]):
        result = free_disk(*args)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("free_disk: expected"), result.stderr


def test_a_fresh_install_checks_the_disk_before_anything_else(tmp_path, monkeypatch):
    """`make install` checks first; it asks for room only for the folders it will make (a fresh machine), not for a
    venv or caches already there (a reinstall); the jar cache is where `runtime.jars.cache_root` puts it."""
    venv, uv, jars, xdg = tmp_path / "venv", tmp_path / "uv", tmp_path / "jars", tmp_path / "xdg"
    # run as its own make, not as a sub-make of `make test` (which would print the folders it enters)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PARKPAL_JAR_CACHE", "UV_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))

    def first_step(*variables: str) -> str:
        return subprocess.run(["make", "--no-print-directory", "-n", "install", f"VENV={venv}", *variables], cwd=REPO,
                              capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()[0]

    check = "python3 tools/free_disk.py --for 'a fresh install'"
    explicit = (f"UV_CACHE_DIR={uv}", f"PARKPAL_JAR_CACHE={jars}")
    assert first_step(*explicit) == f"{check} {venv}=1800 {uv}=1800 {jars}=700"
    assert first_step() == f"{check} {venv}=1800 {xdg / 'uv'}=1800 {cache_root()}=700"
    assert cache_root() == xdg / "parkpal" / "jars"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    uv.mkdir()
    jars.mkdir()
    assert first_step(*explicit) == f"{check} {venv}=0 {uv}=0 {jars}=0"
