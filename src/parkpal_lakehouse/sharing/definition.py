"""The share definition (`shares.yml`): which gold tables, columns and zones each recipient receives.

The same file drives Databricks (infra/sharing.tf: views filtered by `CURRENT_RECIPIENT`, a share per
recipient) and the local Delta Sharing server. Loading it checks what must never leave the lakehouse:
only the gold schema, only known columns, no user, plate, session or visit identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.schemas import FORECAST_TABLES
from parkpal_lakehouse.gold.schemas import GOLD_TABLES

SHARED_SCHEMA = "gold"  # the schema name recipients see
ZONE_SELECTORS = ("city", "operator")  # dim_zone columns a recipient's zones are chosen by
# Columns that identify a person or a vehicle (even pseudonymised) or let rows be linked to one.
_IDENTIFYING = re.compile(r"user|plate|licen[cs]e|device|session_id|visit_id|phone|email", re.IGNORECASE)
_RECIPIENT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


class ShareDefinitionError(ParkPalError):
    """The share definition would expose something it must not, or does not parse."""


@dataclass(frozen=True)
class SharedTable:
    name: str  # the gold table, and the name recipients see under `gold`
    columns: tuple[str, ...]
    zone_scoped: bool = True  # rows limited to the recipient's zones (by zone_id)
    current_only: bool = False  # SCD2 tables: only the current version of each row

    @property
    def source(self) -> str:
        return f"gold.{self.name}"


@dataclass(frozen=True)
class Recipient:
    name: str
    comment: str
    zone_column: str  # "city" or "operator"
    zone_value: str

    @property
    def share(self) -> str:
        """Share names are identifiers on Databricks: underscores, not hyphens."""
        return "parkpal_" + self.name.replace("-", "_")


@dataclass(frozen=True)
class ShareDefinition:
    tables: tuple[SharedTable, ...]
    recipients: tuple[Recipient, ...]

    def recipient(self, name: str) -> Recipient:
        for r in self.recipients:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.recipients)
        raise ShareDefinitionError(f"unknown recipient {name!r} (known: {known})")

    def table(self, name: str) -> SharedTable:
        for t in self.tables:
            if t.name == name:
                return t
        raise ShareDefinitionError(f"table {name!r} is not shared")


def gold_ddl() -> dict[str, str]:
    """Every gold table's DDL (the one it is created with), by table name."""
    ddls = {logical: ddl for logical, ddl in GOLD_TABLES.items()}
    ddls.update({logical: ddl for logical, (ddl, _parts) in FORECAST_TABLES.items()})
    return {logical.split(".", 1)[1]: ddl for logical, ddl in ddls.items() if logical.startswith("gold.")}


def gold_columns() -> dict[str, tuple[str, ...]]:
    """Column names of every gold table."""
    return {name: tuple(part.strip().split()[0] for part in ddl.split(",")) for name, ddl in gold_ddl().items()}


def default_definition_path() -> Path:
    return Path(str(resources.files("parkpal_lakehouse.sharing").joinpath("shares.yml")))


def load_definition(path: str | Path | None = None) -> ShareDefinition:
    source = Path(path) if path else default_definition_path()
    try:
        raw = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ShareDefinitionError(f"cannot read the share definition {source}: {exc}".splitlines()[0]) from None
    return parse_definition(raw, str(source))


def parse_definition(raw: object, where: str = "share definition") -> ShareDefinition:
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict) or not isinstance(
            raw.get("recipients"), dict):
        raise ShareDefinitionError(f"{where}: needs a `tables` and a `recipients` mapping")
    if raw.get("source_schema", "gold") != "gold":
        raise ShareDefinitionError(f"{where}: source_schema is {raw['source_schema']!r}; only gold is ever shared")
    known = gold_columns()
    tables = tuple(_parse_table(name, spec or {}, known, where) for name, spec in raw["tables"].items())
    recipients = tuple(_parse_recipient(name, spec or {}, where) for name, spec in raw["recipients"].items())
    if not tables or not recipients:
        raise ShareDefinitionError(f"{where}: no tables or no recipients")
    return ShareDefinition(tables, recipients)


def _parse_table(name: str, spec: dict, known: dict[str, tuple[str, ...]], where: str) -> SharedTable:
    if name not in known:
        raise ShareDefinitionError(f"{where}: {name!r} is not a gold table (gold: {', '.join(sorted(known))})")
    columns = tuple(spec.get("columns") or ())
    if not columns:
        raise ShareDefinitionError(f"{where}: table {name} lists no columns (columns are shared by name only)")
    unknown = [c for c in columns if c not in known[name]]
    if unknown:
        raise ShareDefinitionError(f"{where}: table {name} has no column(s) {', '.join(unknown)}")
    identifying = [c for c in columns if _IDENTIFYING.search(c)]
    if identifying:
        raise ShareDefinitionError(f"{where}: table {name} would share identifying column(s) "
                                   f"{', '.join(identifying)}")
    zone_scoped = not spec.get("all_rows", False)
    if zone_scoped and "zone_id" not in columns:
        raise ShareDefinitionError(f"{where}: table {name} is limited to the recipient's zones but does not "
                                   "share zone_id (set all_rows: true for tables without zones)")
    return SharedTable(name, columns, zone_scoped, bool(spec.get("current_only", False)))


def _parse_recipient(name: str, spec: dict, where: str) -> Recipient:
    if not _RECIPIENT_NAME.match(name):
        raise ShareDefinitionError(f"{where}: recipient name {name!r} must be lower-case letters, digits and '-'")
    zones = spec.get("zones")
    if not isinstance(zones, dict) or len(zones) != 1 or next(iter(zones)) not in ZONE_SELECTORS:
        raise ShareDefinitionError(f"{where}: recipient {name} needs `zones` with exactly one of "
                                   f"{', '.join(ZONE_SELECTORS)}")
    column, value = next(iter(zones.items()))
    return Recipient(name, str(spec.get("comment", "")), column, str(value))
