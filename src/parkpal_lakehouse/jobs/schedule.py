"""Checks of a job schedule as Databricks reads it: a Quartz cron expression and a time zone id.

Quartz, not Unix cron: seconds come first, and exactly one of day-of-month and day-of-week is `?`.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# field name, lowest, highest, names for the values from `lowest` on
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()), ("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS), ("day-of-week", 1, 7, WEEKDAYS), ("year", 1970, 2099, ()),
)
_SPECIAL = {"day-of-month": re.compile(r"^(L(-\d{1,2})?|\d{1,2}W|LW)$"),
            "day-of-week": re.compile(r"^(\d|[A-Z]{3})(L|#[1-5])$")}


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return low + names.index(text.upper())
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number" + (f" or one of {','.join(names)}" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _check_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for item in text.split(","):
        if name in _SPECIAL and _SPECIAL[name].match(item.upper()):
            continue
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            raise ValueError(f"step {step!r} must be a positive number")
        if base == "*":
            continue
        start, _, end = base.partition("-")
        first = _value(start, low, high, names)
        if end and _value(end, low, high, names) < first:
            raise ValueError(f"range {base} runs backwards")


def cron_problems(expression: str) -> list[str]:
    """What is wrong with a Quartz cron expression; empty when Databricks will accept it."""
    parts = expression.split()
    if len(parts) not in (6, 7):
        return [f"{expression!r} has {len(parts)} fields; Quartz cron has 6 or 7 (seconds first)"]
    problems = []
    dom, dow = parts[3], parts[5]
    if (dom == "?") == (dow == "?"):
        problems.append(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    for text, (name, low, high, names) in zip(parts, FIELDS, strict=False):
        if text == "?" and name in ("day-of-month", "day-of-week"):
            continue
        try:
            _check_field(text, name, low, high, names)
        except ValueError as exc:
            problems.append(f"{expression!r}: {name} {exc}")
    return problems


def timezone_problems(timezone_id: str) -> list[str]:
    if timezone_id not in available_timezones():
        try:
            ZoneInfo(timezone_id)
        except (ZoneInfoNotFoundError, ValueError):
            return [f"{timezone_id!r} is not a time zone id (like Asia/Manila)"]
    return []
