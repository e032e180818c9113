"""`parkpal sql`: Spark SQL against the local catalog, printed as a table.

The local catalog has every Delta table under the root registered by name (`gold.zone_metrics_hourly`)
and the analyst views, so the queries of `docs/queries.sql` run as they would on a SQL warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import SparkSession

from parkpal_lakehouse.errors import ParkPalError


class SqlError(ParkPalError):
    """The statement did not parse or names something that is not there."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool

    def table(self) -> str:
        """Rows as an aligned text table (numbers right-aligned, floats with 4 decimals)."""
        def text(v: Any) -> str:
            if v is None:
                return "NULL"
            if isinstance(v, float):
                return f"{v:,.4f}"
            return str(v)
        cells = [[text(v) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in self.rows) and bool(self.rows)
                   for i in range(len(self.columns))]

        def line(values: list[str]) -> str:
            return " | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))
        out = [line(self.columns), "-+-".join("-" * w for w in widths), *(line(r) for r in cells)]
        tail = f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}{', truncated' if self.truncated else ''})"
        return "\n".join([*out, tail])


def run_sql(spark: SparkSession, statement: str, max_rows: int = 100) -> QueryResult:
    """Run one statement; at most `max_rows` rows come back (`truncated` says whether there were more)."""
    if not statement.strip():
        raise SqlError("empty SQL statement")
    try:
        df = spark.sql(statement)
        rows = df.limit(max_rows + 1).collect()
    except (ParseException, AnalysisException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SqlError(first) from None
    return QueryResult(df.columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)
