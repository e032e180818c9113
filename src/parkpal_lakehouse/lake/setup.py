"""Stand the lake up on ADLS Gen2 with `azure-storage-file-datalake`: idempotent init, reference upload,
status. Every call goes through a `DataLakeServiceClient`, so tests can hand it a recording transport.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError
from azure.storage.filedatalake import DataLakeServiceClient

from parkpal_lakehouse.config import LAKE_CONTAINERS
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.lake.layout import DIRECTORIES, LakeRoles, container_acl

REFERENCE_FILES = ("zones.csv", "vehicles.csv")
OPTIONAL_REFERENCE_FILES = ("street_counts.csv",)


def account_url(account: str) -> str:
    """`https://<account>.dfs.core.windows.net` from an account name (or a URL, returned as is)."""
    if account.startswith("https://"):
        return account.rstrip("/")
    if not account.isalnum() or not account.islower() or not 3 <= len(account) <= 24:
        raise ConfigError(f"--account must be a storage account name (3-24 lowercase letters/digits), not {account!r}")
    return f"https://{account}.dfs.core.windows.net"


def resolve_credential(spec: str) -> Any:
    """`default`: Entra ID through azure-identity (az login, managed identity, service principal env);
    `env:NAME`: a SAS token or account key read from environment variable NAME (never from the command line)."""
    if spec == "default":
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()
    if spec.startswith("env:"):
        name = spec[4:]
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"--credential {spec}: environment variable {name} is not set")
        return value
    raise ConfigError(f"--credential must be 'default' or 'env:VARIABLE', not {spec!r}")


def lake_service(account: str, credential: Any, **client_options: Any) -> DataLakeServiceClient:
    return DataLakeServiceClient(account_url(account), credential=credential, **client_options)


@dataclass
class LakeInitReport:
    created: list[str] = field(default_factory=list)  # file systems and directories made now
    existing: list[str] = field(default_factory=list)  # already there (409): left as they were
    acls: dict[str, str] = field(default_factory=dict)  # container -> ACL applied


def init_lake(service: DataLakeServiceClient, roles: LakeRoles) -> LakeInitReport:
    """Create the file systems and directories and set the ACLs; safe to run again."""
    report = LakeInitReport()
    for container in LAKE_CONTAINERS:
        fs = service.get_file_system_client(container)
        try:
            fs.create_file_system()
            report.created.append(container)
        except ResourceExistsError:
            report.existing.append(container)
        for directory in DIRECTORIES[container]:
            try:
                # If-None-Match: * : an existing directory answers 409 and is left untouched.
                fs.create_directory(directory, match_condition=MatchConditions.IfMissing)
                report.created.append(f"{container}/{directory}")
            except ResourceExistsError:
                report.existing.append(f"{container}/{directory}")
        acl = container_acl(container, roles)
        # Root and everything already below it: the access and default ACLs, recursively.
        fs.get_directory_client("/").update_access_control_recursive(acl=acl)
        report.acls[container] = acl
    return report


def upload_reference(service: DataLakeServiceClient, folder: Path) -> list[str]:
    """Upload zones.csv and vehicles.csv (and street_counts.csv, if there) to `landing/reference/`
    (overwriting); returns the paths."""
    missing = [name for name in REFERENCE_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{folder} lacks {', '.join(missing)}")
    fs = service.get_file_system_client("landing")
    paths = []
    for name in REFERENCE_FILES + tuple(n for n in OPTIONAL_REFERENCE_FILES if (folder / n).is_file()):
        path = f"reference/{name}"
        fs.get_file_client(path).upload_data((folder / name).read_bytes(), overwrite=True)
        paths.append(f"landing/{path}")
    return paths


@dataclass(frozen=True)
class LayerStatus:
    container: str
    exists: bool
    files: int
    bytes: int


def lake_status(service: DataLakeServiceClient, containers: Iterable[str] = LAKE_CONTAINERS) -> list[LayerStatus]:
    """Per container: whether it exists, how many files and bytes are below it."""
    present = {fs.name for fs in service.list_file_systems()}
    out = []
    for container in containers:
        if container not in present:
            out.append(LayerStatus(container, False, 0, 0))
            continue
        files = [p for p in service.get_file_system_client(container).get_paths(recursive=True) if not p.is_directory]
        out.append(LayerStatus(container, True, len(files), sum(p.content_length or 0 for p in files)))
    return out
