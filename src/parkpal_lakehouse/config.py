"""Configuration as frozen dataclasses.

Environment differences (local / dev / prod) are data here, never `if env == "prod"` branches in
transforms. Secrets are `SecretRef`s: resolved through a Databricks secret scope on Databricks and
through an environment variable locally; their values never appear in config files or logs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from parkpal_lakehouse.errors import ConfigError

# In a storage root, stands for the ADLS Gen2 container (file system) of what is stored.
CONTAINER_PLACEHOLDER = "{container}"
HUBS: tuple[str, ...] = ("activity-events", "geofence-events", "gate-events")
# `ops` holds what the pipeline says about itself: quality results, streaming progress.
LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "ops")
# ADLS Gen2 containers (file systems) on Azure: raw landing files, one per medallion layer, checkpoints.
LAKE_CONTAINERS: tuple[str, ...] = ("landing", "bronze", "silver", "gold", "checkpoints")
# Event Hubs: Databricks' consumer group and the Key Vault secret names of the connection strings.
EVENTHUBS_CONSUMER_GROUP = "databricks"
EVENTHUBS_LISTEN_SECRET = "eventhubs-listen-connection-string"
EVENTHUBS_SEND_SECRET = "eventhubs-send-connection-string"
# Key Vault / secret scope name of the key for pseudonymous user and plate keys in gold.
PSEUDONYM_KEY_SECRET = "gold-pseudonym-key"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PREFIX = re.compile(r"[A-Za-z0-9_]*")


class Environment(StrEnum):
    LOCAL = "local"
    DEV = "dev"
    PROD = "prod"


@dataclass(frozen=True)
class SecretRef:
    """A pointer to a secret: Databricks secret scope + key, or an environment variable locally.

    Locally the variable name is `PARKPAL_SECRET_<SCOPE>_<KEY>` (upper-cased, `-` -> `_`) unless
    `env_var` names one explicitly.
    """

    scope: str
    key: str
    env_var: str | None = None

    @property
    def local_env_var(self) -> str:
        if self.env_var:
            return self.env_var
        return f"PARKPAL_SECRET_{self.scope}_{self.key}".upper().replace("-", "_")

    def resolve(self, dbutils: object | None = None) -> str:
        """The secret's value. With `dbutils` (on Databricks) from the secret scope, else from the env."""
        if dbutils is not None:
            return dbutils.secrets.get(scope=self.scope, key=self.key)  # type: ignore[attr-defined]
        value = os.environ.get(self.local_env_var)
        if not value:
            raise ConfigError(
                f"secret {self.scope}/{self.key} is not set: export {self.local_env_var} "
                "(or run on Databricks with the secret scope)"
            )
        return value

    def __repr__(self) -> str:  # never leak anything but the reference
        return f"SecretRef(scope={self.scope!r}, key={self.key!r})"


