"""The forecasting histories: an hourly operator export and half-hourly car-park readings, each
with the defects real feeds have, checked against the truth they were made from."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from parkpal_lakehouse.simulator.city import make_city
from parkpal_lakehouse.simulator.history import car_park_export, occupancy_history, write_history
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import zone_occupancy_hourly
from parkpal_lakehouse.simulator.world import Window, simulate_visits

SETTINGS = SimulationSettings(seed=3, zones=10, users=1200)


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return occupancy_history(SETTINGS, weeks=3)


def test_history_reports_every_vehicle_as_gold_does(truth):
    # Street zones too: gold's all-driver estimate aims at every vehicle, not the app users' share.
    earlier = replace(SETTINGS, start_date=SETTINGS.start_date - timedelta(weeks=3), days=21)
    city = make_city(SETTINGS.zones, SETTINGS.users, random.Random(f"{SETTINGS.seed}-world"))
    hourly = zone_occupancy_hourly(simulate_visits(city, earlier, random.Random(f"{SETTINGS.seed}-history")),
                                   city.zones, Window.of(earlier))
    joined = truth.merge(hourly, on=["zone_id", "hour_start"])
    assert len(joined) == len(truth) and set(truth.zone_type) >= {"STREET", "LOT"}
    assert (joined.occupied == joined.occupied_avg).all()
    street = joined[joined.zone_type_x == "STREET"]
    assert (street.occupied > street.app_occupied_avg).any()  # not the app users' count


def test_car_parks_read_half_hourly_while_open_in_local_time(truth):
    readings = car_park_export(truth, seed=3)
    assert list(readings.columns) == ["SystemCodeNumber", "Capacity", "Occupancy", "LastUpdated"]
    at = pd.to_datetime(readings.LastUpdated)
    minutes = at.dt.hour * 60 + at.dt.minute + at.dt.second / 60
    assert minutes.between(7 * 60 + 26, 16 * 60 + 34).all()  # 07:30-16:30, up to 4 minutes off
    parks = truth[truth.zone_type != "STREET"].zone_id.nunique()
    assert readings.SystemCodeNumber.nunique() == parks  # car parks only, every one of them
    days = at.dt.date.nunique()
    per_park_day = readings.drop_duplicates().groupby(["SystemCodeNumber", at.dt.date]).size()
    assert per_park_day.max() == 19 and per_park_day.median() == 19  # 07:30, 08:00 ... 16:30
    assert len(per_park_day) < parks * days  # some days are missing


def test_car_park_readings_follow_the_truth_and_carry_defects(truth):
    readings = car_park_export(truth, seed=3)
    assert readings.duplicated().sum() > 0
    assert (readings.Occupancy < 0).sum() > 0 and (readings.Occupancy > readings.Capacity).sum() > 0
    # A sane reading is the true occupancy around it: compare with the truth of its hour.
    sane = readings[(readings.Occupancy >= 0) & (readings.Occupancy <= readings.Capacity)].copy()
    sane["hour_start"] = (pd.to_datetime(sane.LastUpdated).dt.tz_localize("Asia/Manila").dt.tz_convert("UTC")
                          .dt.floor("h"))
    sane["zone_id"] = sane.SystemCodeNumber.str.removeprefix("PARK").astype(int)
    joined = sane.merge(truth[["zone_id", "hour_start", "occupied"]], on=["zone_id", "hour_start"])
    assert len(joined) > 0.9 * len(sane)
    assert (joined.Occupancy - joined.occupied).abs().median() < 0.1 * joined.Capacity.median()


def test_write_history_names_the_profile(tmp_path):
    with pytest.raises(ValueError, match="history profile must be one of hourly, car-parks"):
        write_history(SETTINGS, 1, tmp_path, "weekly")
