"""Load test of the REST API on loopback: `parkpal api serve` in its own process, N concurrent clients
(keep-alive sessions) asking for zone status and 6-hour forecasts of their zones for a fixed time, beside
the same clients on `/health` (the framework's floor: no token, no data) measured in the same run.

    .venv/bin/python benchmarks/api_load.py --root lakehouse --clients 20 --seconds 20

Needs a lakehouse with gold and zone status (`make demo` makes ./lakehouse). Uses a recipient's token from
its profile file when one is valid, else issues one (no profile existed, so nothing of yours stops working).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.sharing.definition import load_definition
from parkpal_lakehouse.sharing.local import profiles_dir, token_store
from parkpal_lakehouse.sharing.profiles import profile_path


def recipient_token(root: Path) -> tuple[str, str]:
    config, definition = local_config(root), load_definition()
    store = token_store(config)
    for recipient in definition.recipients:
        path = profile_path(profiles_dir(config), recipient.name)
        if path.is_file() and store.is_valid(token := json.loads(path.read_text()).get("bearerToken", "")):
            return recipient.name, token
    recipient = definition.recipients[0].name
    return recipient, store.issue(recipient)[0]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([str(Path(sys.executable).with_name("parkpal")), "api", "serve", "--root", str(root),
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        found = re.search(r"ParkPal API: (http://\S+)", line)
        if found:
            return server, found.group(1)
    raise SystemExit(f"api serve stopped before announcing its URL (exit {server.wait()})")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(url: str, paths: list[str], token: str | None, clients: int, seconds: float) -> dict[str, object]:
    """`clients` threads, each cycling through `paths` from its own offset until the time is up."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    address = urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def client(offset: int) -> None:
        # http.client, one keep-alive connection per client: the load generator shares the 2 cores with the
        # server, and `requests` spends several times more CPU per call than the server does.
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        mine, bad, i = [], 0, offset
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            connection.request("GET", paths[i % len(paths)], headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            bad += response.status != 200
            i += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pct(0.5), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99), "errors": sum(errors)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="lakehouse", type=Path)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    if not (args.root / "tables" / "gold" / "zone_status").is_dir():
        raise SystemExit(f"no gold.zone_status under {args.root}: run `make demo` (or the streaming job) first")
    recipient, token = recipient_token(args.root)
    server, url = start_server(args.root)
    try:
        zones = [z["zone_id"] for z in requests.get(url + "/zones", headers={"Authorization": f"Bearer {token}"},
                                                   timeout=30).json()["zones"]]
        paths = [f"/zones/{z}/{what}" for z in zones for what in ("status", "forecast?hours=6")]
        print(f"api load: {args.clients} clients for {args.seconds:g} s each run, recipient {recipient} "
              f"({len(zones)} zones), server pid {server.pid}")
        load(url, paths, token, args.clients, 3.0)  # warm-up
        floor = load(url, ["/health"], None, args.clients, args.seconds)
        data = load(url, paths, token, args.clients, args.seconds)
        for name, r in (("reference /health (no token, no data)", floor), ("status + forecast (token, scoped)", data)):
            print(f"  {name:<40} {r['rps']:>8,.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms  "
                  f"p99 {r['p99_ms']:6.1f} ms  errors {r['errors']} of {r['requests']:,}")
        print(f"  server memory (RSS, Python side; the JVM is a child process): {rss_mib(server.pid):,.0f} MiB")
        return 1 if data["errors"] else 0
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
