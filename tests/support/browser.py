"""Headless Chromium (Debian's `chromium` package): a page's screenshot and its DOM after scripts ran."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-extensions",
         "--no-first-run", "--disable-dev-shm-usage", "--allow-file-access-from-files"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    return path


def screenshot(url: str, out: Path, width: int = 1400, height: int = 1700) -> Path:
    subprocess.run([chromium(), *FLAGS, f"--window-size={width},{height}", f"--screenshot={out}", url],
                   capture_output=True, text=True, timeout=120, check=True)
    assert out.is_file() and out.stat().st_size > 0
    return out


def dump_dom(url: str) -> str:
    result = subprocess.run([chromium(), *FLAGS, "--virtual-time-budget=5000", "--dump-dom", url],
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout
