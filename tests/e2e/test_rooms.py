"""Rooms end to end: link -> queue -> sync -> cache; the timer's fan-out; renewal_required."""

from __future__ import annotations

import time

import pytest

from devtools.browser import Browser
from devtools.emulator import seed
from shared.storage.tenant_links import TenantLinks
from tests.conftest import new_id
from tests.e2e.conftest import CONTOSO, FABRIKAM, Api, link_tenant, link_user, renew_tenant, wait_for

pytestmark = pytest.mark.e2e
AIKO, BEN, HANA = seed.UPN[seed.AIKO_ID], seed.UPN[seed.BEN_ID], seed.UPN[seed.HANA_ID]


def rooms_of(api: Api, tenant: str = CONTOSO) -> dict:
    r = api.call("GET", f"/outlook/tenants/{tenant}/rooms", as_=("m1", "member"))
    assert r.status_code == 200, r.text
    return r.json()


def link_of(api: Api, tenant: str = CONTOSO) -> dict:
    return api.call("GET", f"/outlook/tenant-links/{tenant}").json()


def synced_after(api: Api, since: str | None, tenant: str = CONTOSO) -> dict:
    return wait_for(
        lambda: (l := link_of(api, tenant))["rooms"]["synced_at"] not in (None, since) and l,
        what="a completed room sync",
    )


def building_above(places: dict[str, dict], parent: str | None) -> str | None:
    """The building's name up the Places hierarchy (room -> floor or section -> building)."""
    while parent in places:
        if places[parent]["kind"] == "building":
            return places[parent]["displayName"]
        parent = places[parent]["parentId"]
    return None


def expected_rooms(ms, tenant: str) -> dict:
    data = ms.session.get(f"{ms.url}/_emulator/tenants/{tenant}/rooms", timeout=10).json()
    places = {p["id"]: p for p in data["hierarchy"]}
    return {
        r["emailAddress"]: {
            "email": r["emailAddress"],
            "display_name": r["displayName"],
            "capacity": r["capacity"],
            "building": r["building"] or building_above(places, r["parentId"]),
            "floor": r["floorLabel"],
            "room_list": r["roomListEmailAddress"],
            "wheelchair_accessible": r["isWheelChairAccessible"],
            "bookable": r["bookingType"] != "reserved",
            "tags": r["tags"],
        }
        for r in data["rooms"]
    }


def test_linking_fills_the_room_cache(company, browser, ms):
    link_tenant(company, browser, AIKO)
    link = synced_after(company, None)
    assert link["rooms"]["count"] == 250 and link["rooms"]["last_error"] is None
    body = rooms_of(company)
    assert body["stale"] is False and body["synced_at"] == link["rooms"]["synced_at"]
    assert {r["email"]: r for r in body["rooms"]} == expected_rooms(ms, CONTOSO)
    assert any(r["capacity"] is None for r in body["rooms"])
    # Reads come from the cache only: no Graph call.
    ms.clear_calls()
    rooms_of(company)
    assert [c for c in ms.calls() if c["kind"] == "graph"] == []


def test_rooms_under_floors_and_sections_get_the_building_above_them(company, browser, ms):
    link_tenant(company, browser, AIKO)
    synced_after(company, None)
    fukuoka = [r for r in rooms_of(company)["rooms"] if r["email"].startswith("fukuoka-")]
    assert len(fukuoka) == 50 and {r["building"] for r in fukuoka} == {"Fukuoka Office"}
    hierarchy_calls = [c for c in ms.calls() if c["kind"] == "graph" and "/places/microsoft.graph." in c["path"]]
    kinds = sorted(c["path"].rsplit(".", 1)[-1] for c in hierarchy_calls)
    assert kinds == ["building", "floor", "room", "roomlist", "section"]  # each list read once


