"""A server command run as a user runs it: its own process, ready once it prints its `try:` line."""

from __future__ import annotations

import subprocess
import time


def announced_lines(server: subprocess.Popen, seconds: float = 240) -> list[str]:
    """The lines a server prints up to its closing `try: ...` hint (what it serves, and how to try it)."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (lines and lines[-1].startswith("try:")):
        line = server.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
    return lines
