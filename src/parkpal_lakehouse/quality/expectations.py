"""Quality expectations as data: a great-expectations expectation plus a policy, like Lakeflow's
`expect` / `expect_or_drop` / `expect_or_fail`.

- `warn`: record the result, keep every row.
- `drop`: rows failing `passes` leave the table for quarantine with reason `quality:<name>`.
- `fail`: a failing expectation stops the stream before anything of that batch is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import great_expectations.expectations as gxe
from pyspark.sql import Column
from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import (
    ACTIVITY_TYPES,
    GATE_EVENT_TYPES,
    PAYMENT_STATUSES,
    TRANSITIONS,
)


class Policy(StrEnum):
    WARN = "warn"
    DROP = "drop"
    FAIL = "fail"


@dataclass(frozen=True)
class Expectation:
    name: str
    build: Callable[[], gxe.Expectation]
    policy: Policy
    passes: Callable[[], Column] | None = None  # row predicate; required for `drop`

    def __post_init__(self) -> None:
        if self.policy is Policy.DROP and self.passes is None:
            raise ValueError(f"expectation {self.name} drops rows, so it needs a row predicate")


# The Philippines' bounding box: a position outside it (often 0,0, "null island") is a GPS fault.
PH_LAT, PH_LON = (4.0, 22.0), (116.0, 127.5)


def _in_philippines() -> Column:
    return F.col("latitude").between(*PH_LAT) & F.col("longitude").between(*PH_LON)


def _position_rules(prefix: str) -> tuple[Expectation, ...]:
    return (
        Expectation(f"{prefix}_latitude_in_philippines",
                    lambda: gxe.ExpectColumnValuesToBeBetween(column="latitude", min_value=PH_LAT[0],
                                                              max_value=PH_LAT[1]),
                    Policy.DROP, _in_philippines),
        Expectation(f"{prefix}_longitude_in_philippines",
                    lambda: gxe.ExpectColumnValuesToBeBetween(column="longitude", min_value=PH_LON[0],
                                                              max_value=PH_LON[1]),
                    Policy.DROP, _in_philippines),
    )


SILVER_SUITES: dict[str, tuple[Expectation, ...]] = {
    "silver.activity_events": (
        Expectation("activity_user_present", lambda: gxe.ExpectColumnValuesToNotBeNull(column="user_id"),
                    Policy.FAIL),
        Expectation("activity_event_time_present",
                    lambda: gxe.ExpectColumnValuesToNotBeNull(column="event_time"), Policy.FAIL),
        Expectation("activity_type_known",
                    lambda: gxe.ExpectColumnValuesToBeInSet(column="activity_type", value_set=list(ACTIVITY_TYPES)),
                    Policy.FAIL),
        Expectation("activity_confidence_0_100",
                    lambda: gxe.ExpectColumnValuesToBeBetween(column="confidence", min_value=0, max_value=100),
                    Policy.FAIL),
        # Phones report mostly confident readings; a low mean hints at a broken app release.
        Expectation("activity_mean_confidence_plausible",
                    lambda: gxe.ExpectColumnMeanToBeBetween(column="confidence", min_value=50, max_value=100),
                    Policy.WARN),
        *_position_rules("activity"),
    ),
    "silver.geofence_events": (
        Expectation("geofence_user_present", lambda: gxe.ExpectColumnValuesToNotBeNull(column="user_id"),
                    Policy.FAIL),
        Expectation("geofence_zone_present", lambda: gxe.ExpectColumnValuesToNotBeNull(column="zone_id"),
                    Policy.FAIL),
        Expectation("geofence_transition_known",
                    lambda: gxe.ExpectColumnValuesToBeInSet(column="transition", value_set=list(TRANSITIONS)),
                    Policy.FAIL),
        *_position_rules("geofence"),
    ),
    "silver.gate_events": (
        Expectation("gate_event_type_known",
                    lambda: gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(GATE_EVENT_TYPES)),
                    Policy.FAIL),
        Expectation("gate_event_id_unique", lambda: gxe.ExpectColumnValuesToBeUnique(column="event_id"),
                    Policy.WARN),
        Expectation("gate_amount_not_negative",
                    lambda: gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0), Policy.FAIL),
        Expectation("gate_payment_status_known",
                    lambda: gxe.ExpectColumnValuesToBeInSet(column="payment_status",
                                                            value_set=list(PAYMENT_STATUSES)), Policy.FAIL),
        # Plate reads below 0.5 are usually wrong; they still count, but operators want to know.
        Expectation("gate_plate_confidence_readable",
                    lambda: gxe.ExpectColumnValuesToBeBetween(column="plate_confidence", min_value=0.5,
                                                              max_value=1.0), Policy.WARN),
        Expectation("gate_plate_format",
                    lambda: gxe.ExpectColumnValuesToMatchRegex(column="license_plate",
                                                               regex=r"^[A-Z]{2,3} ?[0-9]{3,4}$"), Policy.WARN),
    ),
}
