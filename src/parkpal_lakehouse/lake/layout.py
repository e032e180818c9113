"""The lake's shape on ADLS Gen2: file systems, directories and POSIX ACLs per role (pure data).

Containers are `config.LAKE_CONTAINERS`. Roles are Entra ID object ids (groups or managed identities):
- engineers: read-write bronze and silver (and ops, which lives in silver), read landing and gold;
- analysts: read gold;
- streaming: the identity the streaming and hourly jobs run as: write landing, bronze, checkpoints,
  silver and gold (the pipeline writes every layer).
Each grant is set as an access ACL on the container root and as a default ACL, so files created later
inherit it; read grants need execute (`x`) to traverse directories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parkpal_lakehouse.config import HUBS, LAKE_CONTAINERS
from parkpal_lakehouse.errors import ConfigError

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
READ, WRITE = "r-x", "rwx"


@dataclass(frozen=True)
class LakeRoles:
    engineers: str
    analysts: str
    streaming: str

    def __post_init__(self) -> None:
        for role, value in (("engineers", self.engineers), ("analysts", self.analysts),
                            ("streaming", self.streaming)):
            if not _OBJECT_ID.match(value):
                raise ConfigError(f"--{role} must be an Entra ID object id (a GUID), not {value!r}")


# container -> {role: permission}
GRANTS: dict[str, dict[str, str]] = {
    "landing": {"streaming": WRITE, "engineers": READ},
    "bronze": {"streaming": WRITE, "engineers": WRITE},
    "silver": {"streaming": WRITE, "engineers": WRITE},
    "gold": {"streaming": WRITE, "engineers": READ, "analysts": READ},
    "checkpoints": {"streaming": WRITE, "engineers": READ},
}

# Directories made up front: one landing folder per hub (Event Hubs Capture writes below them) and
# the reference data's folder.
DIRECTORIES: dict[str, tuple[str, ...]] = {
    "landing": (*HUBS, "reference"),
    "bronze": (),
    "silver": (),
    "gold": (),
    "checkpoints": (),
}


def container_acl(container: str, roles: LakeRoles) -> str:
    """The POSIX ACL of a container's root: owner rwx, nobody else, then each role's grant, access and default."""
    if container not in LAKE_CONTAINERS:
        raise ConfigError(f"unknown lake container {container!r}; expected one of {', '.join(LAKE_CONTAINERS)}")
    entries = ["user::rwx", "group::r-x", "mask::rwx", "other::---"]
    grants = [f"group:{getattr(roles, role)}:{perm}" for role, perm in sorted(GRANTS[container].items())]
    return ",".join(entries + grants + [f"default:{e}" for e in entries + grants])
