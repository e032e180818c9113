"""A Delta Sharing protocol server over the published share tables (`parkpal share serve`).

Our own implementation of the open protocol's REST API (PROTOCOL.md: list shares / schemas / tables,
table version, metadata, query in the parquet response format), because the reference server is not
obtainable here: `io.delta:delta-sharing-server_2.12` is not on Maven Central (it ships as a GitHub
release zip). Each recipient's token opens only its own share; data files are handed out as
pre-signed URLs to this server (HMAC-signed, expiring), read with HTTP range requests as from cloud
storage. Tokens are checked against `TokenStore` on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from pyspark.sql import SparkSession

from parkpal_lakehouse.contracts.events import parse_timestamp as contract_timestamp
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.sharing.definition import SHARED_SCHEMA, ShareDefinition, ShareDefinitionError
from parkpal_lakehouse.sharing.snapshots import Snapshot, SnapshotCache, SnapshotError, table_version
from parkpal_lakehouse.sharing.tokens import TokenError, TokenStore

log = logging.getLogger(__name__)

PREFIX = "/delta-sharing"
FILE_URL_SECONDS = 900  # pre-signed file URLs expire like cloud ones (15 min)
MAX_BODY_BYTES = 64 * 1024  # a query request is a small JSON object; anything larger is refused
_MAX_VERSION = 2**63 - 1
_TABLE_PATH = re.compile(r"^/shares/([^/]+)/schemas/([^/]+)/tables/([^/]+)/(version|metadata|query)$")


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _bad(message: str) -> RequestError:
    return RequestError(HTTPStatus.BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)


def parse_version(value: object) -> int:
    """A request's table version: a JSON integer from 0 to 2^63-1 (not a string, float or boolean)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_VERSION:
        raise _bad("version must be a non-negative integer")
    return value


def parse_timestamp(value: object) -> datetime:
    """A request's timestamp: an ISO-8601 instant with `Z` or an offset (the event contract's grammar,
    `contracts.events.parse_timestamp`), as an aware UTC datetime."""
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError(value)
        return contract_timestamp(value)
    except (ValueError, OverflowError):
        raise _bad("timestamp must be an ISO-8601 instant with a zone, e.g. 2026-11-02T08:00:00Z") from None


def parse_query_request(body: dict[str, Any]) -> tuple[int | None, datetime | None]:
    """(version, timestamp) of a query request body; every other field the protocol allows is a hint."""
    if "startingVersion" in body or "endingVersion" in body or "startingTimestamp" in body:
        raise _bad("change queries (startingVersion) are not supported: query a version or timestamp")
    version = parse_version(body["version"]) if body.get("version") is not None else None
    timestamp = parse_timestamp(body["timestamp"]) if body.get("timestamp") is not None else None
    if version is not None and timestamp is not None:
        raise _bad("give version or timestamp, not both")
    return version, timestamp


