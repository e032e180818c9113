"""The jar cache: pinned, fetched once, then used with no network and no Maven at all."""

import os
import subprocess
import sys
import textwrap

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
)


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
