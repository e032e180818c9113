from chispa import assert_df_equality

from parkpal_lakehouse.io.tables import overwrite_table, read_table, table_exists
from parkpal_lakehouse.runtime.session import register_local_catalog


def test_fixture_writes_and_reads_a_delta_table_with_history(spark, lakehouse):
    first = spark.createDataFrame([(1, "STREET"), (2, "LOT")], "zone_id BIGINT, zone_type STRING")
    second = spark.createDataFrame([(3, "GARAGE")], "zone_id BIGINT, zone_type STRING")
    name = overwrite_table(first, lakehouse, "silver.zones")
    overwrite_table(second, lakehouse, "silver.zones")
    assert name == "silver.zones"
    assert_df_equality(read_table(spark, lakehouse, "silver.zones"), second, ignore_row_order=True)
    version0 = spark.read.format("delta").option("versionAsOf", 0).load(lakehouse.table_path("silver.zones"))
    assert_df_equality(version0, first, ignore_row_order=True)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse.table_path('silver.zones')}`").collect()
    assert [r.version for r in history] == [1, 0]


def test_sql_by_name_after_registering_tables_found_under_the_root(spark, lakehouse):
    df = spark.createDataFrame([(7, 0.5)], "zone_id BIGINT, occupancy_rate DOUBLE")
    df.write.format("delta").save(lakehouse.table_path("gold.zone_metrics_hourly_probe"))
    spark.sql("DROP TABLE IF EXISTS gold.zone_metrics_hourly_probe")
    registered = register_local_catalog(spark, lakehouse)
    assert "gold.zone_metrics_hourly_probe" in registered
    assert spark.sql("SELECT occupancy_rate FROM gold.zone_metrics_hourly_probe").first()[0] == 0.5
    assert table_exists(spark, lakehouse, "gold.zone_metrics_hourly_probe")
    assert not table_exists(spark, lakehouse, "gold.nothing_here")


def test_session_is_tuned_for_a_small_machine(spark):
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")
    assert spark.sparkContext.getConf().get("spark.jars.packages", "") == ""