@dataclass(frozen=True)
class CirclingRules:
    """The product's definition of a search for parking; every threshold is configuration."""

    # A STILL reading is evidence the car stopped only at this confidence or more.
    still_min_confidence: int = 80
    # The car is parked once the phone has been STILL this long inside the zone with nothing
    # contradicting it (phones report transitions, not a heartbeat: no further reading is needed). A
    # red light or a queue is shorter; a driver who parks and sits longer than this is parked.
    still_min_seconds: int = 30
    # A single reading below this confidence inside a STILL or IN_VEHICLE run is a flap, not the end of it.
    flap_max_confidence: int = 70
    # A walking/on-foot reading at this confidence or more, inside the zone while searching, means the
    # driver got out of the car: parked, at the start of the STILL run before it (or at the walk).
    walk_min_confidence: int = 80
    # A zone EXIT followed by an ENTER of the same zone within this many seconds is GPS jitter.
    jitter_reentry_seconds: int = 60
    # IN_VEHICLE sustained this long (not contradicted) after parking means the driver has left.
    departure_min_seconds: int = 20
    # No event from a user for this long closes a search that has not parked as timed_out. A parked
    # search is never closed by silence: a parked phone has nothing to report until the driver returns.
    silence_timeout_seconds: int = 30 * 60
    # A parked search with no departure evidence this long after parking closes with
    # `departure_source='unknown'` (the phone was switched off, the app removed, the EXIT missed).
    max_stay_seconds: int = 24 * 3600
    # Geofence positions may fall this far outside a zone's radius before they are invalid, and STILL
    # readings this far outside it still count as "inside the zone" (GPS error while parked).
    geofence_tolerance_m: float = 150.0
    # The last reported activity holds until the next one (transition reporting); after this long
    # with no report it is no longer trusted (a phone switched off, a lost update) and is forgotten.
    activity_hold_seconds: int = 3 * 3600

    def __post_init__(self) -> None:
        if not 0 <= self.flap_max_confidence < min(self.still_min_confidence, self.walk_min_confidence):
            raise ConfigError("circling rules need 0 <= flap_max_confidence < still_min_confidence and "
                              "walk_min_confidence")
        if max(self.still_min_confidence, self.walk_min_confidence) > 100:
            raise ConfigError("circling rule confidences are percentages (at most 100)")
        if min(self.still_min_seconds, self.jitter_reentry_seconds, self.departure_min_seconds) < 0:
            raise ConfigError("circling rule durations cannot be negative")
        if self.silence_timeout_seconds <= self.jitter_reentry_seconds:
            raise ConfigError("silence_timeout_seconds must exceed jitter_reentry_seconds")
        if self.max_stay_seconds < self.silence_timeout_seconds or self.activity_hold_seconds < 1:
            raise ConfigError("max_stay_seconds must be at least silence_timeout_seconds; activity_hold_seconds >= 1")

    @property
    def forget_after_seconds(self) -> int:
        """A user silent this long has no state left: every deadline of the rules has passed."""
        return max(self.silence_timeout_seconds, self.max_stay_seconds, self.activity_hold_seconds) + \
            self.jitter_reentry_seconds + max(self.still_min_seconds, self.departure_min_seconds)


@dataclass(frozen=True)
class SessionSettings:
    """How the sessionization stream treats time.

    Events are buffered and applied in event-time order once the watermark (newest event time seen
    minus `watermark_seconds`) passes them. An event older than what a user's state has already
    applied is *late*: it goes to `silver.late_events` and the repair re-sessionizes that user, however
    late it is (Spark drops no row: the processor's input has no watermark column). Spark's watermark
    runs `late_horizon_hours` behind the rules' (`spark_delay`); the processor works that far ahead of
    it, so the offset changes nothing the rules see, and it stays for the checkpoints written with it.
    """

    # How long the stream waits before applying a user's events in order. Geofence alerts reach phones
    # late (Android documents usually under two minutes), so 150 s lets a late ENTER take its place
    # before the STILL that follows it is applied; what comes later still is repaired (late_events).
    watermark_seconds: int = 150
    late_horizon_hours: int = 24
    # Users share Spark's state in this many buckets (`sessions/streaming.py`): one Python call per bucket
    # and micro-batch reads and writes all its users' rows at once. A bucket's rows are rewritten whenever
    # one of its users has work, so size it for a few hundred users per bucket at the city's peak (1M users:
    # 4,096). Fixed for a checkpoint's life: a new value needs a new checkpoint (docs/sessionization.md).
    state_buckets: int = 256

    def __post_init__(self) -> None:
        if self.watermark_seconds < 0 or self.late_horizon_hours < 1:
            raise ConfigError("session watermark_seconds must be >= 0 and late_horizon_hours >= 1")
        if self.state_buckets < 1:
            raise ConfigError("session state_buckets must be >= 1")

    @property
    def spark_delay(self) -> str:
        return f"{self.spark_delay_ms // 1000} seconds"

    @property
    def spark_delay_ms(self) -> int:
        return 1000 * self.watermark_seconds + self.late_horizon_ms

    @property
    def late_horizon_ms(self) -> int:
        return 3600_000 * self.late_horizon_hours


