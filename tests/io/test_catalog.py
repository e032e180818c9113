"""The catalog step: nothing is registered by getting a session; the step registers the root's tables."""

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.io.catalog import lakehouse_tables, register_local_tables
from parkpal_lakehouse.io.delta import table_exists
from parkpal_lakehouse.runtime.session import get_spark
from parkpal_lakehouse.steps.catalog import prepare_catalog


def test_getting_a_session_registers_nothing_the_catalog_step_does(spark, tmp_path):
    config = local_config(tmp_path)
    df = spark.createDataFrame([(7, 0.5)], "zone_id BIGINT, occupancy_rate DOUBLE")
    df.write.format("delta").save(config.table_path("gold.catalog_probe"))
    spark.sql("DROP TABLE IF EXISTS gold.catalog_probe")
    assert get_spark(config) is spark
    assert not spark.catalog.tableExists("gold.catalog_probe")  # no side effect in getting a session
    registered = prepare_catalog(spark, config)
    assert {"bronze", "silver", "gold", "ops"} <= set(registered)  # the layer schemas
    assert "gold.catalog_probe" in registered
    assert spark.sql("SELECT occupancy_rate FROM gold.catalog_probe").first()[0] == 0.5
    assert table_exists(spark, config, "gold.catalog_probe") and not table_exists(spark, config, "gold.nothing_here")
    assert "gold.catalog_probe" in lakehouse_tables(spark, config)


def test_only_the_layers_asked_for_are_registered(spark, tmp_path):
    config = local_config(tmp_path)
    for table in ("silver.layer_probe", "gold.layer_probe"):
        spark.createDataFrame([(1,)], "x INT").write.format("delta").save(config.table_path(table))
        spark.sql(f"DROP TABLE IF EXISTS {table}")
    assert register_local_tables(spark, config, layers=("gold",)) == ["gold.layer_probe"]
    assert not spark.catalog.tableExists("silver.layer_probe")
