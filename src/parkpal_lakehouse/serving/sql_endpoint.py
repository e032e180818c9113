"""`parkpal sql serve`: a JDBC/ODBC SQL endpoint over gold, as a SQL warehouse is on Databricks.

Spark's own Thrift server (HiveServer2 protocol; its jars ship with pyspark), locked down for analysts:
- **Authenticated**: HiveServer2 CUSTOM authentication against `<root>/serving/sql_users` (PBKDF2
  hashes; `parkpal sql user NAME` makes or rotates an account and writes its password to a mode-600
  file). A wrong or missing password is refused at connect.
- **Gold only, read-only**: the endpoint runs in its own Spark session whose catalog holds gold's
  tables and views and nothing else, with a session extension (`ReadOnlyGoldGuard`, Java, compiled
  here from the package's source on first use) that refuses before it runs anything but a SELECT over
  gold or a catalog listing: no INSERT/UPDATE/DELETE/MERGE/DDL/SET/ADD JAR, no path-based reads
  (`parquet.\\`/x\\``), no Java reflection (`reflect`, `java_method`), no file functions.
It listens on loopback by default: `jdbc:hive2://127.0.0.1:10000/default`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError

DEFAULT_PORT = 10000
DEFAULT_USER = "analyst"
GUARD_CLASS = "org.parkpal.sql.ReadOnlyGoldGuard"
AUTH_CLASS = "org.parkpal.sql.PasswordFileAuthenticator"
PBKDF2_ITERATIONS = 120_000
_JAVA_SOURCES = Path(__file__).parent / "java"
_USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")


class SqlEndpointError(ParkPalError):
    """The endpoint could not start (port taken, Thrift server missing, no guard)."""


# -- accounts -----------------------------------------------------------------------------------------
def users_file(config: LakehouseConfig) -> Path:
    return Path(config.storage_root) / "serving" / "sql_users"


def password_file(config: LakehouseConfig, user: str) -> Path:
    return Path(config.storage_root) / "serving" / "credentials" / f"{user}.password"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)


def set_password(config: LakehouseConfig, user: str) -> Path:
    """Create or rotate an analyst account: a new random password (the old one stops working at the
    next login), its PBKDF2 hash in the users file, the password itself in a mode-600 file; returns it."""
    if not _USER_NAME.match(user):
        raise SqlEndpointError(f"user name {user!r}: lower-case letters, digits, '_', '.', '-' (start with a letter)")
    password = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)
    line = f"{user}:{PBKDF2_ITERATIONS}:{base64.b64encode(salt).decode()}:{base64.b64encode(digest).decode()}"
    path = users_file(config)
    kept = [ln for ln in (path.read_text().splitlines() if path.is_file() else []) if ln.split(":")[0] != user]
    _write_private(path, "\n".join([*kept, line]) + "\n")
    target = password_file(config, user)
    _write_private(target, password + "\n")
    return target


def ensure_default_user(config: LakehouseConfig) -> Path | None:
    """The first `sql serve` on a root makes the `analyst` account; returns its password file if made now."""
    path = users_file(config)
    if path.is_file() and path.read_text().strip():
        return None
    return set_password(config, DEFAULT_USER)


# -- the guard ----------------------------------------------------------------------------------------
def guard_jar() -> Path:
    """The guard and authenticator classes as a jar, compiled once per source version into the cache."""
    import pyspark

    from parkpal_lakehouse.runtime.jars import cache_root

    sources = sorted(_JAVA_SOURCES.rglob("*.java"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + pyspark.__version__.encode()).hexdigest()
    jar = cache_root() / f"parkpal-sql-guard-{digest[:12]}.jar"
    if jar.is_file():
        return jar
    javac = shutil.which("javac")
    if javac is None:
        raise SqlEndpointError("the SQL endpoint compiles its guard with javac: install a JDK "
                               "(apt-get install openjdk-17-jdk-headless)")
    classpath = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([javac, "-nowarn", "--release", "17", "-cp", classpath, "-d", out,
                               *map(str, sources)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SqlEndpointError(f"compiling the SQL endpoint guard failed: {done.stderr.strip().splitlines()[0]}")
        jar.parent.mkdir(parents=True, exist_ok=True)
        tmp = jar.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w") as zf:
            for cls in sorted(Path(out).rglob("*.class")):
                zf.write(cls, cls.relative_to(out).as_posix())
        tmp.replace(jar)
    return jar


def endpoint_session(config: LakehouseConfig, driver_memory: str = "2g") -> SparkSession:
    """A Spark session for the endpoint alone (its own process): the guard installed, path-based SQL
    off, and only gold in its catalog."""
    from parkpal_lakehouse.gold.views import create_views
    from parkpal_lakehouse.io.catalog import register_local_tables
    from parkpal_lakehouse.runtime.session import LocalSparkSettings, build_local_session

    settings = LocalSparkSettings(
        app_name="parkpal-sql-endpoint", driver_memory=driver_memory, extra_jars=(str(guard_jar()),),
        extra_conf={"spark.sql.extensions": f"io.delta.sql.DeltaSparkSessionExtension,{GUARD_CLASS}",
                    "spark.sql.runSQLOnFiles": "false"})
    spark = build_local_session(config, settings)
    if GUARD_CLASS not in spark.conf.get("spark.sql.extensions", ""):
        raise SqlEndpointError("a Spark session already runs in this process without the endpoint's guard: "
                               "run `parkpal sql serve` in its own process")
    register_local_tables(spark, config, layers=("gold",))
    create_views(spark, config)
    return spark


# -- the server ---------------------------------------------------------------------------------------
@dataclass
class SqlEndpoint:
    host: str
    port: int
    _server: object

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:hive2://{self.host}:{self.port}/default"

    def stop(self) -> None:
        self._server.stop()  # type: ignore[attr-defined]


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise SqlEndpointError(f"--port must be 1-65535, not {port}")
    if not _port_is_free(host, port):
        raise SqlEndpointError(f"{host}:{port} is already in use; pick another --port")


def start_sql_endpoint(spark: SparkSession, config: LakehouseConfig, host: str = "127.0.0.1",
                       port: int = DEFAULT_PORT, wait_seconds: float = 60.0) -> SqlEndpoint:
    """Lock the session (from here on only reads of gold run) and start the Thrift server with password
    authentication; returns once it accepts connections. `spark` must come from `endpoint_session`."""
    check_port(host, port)
    if GUARD_CLASS not in spark.conf.get("spark.sql.extensions", ""):
        raise SqlEndpointError("the SQL endpoint needs a session from endpoint_session() (with its guard)")
    jvm = spark._jvm  # type: ignore[union-attr]
    jvm.java.lang.System.setProperty("parkpal.sql.users", str(users_file(config)))
    jvm.java.lang.System.setProperty("parkpal.sql.database", config.schema("gold"))
    settings = {"hive.server2.thrift.bind.host": host, "hive.server2.thrift.port": str(port),
                "hive.server2.transport.mode": "binary", "hive.server2.authentication": "CUSTOM",
                "hive.server2.custom.authentication.class": AUTH_CLASS, "hive.server2.enable.doAs": "false"}
    for key, value in settings.items():
        spark.conf.set(key, value)
        # The login handler reads a fresh HiveConf, which takes JVM system properties over its defaults.
        jvm.java.lang.System.setProperty(key, value)
    jvm.org.parkpal.sql.ReadOnlyGoldGuard.lock()
    thrift = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    server = thrift.startWithContext(spark._jsparkSession.sqlContext())  # type: ignore[union-attr]
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return SqlEndpoint(host, port, server)
        time.sleep(0.2)
    server.stop()
    raise SqlEndpointError(f"the SQL endpoint did not listen on {host}:{port} within {wait_seconds:.0f}s")


def beeline_command(jdbc_url: str, *, user: str, password_file: Path | None, sql_file: Path | None = None,
                    statement: str | None = None, output_format: str = "csv2",
                    force: bool = False) -> list[str]:
    """Hive's `beeline` JDBC client, from the jars pyspark ships (no separate install); the password is
    read from its file (`-w`), never put on the command line. A client runs for a second or two: HotSpot's
    quick compiler only (`QUICK_JIT`; a statement on a warm endpoint 1.1-1.3 -> 0.9-1.0 s)."""
    import pyspark

    from parkpal_lakehouse.runtime.session import QUICK_JIT

    classpath = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    command = ["java", QUICK_JIT, "-cp", classpath, "org.apache.hive.beeline.BeeLine", "-u", jdbc_url,
               "-n", user, f"--outputformat={output_format}", "--silent=true", "--showHeader=true"]
    if password_file is not None:
        command += ["-w", str(password_file)]
    if force:
        command += ["--force=true"]
    if sql_file is not None:
        command += ["-f", str(sql_file)]
    if statement is not None:
        command += ["-e", statement]
    return command


def run_beeline(jdbc_url: str, *, user: str = DEFAULT_USER, password_file: Path | None = None,
                sql_file: Path | None = None, statement: str | None = None, force: bool = False,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(beeline_command(jdbc_url, user=user, password_file=password_file, sql_file=sql_file,
                                          statement=statement, force=force),
                          capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
