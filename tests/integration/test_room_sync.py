"""`sync_tenant` on Azurite with Graph mocked (responses): only what changed is written."""

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from shared.mailbox import credentials
from shared.models import Account, MicrosoftAccount, TenantLink, TenantStatus, utcnow
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.rooms import Rooms
from shared.storage.tenant_links import TenantLinks
from shared.usecases.rooms import rooms
from tests.conftest import new_id

pytestmark = pytest.mark.integration
GRAPH = "https://graph.example.test/v1.0"


def place(i: int, **extra) -> dict:
    return {
        "id": f"id{i}",
        "emailAddress": f"room{i:03}@t.test",
        "displayName": f"Room {i}",
        "capacity": 8,
        "building": "HQ",
        "floorNumber": 1 + i // 10,
        "floorLabel": None,
        **extra,
    }


def reset_graph() -> None:
    """Forget Graph mocks; storage (Azurite on 127.0.0.1) always passes through."""
    responses.reset()
    responses.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))


def _places_answer(items: list[dict], cap: int):
    """Graph's places list as it really pages: 100 by default, `$top` (up to `cap`) and `$skip`,
    `@odata.count` with `$count=true`, and never an `@odata.nextLink` (docs-contrib issues 341, 6252)."""

    def answer(request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        top, skip = min(int(query.get("$top", 100)), cap), int(query.get("$skip", 0))
        body = {"value": items[skip : skip + top]}
        if query.get("$count") == "true":
            body["@odata.count"] = len(items)
        return 200, {}, json.dumps(body)

    return answer


def serve(places: list[dict], lists: dict[str, list[int]], cap: int = 999) -> None:
    reset_graph()
    responses.add_callback("GET", f"{GRAPH}/places/microsoft.graph.room", callback=_places_answer(places, cap))
    responses.add_callback(
        "GET",
        f"{GRAPH}/places/microsoft.graph.roomlist",
        callback=_places_answer([{"emailAddress": e, "displayName": e} for e in lists], cap),
    )
    for email, members in lists.items():
        responses.add_callback(
            "GET",
            f"{GRAPH}/places/{email}/microsoft.graph.roomlist/rooms",
            callback=_places_answer([places[i] for i in members], cap),
        )


def graph_calls() -> int:
    return sum(1 for c in responses.calls if c.request.url.startswith(GRAPH))


@pytest.fixture
def tenant(storage, monkeypatch):
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "token")
    company, tenant_id = new_id("co"), new_id("tenant")
    MicrosoftAccounts().save(MicrosoftAccount(company, tenant_id, Account("admin", "a@t.test", "A"), token_cache="x"))
    TenantLinks().save(
        TenantLink(company, tenant_id, "T", TenantStatus.ACTIVE, Account("admin", "a@t.test", "A"), "h", utcnow()),
        create=True,
    )
    return company, tenant_id


@responses.activate
def test_delta_writes(tenant):
    company, tenant_id = tenant
    places = [place(i) for i in range(250)]
    serve(places, {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})

    first = rooms.sync_tenant(company, tenant_id)
    assert (first.rooms, first.written, graph_calls()) == (250, 250, 1 + 1 + 2)  # rooms, lists, 2 members
    cached = {r.email: r for r in Rooms().list(tenant_id)}
    assert cached["room005@t.test"].room_list == "hq@t.test" and cached["room200@t.test"].room_list == "annex@t.test"
    assert cached["room150@t.test"].room_list is None and cached["room150@t.test"].floor == "16"
    link = TenantLinks().get(company, tenant_id)
    assert link.rooms_count == 250 and link.rooms_synced_at and link.rooms_last_error is None

    assert rooms.sync_tenant(company, tenant_id).written == 0  # nothing changed: no row written

    places[42] = place(42, capacity=30)  # one room changed
    serve(places, {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})
    assert rooms.sync_tenant(company, tenant_id).written == 1
    assert {r.email: r for r in Rooms().list(tenant_id)}["room042@t.test"].capacity == 30

    serve(places[:249], {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})  # one room gone
    result = rooms.sync_tenant(company, tenant_id)
    assert (result.rooms, result.written) == (249, 1)
    assert TenantLinks().get(company, tenant_id).rooms_count == 249


@responses.activate
def test_every_room_of_a_large_tenant_is_cached_in_few_calls(tenant):
    company, tenant_id = tenant
    places = [place(i) for i in range(1200)]
    serve(places, {"big@t.test": list(range(0, 1150))})  # a room list with more than 100 members

    result = rooms.sync_tenant(company, tenant_id)
    assert (result.rooms, graph_calls()) == (1200, 2 + 1 + 2)  # ceil(1200/999) per collection
    cached = {r.email: r for r in Rooms().list(tenant_id)}
    assert len(cached) == 1200 and cached["room1149@t.test"].room_list == "big@t.test"
    assert cached["room1199@t.test"].room_list is None


@responses.activate
def test_a_server_capping_top_lower_is_still_read_to_the_end(tenant):
    company, tenant_id = tenant
    serve([place(i) for i in range(250)], {"hq@t.test": list(range(0, 250))}, cap=100)
    result = rooms.sync_tenant(company, tenant_id)
    assert (result.rooms, graph_calls()) == (250, 3 + 1 + 3)
    assert {r.room_list for r in Rooms().list(tenant_id)} == {"hq@t.test"}


