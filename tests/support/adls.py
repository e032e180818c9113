"""A recording HTTP transport for the Azure SDK that answers like an ADLS Gen2 account (in memory).

The SDK code under test runs unchanged down to the wire; here every request is recorded (method,
URL, headers) and answered from a small in-memory model of file systems, paths and ACLs: 201 on
create, 409 with the service's error code when something exists, the JSON/XML bodies the SDK parses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlparse

import requests
from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse


@dataclass
class Recorded:
    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeAdls(HttpTransport):
    file_systems: set[str] = field(default_factory=set)
    paths: dict[tuple[str, str], dict] = field(default_factory=dict)  # (fs, path) -> {"dir": bool, "data": bytes}
    acls: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __enter__(self):
        return self

    def __exit__(self, *args) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request, **kwargs):
        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = unquote(url.path).lstrip("/").split("/", 1)
        fs, path = parts[0], (parts[1] if len(parts) > 1 else "")
        self.requests.append(Recorded(request.method, url.netloc, url.path, query, dict(request.headers)))
        status, headers, body = self._answer(request, fs, path.rstrip("/"), query)
        response = requests.Response()
        response.status_code, response._content = status, body
        response.headers.update({"x-ms-request-id": "fake", "x-ms-version": "2025-01-05",
                                 "Date": formatdate(usegmt=True), **headers})
        response.reason = {200: "OK", 201: "Created", 202: "Accepted", 404: "Not Found", 409: "Conflict"}[status]
        response.url = request.url
        return RequestsTransportResponse(request, response)

    def _error(self, status: int, code: str):
        body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{code}</Message></Error>'
        return status, {"x-ms-error-code": code, "Content-Type": "application/xml"}, body.encode()

    def _ok(self, status: int = 201, body: bytes = b"", **headers: str):
        return status, {"ETag": '"0x1"', "Last-Modified": formatdate(usegmt=True), "Content-Length": str(len(body)),
                        **headers}, body

    def _answer(self, request, fs: str, path: str, q: dict[str, str]):
        method = request.method
        if method == "PUT" and q.get("restype") == "container":
            if fs in self.file_systems:
                return self._error(409, "ContainerAlreadyExists")
            self.file_systems.add(fs)
            return self._ok()
        if method == "GET" and q.get("comp") == "list" and not fs:
            items = "".join(f"<Container><Name>{n}</Name><Properties><Last-Modified>{formatdate(usegmt=True)}"
                            f"</Last-Modified><Etag>0x1</Etag></Properties></Container>"
                            for n in sorted(self.file_systems))
            body = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Containers>{items}</Containers>'
                    f"<NextMarker /></EnumerationResults>").encode()
            return self._ok(200, body, **{"Content-Type": "application/xml"})
        if fs not in self.file_systems:
            return self._error(404, "FilesystemNotFound")
        if method == "PUT" and q.get("resource") in ("directory", "file"):
            exists = (fs, path) in self.paths
            if exists and request.headers.get("If-None-Match") == "*":
                return self._error(409, "PathAlreadyExists")
            self.paths[(fs, path)] = {"dir": q["resource"] == "directory", "data": b""}
            return self._ok()
        if method == "PATCH" and q.get("action") == "append":
            self.paths[(fs, path)]["pending"] = request.body if isinstance(request.body, bytes) else bytes(
                request.body or b"")
            return self._ok(202)
        if method == "PATCH" and q.get("action") == "flush":
            entry = self.paths[(fs, path)]
            entry["data"] = entry.pop("pending", b"")
            return self._ok(200)
        if method == "PATCH" and q.get("action") == "setAccessControlRecursive":
            below = [k for k in self.paths if k[0] == fs and (not path or k[1].startswith(path))]
            for key in [(fs, path), *below]:
                self.acls[key] = request.headers["x-ms-acl"]
            dirs = 1 + sum(self.paths[k]["dir"] for k in below)
            body = json.dumps({"directoriesSuccessful": dirs, "filesSuccessful": len(below) - dirs + 1,
                               "failureCount": 0, "failedEntries": []}).encode()
            return self._ok(200, body, **{"Content-Type": "application/json"})
        if method == "GET" and q.get("resource") == "filesystem":
            listed = [{"name": p, "isDirectory": "true" if e["dir"] else "false",
                       "contentLength": str(len(e["data"])), "lastModified": formatdate(usegmt=True),
                       "etag": "0x1"} for (f, p), e in sorted(self.paths.items()) if f == fs]
            return self._ok(200, json.dumps({"paths": listed}).encode(), **{"Content-Type": "application/json"})
        raise AssertionError(f"unexpected request {method} {request.url}")
