"""The serving commands of the `parkpal` CLI: `share ...`, `sql serve` and `dashboard`.

Each parses nothing itself (cli.py does) and blocks, for the servers, until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from parkpal_lakehouse.config import LakehouseConfig, local_config
from parkpal_lakehouse.errors import ParkPalError


def _stop_on_signals(what: str) -> threading.Event:
    """Installed before the server starts, so a SIGTERM right after it is ready still stops it cleanly."""
    from parkpal_lakehouse.ingestion import stop_on_signals

    return stop_on_signals(lambda m: print(f"{what}: {m.split(':')[0]}: stopping", flush=True))


def _serve(stop: threading.Event, announce: list[str], close: Callable[[], None]) -> int:
    """Say where the server is, then block until SIGINT/SIGTERM, then close it."""
    try:
        print("\n".join(announce), flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        close()
    return 0


def _config(args: argparse.Namespace) -> LakehouseConfig:
    from parkpal_lakehouse.cli import existing_root

    return local_config(existing_root(args.root))


def cmd_share_list(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.sharing.definition import load_definition

    definition = load_definition(args.definition)
    print(f"tables (schema gold): {', '.join(t.name for t in definition.tables)}")
    for r in definition.recipients:
        print(f"  {r.name:<20} share {r.share:<28} zones where {r.zone_column} = {r.zone_value!r}  ({r.comment})")
    return 0


def cmd_share_publish(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.publish import publish_shares

    config = _config(args)
    published = publish_shares(get_spark(config), config, load_definition(args.definition), args.recipient or None)
    for p in published:
        print(f"{p.share}.gold.{p.table}: {p.rows:,} rows")
    return 0


def cmd_share_serve(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.local import start_local_sharing

    config = _config(args)
    definition = load_definition(args.definition)
    stop = _stop_on_signals("share serve")
    spark = get_spark(config)
    sharing = start_local_sharing(spark, config, definition, args.host, args.port, publish=not args.no_publish,
                                  lifetime=timedelta(days=args.token_days))
    tables = len(sharing.published)
    example = next(iter(definition.recipients))
    url = f"{sharing.profiles[example.name]}#{example.share}.gold.zone_metrics_hourly"
    published = f"published {tables} share table(s)" if tables else "serving the share tables as last published"
    return _serve(stop, [published,
                         f"Delta Sharing server: {sharing.server.endpoint}",
                         *(f"  profile for {r}: {path}" for r, path in sharing.profiles.items()),
                         f"try: delta_sharing.load_as_pandas('{url}')"], sharing.stop)


def cmd_share_token(args: argparse.Namespace) -> int:
    import json

    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.local import profiles_dir, token_store
    from parkpal_lakehouse.sharing.profiles import profile_path, rotate_profile

    config = _config(args)
    definition = load_definition(args.definition)
    definition.recipient(args.recipient)  # an unknown name is a one-line error before anything else
    old = profile_path(profiles_dir(config), args.recipient)
    endpoint = args.endpoint or (json.loads(old.read_text())["endpoint"] if old.is_file() else None)
    if not endpoint:
        raise ParkPalError(f"no profile for {args.recipient} yet: give --endpoint (the server's URL)")
    path = rotate_profile(token_store(config), definition, profiles_dir(config), args.recipient, endpoint,
                          timedelta(days=args.days))
    print(f"new token for {args.recipient} (the previous one no longer works): {path}")
    return 0


def cmd_sql_serve(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.serving.sql_endpoint import (
        DEFAULT_PORT,
        DEFAULT_USER,
        check_port,
        endpoint_session,
        ensure_default_user,
        password_file,
        start_sql_endpoint,
    )

    config = _config(args)
    host, port = args.host or "127.0.0.1", args.port or DEFAULT_PORT
    check_port(host, port)  # before a JVM starts
    if not (Path(config.storage_root) / "tables" / "gold").is_dir():
        raise ParkPalError(f"no gold under {config.storage_root}: run `parkpal demo` or `parkpal hourly` first")
    made = ensure_default_user(config)
    stop = _stop_on_signals("sql serve")
    endpoint = start_sql_endpoint(endpoint_session(config), config, host, port)
    password = made or password_file(config, DEFAULT_USER)
    return _serve(stop, [f"SQL endpoint (HiveServer2 / Spark Thrift, read-only, gold only): {endpoint.jdbc_url}",
                         f"user {DEFAULT_USER}, password in {password} (new accounts: parkpal sql user NAME)",
                         f"try: beeline -u {endpoint.jdbc_url} -n {DEFAULT_USER} -w {password} "
                         "-e 'SELECT * FROM gold.v_busiest_zones LIMIT 5'"],
                  endpoint.stop)


def cmd_sql_user(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.serving.sql_endpoint import set_password

    path = set_password(_config(args), args.name)
    print(f"new password for {args.name} (the previous one no longer works): {path}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.serving.dashboard import write_dashboard

    config = _config(args)
    out = Path(args.out) if args.out else Path(config.storage_root) / "dashboard.html"
    path = write_dashboard(get_spark(config), config, out)
    print(f"operator dashboard: {path.resolve().as_uri()}")
    return 0