@dataclass(frozen=True)
class GoldSettings:
    """How the hourly gold job computes, keeps and maintains its tables."""

    # A gate entry without an exit (or a parked search without a departure) stops counting as
    # occupying a space after this long; it is flagged, and it bounds what one hour has to read.
    max_stay_hours: int = 24
    # Rows written to silver since the last run started, minus this margin (a micro-batch's
    # `processed_at` is its start), mark the hours to recompute.
    change_margin_minutes: int = 60
    # VACUUM keeps at least this much history for time travel (Delta's own floor is 7 days).
    vacuum_retention_hours: int = 168
    optimize_after_write: bool = True
    # Attempts for a write that loses a Delta conflict to a concurrent writer (the streaming jobs).
    conflict_retries: int = 5
    # Key of the keyed hash that turns user ids and licence plates into pseudonymous keys. None: a
    # fixed development key (local only); Databricks reads it from the secret scope.
    pseudonym_key: SecretRef | None = None
    # Street zones have no gates, so only app users are seen there. The share of vehicles that are app
    # users' is measured at gated car parks of the same city over this many days before the hour...
    penetration_days: int = 28
    # ...per hour of the week, pulled towards the city's overall share as if that share had been seen
    # in this many extra gate entries (a quiet hour-of-week cell does not swing the estimate).
    penetration_prior_entries: int = 50
    # The all-driver street estimate's interval (two-sided, of the sampling of app users).
    estimate_interval: float = 0.8

    def __post_init__(self) -> None:
        if self.penetration_days < 1 or self.penetration_prior_entries < 0 or not 0 < self.estimate_interval < 1:
            raise ConfigError("gold penetration_days >= 1, penetration_prior_entries >= 0, 0 < estimate_interval < 1")
        if self.max_stay_hours < 1 or self.change_margin_minutes < 0 or self.conflict_retries < 1:
            raise ConfigError("gold max_stay_hours and conflict_retries must be >= 1, change_margin_minutes >= 0")
        if self.vacuum_retention_hours < 168:
            raise ConfigError("gold vacuum_retention_hours must keep at least 7 days (168 hours) of time travel")


@dataclass(frozen=True)
class ForecastSettings:
    """How occupancy forecasts are trained, validated, registered and scored.

    Tracking and registry: None means the local sqlite store under the storage root (MLflow 3
    refuses a plain file store); on Databricks `databricks` and `databricks-uc` (Unity Catalog).
    """

    horizon_hours: int = 24
    # Rolling-origin backtest: the last `backtest_days` before the holdout, in `backtest_folds` folds,
    # each fitted on everything before it. Interval coverage is measured from the second fold on (each
    # fold's intervals come from the residuals of the folds before it), hence three folds.
    backtest_days: int = 14
    backtest_folds: int = 3
    # The newest days are kept out of the registered model's training: validation compares the
    # challenger with the champion there, where neither has seen the data.
    holdout_days: int = 2
    # Fewest days of usable rows (after the 8 days the weekly lags need) a fold may be fitted on.
    min_training_days: int = 7
    # Fit on every n-th origin hour (every horizon of it); the backtest scores every origin.
    training_origin_step_hours: int = 3
    interval_coverage: float = 0.8
    # Horizons the backtest tables and MLflow metrics report (each <= horizon_hours); the promotion gate
    # reads the longest, horizon_hours.
    reported_horizons: tuple[int, ...] = (1, 6, 24)
    # Public holidays of the calendar features: an ISO country code, "none", or None for the country of
    # the series' timezone (Asia/Manila -> PH; Europe/London -> GB).
    holiday_country: str | None = None
    # Promotion: the challenger's 24 h MAE must be this much below the best baseline's (0.15 = 15%).
    min_improvement_over_baseline: float = 0.0
    tracking_uri: str | None = None
    registry_uri: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_hours <= 24:
            raise ConfigError("forecast horizon_hours must be 1-24 (the lag features assume at most a day ahead)")
        if self.backtest_folds < 1 or self.backtest_days < self.backtest_folds or self.holdout_days < 1:
            raise ConfigError("forecast backtest needs folds >= 1, backtest_days >= folds, holdout_days >= 1")
        if self.min_training_days < 1 or self.training_origin_step_hours < 1:
            raise ConfigError("forecast min_training_days and training_origin_step_hours must be >= 1")
        if not self.reported_horizons or any(not 1 <= h <= self.horizon_hours for h in self.reported_horizons):
            raise ConfigError(f"forecast reported_horizons must be 1-{self.horizon_hours} (horizon_hours), "
                              f"not {list(self.reported_horizons)}")
        if not 0.5 <= self.interval_coverage < 1 or not 0 <= self.min_improvement_over_baseline < 1:
            raise ConfigError("forecast interval_coverage must be in [0.5, 1), min_improvement_over_baseline in [0, 1)")

    @property
    def required_days(self) -> int:
        """Days of hourly history `train` needs: lags (8) + the first fold's training + backtest + holdout."""
        return 8 + self.min_training_days + self.backtest_days + self.holdout_days


