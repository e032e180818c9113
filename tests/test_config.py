import pytest

from parkpal_lakehouse.config import (
    Environment,
    LakehouseConfig,
    SecretRef,
    SourceConfig,
    databricks_config,
    local_config,
)
from parkpal_lakehouse.errors import ConfigError


def test_local_names_use_layer_databases_and_paths_under_the_root(tmp_path):
    config = local_config(tmp_path)
    assert config.table_name("silver.activity_events") == "silver.activity_events"
    assert config.table_path("silver.activity_events") == f"{tmp_path}/tables/silver/activity_events"
    assert config.checkpoint_path("bronze_activity") == f"{tmp_path}/checkpoints/bronze_activity"
    assert config.landing_path("gate-events") == f"{tmp_path}/landing/gate-events"


def test_databricks_names_are_unity_catalog_three_level_names():
    config = databricks_config(Environment.PROD, catalog="parkpal", schema_prefix="",
                               storage_root="abfss://lake@parkpalprod.dfs.core.windows.net/")
    assert config.table_name("gold.zone_metrics_hourly") == "parkpal.gold.zone_metrics_hourly"
    assert config.table_path("gold.zone_metrics_hourly") == (
        "abfss://lake@parkpalprod.dfs.core.windows.net/tables/gold/zone_metrics_hourly"
    )
    assert config.source.kind == "eventhubs"
    assert config.source.connection_string == SecretRef("parkpal", "eventhubs-listen-connection-string")


def test_lake_root_with_container_placeholder_puts_each_kind_in_its_container():
    # terraform output storage_root: one ADLS Gen2 container per layer, landing and checkpoints.
    config = databricks_config(Environment.PROD, catalog="parkpal",
                               storage_root="abfss://{container}@stparkpalprodlake.dfs.core.windows.net")
    lake = "stparkpalprodlake.dfs.core.windows.net"
    assert config.checkpoint_path("silver_gate") == f"abfss://checkpoints@{lake}/silver_gate"
    assert config.landing_path("gate-events") == f"abfss://landing@{lake}/gate-events"
    assert config.reference_path() == f"abfss://landing@{lake}/reference"
    assert config.table_path("gold.zone_metrics_hourly") == f"abfss://gold@{lake}/zone_metrics_hourly"


def test_dev_schema_prefix_gives_per_user_schemas():
    config = databricks_config(Environment.DEV, catalog="parkpal_dev", schema_prefix="dev_ana_",
                               storage_root="abfss://x@y.dfs.core.windows.net")
    assert config.table_name("bronze.activity_events_raw") == "parkpal_dev.dev_ana_bronze.activity_events_raw"


@pytest.mark.parametrize("bad", ["activity_events", "platinum.x", "silver.a.b"])
def test_bad_logical_names_are_named_errors(bad):
    with pytest.raises(ConfigError):
        LakehouseConfig().table_name(bad)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        LakehouseConfig().env = Environment.PROD  # type: ignore[misc]


def test_secret_resolves_from_environment_locally(monkeypatch):
    ref = SecretRef("parkpal", "eventhubs-listen-connection-string")
    monkeypatch.setenv("PARKPAL_SECRET_PARKPAL_EVENTHUBS_LISTEN_CONNECTION_STRING", "Endpoint=sb://x/")
    assert ref.resolve() == "Endpoint=sb://x/"


def test_missing_secret_names_the_variable_to_set(monkeypatch):
    monkeypatch.delenv("PARKPAL_SECRET_PARKPAL_NOPE", raising=False)
    with pytest.raises(ConfigError, match="export PARKPAL_SECRET_PARKPAL_NOPE"):
        SecretRef("parkpal", "nope").resolve()


def test_secret_resolves_through_dbutils_on_databricks():
    class Secrets:
        def get(self, scope, key):
            return f"{scope}:{key}"

    class DbUtils:
        secrets = Secrets()

    assert SecretRef("kv", "conn").resolve(DbUtils()) == "kv:conn"


def test_secret_repr_never_shows_a_value(monkeypatch):
    # A SecretRef holds no value, only where to find one; what must not leak is its local variable name
    # (`env_var`), which tells a reader of a log where the secret sits. Its repr is scope and key alone.
    monkeypatch.setenv("PARKPAL_SECRET_S_K", "supersecret")
    ref = SecretRef("s", "k", env_var="MY_PRIVATE_VAR")
    assert repr(ref) == "SecretRef(scope='s', key='k')"
    shown = repr(SourceConfig(connection_string=ref))
    assert "SecretRef(scope='s', key='k')" in shown and "MY_PRIVATE_VAR" not in shown and "supersecret" not in shown


def test_unknown_source_kind_is_rejected():
    with pytest.raises(ConfigError, match="landing, kafka or eventhubs"):
        SourceConfig(kind="kinesis")


@pytest.mark.parametrize(("changes", "message"), [
    ({"catalog": "parkpal_dev; DROP SCHEMA gold"}, "catalog must be a plain identifier"),
    ({"catalog": "a.b"}, "catalog must be a plain identifier"),
    ({"catalog": ""}, "catalog must be a plain identifier"),
    ({"schema_prefix": "ana`_"}, "schema_prefix may hold letters, digits and _ only"),
    ({"schema_prefix": "x.gold; --"}, "schema_prefix may hold letters, digits and _ only"),
])
def test_names_that_reach_sql_are_plain_identifiers(changes, message):
    with pytest.raises(ConfigError, match=message):
        databricks_config(Environment.DEV, storage_root="abfss://{container}@a.dfs.core.windows.net",
                          **{"catalog": "parkpal_dev", **changes})
