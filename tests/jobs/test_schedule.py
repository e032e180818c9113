import pytest

from parkpal_lakehouse.jobs.schedule import cron_problems, timezone_problems


@pytest.mark.parametrize("expression", ["0 10 * * * ?", "0 30 3 * * ?", "0 0 4 ? * SUN", "0 0/15 6-22 ? * MON-FRI",
                                        "0 0 12 L * ?", "0 0 8 ? * 2#1", "0 0 0 1 JAN ? 2027"])
def test_quartz_expressions_databricks_accepts(expression):
    assert cron_problems(expression) == []


@pytest.mark.parametrize(("expression", "problem"), [
    ("10 * * * *", "has 5 fields"),                         # Unix cron, not Quartz
    ("0 10 * * * *", "exactly one of day-of-month and day-of-week"),
    ("0 10 * ? * ?", "exactly one of day-of-month and day-of-week"),
    ("0 61 * * * ?", "minute 61 is outside 0-59"),
    ("0 0 25 * * ?", "hour 25 is outside 0-23"),
    ("0 0 4 ? * SNU", "day-of-week 'SNU' is not a number or one of SUN"),
    ("0 0/0 * * * ?", "step '0' must be a positive number"),
    ("0 0 22-6 * * ?", "range 22-6 runs backwards"),
])
def test_bad_quartz_expressions_say_what_is_wrong(expression, problem):
    problems = cron_problems(expression)
    assert len(problems) == 1 and problem in problems[0], problems


def test_time_zones_must_be_real_ids():
    assert timezone_problems("Asia/Manila") == []
    assert timezone_problems("UTC") == []
    assert "is not a time zone id" in timezone_problems("Asia/Manilla")[0]
    assert timezone_problems("PHT")  # an abbreviation, not an id
