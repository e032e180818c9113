import os

from chispa import assert_df_equality

from parkpal_lakehouse.io.delta import overwrite_table, read_table
from parkpal_lakehouse.runtime.session import (
    CODEGEN_CACHE_ENTRIES,
    DATAFRAME_QUERY_CONTEXT,
    DIST_CLASSPATH,
    HUGE_METHOD_LIMIT,
    LocalSparkSettings,
    _class_path_after,
    dataframe_query_context,
)


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


def test_session_is_tuned_for_a_small_machine(spark):
    assert spark.conf.get("spark.sql.shuffle.partitions") == "1"  # the suite's small data: one task a shuffle
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")
    # issue 21: the JIT-sized whole-stage methods and room for every compiled class a run plans
    assert spark.conf.get("spark.sql.codegen.hugeMethodLimit") == str(HUGE_METHOD_LIMIT)
    assert spark.conf.get("spark.sql.codegen.cache.maxEntries") == str(CODEGEN_CACHE_ENTRIES)
    assert spark.conf.get("spark.databricks.delta.snapshotPartitions") == "1"  # small logs: one replay task
    assert spark.sparkContext.getConf().get("spark.jars.packages", "") == ""


def test_the_suite_interprets_projections_that_production_generates(spark):
    # issue 21: the suite's data is small, where generating a projection's source in every task costs more
    # than interpreting its few rows (conftest.py); a session built with the defaults keeps Spark's code
    # generation, which the larger runs need (benchmarks/projections.py)
    jvm = spark.sparkContext._jvm
    schema = spark.range(1)._jdf.schema()
    projection = jvm.org.apache.spark.sql.catalyst.expressions.UnsafeProjection.create(schema)
    assert projection.getClass().getSimpleName() == "InterpretedUnsafeProjection"
    assert "spark.sql.codegen.factoryMode" not in LocalSparkSettings().extra_conf


def test_column_calls_do_not_send_their_python_call_site(spark, monkeypatch):
    """PySpark's DataFrame query context is off (issue 21: ~2/3 of the Py4J round trips of building a plan),
    in the session and in PySpark's own per-process switch, unless asked for while debugging."""
    import py4j.clientserver
    from pyspark.errors.utils import is_debugging_enabled
    from pyspark.sql import functions as F

    assert spark.conf.get(DATAFRAME_QUERY_CONTEXT) == "false" and is_debugging_enabled() is False
    sent = []
    send = py4j.clientserver.ClientServerConnection.send_command

    def counting(self, command):
        sent.append(command)
        return send(self, command)

    with monkeypatch.context() as m:
        m.setattr(py4j.clientserver.ClientServerConnection, "send_command", counting)
        (F.col("occupied") / F.col("capacity")).alias("occupancy_rate")
    # the expression's own calls went through the counter (14 here; 54 with the context on, 20 naming it)
    assert sent and not [c for c in sent if "PySparkCurrentOrigin" in c], sent
    asked = [dataframe_query_context(env) for env in ({}, {"PARKPAL_DATAFRAME_QUERY_CONTEXT": "0"},
                                                      {"PARKPAL_DATAFRAME_QUERY_CONTEXT": "1"})]
    assert asked == ["false", "false", "true"]


def test_the_driver_jvm_runs_with_the_jit_options(spark):
    """Read back from the running JVM itself (HotSpot's diagnostic bean), not from the configuration."""
    jvm = spark.sparkContext._jvm
    hotspot = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
    running = {name: hotspot.getVMOption(name).getValue()
               for name in ("ReservedCodeCacheSize", "CompileThresholdScaling")}
    assert running == {"ReservedCodeCacheSize": str(512 * 1024 * 1024), "CompileThresholdScaling": "3.0"}


def test_extra_jars_go_last_on_the_class_path_only_while_the_jvm_launches(monkeypatch):
    """Spark's launcher appends `SPARK_DIST_CLASSPATH` after pyspark's jars (where the class archive still
    matches); a value the user set stays in front and is back afterwards, and none is left when there was none."""
    monkeypatch.delenv(DIST_CLASSPATH, raising=False)
    with _class_path_after(("/jars/guard.jar",)):
        assert os.environ[DIST_CLASSPATH] == "/jars/guard.jar"
    assert DIST_CLASSPATH not in os.environ
    with _class_path_after(()):
        assert DIST_CLASSPATH not in os.environ
    monkeypatch.setenv(DIST_CLASSPATH, "/hadoop/lib/*")
    with _class_path_after(("/jars/a.jar", "/jars/b.jar")):
        assert os.environ[DIST_CLASSPATH] == os.pathsep.join(["/hadoop/lib/*", "/jars/a.jar", "/jars/b.jar"])
    assert os.environ[DIST_CLASSPATH] == "/hadoop/lib/*"
