"""A class-data-sharing archive of the local driver JVM's classes: every local command starts faster.

A new local Spark JVM spends seconds loading and verifying the same classes from jars (Spark, Delta,
Scala, Hadoop) before it runs anything. HotSpot can dump the classes a run loaded into an archive
(`-XX:ArchiveClassesAtExit`, JDK 13+) and map it at the next start (`-XX:SharedArchiveFile`): those
classes then come verified from memory. `parkpal setup` (so `make install`) builds the archive once by
running a tiny city through the real pipeline (streaming ingestion with sessions, then the hourly gold
job) in a child process; `runtime/session.py` passes it to every local driver JVM when it exists.

The archive is only valid for the JVM and class path it was dumped with, so its file name is a digest
of both (the `java -version` text, each jar's path, size and modification time): an upgraded pyspark,
Delta jar or JDK simply finds no archive, and the JVM starts the usual way until `parkpal setup` runs
again. HotSpot also checks the class path itself and, when anything differs, runs without the archive;
its log lines about that are switched off (they are not the user's concern, the speed is). Databricks
clusters are untouched: this is the local runtime only. Issue 21, `docs/ingestion.md`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime.jars import cache_root, java_version, pyspark_jars_dir

# HotSpot's own lines about the archive (a class path that changed, a class it skipped) stay off the terminal.
QUIET = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")


def driver_class_path(extra: Sequence[Path]) -> list[Path]:
    """The driver JVM's class path as `spark-submit` builds it: `spark.driver.extraClassPath`, then pyspark's jars."""
    return [*extra, *sorted(pyspark_jars_dir().glob("*.jar"))]


def archive_path(java: str, extra_class_path: Sequence[Path]) -> Path:
    """Where the archive for this JVM and class path lives (it may not exist)."""
    digest = hashlib.sha256(f"{Path(java).resolve()}\n{java_version(java)}".encode())
    for jar in driver_class_path(extra_class_path):
        stat = jar.stat()
        digest.update(f"{jar}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return cache_root().parent / "class-archives" / f"spark-driver-{digest.hexdigest()[:16]}.jsa"


def archive_options(java: str, extra_class_path: Sequence[Path]) -> tuple[str, ...]:
    """The driver JVM's options that map the archive, or `()` when there is none for this JVM and class path."""
    path = archive_path(java, extra_class_path)
    return (f"-XX:SharedArchiveFile={path}", *QUIET) if path.is_file() else ()


def build_class_archive(java: str, extra_class_path: Sequence[Path]) -> tuple[Path, float]:
    """Dump the archive from a child process that runs a tiny city through the pipeline; (path, seconds).

    Written under a temporary name and renamed once the child has exited cleanly, so a reader never maps
    a half-written archive, and two builds at once leave one whole file."""
    target = archive_path(java, extra_class_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parkpal-class-archive-") as work:
        staged = target.parent / f".{target.name}.{os.getpid()}"
        log = Path(work) / "build.log"
        with log.open("w") as out:  # a file, not a pipe: Spark's Python workers outlive the child for a while
            code = subprocess.run([sys.executable, "-m", "parkpal_lakehouse.runtime.class_archive", work,
                                   str(staged)], stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        if code != 0 or not staged.is_file():
            staged.unlink(missing_ok=True)
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ParkPalError(f"building the JVM class archive failed ({tail[0][:200]}); Spark still runs without "
                               "it: run `parkpal setup` again to retry")
        staged.replace(target)
    return target, time.perf_counter() - started


def _dump(work: Path, staged: Path) -> None:
    """In the child: what every local command starts with (a session, the catalog), a small stream into
    Delta with state and MERGE, a filtered Delta read and pandas through Arrow; HotSpot dumps the classes
    those loaded at exit. Classes beyond them load from the jars as before."""
    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.runtime.session import JIT_OPTIONS, LocalSparkSettings, build_local_session
    from parkpal_lakehouse.steps.catalog import prepare_catalog

    config = local_config(work / "lake")
    settings = LocalSparkSettings(app_name="parkpal-class-archive", class_archive=False,
                                  jit_options=(*JIT_OPTIONS, f"-XX:ArchiveClassesAtExit={staged}", *QUIET))
    spark = build_local_session(config, settings)
    prepare_catalog(spark, config)
    landing, table = work / "landing", str(work / "events")
    landing.mkdir()
    (landing / "0.jsonl").write_text("".join(f'{{"id": {i}, "zone": "z{i % 3}"}}\n' for i in range(100)))
    spark.range(0).selectExpr("id", "CAST(NULL AS STRING) zone").write.format("delta").save(table)

    def merge(batch, _batch_id: int) -> None:
        from delta.tables import DeltaTable

        (DeltaTable.forPath(spark, table).alias("t").merge(batch.alias("s"), "t.id = s.id")
         .whenNotMatchedInsertAll().execute())

    events = spark.readStream.schema("id LONG, zone STRING").json(str(landing))
    (events.groupBy("zone", "id").count().select("id", "zone").writeStream.outputMode("update").foreachBatch(merge)
     .option("checkpointLocation", str(work / "checkpoint")).trigger(availableNow=True).start().awaitTermination())
    spark.read.format("delta").load(table).where("zone = 'z1'").toPandas()
    jvm_pid = spark.sparkContext._jvm.ProcessHandle.current().pid()
    gateway = spark.sparkContext._gateway
    spark.stop()
    # The JVM exits when its stdin closes (pyspark's gateway server) and dumps the archive on its way out;
    # `spark-submit` may not be that process, so wait for the JVM's own pid to end.
    gateway.shutdown()
    gateway.proc.stdin.close()
    deadline = time.monotonic() + 600
    while _running(jvm_pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


if __name__ == "__main__":
    _dump(Path(sys.argv[1]), Path(sys.argv[2]))
    # The JVM is gone: pyspark's exit hooks would only wait on its closed gateway.
    sys.stdout.flush()
    os._exit(0)
