"""Refuse in one line to start work the disk cannot hold: `python3 tools/free_disk.py [--for WHAT] PATH=MIB ...`.

Each PATH (or its nearest existing parent) must have MIB mebibytes free, summed over the paths on the same
filesystem. Runs on the system's Python 3 alone (before any venv exists). Exit 0 when there is room; 2 with one
line naming each filesystem's free and needed space when there is not, so a short disk reads as what it is rather
than as a build error deep in an install (a fresh machine's `make install` builds pyspark's wheel: CI's stop 79
failed there with "No space left on device").
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

MIB = 2**20


def existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (a cache folder not made yet is on its parent's disk)."""
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def shortfalls(needs: dict[Path, int]) -> list[str]:
    """One phrase per filesystem that has less free than the paths on it need together."""
    by_device: dict[int, tuple[Path, int]] = {}
    for path, mib in needs.items():
        at = existing(path)
        device = os.stat(at).st_dev
        first, total = by_device.get(device, (at, 0))
        by_device[device] = (first, total + mib)
    out = []
    for at, need in by_device.values():
        free = shutil.disk_usage(at).free // MIB
        if free < need:
            out.append(f"{free:,} MiB free on the disk of {at}, {need:,} MiB needed")
    return out


def parse(argv: list[str]) -> dict[Path, int]:
    needs: dict[Path, int] = {}
    for arg in argv:
        path, sep, mib = arg.rpartition("=")
        if not sep or not path or not mib.isdigit():
            raise ValueError(f"expected PATH=MIB, got {arg!r}")
        needs[Path(path)] = needs.get(Path(path), 0) + int(mib)
    if not needs:
        raise ValueError("expected at least one PATH=MIB")
    return needs


def main(argv: list[str]) -> int:
    what = "not enough disk"
    if argv[:1] == ["--for"] and len(argv) > 1:
        what, argv = f"not enough disk for {argv[1]}", argv[2:]
    try:
        needs = parse(argv)
    except ValueError as error:
        print(f"free_disk: {error}", file=sys.stderr)
        return 2
    if missing := shortfalls(needs):
        print(f"{what}: " + "; ".join(missing), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
