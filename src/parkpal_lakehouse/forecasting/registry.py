"""MLflow wiring: the environment's experiment, the registered model and its aliases.

Locally tracking and registry are one sqlite file under the storage root; on Databricks the
workspace tracking server and the Unity Catalog registry (`databricks-uc`), where the model is
`<catalog>.<schema>.occupancy_forecaster`. Aliases: `challenger` (the newest trained version) and
`champion` (the version batch inference loads: `models:/<name>@champion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Registry:
    client: MlflowClient
    model_name: str
    experiment_id: str

    def version(self, alias: str) -> ModelVersion | None:
        try:
            return self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException:
            return None

    def require(self, alias: str, hint: str) -> ModelVersion:
        found = self.version(alias)
        if found is None:
            raise ParkPalError(f"no {alias} yet for model {self.model_name}: {hint}")
        return found

    def model_uri(self, alias: str) -> str:
        return f"models:/{self.model_name}@{alias}"

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.model_name, alias, version)


def open_registry(config: LakehouseConfig) -> Registry:
    """Point MLflow at the environment's tracking server and registry; create the experiment."""
    tracking = config.mlflow_tracking_uri()
    if tracking.startswith("sqlite:///"):
        Path(tracking.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(config.mlflow_registry_uri())
    client = MlflowClient(tracking_uri=tracking, registry_uri=config.mlflow_registry_uri())
    experiment = client.get_experiment_by_name(config.forecast_experiment)
    if experiment is None:
        location = config.mlflow_artifact_location()
        if location and "://" not in location:
            location = Path(location).resolve().as_uri()
        experiment_id = client.create_experiment(config.forecast_experiment, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    return Registry(client, config.forecast_model_name, experiment_id)
