"""The repository's bundle, and a scratch copy of it (with the notebooks and pyproject.toml) to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "jobs" / "databricks.yml"


class BundleCopy:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "jobs" / "databricks.yml"

    def edit(self, relative: str, change) -> None:
        """Load a YAML file of the copy, let `change` mutate it, write it back."""
        path = self.root / "jobs" / relative
        document = yaml.safe_load(path.read_text())
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture
def bundle_copy(tmp_path: Path) -> BundleCopy:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "jobs", root / "jobs")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return BundleCopy(root)
