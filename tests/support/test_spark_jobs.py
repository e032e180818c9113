"""The opt-in plugin that counts Spark jobs per test: its counters follow the session, its report adds up."""

from collections import Counter

from tests.support.spark_jobs import JobsOfATest, job_kind, spark_counters, spark_job_kinds, summary


def test_the_counters_follow_the_jobs_the_session_starts(spark):
    jobs, stages = spark_counters()
    assert spark.range(10).collect()[-1].id == 9
    after_jobs, after_stages = spark_counters()
    assert after_jobs == jobs + 1 and after_stages >= stages + 1


def test_the_report_totals_and_ranks_tests_by_jobs():
    records = [JobsOfATest("a::one", 2.0, 20, 30), JobsOfATest("b::two", 6.0, 40, 50, Counter(w=30, m=5, z=5)),
               JobsOfATest("c::none", 0.5, 0, 0), JobsOfATest("d::tie", 1.0, 20, 25)]
    lines = summary(records, top=2, detailed=1, kinds=2)
    assert lines[0] == ("4 tests started 80 Spark jobs (105 stages) in the suite's session; the 3 that started any "
                        "took 9.0 of 9.5 s, 112 ms per job")
    assert [line.split()[-1] for line in lines[1:]] == ["b::two", "w", "m", "a::one"]  # by jobs, then name
    assert lines[1].split()[:7] == ["40", "jobs", "50", "stages", "6.00", "s", "150"]
    assert [line.split() for line in lines[2:4]] == [["30", "w"], ["5", "m"]]  # the first test's kinds, by count
    assert summary([JobsOfATest("c::none", 0.5, 0, 0)]) == [
        "1 tests started 0 Spark jobs (0 stages) in the suite's session; the 0 that started any took 0.0 of 0.5 s"]


def test_a_job_kind_keeps_what_the_job_was_and_drops_what_differs_between_runs():
    assert job_kind("Delta: silver_gate_events id = 0b1c-9 runId = 77fa-2 batch = 12: Filtering files for query: "
                    "Compute snapshot for version: 3", "start at NativeMethodAccessorImpl.java:0") == \
        "Delta: silver_gate_events: Filtering files for query: Compute snapshot for version"
    assert job_kind("silver_parking_sessions id = a runId = b batch = 1 - MERGE operation - scanning files for matches",
                    "x") == "silver_parking_sessions - MERGE operation - scanning files for matches"
    assert job_kind("id = 6eb1 runId = 86c1 batch = 5 - MERGE operation - scanning files for matches", "x") == \
        "streaming query - MERGE operation - scanning files for matches"
    assert job_kind("Delta: id = 6eb1 runId = 86c1 batch = 0: Filtering files for query", "x") == \
        "Delta: streaming query: Filtering files for query"
    assert job_kind("silver_gate_events\nid = 0b88-83\nrunId = d8cb-05\nbatch = 0", "x") == "silver_gate_events"
    assert job_kind("Listing leaf files and directories for 91 paths:<br/>file:/tmp/landing/a.jsonl, ...", "x") == \
        "Listing leaf files and directories"
    assert job_kind("", "collect at /work/src/parkpal_lakehouse/sessions/inputs.py:53") == "collect at inputs.py:53"
    assert job_kind("  ", "count at NativeMethodAccessorImpl.java:0") == "count at NativeMethodAccessorImpl.java:0"
    assert job_kind("", "") == "?"


def test_the_kinds_of_the_jobs_a_test_ran_are_read_back(spark):
    first, _ = spark_counters()
    spark.range(5).collect()
    spark.sparkContext.setJobDescription("parkpal: a described job batch = 3")
    try:
        spark.range(5).collect()
    finally:
        spark.sparkContext.setJobDescription(None)
    kinds = spark_job_kinds(first, spark_counters()[0])
    assert kinds["parkpal: a described job"] == 1 and sum(kinds.values()) == 2, kinds
