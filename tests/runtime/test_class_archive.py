"""The driver JVM's class archive: named only when it exists, keyed by the JDK, pyspark and the environment,
made whole or not at all. That a JVM really maps it is `test_jars.py`'s offline start (the classes' load log)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime import jars
from parkpal_lakehouse.runtime.class_archive import (
    CLASS_ARCHIVE_ENV,
    archive_options,
    archive_path,
    build_archive,
)
from parkpal_lakehouse.runtime.jars import java_executable


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKPAL_JAR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_options_name_the_archive_only_when_it_exists(empty_cache):
    java = java_executable()
    assert archive_options(java, environ={}) == ()  # HotSpot would turn all class sharing off for a missing file
    path = archive_path(java)
    assert path.parent.parent == empty_cache and path.suffix == ".jsa"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"archive")
    assert archive_options(java, environ={}) == (f"-XX:SharedArchiveFile={path}", "-Xlog:cds*=off")
    assert archive_options(java, environ={CLASS_ARCHIVE_ENV: "0"}) == ()


def test_another_jdk_pyspark_or_environment_is_another_archive(empty_cache, tmp_path, monkeypatch):
    import pyspark

    java = java_executable()
    other_java = tmp_path / "jdk" / "bin" / "java"
    other_java.parent.mkdir(parents=True)
    other_java.write_text("")
    assert archive_path(str(other_java)) != archive_path(java)
    before = archive_path(java)
    monkeypatch.setattr(pyspark, "__version__", "0.0.0")
    assert archive_path(java) != before and archive_path(java).parent == before.parent
    version = archive_path(java)
    # the same pyspark in another virtual environment: its jars are another class path
    monkeypatch.setattr("parkpal_lakehouse.runtime.class_archive.pyspark_jars_dir", lambda: tmp_path / "venv2")
    assert archive_path(java) not in (before, version)


def test_a_venv_made_again_or_jars_fetched_again_is_another_archive(empty_cache, tmp_path, monkeypatch):
    """HotSpot maps an archive only while each jar on the class path has the size and modification time it had
    when the archive was made, so those are in its name: a venv made again at the same place (`make clean
    install`) gets a new archive from `parkpal setup`, not the old one that HotSpot silently refuses (a local
    CI run in a reused folder found this: setup said "made before" and no class came from the archive)."""
    venv_jars = tmp_path / "venv" / "jars"
    venv_jars.mkdir(parents=True)
    core = venv_jars / "spark-core_2.13-4.2.0.jar"
    core.write_bytes(b"core")
    monkeypatch.setattr("parkpal_lakehouse.runtime.class_archive.pyspark_jars_dir", lambda: venv_jars)
    java = java_executable()
    first = archive_path(java)
    assert archive_path(java) == first  # the same while nothing changes
    os.utime(core, ns=(10**18, 10**18))  # the same jar, installed again later
    again = archive_path(java)
    assert again != first and again.name.rsplit("-", 1)[0] == first.name.rsplit("-", 1)[0]  # same environment
    cached = jars.cache_dir(jars.SPARK_JARS)
    cached.mkdir(parents=True)
    (cached / "delta-spark_4.2_2.13-4.4.0.jar").write_bytes(b"delta")  # the fetched jars are on the class path too
    (cached / "manifest.txt").write_text("delta-spark_4.2_2.13-4.4.0.jar\n")
    assert archive_path(java) not in (first, again)


def test_making_an_archive_removes_only_this_environments_older_ones(empty_cache, tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho archive > "$3"\n')  # run as `python -m <module> <file>`: writes the file
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    target = archive_path()
    target.parent.mkdir(parents=True)
    environment = target.name.rsplit("-", 1)[0]
    older = target.parent / f"{environment}-00000000.jsa"  # for this environment's old jars
    unnamed = target.parent / f"{environment}.jsa"  # this environment's, named before the jars were in the name
    other = target.parent / "classes-0123456789ab-00000000.jsa"  # another environment's, or another JDK's
    other_unnamed = target.parent / "classes-0123456789ab.jsa"
    for archive in (older, unnamed, other, other_unnamed):
        archive.write_bytes(b"archive")
    assert build_archive() == target and target.read_text() == "archive\n"
    assert not older.exists() and other.exists()
    assert not unnamed.exists() and other_unnamed.exists()


@pytest.mark.parametrize(("child", "reason"), [
    ('echo "java.lang.OutOfMemoryError: Java heap space" >&2; exit 3',
     r"\(java.lang.OutOfMemoryError: Java heap space\)"),
    ("exit 0", r"\(no archive written\)"),
])
def test_a_failed_build_is_one_line_and_leaves_nothing(empty_cache, tmp_path, monkeypatch, child, reason):
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{child}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(ParkPalError, match=r"the JVM class archive was not made " + reason) as err:
        build_archive()
    assert "\n" not in str(err.value) and "Spark starts without it" in str(err.value)
    assert not archive_path().exists() and list(archive_path().parent.iterdir()) == []  # no staging left


def test_setup_turned_off_makes_none():
    archive = archive_path()
    before = archive.stat().st_mtime_ns if archive.exists() else None  # the real cache: `make install` made one
    env = {**os.environ, CLASS_ARCHIVE_ENV: "0"}
    result = subprocess.run([str(Path(sys.executable).parent / "parkpal"), "setup"], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "JVM class archive: not made (PARKPAL_CLASS_ARCHIVE=0)" in result.stderr
    assert (archive.stat().st_mtime_ns if archive.exists() else None) == before
