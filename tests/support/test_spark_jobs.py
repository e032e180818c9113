"""The opt-in plugin that counts Spark jobs per test: its counters follow the session, its report adds up."""

from tests.support.spark_jobs import JobsOfATest, spark_counters, summary


def test_the_counters_follow_the_jobs_the_session_starts(spark):
    jobs, stages = spark_counters()
    assert spark.range(10).collect()[-1].id == 9
    after_jobs, after_stages = spark_counters()
    assert after_jobs == jobs + 1 and after_stages >= stages + 1


def test_the_report_totals_and_ranks_tests_by_jobs():
    records = [JobsOfATest("a::one", 2.0, 20, 30), JobsOfATest("b::two", 6.0, 40, 50),
               JobsOfATest("c::none", 0.5, 0, 0), JobsOfATest("d::tie", 1.0, 20, 25)]
    lines = summary(records, top=2)
    assert lines[0] == ("4 tests started 80 Spark jobs (105 stages) in the suite's session; the 3 that started any "
                        "took 9.0 of 9.5 s, 112 ms per job")
    assert [line.split()[-1] for line in lines[1:]] == ["b::two", "a::one"]  # by jobs, then by name
    assert lines[1].split()[:7] == ["40", "jobs", "50", "stages", "6.00", "s", "150"]
    assert summary([JobsOfATest("c::none", 0.5, 0, 0)]) == [
        "1 tests started 0 Spark jobs (0 stages) in the suite's session; the 0 that started any took 0.0 of 0.5 s"]
