"""Links that never die silently (README "Links kept alive"): the daily refresh redeems each
account's refresh token once; a dead credential becomes `reauth_required` and exactly one
`link.reauth_required` (the tenant admin's: `renewal_required` and one `tenant.renewal_required`)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from devtools.emulator import seed
from tests.e2e.conftest import CONTOSO, wait_for
from tests.e2e.test_changes_from_outlook import feed
from tests.e2e.test_events import M1

pytestmark = pytest.mark.e2e
ADMIN = ("herp-admin", "admin")


def refresh(host, oid: str, company_id: str) -> None:
    payload = json.dumps({"company_id": company_id, "tenant_id": CONTOSO, "oid": oid})
    r = requests.post(f"{host.url}/admin/functions/refresh_outlook_credential", json={"input": payload}, timeout=10)
    assert r.status_code == 202


def token_calls(ms) -> list[dict]:
    return [c for c in ms.calls() if c["kind"] == "token"]


def kinds(api, as_=M1) -> list[str]:
    return [c["type"] for c in feed(api, as_=as_)["changes"]]


def test_the_daily_refresh_redeems_each_refresh_token_once(ready, ms, host):
    api, _link_id, _rooms = ready
    ms.clear_calls()
    refresh(host, seed.EMI_ID, api.company_id)
    wait_for(lambda: token_calls(ms), what="the refresh token redeemed")
    time.sleep(1)
    assert [c["status"] for c in token_calls(ms)] == [200]  # one forced refresh, not a cached token
    assert kinds(api) == []


def test_a_dead_credential_is_reported_once_and_shows_reauth_required(ready, ms, host):
    api, _link_id, _rooms = ready
    ms.post(f"users/{seed.EMI_ID}/revoke-sessions")
    refresh(host, seed.EMI_ID, api.company_id)
    wait_for(lambda: "link.reauth_required" in kinds(api), what="the link's death in the feed")
    [change] = feed(api)["changes"]
    assert change["schedule_id"] is None and change["event"] is None
    assert change["link"]["status"] == "reauth_required" and change["link"]["account"]["id"] == seed.EMI_ID
    links = api.call("GET", "/outlook/user-links", as_=M1).json()["tenants"][0]["links"]
    assert [l["status"] for l in links] == ["reauth_required"]
    refresh(host, seed.EMI_ID, api.company_id)  # found dead again the next day: no second report
    time.sleep(3)
    assert kinds(api) == ["link.reauth_required"]


def test_a_dead_admin_credential_asks_for_renewal_once(ready, ms, host):
    api, _link_id, _rooms = ready
    ms.post(f"users/{seed.AIKO_ID}/revoke-sessions")
    refresh(host, seed.AIKO_ID, api.company_id)
    wait_for(lambda: "tenant.renewal_required" in kinds(api, ADMIN), what="the tenant's renewal in the feed")
    assert api.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()["status"] == "renewal_required"
    r = requests.post(f"{host.url}/admin/functions/refresh_room_caches", json={"input": ""}, timeout=10)
    assert r.status_code == 202
    time.sleep(3)  # the room sync finds the same death: no second report
    found = kinds(api, ADMIN)
    assert found.count("tenant.renewal_required") == 1 and found.count("link.reauth_required") == 1
    tenant = [c for c in feed(api, as_=ADMIN)["changes"] if c["type"] == "tenant.renewal_required"][0]
    assert tenant["tenant_id"] == CONTOSO
