"""The local driver JVM's class-data archive (HotSpot's application class-data sharing, AppCDS).

Every local command starts a JVM that loads and verifies some 20,000 classes of Spark, Delta and their
libraries before it does any work. `parkpal setup` runs Spark once with `-XX:ArchiveClassesAtExit` (a
session, a partitioned Delta write and a read) and keeps the classes HotSpot parsed and verified in a
file beside the jars; later JVMs map that file instead (`-XX:SharedArchiveFile`): a session's start and
first Delta write 8.9 -> 5.2 s on 2 cores (`benchmarks/spark_startup.py`; issue 21, docs/ingestion.md
"The driver JVM's classes, archived").

The archive is a cache, never required: without it (no `parkpal setup` since the jars, the JDK or the
environment changed; `PARKPAL_CLASS_ARCHIVE=0`: neither made nor used) the JVM starts as before. It
belongs to one JDK build and one class path (this environment's pyspark jars, then the cached ones), so
there is one per environment (~185 MB; delete `classes-*.jsa` in the jar cache to reclaim them; making one
removes the same environment's older ones, whose jars have changed since). HotSpot
checks both itself and ignores an archive that does not match; its messages about that are turned off
(`-Xlog:cds*=off`), since they would reach the terminal.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime.jars import SPARK_JARS, cache_dir, cached_jars, java_executable, pyspark_jars_dir

CLASS_ARCHIVE_ENV = "PARKPAL_CLASS_ARCHIVE"  # "0": start without it
_QUIET = "-Xlog:cds*=off"


def archive_path(java: str | None = None) -> Path:
    """The archive for this JDK (`java`, else the one Spark will use) and this environment's pyspark, in
    the Spark jar set's cache folder (one per environment: the class path names the venv's jars), named
    `classes-<environment>-<jars>.jsa`: the second part follows the class path's jars as HotSpot checks them
    before it maps an archive (each one's size and modification time), so a venv made again at the same place
    or jars fetched again get a new archive from `parkpal setup` instead of one HotSpot silently refuses."""
    import pyspark

    binary = Path(java or java_executable()).resolve()
    identity = f"{binary}|{binary.stat().st_mtime_ns}|{pyspark.__version__}|{pyspark_jars_dir().resolve()}"
    jars = sorted([*pyspark_jars_dir().glob("*.jar"), *(cached_jars(SPARK_JARS) or [])])  # the class path's
    stamp = "|".join(f"{jar}:{st.st_size}:{st.st_mtime_ns}" for jar in jars for st in (jar.stat(),))
    return cache_dir(SPARK_JARS) / f"classes-{_digest(identity, 12)}-{_digest(stamp, 8)}.jsa"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def turned_off(environ: Mapping[str, str] = os.environ) -> bool:
    """`PARKPAL_CLASS_ARCHIVE=0`: no archive is made (`parkpal setup`) or used (a local session)."""
    return environ.get(CLASS_ARCHIVE_ENV, "").strip() == "0"


def archive_options(java: str, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The driver JVM's options to start from the archive, or () when there is none (or it is turned off).
    Only an existing file is named: HotSpot turns class sharing off altogether for a missing one."""
    if turned_off(environ):
        return ()
    path = archive_path(java)
    return (f"-XX:SharedArchiveFile={path}", _QUIET) if path.is_file() else ()


def build_archive(java: str | None = None, timeout_s: float = 600) -> Path:
    """Run Spark once in a child process that dumps the classes it loaded at exit, then move the file into
    place (a half-written archive is never the one named). Raises ParkPalError in one line on failure."""
    target = archive_path(java)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".classes-", dir=target.parent))
    dumped = staging / target.name
    try:
        # The child's session is built with `class_archive=False` (`_dump`): it starts from no archive.
        result = subprocess.run([sys.executable, "-m", __name__, str(dumped)], capture_output=True, text=True,
                                timeout=timeout_s, check=False)
        if result.returncode != 0 or not dumped.is_file() or dumped.stat().st_size == 0:
            reason = (result.stderr.strip().splitlines() or ["no archive written"])[-1][:200]
            raise ParkPalError(f"the JVM class archive was not made ({reason}); Spark starts without it")
        dumped.replace(target)
        # This environment's archives for jars since replaced, and its archive named as before the jars were in
        # the name (`classes-<environment>.jsa`, no longer looked for): HotSpot would refuse the first, nothing
        # maps the second (another environment's or JDK's stay; a JVM still mapping a removed file keeps it).
        environment = target.name.rsplit("-", 1)[0]
        for older in target.parent.glob(f"{environment}*.jsa"):
            if older != target:
                older.unlink(missing_ok=True)
    except subprocess.TimeoutExpired as exc:
        raise ParkPalError(f"the JVM class archive was not made in {timeout_s:.0f}s; Spark starts without it") \
            from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _dump(archive: Path) -> None:
    """In the child: the work most commands start with, then a clean JVM exit (when HotSpot writes the file)."""
    from dataclasses import replace

    from pyspark import SparkContext
    from pyspark.sql import functions as F

    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.runtime.session import LocalSparkSettings, build_local_session

    with tempfile.TemporaryDirectory(prefix="parkpal-classes-") as work:
        root = Path(work)
        defaults = LocalSparkSettings()
        settings = replace(defaults, master="local[1]", driver_memory="1g", class_archive=False,
                           jit_options=(*defaults.jit_options, f"-XX:ArchiveClassesAtExit={archive}"))
        spark = build_local_session(local_config(root), settings)
        gateway = SparkContext._gateway
        table = str(root / "events")
        spark.range(20).select(F.col("id").alias("event_id"), (F.col("id") % 7).alias("zone_id")) \
            .write.format("delta").partitionBy("zone_id").save(table)
        spark.read.format("delta").load(table).where("zone_id = 3").groupBy("zone_id").count().collect()
        spark.stop()
        # The JVM exits when its standard input closes (PySpark's gateway server); HotSpot dumps then.
        gateway.proc.stdin.close()
        gateway.proc.wait(timeout=300)


if __name__ == "__main__":
    _dump(Path(sys.argv[1]))
