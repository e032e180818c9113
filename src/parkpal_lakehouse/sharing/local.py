"""`parkpal share serve` locally: publish the share tables, start the server, hand out profile files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.sharing.definition import ShareDefinition
from parkpal_lakehouse.sharing.profiles import ensure_profiles
from parkpal_lakehouse.sharing.publish import PublishedTable, publish_shares
from parkpal_lakehouse.sharing.server import SharingServer, SharingService
from parkpal_lakehouse.sharing.tokens import DEFAULT_TOKEN_DAYS, TokenStore


def sharing_dir(config: LakehouseConfig) -> Path:
    return Path(config.storage_root) / "sharing"


def token_store(config: LakehouseConfig) -> TokenStore:
    return TokenStore(sharing_dir(config) / "recipients.json")


def profiles_dir(config: LakehouseConfig) -> Path:
    return sharing_dir(config) / "profiles"


@dataclass
class LocalSharing:
    server: SharingServer
    profiles: dict[str, Path]
    published: list[PublishedTable]

    def stop(self) -> None:
        self.server.stop()


def start_local_sharing(spark: SparkSession, config: LakehouseConfig, definition: ShareDefinition,
                        host: str = "127.0.0.1", port: int = 0, publish: bool = True,
                        lifetime: timedelta = timedelta(days=DEFAULT_TOKEN_DAYS)) -> LocalSharing:
    published = publish_shares(spark, config, definition) if publish else []
    service = SharingService(spark, definition, sharing_dir(config), token_store(config))
    server = SharingServer(service, host, port).start()
    profiles = ensure_profiles(service.tokens, definition, profiles_dir(config), server.endpoint, lifetime)
    return LocalSharing(server, profiles, published)
