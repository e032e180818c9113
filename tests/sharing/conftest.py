"""One published sharing server over the small city for the server tests (publishing takes a while)."""

from __future__ import annotations

import pytest

from parkpal_lakehouse.sharing.definition import ShareDefinition, load_definition
from parkpal_lakehouse.sharing.local import start_local_sharing

RECIPIENTS = ("makati-city", "taguig-city")


@pytest.fixture(scope="package")
def sharing(spark, gold_city):
    config, _ = gold_city
    packaged = load_definition()
    definition = ShareDefinition(packaged.tables, tuple(packaged.recipient(n) for n in RECIPIENTS))
    local = start_local_sharing(spark, config, definition)
    yield config, definition, local
    local.stop()
