"""The dependency lock (`pylock.toml`, written by `make lock`) that `make install` installs from on Linux x86_64
with Python 3.11: it must hold every requirement of pyproject.toml at an allowed version, each file by hash."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
# The machine the lock is for (the Makefile's LOCK_TARGET), as environment markers see it.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def unmet_requirements(pyproject: dict, lock: dict) -> list[str]:
    """pyproject's dependencies and dev extra that the lock lacks or pins outside their range, one line each."""
    locked = {canonicalize_name(p["name"]): p["version"] for p in lock["packages"]}
    wanted = [*pyproject["project"]["dependencies"], *pyproject["project"]["optional-dependencies"]["dev"]]
    unmet = []
    for line in wanted:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({**TARGET, "extra": ""}):
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{line}: locked {version or 'nothing'}")
    return unmet


def test_the_lock_holds_every_requirement_at_an_allowed_version():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    lock = tomllib.loads((REPO / "pylock.toml").read_text())
    assert unmet_requirements(pyproject, lock) == [], "pyproject.toml changed since the lock: run `make lock`"
    # and the check sees a requirement the lock lacks, or one it pins outside the range
    pyproject["project"]["dependencies"] += ["pyspark==4.1.0", "no-such-package>=1", "uvloop; sys_platform == 'win32'"]
    assert unmet_requirements(pyproject, lock) == ["pyspark==4.1.0: locked 4.2.0", "no-such-package>=1: locked nothing"]


def test_every_locked_file_is_pinned_by_hash_and_the_lock_is_made_as_the_makefile_says():
    text = (REPO / "pylock.toml").read_text()
    lock = tomllib.loads(text)
    assert len(lock["packages"]) > 100
    for package in lock["packages"]:
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, package["name"]
        assert all(re.fullmatch(r"[0-9a-f]{64}", f["hashes"]["sha256"]) for f in files), package["name"]
    target = re.search(r"^LOCK_TARGET := (.+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    assert re.search(rf"^#\s+uv pip compile pyproject.toml --extra dev {re.escape(target)} --format pylock.toml",
                     text, re.M), "the lock was written another way than `make lock`"