@responses.activate
def test_room_fields_bookable_accessible_tags(tenant):
    company, tenant_id = tenant
    serve(
        [
            place(0, bookingType="reserved", isWheelChairAccessible=True, tags=["video", "whiteboard"]),
            place(1, bookingType="standard", isWheelChairAccessible=False, tags=[]),
            place(2),
        ],
        {},
    )
    rooms.sync_tenant(company, tenant_id)
    by_email = {r["email"]: r for r in rooms.list_rooms(company, tenant_id).to_json()["rooms"]}
    reserved = by_email["room000@t.test"]
    assert (reserved["bookable"], reserved["wheelchair_accessible"], reserved["tags"]) == (
        False,
        True,
        ["video", "whiteboard"],
    )
    assert (by_email["room001@t.test"]["bookable"], by_email["room001@t.test"]["wheelchair_accessible"]) == (
        True,
        False,
    )
    assert (by_email["room002@t.test"]["wheelchair_accessible"], by_email["room002@t.test"]["tags"]) == (None, [])
    assert rooms.sync_tenant(company, tenant_id).written == 0  # the new fields round-trip unchanged


@responses.activate
def test_forbidden_places_mark_renewal_required_and_keep_the_cache(tenant):
    company, tenant_id = tenant
    serve([place(i) for i in range(3)], {})
    rooms.sync_tenant(company, tenant_id)
    reset_graph()
    responses.get(
        f"{GRAPH}/places/microsoft.graph.room",
        status=403,
        json={"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}},
    )
    assert rooms.sync_tenant(company, tenant_id) is None
    link = TenantLinks().get(company, tenant_id)
    assert link.status == TenantStatus.RENEWAL_REQUIRED and "403" in link.rooms_last_error
    assert len(Rooms().list(tenant_id)) == 3
    assert rooms.list_rooms(company, tenant_id).stale is True


@responses.activate
def test_graph_outage_is_recorded_and_raised_for_a_queue_retry(tenant, monkeypatch):
    from shared import graph
    from shared.errors import GraphUnavailable

    monkeypatch.setattr(graph, "_sleep", lambda s: None)
    company, tenant_id = tenant
    reset_graph()
    responses.get(f"{GRAPH}/places/microsoft.graph.room", status=503)
    with pytest.raises(GraphUnavailable):
        rooms.sync_tenant(company, tenant_id)
    link = TenantLinks().get(company, tenant_id)
    assert link.status == TenantStatus.ACTIVE and "unavailable" in link.rooms_last_error


@responses.activate
def test_an_empty_or_thin_places_answer_keeps_the_cache(tenant):
    """places-api-overview.md: Places answers no places until it is set up in the tenant (and its
    cache is built per tenant, docs issue 7475): not evidence that the rooms were removed."""
    company, tenant_id = tenant
    places = [place(i) for i in range(10)]
    serve(places, {})
    rooms.sync_tenant(company, tenant_id)
    synced = TenantLinks().get(company, tenant_id).rooms_synced_at
    for answer in ([], places[:4]):  # nothing, then fewer than half of the cached rooms
        serve(answer, {})
        assert rooms.sync_tenant(company, tenant_id) is None
        link = TenantLinks().get(company, tenant_id)
        assert link.rooms_last_error == "places_empty" and link.rooms_count == 10 and link.rooms_synced_at == synced
        assert len(Rooms().list(tenant_id)) == 10
    serve(places[:5], {})  # half of them is an answer to believe
    assert rooms.sync_tenant(company, tenant_id).rooms == 5
    link = TenantLinks().get(company, tenant_id)
    assert link.rooms_last_error is None and len(Rooms().list(tenant_id)) == 5


@responses.activate
def test_the_building_comes_from_the_places_hierarchy_when_the_room_names_none(tenant):
    """resources/room.md (2026-09): parentId links room -> floor or section -> building."""
    company, tenant_id = tenant
    places = [
        place(0, building=None, parentId="floor-1"),
        place(1, building=None, parentId="section-2n"),
        place(2, building="Annex", parentId="floor-1"),  # its own building wins
        place(3, building=None, parentId="nowhere"),
    ]
    serve(places, {})
    hierarchy = {
        "building": [{"id": "b-1", "placeId": "b-1", "displayName": "Main Tower", "parentId": None}],
        "floor": [
            {"id": "floor-1", "displayName": "1F", "parentId": "b-1"},
            {"id": "floor-2", "displayName": "2F", "parentId": "b-1"},
        ],
        "section": [{"id": "section-2n", "displayName": "2F North", "parentId": "floor-2"}],
    }
    for kind, items in hierarchy.items():
        responses.add_callback("GET", f"{GRAPH}/places/microsoft.graph.{kind}", callback=_places_answer(items, 999))
    rooms.sync_tenant(company, tenant_id)
    assert graph_calls() == 2 + 3  # rooms, lists, then sections, floors and buildings once each
    cached = {r.email: r.building for r in Rooms().list(tenant_id)}
    assert cached == {
        "room000@t.test": "Main Tower",
        "room001@t.test": "Main Tower",
        "room002@t.test": "Annex",
        "room003@t.test": None,
    }
