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


class LivePage:
    """One page kept open in headless Chromium, driven over the DevTools protocol on a pipe
    (`--remote-debugging-pipe`: JSON messages ending in NUL on fds 3 and 4; no websocket library needed),
    so a test can watch the page change without reloading it."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        import os

        self._commands_r, self._commands_w = os.pipe()
        self._replies_r, self._replies_w = os.pipe()

        def wire() -> None:  # in the child: the browser reads commands on fd 3 and answers on fd 4
            os.dup2(self._commands_r, 3)
            os.dup2(self._replies_w, 4)

        self.process = subprocess.Popen([chromium(), *FLAGS, "--remote-debugging-pipe", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=wire, pass_fds=(3, 4))
        os.close(self._commands_r)
        os.close(self._replies_w)
        self.timeout_s, self._next_id, self._buffer = timeout_s, 0, b""
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        import json
        import os
        import select
        import time

        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies_r], [], [], left)[0]:
                raise TimeoutError(f"{method}: no answer from Chromium in {self.timeout_s:g} s")
            chunk = os.read(self._replies_r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30.0, every_s: float = 0.25):
        """Evaluate until the value is truthy; returns it (TimeoutError with the last value otherwise)."""
        import time

        deadline, value = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError as e:  # the page is still loading: its elements are not there yet
                value = str(e)
            else:
                if value:
                    return value
            time.sleep(every_s)
        raise TimeoutError(f"{expression} stayed {value!r} for {timeout_s:g} s")

    def close(self) -> None:
        import contextlib
        import os

        with contextlib.suppress(Exception):
            self.send("Browser.close")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
        os.close(self._commands_w)
        os.close(self._replies_r)
