"""The jar cache: pinned, fetched once, then used with no network and no Maven at all."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from parkpal_lakehouse.errors import JarFetchError, JvmNotFoundError
from parkpal_lakehouse.runtime import jars
from parkpal_lakehouse.runtime.jars import (
    KAFKA_BROKER_JARS,
    SPARK_JARS,
    artifact_name,
    cached_jars,
    ensure_jars,
    java_executable,
    java_version,
    newest_supported_java_home,
    supported_java_homes,
)


def fake_jdk(folder, version: str):
    """A JDK home whose `java -version` says `version` (on standard error, as java does)."""
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2026-04-21 LTS' >&2\n")
    java.chmod(0o755)
    return folder


def test_warm_cache_holds_delta_and_kafka_source_but_nothing_pyspark_ships():
    names = {artifact_name(j.name) for j in ensure_jars(SPARK_JARS)}
    assert {"delta-spark_4.2_2.13", "delta-storage", "spark-sql-kafka-0-10_2.13", "kafka-clients"} <= names
    shipped = {artifact_name(j.name) for j in jars.pyspark_jars_dir().glob("*.jar")}
    assert not names & shipped
    assert "kafka_2.13" in {artifact_name(j.name) for j in ensure_jars(KAFKA_BROKER_JARS)}


@pytest.mark.parametrize(("jar", "name"), [
    ("spark-sql-kafka-0-10_2.13-4.2.0.jar", "spark-sql-kafka-0-10_2.13"),
    ("delta-spark_4.2_2.13-4.4.0.jar", "delta-spark_4.2_2.13"),
    ("zstd-jni-1.5.7-3.jar", "zstd-jni"),
    ("netty-transport-4.1.105.Final.jar", "netty-transport"),
    ("hadoop-client-api-3.4.2.jar", "hadoop-client-api"),
])
def test_artifact_names_strip_only_the_version(jar, name):
    assert artifact_name(jar) == name


def test_cache_key_follows_the_pom_so_a_version_change_refetches():
    assert SPARK_JARS.cache_key != KAFKA_BROKER_JARS.cache_key
    assert jars.cache_dir(SPARK_JARS).name == f"spark-{SPARK_JARS.cache_key}"


@pytest.mark.slow
def test_spark_starts_and_writes_delta_offline_from_the_warm_cache(tmp_path):
    """A separate process with no mvn on PATH, proxies to nowhere and fetching forbidden; its JVM loads
    Spark's and Delta's classes from the class archive `parkpal setup` made (made here if it is missing),
    also with an extra jar (the SQL endpoint's guard), which the JVM's own class loader finds too. It starts
    as a user's command does, without the options the suite gives the commands it starts (`conftest.py`), so
    it generates its projections (Spark's default, which larger runs need)."""
    from parkpal_lakehouse.runtime.class_archive import archive_path, build_archive
    from parkpal_lakehouse.serving.sql_endpoint import AUTH_CLASS, guard_jar

    ensure_jars(SPARK_JARS)
    if not archive_path().is_file():
        build_archive()
    guard = guard_jar()
    script = textwrap.dedent(f"""
        import os
        from parkpal_lakehouse.config import local_config
        from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark
        config = local_config({str(tmp_path)!r})
        settings = LocalSparkSettings(master="local[1]", driver_memory="1g", extra_jars=({str(guard)!r},))
        spark = get_spark(config, settings)
        spark.range(5).write.format("delta").save(config.table_path("bronze.offline_probe"))
        print("rows", spark.read.format("delta").load(config.table_path("bronze.offline_probe")).count())
        print("ivy", spark.sparkContext.getConf().get("spark.jars.packages", "none"))
        system = spark.sparkContext._jvm.java.lang.ClassLoader.getSystemClassLoader()
        print("system loader", system.loadClass({AUTH_CLASS!r}).getName())
        print("launch env left", os.environ.get("SPARK_DIST_CLASSPATH"))
        projection = spark.sparkContext._jvm.org.apache.spark.sql.catalyst.expressions.UnsafeProjection
        print("projection", projection.create(spark.range(1)._jdf.schema()).getClass().getSimpleName())
    """)
    tripwire = tmp_path / "bin" / "mvn"  # shadows the real mvn: any call is recorded and fails
    tripwire.parent.mkdir()
    tripwire.write_text(f"#!/bin/sh\ntouch {tmp_path / 'mvn-was-called'}\nexit 1\n")
    tripwire.chmod(0o755)
    loaded = tmp_path / "classes.log"  # HotSpot's record of where each class came from
    env = {**os.environ, "PARKPAL_OFFLINE": "1", "PATH": f"{tripwire.parent}:{os.environ['PATH']}",
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
           "JDK_JAVA_OPTIONS": f"-Xlog:class+load=info:file={loaded}"}
    env.pop("PARKPAL_CLASS_ARCHIVE", None)
    env.pop("SPARK_SUBMIT_OPTS", None)  # the suite's options for the commands it starts (C1, interpreted)
    env.pop("SPARK_DIST_CLASSPATH", None)  # the extra jar alone is appended; none is left after the launch
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rows 5" in result.stdout and "ivy none" in result.stdout
    assert f"system loader {AUTH_CLASS}" in result.stdout and "launch env left None" in result.stdout
    assert "projection SpecificUnsafeProjection" in result.stdout, result.stdout
    assert not (tmp_path / "mvn-was-called").exists()
    sources = {}
    for line in loaded.read_text().splitlines():
        name, _, source = line.partition(" source: ")
        sources[name.rsplit(" ", 1)[-1]] = source
    for name in ("org.apache.spark.SparkContext", "org.apache.spark.sql.delta.DeltaLog"):
        assert sources[name] == "shared objects file (top)", (name, sources.get(name))
    assert sources[AUTH_CLASS].endswith(guard.name), sources.get(AUTH_CLASS)  # from the jar, after the archive's


def test_cold_cache_offline_says_how_to_warm_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKPAL_JAR_CACHE", str(tmp_path))
    assert cached_jars(SPARK_JARS) is None
    with pytest.raises(JarFetchError, match="run `parkpal setup`") as err:
        ensure_jars(SPARK_JARS, offline=True)
    assert "\n" not in str(err.value)


def test_cold_cache_without_maven_says_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKPAL_JAR_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JarFetchError, match="Maven \\(mvn\\) is not on PATH"):
        ensure_jars(SPARK_JARS)


def test_a_failed_fetch_is_one_line_and_leaves_no_half_cache(tmp_path, monkeypatch):
    fake_mvn = tmp_path / "bin" / "mvn"
    fake_mvn.parent.mkdir()
    fake_mvn.write_text("#!/bin/sh\necho '[ERROR] Could not transfer artifact io.delta:x from central'\nexit 1\n")
    fake_mvn.chmod(0o755)
    monkeypatch.setenv("PARKPAL_JAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(fake_mvn.parent))
    with pytest.raises(JarFetchError, match="Could not transfer artifact") as err:
        ensure_jars(SPARK_JARS)
    assert "\n" not in str(err.value)
    assert cached_jars(SPARK_JARS) is None and not list((tmp_path / "cache").iterdir())


def test_missing_java_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(JvmNotFoundError, match="Java 17") as err:
        java_executable()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("output", "version"), [
    ('openjdk version "17.0.15" 2025-04-15', (17, 0, 15)),
    ('openjdk version "25.0.3" 2026-04-21 LTS', (25, 0, 3)),
    ('openjdk version "21" 2023-09-19', (21, 0, 0)),
    ('java version "1.8.0_452"', (1, 8, 0)),
    ("no version here", None),
])
def test_java_versions_are_read_from_what_java_prints(output, version):
    assert java_version(output) == version


@pytest.mark.parametrize(("version", "refused"), [
    ("17.0.15", None), ("21.0.2", None), ("25.0.3", None), ("22.0.1", None),
    ("25.0.2", "Java 25 before 25.0.3 can corrupt data"), ("11.0.20", "not Java 17 or newer"),
])
def test_java_is_refused_in_one_line_when_too_old_or_a_25_before_25_0_3(tmp_path, monkeypatch, version, refused):
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path / "jdk", version)))
    if refused is None:
        assert java_executable() == str(tmp_path / "jdk" / "bin" / "java")
        return
    with pytest.raises(JvmNotFoundError, match=refused) as err:
        java_executable()
    assert "\n" not in str(err.value) and version in str(err.value)


def test_the_newest_jdk_spark_supports_is_chosen_and_each_counts_once(tmp_path):
    jvm = (tmp_path / "jvm").resolve()
    for name, version in [("openjdk-11", "11.0.20"), ("java-17-openjdk", "17.0.15"), ("temurin-21", "21.0.4"),
                          ("temurin-25-early", "25.0.2"), ("temurin-26", "26.0.1")]:
        fake_jdk(jvm / name, version)
    (jvm / "java-1.17.0-openjdk").symlink_to(jvm / "java-17-openjdk")  # Debian's second name for the same JDK
    foreign = jvm / "arm64-jdk" / "bin" / "java"  # not a program this machine can start
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(57))
    foreign.chmod(0o755)
    assert supported_java_homes(jvm) == {jvm / "java-17-openjdk": (17, 0, 15), jvm / "temurin-21": (21, 0, 4)}
    assert newest_supported_java_home(jvm) == jvm / "temurin-21"
    fake_jdk(jvm / "temurin-25", "25.0.3")
    assert newest_supported_java_home(jvm) == jvm / "temurin-25"
    assert newest_supported_java_home(tmp_path / "none") is None


@pytest.mark.slow
def test_spark_writes_delta_on_every_other_supported_jdk_installed(tmp_path):
    """CI runs on the newest JDK Spark supports that it finds (`.ci/run`); the others installed (OpenJDK 17
    beside Temurin 25 on the project's machines: Java 17 is what Databricks' runtimes and the README's
    fresh machine have) still start Spark and write and read Delta, in a process of their own."""
    in_use = Path(java_executable()).resolve().parent.parent
    others = {home: version for home, version in supported_java_homes().items() if home != in_use}
    if not others:
        pytest.skip(f"no other JDK Spark supports is installed beside {in_use}")
    script = textwrap.dedent(f"""
        from parkpal_lakehouse.config import local_config
        from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark
        config = local_config({str(tmp_path)!r})
        spark = get_spark(config, LocalSparkSettings(master="local[1]", driver_memory="1g"))
        path = config.table_path("bronze.java_probe")
        spark.range(5).write.format("delta").save(path)
        print("rows", spark.read.format("delta").load(path).count())
        print("java", spark.sparkContext._jvm.java.lang.System.getProperty("java.version"))
    """)
    for home, version in others.items():
        env = {**os.environ, "JAVA_HOME": str(home), "PARKPAL_CLASS_ARCHIVE": "0"}
        result = subprocess.run([sys.executable, "-c", script.replace("java_probe", f"java_{version[0]}")],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (home, result.stderr[-2000:])
        assert "rows 5" in result.stdout, (home, result.stdout)
        assert re.search(rf"^java {version[0]}(\.|$)", result.stdout, re.MULTILINE), (home, result.stdout)
