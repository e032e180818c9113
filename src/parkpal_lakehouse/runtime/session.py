"""The one way to get a SparkSession.

On Databricks: the active session (Spark, Delta and the Kafka connector are provided there).
Locally: a Delta-enabled session on the cached jars, tuned for a 2-core laptop. Getting a session
has no other effect: the catalog (schemas, the root's tables, gold's views) is the catalog step's
(io/catalog.py, steps/catalog.py), which every step runs before it reads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.runtime.class_archive import archive_options
from parkpal_lakehouse.runtime.console import LIBRARY_LOG_ENV, jvm_output_to, restored_environ
from parkpal_lakehouse.runtime.jars import SPARK_JARS, ensure_jars, java_executable

_LOG4J2 = Path(__file__).with_name("log4j2.properties")
DIST_CLASSPATH = "SPARK_DIST_CLASSPATH"  # Spark's launcher puts it at the end of the JVM's class path
# HotSpot's `HugeMethodLimit`: bytecode above it is interpreted, never JIT-compiled.
HUGE_METHOD_LIMIT = 8000
# Compiled classes Spark keeps (its default, 100, is fewer than one streaming run's distinct plans need).
CODEGEN_CACHE_ENTRIES = 2000
# The driver JVM's JIT, for runs of seconds to minutes (the demo, a job, the local runner): room for the
# compiled code of Spark, Delta and every generated class (HotSpot's sweeper flushes code it finds cold
# sooner the fuller the cache: with the default 240 MB it compiled more), and methods compiled after 3x
# HotSpot's default call counts (less compile work for code that runs a few times). Hot code is still
# compiled, a little later. Issue 21, `docs/ingestion.md` "The JVM's JIT on short runs".
JIT_OPTIONS = ("-XX:ReservedCodeCacheSize=512m", "-XX:CompileThresholdScaling=3")
# HotSpot's quick compiler (C1) only, no optimising compiler (C2): for JVMs that live a second or a few on tiny
# data (the beeline client; the commands the test suite starts as their own processes, conftest.py), where C2's
# compiling never pays back. Not for ParkPal's own sessions: three cities took 216 s with it against 145 s with
# `JIT_OPTIONS` (issue 21, docs/ingestion.md).
QUICK_JIT = "-XX:TieredStopAtLevel=1"


# Projections built inside each task (Delta's log actions to rows, a write's statistics, a project outside a
# whole stage) are made by generating their Java source every time, to find the compiled class in Spark's cache:
# on small data that was the executors' largest cost (15% of a warm small city's JVM samples, Java Flight
# Recorder). Interpreted projections skip it: a small city 10% faster, but per record they cost more, and 6 days
# of silver ran at half the speed. So only for runs known to be small, as the test suite's session
# (conftest.py); `benchmarks/projections.py` measures both. Issue 21, docs/ingestion.md.
INTERPRETED_PROJECTIONS: Mapping[str, str] = MappingProxyType({"spark.sql.codegen.factoryMode": "NO_CODEGEN"})

DATAFRAME_QUERY_CONTEXT = "spark.python.sql.dataFrameDebugging.enabled"


def dataframe_query_context(environ: Mapping[str, str]) -> str:
    """The local session's `DATAFRAME_QUERY_CONTEXT`: "false" unless PARKPAL_DATAFRAME_QUERY_CONTEXT=1.
    PySpark reads it once per Python process, at the first PySpark call made with a session active."""
    return "true" if environ.get("PARKPAL_DATAFRAME_QUERY_CONTEXT", "").strip() == "1" else "false"


def running_on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def get_dbutils(spark: SparkSession) -> object | None:
    """Databricks' `dbutils` (secret scopes) in a job or notebook; None locally, where secrets come
    from environment variables (`SecretRef.local_env_var`)."""
    if not running_on_databricks():
        return None
    from pyspark.dbutils import DBUtils  # type: ignore[import-not-found]  # Databricks Runtime only

    return DBUtils(spark)


@dataclass(frozen=True)
class LocalSparkSettings:
    """Knobs for the local session; the defaults suit 2 cores and small data."""

    master: str = "local[*]"
    app_name: str = "parkpal"
    shuffle_partitions: int = 4
    driver_memory: str = "4g"
    ui_enabled: bool = False
    extra_conf: Mapping[str, str] = field(default_factory=dict)
    # More jars for the driver and executors (the SQL endpoint's guard), after the pinned ones and pyspark's.
    extra_jars: tuple[str, ...] = ()
    # HotSpot options of the driver JVM (`()`: HotSpot's defaults, as benchmarks/jvm_jit.py compares).
    jit_options: tuple[str, ...] = JIT_OPTIONS
    # Start from the class archive `parkpal setup` made, when there is one (runtime/class_archive.py).
    class_archive: bool = True


def get_spark(config: LakehouseConfig, settings: LocalSparkSettings | None = None) -> SparkSession:
    """The active Databricks session, or a local Delta session (the active one, if this process has one)."""
    if running_on_databricks():
        active = SparkSession.getActiveSession()
        return active if active is not None else SparkSession.builder.getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None and settings is None:
        # A session already runs in this process (a notebook, a test run, a job calling another step):
        # use it as configured rather than re-applying our defaults over its settings.
        return active
    return build_local_session(config, settings or LocalSparkSettings())


@contextlib.contextmanager
def _class_path_after(jars: tuple[str, ...]) -> Iterator[None]:
    """While the driver JVM is launched: `jars` at the end of its class path, after pyspark's (Spark's
    launcher appends `SPARK_DIST_CLASSPATH` last). `spark.driver.extraClassPath` would put them before
    pyspark's jars, and HotSpot ignores a class archive whose class path is not a prefix of the JVM's:
    the SQL endpoint (its guard jar) is ready in ~5 s with the archive, ~8.5 without (issue 21)."""
    with restored_environ(DIST_CLASSPATH):
        if jars:
            before = os.environ.get(DIST_CLASSPATH)
            os.environ[DIST_CLASSPATH] = os.pathsep.join(filter(None, (before, *map(str, jars))))
        yield


def build_local_session(config: LakehouseConfig, settings: LocalSparkSettings) -> SparkSession:
    java = java_executable()  # a one-line error now beats a JVM gateway stack trace later
    jvm_options = [*settings.jit_options, *(archive_options(java) if settings.class_archive else ())]
    pinned = ensure_jars(SPARK_JARS)
    jars = [*pinned, *settings.extra_jars]
    # Python workers (pandas UDFs, the stateful processor's driver-side runner) must be this interpreter,
    # the one with parkpal_lakehouse and pandas installed, not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    warehouse = Path(config.storage_root) / "warehouse"
    builder = (
        SparkSession.builder.master(settings.master)
        .appName(settings.app_name)
        .config("spark.jars", ",".join(str(j) for j in jars))
        # Also on the driver's own class path: threads Spark does not create (the Thrift SQL endpoint's
        # session handlers) load the Delta catalog through the system class loader. The extra jars go there
        # after pyspark's own (`_class_path_after`): the class archive matches a class path it begins.
        .config("spark.driver.extraClassPath", os.pathsep.join(str(j) for j in pinned))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.default.parallelism", str(settings.shuffle_partitions))
        # Directory listings (VACUUM, partition discovery) default to 10,000 tasks: ~40 s of scheduling
        # on 2 cores for a table of a few files.
        .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", str(4 * settings.shuffle_partitions))
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.ui.enabled", str(settings.ui_enabled).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "true")
        # `spark.sql(text, args=...)` (named parameters, the injection-safe way) binds nothing on a session
        # with Delta's SQL extension since Spark 4.1: Delta's parser drops the parameters (delta-io/delta#7640,
        # SPARK-59672). The legacy substitution binds them in constant positions, which is all we use.
        .config("spark.sql.legacy.parameterSubstitution.constantsOnly", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # PySpark's DataFrame query context: every PySpark function and Column call also sends its Python
        # call site to the JVM (the active session, a conf read, set, clear: `(col / col).alias(...)` is 54
        # Py4J round trips with it, 14 without), for error messages that name the line that built a
        # failing expression. Building a plan made ~3x the round trips with it (the forecast
        # features 7,300 -> 2,700-3,600, silver's three parses 25,800 -> 8,400-9,000; issue 21). Off,
        # unless PARKPAL_DATAFRAME_QUERY_CONTEXT=1 (debugging); the bundle's clusters set it off too.
        .config(DATAFRAME_QUERY_CONTEXT, dataframe_query_context(os.environ))
        # Spark's documented advice on HotSpot: a whole-stage method above the JVM's 8,000-byte JIT limit
        # is never compiled, so split such a stage instead. Silver's contract rules make one (issue 21).
        .config("spark.sql.codegen.hugeMethodLimit", str(HUGE_METHOD_LIMIT))
        # Micro-batches are cached for seconds (`persist` in the silver writer): compressing the cached
        # columns cost ~10% of silver's CPU (boxed dictionary encoding) to save memory they hold briefly.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Spark caches generated classes, 100 by default: the silver parses, sessionization, gold and the
        # zone status plan more distinct stages than that, so evicted ones were compiled again. 2,000:
        # a small ingestion + hourly gold run 11% faster (issue 21, benchmarks/small_run.py).
        .config("spark.sql.codegen.cache.maxEntries", str(CODEGEN_CACHE_ENTRIES))
        # Delta replays a table's log into this many partitions each time a new version's snapshot is
        # needed (every write, every read of a table another query committed to). Local logs are small:
        # one partition, one task. The test city's run (benchmarks/small_run.py, A/B/A/B) 10-12% faster
        # than with 2 (issue 21); the Databricks clusters keep the runtime's default.
        .config("spark.databricks.delta.snapshotPartitions", "1")
        # Delta 4.4 also writes a small table's file list into each version's checksum (`allFilesInCrc`), which
        # no read uses in 4.4 (`Snapshot.allFiles` always replays the log): creating a table replays its empty
        # log once more only to write that list (one Spark job a table), and every checkpoint replays it again
        # to check the list. Off locally: a new root's tables without those jobs (issue 21, fifty-second part).
        .config("spark.databricks.delta.allFilesInCrc.enabled", "false")
        .config("spark.databricks.delta.properties.defaults.appendOnly", "false")
        .config("spark.sql.streaming.stateStore.providerClass",
                "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider")
        # As the bundle's streaming cluster: each micro-batch commits RocksDB's change log, not a snapshot.
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={_LOG4J2} -Dderby.stream.error.file={warehouse / 'derby.log'} "
                f"-Dparkpal.log.dir={Path(config.storage_root) / 'logs'} {' '.join(jvm_options)}")
    )
    for key, value in settings.extra_conf.items():
        builder = builder.config(key, value)
    # With PARKPAL_LIBRARY_LOG set (runtime/console.library_output_to), the JVM's own output (its startup
    # warnings, log4j's console, the Python workers' prints) goes to that file instead of the terminal.
    with jvm_output_to(os.environ.get(LIBRARY_LOG_ENV)), _class_path_after(settings.extra_jars):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # PySpark logs every analysis error as a JSON stack trace before raising it; callers get the exception.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return spark
