"""Tables by logical name: created empty with their schema and partitions, and the local catalog's name
always pointing at the root last used, whoever registered it before."""

import shutil
from collections import Counter

from chispa import assert_df_equality
from pyspark.sql import Row
from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.io.delta import create_table_if_missing, create_tables_if_missing, read_table, register, save
from tests.support.spark_jobs import spark_counters, spark_job_kinds

SCHEMA = "zone_id BIGINT, name STRING, metric_date DATE"


def _rows(spark, *names):
    return spark.createDataFrame([(i, n, None) for i, n in enumerate(names)], SCHEMA)


def test_a_missing_table_is_created_empty_with_its_schema_and_partitions_and_an_existing_one_is_left(
        spark, tmp_path):
    config = local_config(tmp_path / "a")
    create_table_if_missing(spark, config, "silver.probe_created", SCHEMA, ("metric_date",))
    table = read_table(spark, config, "silver.probe_created")
    assert_df_equality(table, spark.createDataFrame([], SCHEMA))
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{config.table_path('silver.probe_created')}`").first()
    assert detail.partitionColumns == ["metric_date"]
    assert spark.table("silver.probe_created").schema == table.schema  # registered by name
    save(_rows(spark, "kept").write.format("delta").mode("append"), spark, config, "silver.probe_created")
    create_table_if_missing(spark, config, "silver.probe_created", SCHEMA, ("metric_date",))
    assert_df_equality(read_table(spark, config, "silver.probe_created"), _rows(spark, "kept"))


def test_tables_created_side_by_side_each_get_their_schema_partitions_and_name_and_existing_ones_are_left(
        spark, tmp_path):
    config = local_config(tmp_path / "a")
    create_table_if_missing(spark, config, "silver.probe_kept", SCHEMA)
    save(_rows(spark, "kept").write.format("delta").mode("append"), spark, config, "silver.probe_kept")
    other = "session_id STRING, entry_date DATE"
    # Each is a metadata commit and no Spark job, on any thread: Delta 4.4 also replayed a new table's empty log in
    # a job to write its file list into the checksum, which no read uses in 4.4 (off in the local session; issue 21)
    first, _ = spark_counters()
    create_tables_if_missing(spark, config, [
        ("silver.probe_one", SCHEMA, ("metric_date",)), ("gold.probe_two", other, ("entry_date",)),
        ("silver.probe_kept", SCHEMA, ()), ("silver.probe_one", SCHEMA, ("metric_date",))])  # named twice: once
    assert spark_job_kinds(first, spark_counters()[0]) == Counter()
    for name, schema, partitions in (("silver.probe_one", SCHEMA, ["metric_date"]),
                                     ("gold.probe_two", other, ["entry_date"])):
        assert_df_equality(read_table(spark, config, name), spark.createDataFrame([], schema))
        assert spark.table(name).schema == read_table(spark, config, name).schema  # registered by name
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{config.table_path(name)}`").first()
        assert detail.partitionColumns == partitions and detail.numFiles == 0
        assert spark.sql(f"DESCRIBE HISTORY delta.`{config.table_path(name)}`").count() == 1  # one commit
    assert_df_equality(read_table(spark, config, "silver.probe_kept"), _rows(spark, "kept"))


def test_a_schema_with_required_fields_makes_a_table_that_takes_nulls_as_a_write_would(spark, tmp_path):
    # A transform's schema often says "never null" (a literal, current_timestamp()); a DataFrame write
    # drops that, and so must the empty table made first, or a later batch with a null would fail.
    config = local_config(tmp_path / "a")
    required = StructType([
        StructField("record_id", StringType(), False),
        StructField("failed_rules", ArrayType(StringType(), False), False),
        StructField("zone", StructType([StructField("zone_id", LongType(), False)]), False)])
    create_table_if_missing(spark, config, "silver.probe_required", required)
    created = read_table(spark, config, "silver.probe_required").schema
    assert created.simpleString() == required.simpleString()
    assert "NOT NULL" not in created.toDDL()
    rows = spark.createDataFrame([(None, [None], (None,))], created)
    save(rows.write.format("delta").mode("append"), spark, config, "silver.probe_required")
    assert read_table(spark, config, "silver.probe_required").collect() == [Row(None, [None], Row(None))]


def test_the_name_follows_the_root_last_used_whoever_registered_it_before(spark, tmp_path):
    first, second = local_config(tmp_path / "first"), local_config(tmp_path / "second")
    for config, name in ((first, "first"), (second, "second")):
        save(_rows(spark, name).write.format("delta"), spark, config, "silver.probe_roots")
    assert_df_equality(spark.table("silver.probe_roots"), _rows(spark, "second"))
    register(spark, first, "silver.probe_roots")
    assert_df_equality(spark.table("silver.probe_roots"), _rows(spark, "first"))
    # a name this process never registered (a notebook's CREATE TABLE) pointing at another root's folder
    save(_rows(spark, "theirs").write.format("delta"), spark, first, "silver.probe_foreign")  # registered: first
    spark.sql("DROP TABLE silver.probe_foreign")
    elsewhere = tmp_path / "elsewhere"
    _rows(spark, "elsewhere").write.format("delta").save(str(elsewhere))
    spark.sql(f"CREATE TABLE silver.probe_foreign USING DELTA LOCATION '{elsewhere}'")
    save(_rows(spark, "ours").write.format("delta"), spark, second, "silver.probe_foreign")
    assert_df_equality(spark.table("silver.probe_foreign"), _rows(spark, "ours"))
    assert_df_equality(spark.read.format("delta").load(str(elsewhere)), _rows(spark, "elsewhere"))  # files stay


def test_a_name_whose_root_was_deleted_is_re_pointed_at_the_root_used_now(spark, tmp_path):
    """A process that used a root, deleted it, then uses another (a notebook, a probe): Spark cannot
    resolve the old entry any more, and registering the new root's table must still work."""
    old, new = local_config(tmp_path / "old"), local_config(tmp_path / "new")
    save(_rows(spark, "old").write.format("delta"), spark, old, "silver.probe_deleted")
    shutil.rmtree(tmp_path / "old")
    save(_rows(spark, "new").write.format("delta"), spark, new, "silver.probe_deleted")
    assert_df_equality(spark.table("silver.probe_deleted"), _rows(spark, "new"))
