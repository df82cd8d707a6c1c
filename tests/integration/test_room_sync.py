"""`sync_tenant` on Azurite with Graph mocked (responses): only what changed is written."""
import re

import pytest
import responses

from shared.models import ACTIVE, RENEWAL_REQUIRED, Account, TenantLink, utcnow
from shared.services import credentials, rooms
from shared.storage.repositories import Rooms, TenantLinks
from tests.conftest import new_id

pytestmark = pytest.mark.integration
GRAPH = "https://graph.example.test/v1.0"


def place(i: int, **extra) -> dict:
    return {"id": f"id{i}", "emailAddress": f"room{i:03}@t.test", "displayName": f"Room {i}", "capacity": 8,
            "building": "HQ", "floorNumber": 1 + i // 10, "floorLabel": None, **extra}


def reset_graph() -> None:
    """Forget Graph mocks; storage (Azurite on 127.0.0.1) always passes through."""
    responses.reset()
    responses.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))


def serve(places: list[dict], lists: dict[str, list[int]]) -> None:
    reset_graph()
    for start in range(0, max(len(places), 1), 100):
        body = {"value": places[start:start + 100]}
        if start + 100 < len(places):
            body["@odata.nextLink"] = f"{GRAPH}/places/microsoft.graph.room?skiptoken={start + 100}"
        query = {"skiptoken": str(start)} if start else {}
        responses.get(f"{GRAPH}/places/microsoft.graph.room", json=body,
                      match=[responses.matchers.query_param_matcher(query)])
    responses.get(f"{GRAPH}/places/microsoft.graph.roomlist",
                  json={"value": [{"emailAddress": e, "displayName": e} for e in lists]})
    for email, members in lists.items():
        responses.get(f"{GRAPH}/places/{email}/microsoft.graph.roomlist/rooms",
                      json={"value": [places[i] for i in members]})


@pytest.fixture
def tenant(storage, monkeypatch):
    monkeypatch.setattr(credentials, "with_graph_token", lambda company, tenant, oid, call: call("token"))
    company, tenant_id = new_id("co"), new_id("tenant")
    TenantLinks().save(TenantLink(company, tenant_id, "T", ACTIVE, Account("admin", "a@t.test", "A"), "h", utcnow()),
                       create=True)
    return company, tenant_id


@responses.activate
def test_delta_writes(tenant):
    company, tenant_id = tenant
    places = [place(i) for i in range(250)]
    serve(places, {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})

    first = rooms.sync_tenant(company, tenant_id)
    assert (first.rooms, first.written, first.graph_calls) == (250, 250, 3 + 1 + 2)
    cached = {r.email: r for r in Rooms().list(tenant_id)}
    assert cached["room005@t.test"].room_list == "hq@t.test" and cached["room200@t.test"].room_list == "annex@t.test"
    assert cached["room150@t.test"].room_list is None and cached["room150@t.test"].floor == "16"
    link = TenantLinks().get(company, tenant_id)
    assert link.rooms_count == 250 and link.rooms_synced_at and link.rooms_last_error is None

    assert rooms.sync_tenant(company, tenant_id).written == 0        # nothing changed: no row written

    places[42] = place(42, capacity=30)                              # one room changed
    serve(places, {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})
    assert rooms.sync_tenant(company, tenant_id).written == 1
    assert {r.email: r for r in Rooms().list(tenant_id)}["room042@t.test"].capacity == 30

    serve(places[:249], {"hq@t.test": list(range(0, 100)), "annex@t.test": [200]})   # one room gone
    result = rooms.sync_tenant(company, tenant_id)
    assert (result.rooms, result.written) == (249, 1)
    assert TenantLinks().get(company, tenant_id).rooms_count == 249


@responses.activate
def test_forbidden_places_mark_renewal_required_and_keep_the_cache(tenant):
    company, tenant_id = tenant
    serve([place(i) for i in range(3)], {})
    rooms.sync_tenant(company, tenant_id)
    reset_graph()
    responses.get(f"{GRAPH}/places/microsoft.graph.room", status=403,
                  json={"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}})
    assert rooms.sync_tenant(company, tenant_id) is None
    link = TenantLinks().get(company, tenant_id)
    assert link.status == RENEWAL_REQUIRED and "403" in link.rooms_last_error
    assert len(Rooms().list(tenant_id)) == 3
    assert rooms.list_rooms(company, tenant_id)["stale"] is True


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
    assert link.status == ACTIVE and "unavailable" in link.rooms_last_error
