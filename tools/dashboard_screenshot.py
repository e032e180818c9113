"""The README's picture of the operator dashboard: `make screenshot` (after `make demo`).

Renders `<root>/dashboard.html` (written by the demo) in headless Chromium with the test suite's own
browser helper (tests/support/browser.py), keeps the top of the page (the zone performance and
circling charts) and writes a small PNG for the README.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO / "lakehouse"), help="the demo's root (default: ./lakehouse)")
    parser.add_argument("--out", default=str(REPO / "docs" / "images" / "dashboard.png"))
    parser.add_argument("--width", type=int, default=1000, help="width of the PNG in pixels")
    args = parser.parse_args(argv)
    page = Path(args.root) / "dashboard.html"
    if not page.is_file():
        print(f"dashboard_screenshot: error: no {page}: run `make demo` first", file=sys.stderr)
        return 2
    import pytest
    from PIL import Image
    from tests.support.browser import screenshot

    with tempfile.TemporaryDirectory() as tmp:
        try:
            shot = screenshot(page.resolve().as_uri(), Path(tmp) / "full.png", width=1400, height=990)
        except (Exception, pytest.skip.Exception) as exc:  # skip's: Chromium is not installed
            print(f"dashboard_screenshot: error: {exc}", file=sys.stderr)
            return 2
        image = Image.open(shot).convert("RGB")
        scale = args.width / image.width
        small = image.resize((args.width, round(image.height * scale)), Image.LANCZOS)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        small.quantize(colors=256).save(out, optimize=True)
    print(f"{out} ({out.stat().st_size / 1024:.0f} KiB, {small.width}x{small.height}) from {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