def test_places_answering_empty_keep_the_cache(company, browser, ms):
    """Places answers nothing until it is set up in a tenant (places-api-overview.md): a sync then
    fails with places_empty and keeps the rooms; the next run, with places back, succeeds."""
    link_tenant(company, browser, AIKO)
    before = synced_after(company, None)["rooms"]["synced_at"]
    ms.post(f"tenants/{CONTOSO}/places", {"enabled": False})
    assert company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 202
    failed = wait_for(
        lambda: (l := link_of(company))["rooms"]["last_error"] == "places_empty" and l, what="the failed sync"
    )
    assert failed["rooms"]["count"] == 250 and failed["rooms"]["synced_at"] == before
    assert len(rooms_of(company)["rooms"]) == 250
    ms.post(f"tenants/{CONTOSO}/places", {"enabled": True})
    company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync")
    assert synced_after(company, before)["rooms"]["last_error"] is None


def test_sync_reads_every_page(company, browser, ms):
    link_tenant(company, browser, AIKO)
    synced_after(company, None)
    room_calls = [c for c in ms.calls() if c["kind"] == "graph" and c["path"].endswith("/microsoft.graph.room")]
    assert len(room_calls) == 1  # 250 rooms in one $top page (Graph's places give no nextLink)
    assert len(rooms_of(company)["rooms"]) == 250


def test_every_room_past_100_and_every_list_member_is_cached(company, browser, ms):
    # The seed puts only Tokyo HQ rooms in the first 100: a client that waits for a nextLink
    # never sees Osaka or Fukuoka, and the 120 members of tokyo-hq@ overflow a default page.
    link_tenant(company, browser, AIKO)
    synced_after(company, None)
    cached = rooms_of(company)["rooms"]
    lists = {r["room_list"] for r in cached}
    assert len(cached) == 250 and {l.split("@")[0] for l in lists} == {"tokyo-hq", "osaka", "fukuoka"}
    assert sum(r["room_list"].startswith("tokyo-hq@") for r in cached) == 120
    assert {r["email"].split("@")[0] for r in cached if not r["bookable"]} >= {"tokyo-hq-room120", "fukuoka-room040"}


