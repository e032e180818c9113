"""Landing files as a careless producer writes them, and late ones: every valid event reaches silver
once, every line is one record, and nothing is ignored without a message.

Hand-made gate events in hand-made landing files (zone 1 of the packaged sample city): `tests/support/landing.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality

from parkpal_lakehouse.balance import how_counted
from parkpal_lakehouse.errors import ConfigError, ParkPalError
from parkpal_lakehouse.ingestion import silver_table
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.landing import LandingAudit, audit_landing, check_checkpoints_belong_here, files_read
from parkpal_lakehouse.names import bronze_table
from parkpal_lakehouse.silver.reference import load_reference_tables
from tests.support.landing import HUB, counted_on, entry, figures, ingest, land

pytestmark = pytest.mark.slow


def silver_ids(spark, config):
    return read_table(spark, config, silver_table(HUB)).select("event_id")


def expect_ids(spark, config, ids: list[str]) -> None:
    expected = spark.createDataFrame([(i,) for i in sorted(ids)], "event_id STRING")
    assert_df_equality(silver_ids(spark, config), expected, ignore_row_order=True, ignore_nullable=True)


@pytest.fixture
def lake(spark, lakehouse):
    load_reference_tables(spark, lakehouse)
    return lakehouse


def test_a_late_file_and_a_file_from_far_ahead_lose_no_valid_event(spark, lake):
    land(lake, "2026/11/02/08/00", "a.jsonl",
         [entry("e1", "2026-11-02T08:01:00Z"), entry("e2", "2026-11-02T08:02:00Z")])
    ingest(spark, lake)
    assert how_counted(counted_on(spark, lake)) == "all"  # the first balance: nothing to count on from
    # a file whose arrival is a day later moves any arrival-time watermark far ahead ...
    land(lake, "2026/11/03/10/00", "b.jsonl",
         [entry("e3", "2026-11-03T10:01:00Z"), entry("e1", "2026-11-02T08:01:00Z")])
    ingest(spark, lake)
    # (the closing balance parses only the two records bronze appended; e1's key is looked up a day back)
    assert how_counted(counted_on(spark, lake)) == "appended since bronze version 1: 2 record(s)"
    # ... then a late file of the first day: a new valid event and a redelivery
    land(lake, "2026/11/02/08/15", "c.jsonl",
         [entry("e4", "2026-11-02T08:16:00Z"), entry("e2", "2026-11-02T08:02:00Z")])
    ingest(spark, lake)
    expect_ids(spark, lake, ["e1", "e2", "e3", "e4"])
    balance = counted_on(spark, lake)
    assert how_counted(balance) == "appended since bronze version 2: 2 record(s)"
    assert figures(balance) == (6, 4, 0, 2, 0)
    # and the balance sees a lost event and a double write: silver without e4 (counted on: nothing appended) ...
    silver = lake.table_path(silver_table(HUB))
    spark.sql(f"DELETE FROM delta.`{silver}` WHERE event_id = 'e4'")
    lost = counted_on(spark, lake)
    assert how_counted(lost) == "appended since bronze version 3: none" and figures(lost) == (6, 3, 0, 2, 1)
    # ... then with e1 twice more (counted all again: the last balance did not read 0)
    twice = read_table(spark, lake, silver_table(HUB)).where("event_id = 'e1'").localCheckpoint()
    twice.unionByName(twice).write.format("delta").mode("append").save(silver)
    doubled = counted_on(spark, lake)
    assert how_counted(doubled) == "all" and figures(doubled) == (6, 5, 0, 2, -1)


def test_an_event_a_few_minutes_into_its_window_is_not_in_the_future(spark, lake):
    # enqueued by the window's end (08:15 + 15 min): 08:31 is within the 15-minute skew, 08:46 is not
    land(lake, "2026/11/02/08/15", "a.jsonl",
         [entry("ok", "2026-11-02T08:31:00Z"), entry("late", "2026-11-02T08:46:00Z")])
    ingest(spark, lake)
    expect_ids(spark, lake, ["ok"])
    rules = [r.failed_rules for r in read_table(spark, lake, "silver.quarantine").collect()]
    assert rules == [["timestamp:future"]]
    bronze = read_table(spark, lake, bronze_table(HUB)).select("enqueued_at").distinct().collect()
    assert [str(r.enqueued_at) for r in bronze] == ["2026-11-02 08:30:00"]


def test_line_endings_make_one_record_per_line(spark, lake):
    crlf = land(lake, "2026/11/02/08/00", "crlf.jsonl", [entry("w1", "2026-11-02T08:01:00Z")], newline="\r\n")
    body = json.dumps(entry("w2", "2026-11-02T08:02:00Z"))
    lone_cr = body.replace('"zoneId": 1,', '"zoneId": 1,\r')  # a lone CR between tokens: JSON whitespace
    land(lake, "2026/11/02/08/00", "cr.jsonl", [lone_cr])
    ingest(spark, lake)
    expect_ids(spark, lake, ["w1", "w2"])
    assert read_table(spark, lake, bronze_table(HUB)).count() == 2
    assert crlf.exists()


def test_files_with_other_names_and_appended_lines_are_reported_not_ignored(spark, lake):
    good = land(lake, "2026/11/02/08/00", "a.jsonl", [entry("a1", "2026-11-02T08:01:00Z")])
    land(lake, "2026/11/02/08/00", "b.JSONL", [entry("b1", "2026-11-02T08:01:00Z")])
    odd = land(lake, "2026/11/02/08/00", "c.json", [entry("c1", "2026-11-02T08:01:00Z")])
    empty = land(lake, "2026/11/02/08/00", "d.jsonl", [])  # read, but no line of it reached bronze
    ingest(spark, lake)
    expect_ids(spark, lake, ["a1", "b1"])  # .JSONL is JSON Lines whatever its case
    time.sleep(1.1)
    for path, event in ((good, entry("a2", "2026-11-02T08:02:00Z")), (empty, entry("d1", "2026-11-02T08:03:00Z"))):
        with path.open("a") as fh:  # a producer appends to a file that was already ingested
            fh.write(json.dumps(event) + "\n")
        os.utime(path)
    audit = audit_landing(spark, lake, [HUB])
    assert isinstance(audit, LandingAudit)
    assert audit.not_jsonl == [str(odd)]
    assert audit.changed_after_ingestion == [str(good), str(empty)]
    # A source log in a format this code does not know: bronze's read times instead (which miss the empty file).
    for log in (Path(lake.checkpoint_path("bronze_gate_events")) / "sources" / "0").glob("[0-9]*"):
        log.write_text(log.read_text().replace("v1", "v9", 1))
    assert audit_landing(spark, lake, [HUB]).changed_after_ingestion == [str(good)]
    lines = audit.warnings()
    assert any("c.json" in w and "not *.jsonl" in w for w in lines)
    assert any("a.jsonl" in w and "changed after" in w for w in lines)


def _source_log(folder: Path, name: str, *entries: tuple[str, int], version: str = "v1") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [version, *(json.dumps({"path": f"file://{p}", "timestamp": t, "batchId": 0}) for p, t in entries)]
    (folder / name).write_text("\n".join(lines) + "\n")


def test_the_files_read_come_from_the_source_log_every_batch_and_compaction_once(tmp_path):
    """Spark's file-source log: a version line, then one entry per file; a compact file repeats the
    batches before it; hidden files (.N.crc, .N.tmp) are Spark's own."""
    log = tmp_path / "bronze_gate_events" / "sources" / "0"
    _source_log(log, "0", ("/lake/landing/a%20b.jsonl", 1000), ("/lake/landing/c.jsonl", 2000))
    _source_log(log, "1", ("/lake/landing/d.jsonl", 3000))
    _source_log(log, "1.compact", ("/lake/landing/a%20b.jsonl", 1000), ("/lake/landing/c.jsonl", 2000),
                ("/lake/landing/d.jsonl", 3000))
    _source_log(log, "2", ("/lake/landing/e.jsonl", 4000))
    (log / ".2.crc").write_bytes(b"\x00crc")
    (log / ".3.0f1e.tmp").write_text("v1\n{half")
    assert files_read(tmp_path / "bronze_gate_events") == {
        "/lake/landing/a b.jsonl": 1000, "/lake/landing/c.jsonl": 2000, "/lake/landing/d.jsonl": 3000,
        "/lake/landing/e.jsonl": 4000}
    assert files_read(tmp_path / "no_such_query") == {}
    (log / "3").write_text('v1\n{"path": "file:///lake/landing/f.jsonl", "batchId": 3}\n')  # no modification time
    assert files_read(tmp_path / "bronze_gate_events") is None
    _source_log(log, "3", ("/lake/landing/f.jsonl", 5000), version="v2")
    assert files_read(tmp_path / "bronze_gate_events") is None  # a format we do not know: bronze is read instead


def test_a_copied_root_refuses_to_re_ingest_everything(spark, lake, tmp_path):
    land(lake, "2026/11/02/08/00", "a.jsonl", [entry("a1", "2026-11-02T08:01:00Z")])
    ingest(spark, lake)
    check_checkpoints_belong_here(lake)  # the original root is fine
    copy = tmp_path / "copied"
    shutil.copytree(lake.storage_root, copy)
    from parkpal_lakehouse.config import local_config

    moved = local_config(copy)
    with pytest.raises(ConfigError, match="was moved or copied"):
        check_checkpoints_belong_here(moved)
    with pytest.raises(ConfigError, match="was moved or copied"):
        ingest(spark, moved)


def test_a_damaged_checkpoint_is_one_line_naming_the_file(spark, lake):
    land(lake, "2026/11/02/08/00", "a.jsonl", [entry("a1", "2026-11-02T08:01:00Z")])
    ingest(spark, lake)
    offsets = Path(lake.checkpoint_path("bronze_gate_events")) / "offsets" / "0"
    offsets.write_text("garbage{")
    with pytest.raises(ParkPalError) as err:
        ingest(spark, lake)
    message = str(err.value)
    assert "\n" not in message and str(offsets) in message and "spark-errors.log" in message
