"""The room finder's cache query on Azurite: one partition query, every filter a parameter."""

import pytest

from shared.models import Room
from shared.storage import base
from shared.storage.rooms import TABLE, Rooms
from tests.conftest import new_id

pytestmark = pytest.mark.integration

ROOMS = [
    Room("a@t.test", "A", 4, "Tokyo HQ", "1F", "tokyo@t.test", True),
    Room("b@t.test", "B", 8, "Tokyo HQ", "2F", "tokyo@t.test", False),
    Room("c@t.test", "C", 12, "Osaka", "2F", "osaka@t.test", True),
    Room("d@t.test", "D", None, "Osaka", "1F", "osaka@t.test", None),
    Room("e@t.test", "E", 20, "Tokyo HQ", "1F", "tokyo@t.test", True, bookable=False),
    Room("f@t.test", "F'; x or ''eq'", 6, 'O\'Brien "House" or true', "1F", None, True),
]


@pytest.fixture
def tenant(storage):
    tenant = new_id("tenant")
    Rooms().apply(tenant, ROOMS, [])
    return tenant


def emails(rooms: list[Room]) -> set[str]:
    return {r.email[0] for r in rooms}


def test_bookable_rooms_without_filters(tenant):
    assert emails(Rooms().find(tenant)) == set("abcdf")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"min_capacity": 8}, "bc"),  # d's capacity is unknown: it cannot be known to fit
        ({"min_capacity": 5}, "bcf"),
        ({"building": "Tokyo HQ"}, "ab"),
        ({"floor": "2F"}, "bc"),
        ({"room_list": "osaka@t.test"}, "cd"),
        ({"wheelchair_accessible": True}, "acf"),
        ({"wheelchair_accessible": False}, "b"),
        ({"building": "Tokyo HQ", "floor": "1F", "wheelchair_accessible": True, "min_capacity": 2}, "a"),
        ({"building": "Nowhere"}, ""),
    ],
)
def test_every_given_filter_must_match(tenant, filters, expected):
    assert emails(Rooms().find(tenant, **filters)) == set(expected)


def test_filter_values_are_parameters_not_text(tenant):
    # A value full of quotes and OData words matches only itself.
    assert emails(Rooms().find(tenant, building='O\'Brien "House" or true')) == {"f"}
    assert Rooms().find(tenant, building="x' or PartitionKey ne '") == []


def test_rows_cached_before_bookable_existed_count_as_bookable(tenant):
    from azure.data.tables import UpdateMode

    from shared.storage.connection import table
    from shared.storage.rooms import to_entity

    legacy = to_entity(tenant, Room("g@t.test", "G", 6, "Osaka", "3F", None))
    del legacy["bookable"]
    table(TABLE).upsert_entity(legacy, mode=UpdateMode.REPLACE)
    assert "bookable" not in base.read(TABLE, tenant, "g@t.test")
    assert "g" in emails(Rooms().find(tenant, building="Osaka"))


def test_other_tenants_rooms_are_not_found(tenant, storage):
    other = new_id("tenant")
    Rooms().apply(other, [Room("z@t.test", "Z", 4, "Tokyo HQ", "1F", None)], [])
    assert "z" not in emails(Rooms().find(tenant, building="Tokyo HQ"))
    assert emails(Rooms().find(other)) == {"z"}
