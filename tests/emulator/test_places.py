"""Graph places of the emulator: no @odata.nextLink, $top/$skip/$count paging, room properties."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import Client, assert_graph_error
from .conftest import SCOPES

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
AIKO = seed.UPN[seed.AIKO_ID]
LIST = "/places/{}@" + seed.CONTOSO_DOMAIN + "/microsoft.graph.roomlist/rooms"


@pytest.fixture
def admin(emu):
    assert emu.admin_consent(AIKO).status_code == 302
    return Client(emu, AIKO, scopes=SCOPES + ["Place.Read.All"])


def test_places_give_100_and_no_next_link(emu, admin):
    """issues 341, 6252, 7196 (microsoft-graph-docs-contrib), 2190 (msgraph-sdk-dotnet): a client
    that follows nextLink only gets 100 rooms."""
    body = admin.call("GET", "/places/microsoft.graph.room").json()
    assert body["@odata.context"] == f"{emu.base}/v1.0/$metadata#places/microsoft.graph.room"
    assert len(body["value"]) == 100 and "@odata.nextLink" not in body
    one = admin.call("GET", "/places/microsoft.graph.room", params={"$top": "1", "$count": "true"}).json()
    assert len(one["value"]) == 1 and one["@odata.count"] == 250 and "@odata.nextLink" not in one
    tokyo = admin.call("GET", LIST.format("tokyo-hq")).json()  # a list of 120 rooms
    assert len(tokyo["value"]) == 100 and "@odata.nextLink" not in tokyo
    lists = admin.call("GET", "/places/microsoft.graph.roomList", params={"$top": "2"}).json()
    assert len(lists["value"]) == 2 and "@odata.nextLink" not in lists
    lists = admin.call("GET", "/places/microsoft.graph.roomList").json()["value"]
    assert [rl["emailAddress"] for rl in lists] == [
        f"{slug}@{seed.CONTOSO_DOMAIN}" for slug in ("tokyo-hq", "osaka", "fukuoka")
    ]


def test_walking_skip_reads_every_room(emu, admin):
    rooms, skip = [], 0
    while True:
        page = admin.call(
            "GET", "/places/microsoft.graph.room", params={"$top": "100", "$skip": str(skip), "$count": "true"}
        ).json()
        rooms += page["value"]
        assert page["@odata.count"] == 250
        if len(page["value"]) < 100:
            break
        skip += 100
    assert len(rooms) == 250 and len({r["emailAddress"] for r in rooms}) == 250
    assert admin.call("GET", "/places/microsoft.graph.room", params={"$skip": "300"}).json()["value"] == []
    # No maximum page size is known: one large page holds them all (msgraph-sdk-dotnet 2190).
    assert len(admin.call("GET", "/places/microsoft.graph.room", params={"$top": "10000"}).json()["value"]) == 250
    tokyo = admin.call("GET", LIST.format("tokyo-hq"), params={"$top": "999", "$count": "true"}).json()
    assert len(tokyo["value"]) == tokyo["@odata.count"] == 120
    fukuoka = admin.call("GET", LIST.format("fukuoka"), params={"$skip": "40"}).json()
    assert [r["emailAddress"].split("@")[0] for r in fukuoka["value"]] == [
        f"fukuoka-room{n:03d}" for n in range(41, 51)
    ]
    assert_graph_error(admin.call("GET", "/places/microsoft.graph.room", params={"$top": "0"}), 400, "BadRequest")


def test_room_properties(emu, admin):
    rooms = admin.call("GET", "/places/microsoft.graph.room", params={"$top": "250"}).json()["value"]
    for field in (
        "id",
        "emailAddress",
        "displayName",
        "capacity",
        "building",
        "floorLabel",
        "floorNumber",
        "bookingType",
        "isWheelChairAccessible",
        "tags",
        "address",
    ):
        assert field in rooms[0]
    assert "roomListEmailAddress" not in rooms[0]
    reserved = sorted(r["emailAddress"].split("@")[0] for r in rooms if r["bookingType"] == "reserved")
    assert reserved == [
        "fukuoka-room040",
        "osaka-room040",
        "osaka-room080",
        "tokyo-hq-room040",
        "tokyo-hq-room080",
        "tokyo-hq-room120",
    ]
    assert {r["bookingType"] for r in rooms} == {"standard", "reserved"}
    assert sum(r["isWheelChairAccessible"] for r in rooms) == 40 + 26 + 16
    assert any("video" in r["tags"] for r in rooms) and any("whiteboard" in r["tags"] for r in rooms)
    assert sum(r["capacity"] is None for r in rooms) == 2
    # The first 100 rooms are all in Tokyo: a nextLink-only client never sees Osaka or Fukuoka.
    first = admin.call("GET", "/places/microsoft.graph.room").json()["value"]
    assert {r["building"] for r in first} == {"Tokyo HQ"}
    sel = admin.call("GET", "/places/microsoft.graph.room", params={"$select": "emailAddress,bookingType"}).json()
    assert set(sel["value"][0]) == {"id", "emailAddress", "bookingType"}
    assert_graph_error(admin.call("GET", LIST.format("nowhere")), 404, "ErrorItemNotFound")


def test_the_hierarchy_holds_the_building_of_rooms_that_name_none(emu, admin):
    """resources/room.md (2026-09): parentId links a room to its floor or section; floors and
    sections lead up to the building (GET /places/microsoft.graph.building, .floor, .section)."""
    rooms = admin.call("GET", "/places/microsoft.graph.room", params={"$top": "999"}).json()["value"]
    places = {
        kind: {p["id"]: p for p in admin.call("GET", f"/places/microsoft.graph.{kind}").json()["value"]}
        for kind in ("building", "floor", "section")
    }
    assert {b["displayName"] for b in places["building"].values()} == {"Tokyo HQ", "Osaka Office", "Fukuoka Office"}
    room = next(r for r in rooms if r["emailAddress"].startswith("fukuoka-room015@"))  # 2F: under a section
    assert room["building"] is None and room["parentId"] in places["section"]
    floor = places["floor"][places["section"][room["parentId"]]["parentId"]]
    assert places["building"][floor["parentId"]]["displayName"] == "Fukuoka Office"
    first_floor = next(r for r in rooms if r["emailAddress"].startswith("fukuoka-room001@"))
    assert places["floor"][first_floor["parentId"]]["displayName"] == "Fukuoka Office 1F"
    one = admin.call("GET", "/places/microsoft.graph.floor", params={"$top": "1", "$count": "true"}).json()
    assert len(one["value"]) == 1 and one["@odata.count"] == 25 and "@odata.nextLink" not in one


def test_places_not_set_up_answer_empty(emu, admin):
    """places-api-overview.md: the list APIs "do not return any places" until Places is set up
    (microsoft-graph-docs issue 7475: the cache is built per tenant): 200 and an empty list."""
    assert emu.control("POST", f"tenants/{seed.CONTOSO_TENANT_ID}/places", json={"enabled": False}) == {
        "enabled": False
    }
    for path in ("/places/microsoft.graph.room", "/places/microsoft.graph.roomList", LIST.format("tokyo-hq")):
        r = admin.call("GET", path)
        assert r.status_code == 200 and r.json()["value"] == []
    emu.control("POST", f"tenants/{seed.CONTOSO_TENANT_ID}/places", json={"enabled": True})
    assert len(admin.call("GET", "/places/microsoft.graph.room").json()["value"]) == 100