@dataclass(frozen=True)
class SourceConfig:
    """Where raw events come from: landing files, a Kafka broker, or Event Hubs' Kafka endpoint."""

    kind: str = "landing"  # landing | kafka | eventhubs
    bootstrap_servers: str = ""
    eventhubs_namespace: str = ""
    connection_string: SecretRef | None = None
    consumer_group: str = "$Default"
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = None
    max_files_per_trigger: int | None = None
    fail_on_data_loss: bool = True
    # Landing files are written per arrival window (`<mm>` in the path is its start); a message was
    # enqueued by the window's end, which is what bronze records (docs/event-contract.md).
    landing_window_minutes: int = 15

    def __post_init__(self) -> None:
        if self.kind not in ("landing", "kafka", "eventhubs"):
            raise ConfigError(f"source kind must be landing, kafka or eventhubs, not {self.kind!r}")
        if not 1 <= self.landing_window_minutes <= 60 or 60 % self.landing_window_minutes:
            raise ConfigError(f"landing_window_minutes must divide 60, not {self.landing_window_minutes}")


@dataclass(frozen=True)
class StreamSettings:
    """How the ingestion queries run."""

    trigger: str = "availableNow"  # availableNow | processingTime=<interval>, e.g. processingTime=10 seconds
    # Event Hubs delivers at least once. Duplicates are removed against silver itself (same event date
    # and key), never with a watermark: a late valid event must reach silver (a watermark dropped it).
    # Events stamped further than this after they were enqueued break `timestamp:future`.
    max_future_skew_minutes: int = 15
    # Events stamped longer than this before they were enqueued break `timestamp:too_old` (a phone
    # offline for a few days still uploads; a clock at 1970 does not make gold compute decades).
    max_event_age_days: int = 30
    quality_checks: bool = True

    def __post_init__(self) -> None:
        if self.max_event_age_days < 1 or self.max_future_skew_minutes < 0:
            raise ConfigError("max_event_age_days must be >= 1 and max_future_skew_minutes >= 0")
        if self.trigger != "availableNow" and not self.trigger.startswith("processingTime="):
            raise ConfigError(f"trigger must be availableNow or processingTime=<interval>, not {self.trigger!r}")

    @property
    def continuous(self) -> bool:
        return self.trigger != "availableNow"

    @property
    def interval(self) -> str:
        return self.trigger.partition("=")[2]