def test_a_reserved_room_cannot_be_booked(company, browser, ms):
    link_tenant(company, browser, AIKO)
    synced_after(company, None)
    reserved = next(r["email"] for r in rooms_of(company)["rooms"] if not r["bookable"])
    link_user(company, Browser(browser.session.verify, browser.stop_at), seed.UPN[seed.EMI_ID], "m1")
    link_id = company.call("GET", "/outlook/calendars", as_=("m1", "member")).json()["calendars"][0]["link_id"]
    ms.clear_calls()
    r = company.call(
        "POST",
        "/outlook/events",
        as_=("m1", "member"),
        json={
            "schedule_id": "s1",
            "link_id": link_id,
            "subject": "x",
            "start": "2026-12-01T10:00:00",
            "end": "2026-12-01T11:00:00",
            "time_zone": "Asia/Tokyo",
            "rooms": [reserved],
        },
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "room_not_bookable"
    assert [c for c in ms.calls() if c["kind"] == "graph"] == []


def test_timer_fans_out_to_every_tenant(company, browser, ms, host, storage):
    other = Api(host.url, new_id("co"))
    link_tenant(company, browser, AIKO)
    link_tenant(other, Browser(browser.session.verify, browser.stop_at), HANA)
    first = synced_after(company, None)["rooms"]["synced_at"]
    first_other = synced_after(other, None, FABRIKAM)["rooms"]["synced_at"]
    time.sleep(1.1)  # synced_at has second precision
    r = company.session.post(f"{host.url}/admin/functions/refresh_room_caches", json={"input": ""})
    assert r.status_code == 202
    assert synced_after(company, first)["rooms"]["count"] == 250
    assert synced_after(other, first_other, FABRIKAM)["rooms"]["count"] == 3


def test_deleted_admin_makes_renewal_required_and_renewal_heals(company, browser, ms):
    link_tenant(company, browser, AIKO)
    first = synced_after(company, None)["rooms"]["synced_at"]
    ms.post(f"users/{seed.AIKO_ID}/delete")
    ms.post("tokens/expire-access")
    assert company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 202
    link = wait_for(lambda: (l := link_of(company))["status"] == "renewal_required" and l, what="renewal_required")
    assert link["rooms"]["last_error"] and link["rooms"]["synced_at"] == first
    body = rooms_of(company)
    assert body["stale"] is True and len(body["rooms"]) == 250  # the old cache is still served

    time.sleep(1.1)
    landing = renew_tenant(
        company, Browser(browser.session.verify, browser.stop_at), BEN, CONTOSO, as_=("herp-admin-2", "admin")
    )
    assert landing.result == "renewed"
    link = synced_after(company, first)
    assert link["status"] == "active" and link["rooms"]["last_error"] is None
    assert rooms_of(company)["stale"] is False
    users = company.call("GET", "/outlook/user-links", as_=("herp-admin", "admin")).json()["tenants"][0]["links"]
    assert [l["account"]["id"] for l in users] == [seed.AIKO_ID]  # Aiko's user link is kept (now reauth_required)


def test_throttled_sync_succeeds_later(company, browser, ms):
    link_tenant(company, browser, AIKO)
    first = synced_after(company, None)["rooms"]["synced_at"]
    time.sleep(1.1)
    ms.post("throttle", {"count": 2, "status": 429, "retry_after": 1, "path_contains": "/places/"})
    assert company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 202
    link = synced_after(company, first)
    assert link["status"] == "active" and link["rooms"]["count"] == 250 and link["rooms"]["last_error"] is None
    assert sum(1 for c in ms.calls() if c["kind"] == "graph" and c["status"] == 429) == 2


def test_missing_place_consent_is_reported(company, browser, ms):
    link_tenant(company, browser, AIKO)
    first = synced_after(company, None)["rooms"]["synced_at"]
    ms.session.delete(f"{ms.url}/_emulator/tenants/{CONTOSO}/consent", timeout=10)
    ms.post(f"tenants/{CONTOSO}/consent", {"scopes": ["User.Read", "Calendars.ReadWrite", "MailboxSettings.Read"]})
    ms.post("tokens/expire-access")
    company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync")
    link = wait_for(lambda: (l := link_of(company))["status"] == "renewal_required" and l, what="renewal_required")
    # The refresh for scopes the tenant no longer consents to is refused (or places answer 403).
    assert link["rooms"]["last_error"] and link["rooms"]["synced_at"] == first
    assert len(rooms_of(company)["rooms"]) == 250


def test_roles_and_companies(company, browser, ms, host, storage):
    link_tenant(company, browser, AIKO)
    r = company.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync", as_=("m1", "member"))
    assert r.status_code == 403
    other = Api(host.url, new_id("co"))
    assert other.call("GET", f"/outlook/tenants/{CONTOSO}/rooms").status_code == 404
    assert other.call("POST", f"/outlook/tenant-links/{CONTOSO}/rooms/sync").status_code == 404


def test_unlink_drops_the_cache_only_when_no_company_links_the_tenant(company, browser, ms, host, storage):
    from shared.storage.rooms import Rooms

    for leftover in TenantLinks().companies_linking(FABRIKAM):  # earlier tests' companies
        TenantLinks().delete(leftover, FABRIKAM)
    other = Api(host.url, new_id("co"))
    link_tenant(company, browser, HANA)
    link_tenant(other, Browser(browser.session.verify, browser.stop_at), HANA)
    synced_after(company, None, FABRIKAM)
    synced_after(other, None, FABRIKAM)
    assert company.call("DELETE", f"/outlook/tenant-links/{FABRIKAM}").status_code == 204
    assert len(Rooms().list(FABRIKAM)) == 3
    assert other.call("DELETE", f"/outlook/tenant-links/{FABRIKAM}").status_code == 204
    assert Rooms().list(FABRIKAM) == []
