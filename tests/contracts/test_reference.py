import pytest

from parkpal_lakehouse.contracts.reference import load_vehicles, load_zones, zones_df
from parkpal_lakehouse.errors import EventContractError


def test_packaged_sample_city_loads():
    zones, vehicles = load_zones(), load_vehicles()
    assert len(zones) == 12 and len({z.zoneId for z in zones}) == 12
    assert {z.zoneType for z in zones} <= {"STREET", "LOT", "GARAGE"}
    assert all(z.capacity > 0 and z.radiusM > 0 and z.currency == "PHP" for z in zones)
    assert len({v.licensePlate for v in vehicles}) == len(vehicles)


def test_zones_load_into_spark_with_snake_case_columns(spark):
    df = zones_df(spark)
    assert df.columns[:4] == ["zone_id", "name", "city", "zone_type"]
    assert df.count() == 12
    assert df.filter("capacity <= 0").count() == 0


def test_missing_reference_file_is_a_named_error(tmp_path):
    with pytest.raises(EventContractError, match="not found"):
        load_zones(tmp_path / "nope.csv")


def test_reference_file_missing_columns_says_which(tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text("zoneId,name\n1,x\n")
    with pytest.raises(EventContractError, match="capacity"):
        load_zones(path)


def test_reference_file_with_bad_capacity_is_rejected(tmp_path):
    src = load_zones()
    path = tmp_path / "zones.csv"
    header = "zoneId,name,city,zoneType,operator,capacity,latitude,longitude,radiusM,hourlyRate,currency\n"
    path.write_text(header + f"1,A,Makati,STREET,LGU,0,{src[0].latitude},{src[0].longitude},100,40,PHP\n")
    with pytest.raises(EventContractError, match="capacity"):
        load_zones(path)