@dataclass
class SharingService:
    """The protocol's logic, independent of the HTTP plumbing."""

    spark: SparkSession
    definition: ShareDefinition
    tables_root: Path  # <root>/sharing: <share>/<table> Delta folders
    tokens: TokenStore
    endpoint: str = ""  # public base URL incl. PREFIX, set once the server is bound
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    snapshots: SnapshotCache = field(init=False)

    def __post_init__(self) -> None:
        self.snapshots = SnapshotCache(self.spark)

    # -- who may see what -------------------------------------------------------------------------
    def share_of(self, authorization: str | None) -> str:
        try:
            grant = self.tokens.authenticate(authorization)
        except TokenError as exc:
            raise RequestError(HTTPStatus.UNAUTHORIZED, "UNAUTHENTICATED", str(exc)) from None
        try:
            return self.definition.recipient(grant.recipient).share
        except ShareDefinitionError:
            raise RequestError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED",
                               f"recipient {grant.recipient} no longer has a share") from None

    def _check_share(self, own: str, share: str) -> None:
        if share != own:
            raise RequestError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED",
                               f"share {share!r} is not shared with this recipient")

    def _check_table(self, own: str, share: str, schema: str, table: str) -> Path:
        self._check_share(own, share)
        names = {t.name for t in self.definition.tables}
        if schema != SHARED_SCHEMA or table not in names:
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST",
                               f"table {share}.{schema}.{table} does not exist")
        path = self.tables_root / share / table
        if not (path / "_delta_log").is_dir():
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST",
                               f"table {share}.{schema}.{table} is not published yet (`parkpal share publish`)")
        return path

    # -- listings -------------------------------------------------------------------------------------
    def list_shares(self, own: str) -> dict[str, Any]:
        return {"items": [{"name": own, "id": _stable_id(own)}]}

    def get_share(self, own: str, share: str) -> dict[str, Any]:
        self._check_share(own, share)
        return {"share": {"name": share, "id": _stable_id(share)}}

    def list_schemas(self, own: str, share: str) -> dict[str, Any]:
        self._check_share(own, share)
        return {"items": [{"name": SHARED_SCHEMA, "share": share}]}

    def list_tables(self, own: str, share: str, schema: str | None) -> dict[str, Any]:
        self._check_share(own, share)
        if schema is not None and schema != SHARED_SCHEMA:
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", f"schema {share}.{schema} not found")
        return {"items": [{"name": t.name, "schema": SHARED_SCHEMA, "share": share, "shareId": _stable_id(share),
                           "id": _stable_id(f"{share}.{t.name}")} for t in self.definition.tables]}

    # -- table requests -------------------------------------------------------------------------------
    def version(self, path: Path) -> int:
        return table_version(self.spark, str(path))

    def snapshot(self, path: Path, version: int | None = None, timestamp: datetime | None = None) -> Snapshot:
        try:
            return self.snapshots.get(str(path), version, timestamp)
        except SnapshotError as exc:  # our own messages: they name no path and quote no engine text
            raise _bad(str(exc)) from None

    def metadata_lines(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        return [{"protocol": {"minReaderVersion": 1}},
                {"metaData": {"id": snapshot.table_id, "format": {"provider": "parquet"},
                              "schemaString": snapshot.schema_json,
                              "partitionColumns": list(snapshot.partition_columns),
                              "configuration": {}, "version": snapshot.version, "size": snapshot.size,
                              "numFiles": len(snapshot.files)}}]

    def query_lines(self, share: str, table: str, snapshot: Snapshot) -> list[dict[str, Any]]:
        expires = int(time.time()) + FILE_URL_SECONDS
        files = [{"file": {"url": self.file_url(share, table, f.path, expires), "id": f.id,
                           "partitionValues": f.partition_values, "size": f.size,
                           "expirationTimestamp": expires * 1000, "version": snapshot.version}}
                 for f in snapshot.files]
        return self.metadata_lines(snapshot) + files

    # -- pre-signed file URLs -------------------------------------------------------------------------
    def file_url(self, share: str, table: str, local_path: str, expires: int) -> str:
        relative = str(Path(local_path).relative_to(self.tables_root / share / table))
        claims = json.dumps({"s": share, "t": table, "f": relative, "e": expires}, separators=(",", ":"))
        body = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        signature = hmac.new(self.signing_key, body.encode(), hashlib.sha256).hexdigest()
        return f"{self.endpoint}/files/{body}.{signature}/{quote(Path(relative).name)}"

    def signed_file(self, token: str) -> Path:
        body, _, signature = token.partition(".")
        expected = hmac.new(self.signing_key, body.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected.encode()):
            raise RequestError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED", "invalid file URL signature")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if time.time() > claims["e"]:
            raise RequestError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED", "file URL expired; query the table again")
        base = (self.tables_root / claims["s"] / claims["t"]).resolve()
        path = (base / claims["f"]).resolve()
        if base not in path.parents or not path.is_file():
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "file not found")
        return path


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _stable_id(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class _Handler(BaseHTTPRequestHandler):
    service: SharingService  # set on the subclass built per server
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a stalled client may hold its connection (a body it never sends)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the CLI prints what it serves

    # -- plumbing --------------------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None,
              head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, payload: dict[str, Any], status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _ndjson(self, lines: list[dict[str, Any]], version: int) -> None:
        body = "".join(json.dumps(line) + "\n" for line in lines).encode()
        self._send(HTTPStatus.OK, body, "application/x-ndjson; charset=utf-8",
                   {"Delta-Table-Version": str(version), "delta-sharing-capabilities": "responseformat=parquet"})

    def _error(self, err: RequestError) -> None:
        self._json({"errorCode": err.code, "message": err.message}, err.status)

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        if not url.path.startswith(PREFIX + "/"):
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", f"no such endpoint {url.path}")
        path = url.path[len(PREFIX):]
        svc = self.service
        if path.startswith("/files/") and method in ("GET", "HEAD"):
            return self._serve_file(svc.signed_file(path.split("/")[2]), head=method == "HEAD")
        own = svc.share_of(self.headers.get("Authorization"))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts == ["shares"]:
            return self._json(svc.list_shares(own))
        if method == "GET" and len(parts) == 2 and parts[0] == "shares":
            return self._json(svc.get_share(own, parts[1]))
        if method == "GET" and len(parts) == 3 and parts[0] == "shares" and parts[2] == "schemas":
            return self._json(svc.list_schemas(own, parts[1]))
        if method == "GET" and len(parts) == 3 and parts[0] == "shares" and parts[2] == "all-tables":
            return self._json(svc.list_tables(own, parts[1], None))
        if method == "GET" and len(parts) == 5 and parts[0] == "shares" and parts[4] == "tables":
            return self._json(svc.list_tables(own, parts[1], parts[3]))
        match = _TABLE_PATH.match("/" + "/".join(parts))
        if match is None:
            raise RequestError(HTTPStatus.NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", f"no such endpoint {method} {path}")
        share, schema, table, action = match.groups()
        table_dir = svc._check_table(own, share, schema, table)
        if action == "version" and method in ("GET", "HEAD"):
            version = svc.version(table_dir)
            return self._send(HTTPStatus.OK, b"", "text/plain", {"Delta-Table-Version": str(version)},
                              head=method == "HEAD")
        if action == "metadata" and method == "GET":
            snapshot = svc.snapshot(table_dir)
            return self._ndjson(svc.metadata_lines(snapshot), snapshot.version)
        if action == "query" and method == "POST":
            version, timestamp = parse_query_request(self._json_body())
            snapshot = svc.snapshot(table_dir, version, timestamp)
            return self._ndjson(svc.query_lines(share, table, snapshot), snapshot.version)
        raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, "INVALID_PARAMETER_VALUE", f"{method} not allowed on {path}")

    def _json_body(self) -> dict[str, Any]:
        length = self._content_length()
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}", parse_constant=_no_constant)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError):
            raise RequestError(HTTPStatus.BAD_REQUEST, "MALFORMED_REQUEST", "request body is not JSON") from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "MALFORMED_REQUEST", "request body must be a JSON object")
        return body

    def _content_length(self) -> int:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "MALFORMED_REQUEST", "send the body with a Content-Length")
        header = self.headers.get("Content-Length")
        raw = "0" if header is None else header.strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            self.close_connection = True  # the body's end is unknown: do not read the rest as a request
            raise RequestError(HTTPStatus.BAD_REQUEST, "MALFORMED_REQUEST",
                               "Content-Length must be a non-negative integer")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "MALFORMED_REQUEST",
                               f"request body over {MAX_BODY_BYTES} bytes")
        return length

    def _serve_file(self, path: Path, head: bool) -> None:
        size = path.stat().st_size
        start, end = 0, size - 1
        status = HTTPStatus.OK
        ranged = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if ranged and (ranged.group(1) or ranged.group(2)):
            if ranged.group(1):
                start = int(ranged.group(1))
                end = min(int(ranged.group(2)), size - 1) if ranged.group(2) else size - 1
            else:  # the last N bytes
                start = max(0, size - int(ranged.group(2)))
            if start > end:
                self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "application/octet-stream",
                           {"Content-Range": f"bytes */{size}"})
                return
            status = HTTPStatus.PARTIAL_CONTENT
        with path.open("rb") as fh:
            fh.seek(start)
            body = b"" if head else fh.read(end - start + 1)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _handle(self, method: str) -> None:
        try:
            self._route(method)
        except RequestError as err:
            self._error(err)
        except Exception:  # noqa: BLE001 - a request must get an answer, never a dropped connection
            # Never echo internal text (it can quote data, paths or the environment): an id to find it in our log.
            error_id = uuid.uuid4().hex[:12]
            log.exception("sharing request %s %s failed (error id %s)", method, self.path[:200], error_id)
            self._error(RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR",
                                     f"internal error; quote error id {error_id} to the data provider"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (e.g. after a 413 while still sending) is no server error: log, don't print."""
        log.debug("sharing connection from %s ended", client_address, exc_info=True)


class SharingServerError(ParkPalError):
    """The server cannot start (its address is taken or not this machine's)."""


class SharingServer:
    """The HTTP server in a background thread; `endpoint` is what profile files point at."""

    def __init__(self, service: SharingService, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("SharingHandler", (_Handler,), {"service": service})
        try:
            self.httpd = _QuietServer((host, port), handler)
        except OSError as exc:  # taken between a check and here, or a host this machine does not have
            raise SharingServerError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another "
                                     "--port or --host") from None
        self.httpd.daemon_threads = True
        bound_host, bound_port = self.httpd.server_address[:2]
        if bound_host in ("0.0.0.0", "::"):  # listening everywhere: profiles name this machine
            bound_host = socket.getfqdn()
        service.endpoint = f"http://{bound_host}:{bound_port}{PREFIX}"
        self.service = service
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="delta-sharing", daemon=True)

    @property
    def endpoint(self) -> str:
        return self.service.endpoint

    def start(self) -> SharingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SharingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

