"""City names resolve offline; unknown places are named in the error."""

import pytest

from backend.services.errors import Invalid
from backend.services.places import bounding_box, haversine_km, place_from, resolve_city


@pytest.mark.parametrize(
    "text, name, region",
    [
        ("Chicago", "Chicago", "IL"),
        ("chicago, il", "Chicago", "IL"),
        ("Portland", "Portland", "OR"),
        ("Portland ME", "Portland", "ME"),
        ("Portland, Maine", "Portland", "ME"),
        ("NYC", "New York City", "NY"),
        ("São Paulo", "São Paulo", "27"),
        ("Menlo Park", "Menlo Park", "CA"),  # its own name beats an alias of Edison, NJ
        ("Orinda", "Orinda", "CA"),  # not Olinda, Brazil
    ],
)
def test_cities(text, name, region):
    place = resolve_city(text)
    assert (place.name, place.region) == (name, region)
    assert place.timezone


def test_unknown_place_is_invalid_and_named():
    with pytest.raises(Invalid) as err:
        resolve_city("Xyzzyville")
    assert err.value.field == "city" and "Xyzzyville" in err.value.message


def test_coordinates_win_and_are_checked():
    assert place_from("Chicago", 10.0, 20.0).lat == 10.0
    with pytest.raises(Invalid):
        place_from(None, 91.0, 0.0)
    with pytest.raises(Invalid):
        place_from(None, 10.0, None)
    with pytest.raises(Invalid):
        place_from(None, None, None)


def test_distance_and_box():
    chicago, houston = resolve_city("Chicago"), resolve_city("Houston")
    assert (
        1500 < haversine_km(chicago.lat, chicago.lon, houston.lat, houston.lon) < 1560
    )
    lo_lat, hi_lat, lo_lon, hi_lon = bounding_box(chicago.lat, chicago.lon, 30)
    assert lo_lat < chicago.lat < hi_lat and lo_lon < chicago.lon < hi_lon
