"""The sharing server's snapshots of a Delta table: what a version holds, read once per version (issue 21)."""

import os
import shutil

import pytest

from parkpal_lakehouse.sharing.snapshots import SnapshotCache, read_snapshot
from tests.support.spark_jobs import spark_counters


@pytest.fixture(scope="module")
def table(spark, tmp_path_factory) -> str:
    """Three versions: 0 three rows, 1 two rows appended, 2 overwritten with another schema."""
    path = str(tmp_path_factory.mktemp("share") / "zones")
    spark.range(3).write.format("delta").save(path)
    spark.range(3, 5).write.format("delta").mode("append").save(path)
    spark.range(1).selectExpr("CAST(id AS STRING) AS zone").write.format("delta").mode("overwrite") \
        .option("overwriteSchema", "true").save(path)
    return path


def _jobs(call):
    before = spark_counters()[0]
    result = call()
    return result, spark_counters()[0] - before


def test_a_version_is_read_once_and_each_version_as_without_the_cache(spark, table):
    cache = SnapshotCache(spark)
    newest, miss_jobs = _jobs(lambda: cache.get(table))
    assert newest == read_snapshot(spark, table) and newest.version == 2 and '"zone"' in newest.schema_json
    again, hit_jobs = _jobs(lambda: cache.get(table))
    # the same version: only the newest version is looked up, its files and schema are not read again
    assert again is newest and hit_jobs < miss_jobs, (hit_jobs, miss_jobs)
    first, appended = cache.get(table, version=0), cache.get(table, version=1)  # time travel: read as asked
    assert (first.version, appended.version) == (0, 1) and '"id"' in first.schema_json
    assert {f.path for f in appended.files} > {f.path for f in first.files}  # the append added a file
    assert cache.get(table, version=1) is appended and cache.get(table) is newest


def test_the_least_recently_asked_version_goes_first(spark, table):
    cache = SnapshotCache(spark, capacity=1)
    first = cache.get(table, version=0)
    appended = cache.get(table, version=1)
    assert cache.get(table, version=1) is appended
    again = cache.get(table, version=0)  # dropped when version 1 came in: read again, the same content
    assert again is not first and again == first


def test_a_kept_version_whose_files_are_gone_is_read_again_as_without_the_cache(spark, table, tmp_path):
    path = str(tmp_path / "zones")
    shutil.copytree(table, path)
    cache = SnapshotCache(spark)
    first, appended = cache.get(path, version=0), cache.get(path, version=1)
    for f in {f.path for f in appended.files} - {f.path for f in first.files}:
        os.remove(f)  # what VACUUM does to files only an old version holds
    with pytest.raises(Exception) as without:
        read_snapshot(spark, path, 1)
    with pytest.raises(type(without.value)):
        cache.get(path, version=1)
    assert cache.get(path, version=0) is first  # its files are all there