@dataclass(frozen=True)
class LakehouseConfig:
    """One environment's lakehouse: where tables live and what they are called."""

    env: Environment = Environment.LOCAL
    storage_root: str = "./lakehouse"
    catalog: str = "spark_catalog"
    schema_prefix: str = ""
    source: SourceConfig = field(default_factory=SourceConfig)
    rules: CirclingRules = field(default_factory=CirclingRules)
    stream: StreamSettings = field(default_factory=StreamSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    gold: GoldSettings = field(default_factory=GoldSettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    timezone: str = "Asia/Manila"

    def __post_init__(self) -> None:
        # Both reach SQL text unquoted (CREATE SCHEMA, every table name): plain identifiers only.
        if not _IDENTIFIER.fullmatch(self.catalog):
            raise ConfigError(f"catalog must be a plain identifier (letters, digits, _), not {self.catalog!r}")
        if not _PREFIX.fullmatch(self.schema_prefix):
            raise ConfigError(f"schema_prefix may hold letters, digits and _ only, not {self.schema_prefix!r}")

    @property
    def is_local(self) -> bool:
        return self.env is Environment.LOCAL

    def schema(self, layer: str) -> str:
        if layer not in LAYERS:
            raise ConfigError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
        return f"{self.schema_prefix}{layer}"

    def schema_name(self, layer: str) -> str:
        """The schema of a layer as SQL names it: `bronze` locally, `<catalog>.<prefix>bronze` on Databricks."""
        return self.schema(layer) if self.is_local else f"{self.catalog}.{self.schema(layer)}"

    def table_name(self, logical: str) -> str:
        """Physical name of a logical table like "silver.activity_events" in this environment.

        Local: `silver.activity_events` in the local catalog; Databricks: `<catalog>.<schema>.<table>`.
        The only place table names are built.
        """
        layer, _, table = logical.partition(".")
        if not table or "." in table:
            raise ConfigError(f"logical table names look like 'layer.table', not {logical!r}")
        return f"{self.schema_name(layer)}.{table}"

    def table_path(self, logical: str) -> str:
        """Storage location of a logical table: `<root>/tables/<layer>/<table>` (one container per layer
        on a lake root with a `{container}` placeholder)."""
        layer, _, table = logical.partition(".")
        self.schema(layer)
        if CONTAINER_PLACEHOLDER in self.storage_root:
            return self.lake_path(layer, table)
        return join_uri(self.storage_root, "tables", layer, table)

    def lake_path(self, container: str, *parts: str) -> str:
        """`<root>/<container>/<parts>` locally; on ADLS Gen2 the root is
        `abfss://{container}@<account>.dfs.core.windows.net` (terraform output `storage_root`), and the
        container (landing, checkpoints, one per layer) takes the placeholder's place."""
        if CONTAINER_PLACEHOLDER in self.storage_root:
            return join_uri(self.storage_root.replace(CONTAINER_PLACEHOLDER, container), *parts)
        return join_uri(self.storage_root, container, *parts)

    def checkpoint_path(self, query_name: str) -> str:
        return self.lake_path("checkpoints", query_name)

    def landing_path(self, hub: str | None = None) -> str:
        return self.lake_path("landing", *([hub] if hub else []))

    def reference_path(self) -> str:
        """Where `zones.csv` and `vehicles.csv` are: uploaded to the lake's landing/reference
        (`parkpal lake upload-reference`), or `<root>/reference` locally (`parkpal simulate` writes them)."""
        if self.is_local:
            return join_uri(self.storage_root, "reference")
        return self.lake_path("landing", "reference")

    def truth_path(self) -> str:
        return join_uri(self.storage_root, "truth")

    def mlflow_tracking_uri(self) -> str:
        if self.forecast.tracking_uri:
            return self.forecast.tracking_uri
        if not self.is_local:
            return "databricks"
        return f"sqlite:///{join_uri(self.storage_root, 'mlflow', 'mlflow.db')}"

    def mlflow_registry_uri(self) -> str:
        if self.forecast.registry_uri:
            return self.forecast.registry_uri
        return "databricks-uc" if not self.is_local else self.mlflow_tracking_uri()

    def mlflow_artifact_location(self) -> str | None:
        """Where a new local experiment keeps its artifacts (Databricks chooses its own)."""
        return join_uri(self.storage_root, "mlflow", "artifacts") if self.is_local else None

    @property
    def forecast_experiment(self) -> str:
        """One MLflow experiment per environment."""
        if self.is_local:
            return "parkpal-local-occupancy-forecaster"
        return f"/Shared/parkpal/{self.env.value}/occupancy_forecaster"

    @property
    def forecast_model_name(self) -> str:
        """Registered model: `<catalog>.<schema>.occupancy_forecaster` in Unity Catalog, plain locally."""
        if self.is_local:
            return "occupancy_forecaster"
        return self.table_name("gold.occupancy_forecaster")

    def with_root(self, storage_root: str | Path) -> LakehouseConfig:
        return replace(self, storage_root=str(storage_root))


def join_uri(root: str, *parts: str) -> str:
    """Join path parts onto a local folder or an `abfss://` URI without mangling the scheme."""
    base = root.rstrip("/")
    return "/".join([base, *[p.strip("/") for p in parts]])


def local_config(storage_root: str | Path = "./lakehouse") -> LakehouseConfig:
    """The embedded default: everything under one local folder, local databases bronze/silver/gold."""
    return LakehouseConfig(env=Environment.LOCAL, storage_root=str(Path(storage_root).resolve()))


def databricks_config(
    env: Environment,
    catalog: str,
    storage_root: str,
    schema_prefix: str = "",
    eventhubs_namespace: str = "",
    secret_scope: str = "parkpal",
) -> LakehouseConfig:
    """A Databricks environment: Unity Catalog names, ADLS Gen2 root, Event Hubs via its Kafka endpoint."""
    if env is Environment.LOCAL:
        raise ConfigError("databricks_config is for dev or prod; use local_config for local runs")
    source = SourceConfig(
        kind="eventhubs",
        eventhubs_namespace=eventhubs_namespace,
        connection_string=SecretRef(secret_scope, EVENTHUBS_LISTEN_SECRET),
        consumer_group=EVENTHUBS_CONSUMER_GROUP,
    )
    gold = GoldSettings(pseudonym_key=SecretRef(secret_scope, PSEUDONYM_KEY_SECRET))
    return LakehouseConfig(
        env=env, storage_root=storage_root, catalog=catalog, schema_prefix=schema_prefix, source=source, gold=gold
    )
