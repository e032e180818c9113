"""`parkpal lake ...`: the ADLS Gen2 lake on Azure (file systems, directories, ACLs, reference upload).

Not a pipeline step: it runs once from an engineer's machine against the storage account, before the
bundle's jobs exist. Each command parses nothing itself (`add_commands` declares the arguments).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _lake(args: argparse.Namespace):
    from parkpal_lakehouse.lake.setup import lake_service, resolve_credential

    return lake_service(args.account, resolve_credential(args.credential))


def cmd_lake_init(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.lake.layout import LakeRoles
    from parkpal_lakehouse.lake.setup import init_lake

    roles = LakeRoles(engineers=args.engineers, analysts=args.analysts, streaming=args.streaming)
    report = init_lake(_lake(args), roles)
    print(f"lake {args.account}: created {len(report.created)} ({', '.join(report.created) or 'nothing'}), "
          f"already there {len(report.existing)}; ACLs set on {', '.join(report.acls)}")
    return 0


def cmd_lake_upload_reference(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.contracts.reference import sample_reference_dir
    from parkpal_lakehouse.lake.setup import upload_reference

    paths = upload_reference(_lake(args), args.folder or sample_reference_dir())
    print("uploaded " + ", ".join(paths))
    return 0


def cmd_lake_status(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.lake.setup import lake_status

    status = lake_status(_lake(args))
    print(f"{'container':<13}{'exists':>8}{'files':>10}{'bytes':>16}")
    for s in status:
        print(f"{s.container:<13}{'yes' if s.exists else 'no':>8}{s.files:>10,}{s.bytes:>16,}")
    return 0


def add_commands(sub: argparse._SubParsersAction, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lake", help="ADLS Gen2 lake setup on Azure: file systems, directories, ACLs")
    lake = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=parser_class)
    for action, helptext, func in (
        ("init", "create the containers and directories and apply the ACLs per role (idempotent)", cmd_lake_init),
        ("upload-reference", "upload the reference CSVs to landing/reference/", cmd_lake_upload_reference),
        ("status", "list the containers with their file counts and sizes", cmd_lake_status),
    ):
        p = lake.add_parser(action, help=helptext)
        p.add_argument("--account", required=True, help="storage account name (terraform output storage_account)")
        p.add_argument("--credential", default="default",
                       help="'default' (Entra ID: az login, managed identity, service principal env) or "
                            "'env:VAR' (a SAS token or account key in environment variable VAR)")
        if action == "init":
            for role in ("engineers", "analysts", "streaming"):
                p.add_argument(f"--{role}", required=True, help=f"Entra ID object id of the {role} group/identity")
        if action == "upload-reference":
            p.add_argument("--folder", type=Path, default=None, help="folder with zones.csv and vehicles.csv "
                                                                     "(default: the packaged sample city)")
        p.set_defaults(func=func)
