"""The serving commands of the `parkpal` CLI: `share ...`, `api serve`, `sql serve`, `sql user` and `dashboard`.

Not pipeline steps: they serve or render what the steps wrote. `add_commands` declares their arguments;
the servers block until SIGINT or SIGTERM. Config comes from the steps' one builder (`root_config`).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps.step import StepContext, root_config

SHARING_PORT = 8080  # `parkpal share serve`'s default


def _stop_on_signals(what: str) -> threading.Event:
    """Installed before the server starts, so a SIGTERM right after it is ready still stops it cleanly."""
    from parkpal_lakehouse.runtime.signals import stop_on_signals

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
    return root_config(args.root)


def _spark(config: LakehouseConfig):
    """A session with the root's tables and gold's views in its catalog, as a step has."""
    return StepContext(config).spark


def cmd_share_list(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.sharing.definition import load_definition

    definition = load_definition(args.definition)
    print(f"tables (schema gold): {', '.join(t.name for t in definition.tables)}")
    for r in definition.recipients:
        print(f"  {r.name:<20} share {r.share:<28} zones where {r.zone_column} = {r.zone_value!r}  ({r.comment})")
    return 0


def cmd_share_publish(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.publish import publish_shares

    config = _config(args)
    published = publish_shares(_spark(config), config, load_definition(args.definition), args.recipient or None)
    for p in published:
        print(f"{p.share}.gold.{p.table}: {p.rows:,} rows")
    return 0


def cmd_share_serve(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.serving.sql_endpoint import check_port
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.local import start_local_sharing

    config = _config(args)
    definition = load_definition(args.definition)
    if args.port:  # a port in use is one line now, not a stack trace after Spark started and published
        check_port(args.host, args.port)
    stop = _stop_on_signals("share serve")
    spark = _spark(config)
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


def cmd_api_serve(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.serving.api import start_api
    from parkpal_lakehouse.serving.sql_endpoint import check_port
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.local import profiles_dir, token_store
    from parkpal_lakehouse.sharing.profiles import ensure_credentials

    config = _config(args)
    definition = load_definition(args.definition)
    if args.port:
        check_port(args.host, args.port)
    stop = _stop_on_signals("api serve")
    api = start_api(_spark(config), config, definition, token_store(config), args.host, args.port,
                    args.refresh_seconds)
    # The API's callers hold the sharing recipients' tokens: each gets one now if it has none yet.
    profiles = ensure_credentials(token_store(config), definition, profiles_dir(config),
                                  f"http://127.0.0.1:{SHARING_PORT}/delta-sharing")
    tokens = (f"  tokens: bearerToken in each recipient's profile ({profiles_dir(config)}/<recipient>.share, "
              f"{len(profiles)} recipients; the same tokens open their Delta Sharing share)")
    return _serve(stop, [f"ParkPal API: {api.server.url} (OpenAPI docs: {api.server.url}/docs); "
                         f"refreshed when the tables change (every {args.refresh_seconds:g} s)", tokens,
                         f"try: curl -H \"Authorization: Bearer $TOKEN\" {api.server.url}/zones"], api.stop)


def cmd_dashboard_serve(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.serving.dashboard_server import check_loopback, start_dashboard_server
    from parkpal_lakehouse.serving.sql_endpoint import check_port

    config = _config(args)
    check_loopback(args.host)
    if args.port:
        check_port(args.host, args.port)
    stop = _stop_on_signals("dashboard serve")
    running = start_dashboard_server(_spark(config), config, args.host, args.port, args.refresh_seconds,
                                     args.poll_seconds)
    return _serve(stop, [f"operator dashboard: {running.server.url}/ (zone status redrawn every "
                         f"{args.poll_seconds:g} s; charts when gold changes)"], running.stop)


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
    from parkpal_lakehouse.serving.dashboard import write_dashboard

    if args.action == "serve":
        if args.out:
            raise ParkPalError("--out writes the file; `dashboard serve` serves the page instead: give one of them")
        return cmd_dashboard_serve(args)
    config = _config(args)
    out = Path(args.out) if args.out else Path(config.storage_root) / "dashboard.html"
    path = write_dashboard(_spark(config), config, out)
    print(f"operator dashboard: {path.resolve().as_uri()}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """`parkpal sql STATEMENT` runs it; `sql serve` starts the endpoint; `sql user NAME` makes an account."""
    from parkpal_lakehouse.serving.sql import run_sql

    if args.statement == "serve":
        return cmd_sql_serve(args)
    if args.statement == "user":
        if not args.name:
            raise ParkPalError("`parkpal sql user` needs the account's name, e.g. `parkpal sql user analyst`")
        return cmd_sql_user(args)
    if args.name:
        raise ParkPalError(f"one SQL statement in one argument (quote it): got an extra {args.name!r}")
    if args.port is not None or args.host is not None:
        raise ParkPalError("--host and --port go with `parkpal sql serve`, not with a statement")
    if not args.statement.strip():
        raise ParkPalError("empty SQL statement")
    config = _config(args)
    print(run_sql(_spark(config), args.statement, args.max_rows).table())
    return 0


def add_commands(sub: argparse._SubParsersAction, parser_class: type[argparse.ArgumentParser],
                 add_root: Callable[[argparse.ArgumentParser], None]) -> None:
    """`parkpal sql`, `parkpal share ...`, `parkpal api serve` and `parkpal dashboard`."""
    from parkpal_lakehouse.steps.options import positive_int

    def port(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
        if not 0 <= value <= 65535:
            raise argparse.ArgumentTypeError(f"must be 0-65535, not {value}")
        return value

    p = sub.add_parser("sql", help="run Spark SQL against the local catalog (e.g. SELECT * FROM gold.v_zone_daily), "
                                   "or `sql serve`: a read-only JDBC/ODBC endpoint over gold, `sql user NAME`: "
                                   "an analyst account for it")
    p.add_argument("statement", help="one SQL statement, `serve` to start the SQL endpoint, or `user`")
    p.add_argument("name", nargs="?", default=None, help="with user: the account to create or rotate")
    add_root(p)
    p.add_argument("--max-rows", type=positive_int, default=100)
    p.add_argument("--host", default=None, help="with serve: interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=None, help="with serve: port (default 10000)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("share", help="Delta Sharing of gold: list, publish, serve, rotate a recipient's token")
    share = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=parser_class)
    for action, helptext in (("list", "recipients, their shares and zones (from the share definition)"),
                             ("publish", "write each recipient's share tables from gold"),
                             ("serve", "publish, start the Delta Sharing server and write a profile file per "
                                       "recipient"),
                             ("token", "issue a new token (and profile file) for one recipient")):
        p = share.add_parser(action, help=helptext)
        p.add_argument("--definition", default=None, help="share definition YAML (default: the packaged shares.yml)")
        if action != "list":
            add_root(p)
        if action == "publish":
            p.add_argument("--recipient", action="append", default=[], help="only this recipient (repeatable)")
        if action == "serve":
            p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
            p.add_argument("--port", type=port, default=SHARING_PORT,
                           help="port, 0 for any free one (default: %(default)s)")
            p.add_argument("--token-days", type=positive_int, default=90, help="lifetime of new tokens")
            p.add_argument("--no-publish", action="store_true", help="serve the share tables as last published")
        if action == "token":
            p.add_argument("recipient")
            p.add_argument("--days", type=positive_int, default=90, help="token lifetime (default: %(default)s)")
            p.add_argument("--endpoint", default=None, help="server URL (default: the one in the current profile)")
        p.set_defaults(func=globals()[f"cmd_share_{action}"])

    p = sub.add_parser("api", help="the REST API for app backends: zone status now, forecasts, metrics")
    api = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=parser_class)
    p = api.add_parser("serve", help="serve /zones, /zones/{id}/status, /forecast and /metrics (OpenAPI at /docs)")
    add_root(p)
    p.add_argument("--definition", default=None, help="share definition YAML: recipients and their zones "
                                                      "(default: the packaged shares.yml)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    p.add_argument("--port", type=port, default=8000, help="port, 0 for any free one (default: %(default)s)")
    p.add_argument("--refresh-seconds", type=positive_int, default=5,
                   help="how often to look for new table versions (default: %(default)s)")
    p.set_defaults(func=cmd_api_serve)

    p = sub.add_parser("dashboard", help="the operator dashboard as a self-contained HTML report from gold, or "
                                         "`dashboard serve`: live, with zone status now redrawn in place")
    p.add_argument("action", nargs="?", choices=["serve"], help="serve it (loopback) instead of writing the file")
    add_root(p)
    p.add_argument("--out", default=None, help="HTML file to write (default: <root>/dashboard.html)")
    p.add_argument("--host", default="127.0.0.1", help="with serve: a loopback address (default: %(default)s)")
    p.add_argument("--port", type=port, default=8050,
                   help="with serve: port, 0 for any free one (default: %(default)s)")
    p.add_argument("--refresh-seconds", type=positive_int, default=5,
                   help="with serve: how often to look for new table versions (default: %(default)s)")
    p.add_argument("--poll-seconds", type=positive_int, default=5,
                   help="with serve: how often the page asks for the zone status (default: %(default)s)")
    p.set_defaults(func=cmd_dashboard)
