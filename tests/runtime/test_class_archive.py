"""The driver JVM's class archive: built by `parkpal setup`, mapped by every local session, and never
used for a JVM or class path it was not dumped with."""

import os
from pathlib import Path

import pytest

from parkpal_lakehouse.runtime.class_archive import archive_options, archive_path
from parkpal_lakehouse.runtime.jars import SPARK_JARS, ensure_jars, java_executable


def test_the_test_sessions_jvm_maps_the_archive_setup_built(spark):
    """From the running JVM's memory map: the archive file is mapped, not only named on its command line."""
    archive = archive_path(java_executable(), ensure_jars(SPARK_JARS))
    assert archive.is_file(), f"no class archive at {archive}: `make install` runs `parkpal setup`, which builds it"
    pid = spark.sparkContext._jvm.ProcessHandle.current().pid()
    mapped = Path(f"/proc/{pid}/maps").read_text()
    assert str(archive) in mapped


@pytest.fixture
def jars(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKPAL_JAR_CACHE", str(tmp_path / "cache" / "jars"))
    made = [tmp_path / "delta-spark_2.13-4.4.0.jar", tmp_path / "delta-storage-4.4.0.jar"]
    for jar in made:
        jar.write_bytes(b"PK" + jar.name.encode())
    return made


def test_another_jar_or_class_path_order_is_another_archive(jars):
    java = java_executable()
    before = archive_path(java, jars)
    assert before.parent == Path(os.environ["PARKPAL_JAR_CACHE"]).parent / "class-archives"
    assert archive_path(java, jars) == before  # stable
    assert archive_path(java, list(reversed(jars))) != before  # the JVM checks the order too
    jars[0].write_bytes(b"PK another build")  # a jar replaced in place: size and time differ
    assert archive_path(java, jars) != before


def test_a_missing_archive_adds_no_option_and_a_present_one_is_mapped_quietly(jars):
    java = java_executable()
    assert archive_options(java, jars) == ()
    path = archive_path(java, jars)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    options = archive_options(java, jars)
    assert options[0] == f"-XX:SharedArchiveFile={path}"
    assert "-Xlog:cds=off" in options  # a class path HotSpot refuses is not a line on the user's terminal
