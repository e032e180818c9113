"""The offset log's watermark per micro-batch, read from hand-written entries (Spark's own format), and the
rules' horizon that the zone status takes from it."""

from __future__ import annotations

import json

from parkpal_lakehouse.io.checkpoint import batch_watermark_ms, offset_log_entry
from parkpal_lakehouse.sessions.streaming import rules_horizon_ms

SOURCE = '{"sourceVersion":1,"reservoirId":"6f1c","reservoirVersion":3,"index":-1,"isStartingVersion":false}'


def _entry(checkpoint, batch_id: int, *lines: str) -> None:
    path = checkpoint / "offsets" / str(batch_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def _metadata(watermark) -> str:
    return json.dumps({"batchWatermarkMs": watermark, "batchTimestampMs": 1796311019086,
                       "conf": {"spark.sql.shuffle.partitions": "2"}})


def test_each_batch_reads_its_own_entry_and_anything_unknown_is_none(spark, tmp_path):
    checkpoint = tmp_path / "silver_parking_sessions"
    _entry(checkpoint, 0, "v1", _metadata(0), SOURCE, SOURCE, SOURCE)
    _entry(checkpoint, 1, "v1", _metadata(1793721424000), SOURCE, SOURCE, SOURCE)
    (checkpoint / "offsets" / ".1.crc").write_bytes(b"\x00crc")  # Spark's hidden files sit beside them
    assert batch_watermark_ms(spark, str(checkpoint), 0) == 0  # before any event
    assert batch_watermark_ms(spark, str(checkpoint), 1) == 1793721424000
    assert batch_watermark_ms(spark, str(checkpoint) + "/", 1) == 1793721424000
    assert batch_watermark_ms(spark, str(checkpoint), 2) is None  # no entry
    assert batch_watermark_ms(spark, str(tmp_path / "no_such_query"), 0) is None
    # formats this code does not know: another version, no metadata, no or a wrong watermark, not JSON
    for n, lines in enumerate([("v2", _metadata(5)), ("v1",), ("v1", json.dumps({"batchTimestampMs": 1})),
                               ("v1", _metadata("5")), ("v1", _metadata(-1)), ("v1", _metadata(True)),
                               ("v1", "{not json"), ()], start=3):
        _entry(checkpoint, n, *lines)
        assert batch_watermark_ms(spark, str(checkpoint), n) is None, lines


def test_a_checkpoint_given_as_a_uri_is_read_through_spark(spark, tmp_path):
    checkpoint = tmp_path / "query"
    _entry(checkpoint, 7, "v1", _metadata(1793721424000), SOURCE)
    uri = checkpoint.as_uri()  # file:///...: Spark's file systems, as for abfss:// on Databricks
    assert offset_log_entry(uri, 7) == f"{uri}/offsets/7"
    assert batch_watermark_ms(spark, uri, 7) == 1793721424000
    assert batch_watermark_ms(spark, uri, 8) is None  # missing: not known, not an error


def test_the_rules_wait_for_the_first_watermark_then_run_the_late_horizon_ahead_of_it():
    hour = 3_600_000
    assert rules_horizon_ms(0, 24 * hour) is None
    assert rules_horizon_ms(1793721424000, 24 * hour) == 1793721424000 + 24 * hour
    assert rules_horizon_ms(1, hour) == 1 + hour
