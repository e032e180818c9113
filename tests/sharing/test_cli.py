"""`parkpal share ...` as a user runs it: serve in its own process, read with a profile, stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import delta_sharing
import pytest
import yaml
from conftest import copy_city

from parkpal_lakehouse.sharing.definition import default_definition_path
from tests.support.servers import announced_lines

PARKPAL = str(Path(sys.executable).parent / "parkpal")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PARKPAL, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("args", "message"), [
    (["share", "serve", "--port", "x"], "argument --port: expected a port number, not 'x'"),
    (["share", "token", "nobody", "--root", "/tmp"], "unknown recipient 'nobody'"),
    (["share", "list", "--definition", "/nonexistent.yml"], "cannot read the share definition /nonexistent.yml"),
    (["sql", "SELECT 1", "--port", "10000"], "--host and --port go with `parkpal sql serve`"),
])
def test_bad_arguments_are_one_line(args, message):
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.integration
def test_share_serve_hands_out_profiles_that_the_official_client_reads(gold_city, tmp_path):
    config = copy_city(Path(gold_city[0].storage_root), tmp_path / "city")
    raw = yaml.safe_load(default_definition_path().read_text())
    raw["recipients"] = {"makati-city": raw["recipients"]["makati-city"]}
    definition = tmp_path / "shares.yml"
    definition.write_text(yaml.safe_dump(raw))
    server = subprocess.Popen([PARKPAL, "share", "serve", "--root", config.storage_root, "--port", "0",
                               "--definition", str(definition)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        lines = announced_lines(server)
        assert lines and lines[-1].startswith("try:"), (lines, server.poll())
        assert lines[0] == "published 6 share table(s)"
        profile = Path(config.storage_root) / "sharing" / "profiles" / "makati-city.share"
        assert f"profile for makati-city: {profile}" in lines
        endpoint = json.loads(profile.read_text())["endpoint"]
        assert f"Delta Sharing server: {endpoint}" in lines
        metrics = delta_sharing.load_as_pandas(f"{profile}#parkpal_makati_city.gold.zone_metrics_hourly")
        assert len(metrics) > 0 and set(metrics["operator"]) <= {"LGU Makati", "Ayala Land Parking"}
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err[-2000:]
    assert "share serve: SIGTERM: stopping" in out
