"""`parkpal sql serve`: a JDBC/ODBC SQL endpoint over the local catalog, as a SQL warehouse is on Databricks.

Spark's own Thrift server (HiveServer2 protocol; its jars ship with pyspark) started inside the
session that registered the lakehouse, so BI tools and `beeline` query `gold.*` and the analyst views
by name: `jdbc:hive2://127.0.0.1:10000/default`. It listens on loopback by default and has no
authentication of its own (Databricks SQL warehouses do): expose it beyond the machine only behind one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from parkpal_lakehouse.errors import ParkPalError

DEFAULT_PORT = 10000


class SqlEndpointError(ParkPalError):
    """The endpoint could not start (port taken, Thrift server missing)."""


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


def start_sql_endpoint(spark: SparkSession, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                       wait_seconds: float = 60.0) -> SqlEndpoint:
    """Start the Thrift server on this session's catalog; returns once it accepts connections."""
    if not 0 < port < 65536:
        raise SqlEndpointError(f"--port must be 1-65535, not {port}")
    if not _port_is_free(host, port):
        raise SqlEndpointError(f"{host}:{port} is already in use; pick another --port")
    spark.conf.set("hive.server2.thrift.bind.host", host)
    spark.conf.set("hive.server2.thrift.port", str(port))
    spark.conf.set("hive.server2.transport.mode", "binary")
    thrift = spark._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2  # type: ignore[union-attr]
    server = thrift.startWithContext(spark._jsparkSession.sqlContext())  # type: ignore[union-attr]
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return SqlEndpoint(host, port, server)
        time.sleep(0.2)
    server.stop()
    raise SqlEndpointError(f"the SQL endpoint did not listen on {host}:{port} within {wait_seconds:.0f}s")


def beeline_command(jdbc_url: str, *, sql_file: Path | None = None, statement: str | None = None,
                    user: str = "analyst", output_format: str = "csv2") -> list[str]:
    """Hive's `beeline` JDBC client, from the jars pyspark ships (no separate install)."""
    import pyspark

    classpath = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    command = ["java", "-cp", classpath, "org.apache.hive.beeline.BeeLine", "-u", jdbc_url, "-n", user,
               f"--outputformat={output_format}", "--silent=true", "--showHeader=true"]
    if sql_file is not None:
        command += ["-f", str(sql_file)]
    if statement is not None:
        command += ["-e", statement]
    return command


def run_beeline(jdbc_url: str, *, sql_file: Path | None = None, statement: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(beeline_command(jdbc_url, sql_file=sql_file, statement=statement),
                          capture_output=True, text=True, timeout=timeout, check=False)
