"""Simulator throughput: one day for 50 zones and 5,000 users, beside the raw cost of writing the
same number of JSON lines (the reference ceiling for any generator that writes JSON Lines).

    .venv/bin/python benchmarks/simulator_throughput.py [--zones 50 --users 5000 --days 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import peak_rss_mib, timed  # noqa: E402

from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def raw_json_lines(n: int, folder: Path) -> None:
    rng = random.Random(0)
    with (folder / "raw.jsonl").open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"userId": 100_000 + i % 5000, "sessionId": i, "activityType": "STILL",
                                 "confidence": rng.randint(0, 100), "latitude": 14.55, "longitude": 121.02,
                                 "timestamp": "2026-11-02T00:00:00.000Z", "eventId": f"act-{i:09d}"},
                                separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = SimulationSettings(zones=args.zones, users=args.users, days=args.days)
        report, seconds = timed(lambda: simulate(settings, Path(tmp) / "city"))
        peak = peak_rss_mib()
        _, raw_seconds = timed(lambda: raw_json_lines(report.messages, Path(tmp)))
    print(f"simulator: {args.days} day(s), {args.zones} zones, {args.users} users")
    print(f"  messages                 {report.messages:>12,}")
    print(f"  wall time                {seconds:>12.1f} s  (generate {report.timings['generate_s']:.1f} s, "
          f"write {report.timings['send_s']:.1f} s)")
    print(f"  simulator rate           {report.messages / seconds:>12,.0f} messages/s")
    print(f"  reference: raw JSONL     {report.messages / raw_seconds:>12,.0f} messages/s (json.dumps + write only)")
    print(f"  peak memory              {peak:>12,.0f} MiB")


if __name__ == "__main__":
    main()
