"""The room cache on Azurite: delta writes and the 100-operation transaction limit."""

import pytest

from shared.models import Room
from shared.storage.rooms import Rooms
from tests.conftest import new_id

pytestmark = pytest.mark.integration


def rooms(n: int, *, capacity: int = 6) -> list[Room]:
    return [
        Room(f"Room{i:03}@contoso.test", f"Room {i}", capacity, "HQ", f"{1 + i // 10}F", "hq@contoso.test")
        for i in range(n)
    ]


def test_250_rooms_are_written_in_transactions_of_at_most_100(storage, monkeypatch):
    from azure.data.tables import TableClient

    sizes: list[int] = []
    original = TableClient.submit_transaction

    def spy(self, operations, **kwargs):
        operations = list(operations)
        sizes.append(len(operations))
        return original(self, operations, **kwargs)

    monkeypatch.setattr(TableClient, "submit_transaction", spy)
    tenant = new_id("tenant")
    assert Rooms().apply(tenant, rooms(250), []) == 250
    assert sizes == [100, 100, 50]
    cached = Rooms().list(tenant)
    assert len(cached) == 250 and sorted(r.email for r in cached) == sorted(r.email for r in rooms(250))
    assert next(r for r in cached if r.email == "Room007@contoso.test") == rooms(250)[7]


def test_deletes_and_repeats_are_harmless(storage):
    tenant = new_id("tenant")
    Rooms().apply(tenant, rooms(5), [])
    gone = ["Room003@contoso.test", "Room004@contoso.test"]
    Rooms().apply(tenant, [], gone)
    # A twin run repeats the same deletes (rows already gone): no error, same result.
    Rooms().apply(tenant, [], gone)
    assert sorted(r.email for r in Rooms().list(tenant)) == [f"Room{i:03}@contoso.test" for i in range(3)]


def test_null_capacity_and_floor_round_trip(storage):
    tenant = new_id("tenant")
    room = Room("lobby@contoso.test", "Lobby", None, None, None, None)
    Rooms().apply(tenant, [room], [])
    assert Rooms().list(tenant) == [room]


def test_delete_tenant_removes_the_partition(storage):
    tenant = new_id("tenant")
    Rooms().apply(tenant, rooms(120), [])
    assert Rooms().delete_tenant(tenant) == 120
    assert Rooms().list(tenant) == []
