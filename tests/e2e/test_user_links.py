"""User-level links and calendars, end to end."""

from __future__ import annotations

import pytest

from devtools.browser import Browser
from devtools.emulator import seed
from shared.storage.microsoft_accounts import MicrosoftAccounts
from tests.conftest import HERP_APP_URL
from tests.e2e.conftest import CONTOSO, FABRIKAM, link_tenant, link_user, wait_for

pytestmark = pytest.mark.e2e

AIKO, EMI, FUMI, GORO, HANA = (
    seed.UPN[i] for i in (seed.AIKO_ID, seed.EMI_ID, seed.FUMI_ID, seed.GORO_ID, seed.HANA_ID)
)
ACCOUNTS_PAGE = f"{HERP_APP_URL}/settings/accounts/outlook"


@pytest.fixture
def linked(company, browser, ms):
    assert link_tenant(company, browser, AIKO).result == "linked"
    # Linking queues a room sync; let it finish so that its Graph calls are not counted below.
    wait_for(
        lambda: company.call("GET", f"/outlook/tenant-links/{CONTOSO}").json()["rooms"]["synced_at"],
        what="the room sync queued by linking",
    )
    return company


def my_links(api, account: str) -> list[dict]:
    tenants = api.call("GET", "/outlook/user-links", as_=(account, "member")).json()["tenants"]
    return [l for t in tenants for l in t["links"]]


def fresh(browser: Browser) -> Browser:
    return Browser(browser.session.verify, HERP_APP_URL)


def test_member_links_an_account(linked, browser):
    landing = link_user(linked, browser, EMI, "m1")
    assert landing.url == f"{ACCOUNTS_PAGE}?result=confirm&completion={landing.completion}"
    assert landing.answer["result"] == "linked"
    tenants = linked.call("GET", "/outlook/user-links", as_=("m1", "member")).json()["tenants"]
    assert [(t["tenant_id"], t["tenant_name"], t["status"]) for t in tenants] == [(CONTOSO, "Contoso Ltd.", "active")]
    [link] = tenants[0]["links"]
    assert link["account"] == {"id": seed.EMI_ID, "email": EMI, "display_name": "Emi Suzuki"}
    assert link["via"] == "user" and link["status"] == "active" and link["link_id"].startswith("ul_")
    assert landing.answer == {"result": "linked", "user_link": link}


def test_tenant_admin_sees_the_via_tenant_admin_link(linked):
    [link] = my_links(linked, "herp-admin")
    assert link["via"] == "tenant_admin" and link["account"]["id"] == seed.AIKO_ID


def test_email_falls_back_to_the_user_principal_name(linked, browser):
    link_user(linked, browser, GORO, "m1")
    assert my_links(linked, "m1")[0]["account"]["email"] == GORO


def test_unlinked_tenant_is_404(linked):
    r = linked.call("POST", "/outlook/user-links/authorize", as_=("m1", "member"), json={"tenant_id": FABRIKAM})
    assert r.status_code == 404 and r.json()["error"]["code"] == "tenant_not_linked"
    r = linked.call("POST", "/outlook/user-links/authorize", as_=("m1", "member"), json={"tenant": CONTOSO})
    assert r.status_code == 422


def test_account_of_another_tenant_is_refused(linked, browser):
    r = linked.call("POST", "/outlook/user-links/authorize", as_=("m1", "member"), json={"tenant_id": CONTOSO})
    browser.open(r.json()["authorize_url"])
    final = browser.type_account(HANA)
    assert final == f"{ACCOUNTS_PAGE}?result=error&reason=tenant_mismatch"
    assert my_links(linked, "m1") == []


def test_many_to_many(linked, browser):
    link_user(linked, browser, EMI, "m1")
    link_user(linked, fresh(browser), GORO, "m1")  # one HERP account, two Microsoft accounts
    link_user(linked, fresh(browser), EMI, "m2")  # one Microsoft account, two HERP accounts
    m1 = {l["account"]["id"]: l["link_id"] for l in my_links(linked, "m1")}
    m2 = {l["account"]["id"]: l["link_id"] for l in my_links(linked, "m2")}
    assert set(m1) == {seed.EMI_ID, seed.GORO_ID} and set(m2) == {seed.EMI_ID}
    assert m1[seed.EMI_ID] != m2[seed.EMI_ID]
    # Linking the same pair again keeps the one link.
    assert link_user(linked, fresh(browser), EMI, "m1").result == "linked"
    assert {l["account"]["id"]: l["link_id"] for l in my_links(linked, "m1")} == m1

    # Deleting m2's link keeps the token cache (m1 still uses the account) ...
    assert linked.call("DELETE", f"/outlook/user-links/{m2[seed.EMI_ID]}", as_=("m2", "member")).status_code == 204
    assert MicrosoftAccounts().get(linked.company_id, CONTOSO, seed.EMI_ID) is not None
    # ... and the last link takes it away.
    assert linked.call("DELETE", f"/outlook/user-links/{m1[seed.EMI_ID]}", as_=("m1", "member")).status_code == 204
    assert MicrosoftAccounts().get(linked.company_id, CONTOSO, seed.EMI_ID) is None

    # Unlinking the tenant removes every remaining user link.
    assert linked.call("DELETE", f"/outlook/tenant-links/{CONTOSO}").status_code == 204
    assert linked.call("GET", "/outlook/user-links", as_=("m1", "member")).json() == {"tenants": []}
    assert MicrosoftAccounts().list(linked.company_id) == []


def test_member_cannot_delete_another_members_link(linked, browser):
    link_user(linked, browser, EMI, "m1")
    [link] = my_links(linked, "m1")
    r = linked.call("DELETE", f"/outlook/user-links/{link['link_id']}", as_=("m2", "member"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"
    assert my_links(linked, "m1") == [link]


def test_an_admin_sees_every_members_links_and_removes_a_leavers(linked, browser):
    link_user(linked, browser, EMI, "m1")
    link_user(linked, fresh(browser), GORO, "m2")
    for role in (("m1", "member"), ("r1", "recruiter")):  # admin only
        r = linked.call("GET", "/outlook/user-links", params={"scope": "company"}, as_=role)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = linked.call("GET", "/outlook/user-links", params={"scope": "everyone"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_scope"

    def everyone() -> dict[str, dict]:
        r = linked.call("GET", "/outlook/user-links", params={"scope": "company"})
        assert r.status_code == 200, r.text
        [tenant] = r.json()["tenants"]
        assert (tenant["tenant_id"], tenant["status"]) == (CONTOSO, "active")
        return {l["herp_account_id"]: l for l in tenant["links"]}

    links = everyone()
    assert {k: (l["account"]["id"], l["via"]) for k, l in links.items()} == {
        "herp-admin": (seed.AIKO_ID, "tenant_admin"),
        "m1": (seed.EMI_ID, "user"),
        "m2": (seed.GORO_ID, "user"),
    }
    # m1 left the company: the admin removes its link, and its token cache goes with it.
    assert linked.call("DELETE", f"/outlook/user-links/{links['m1']['link_id']}").status_code == 204
    assert my_links(linked, "m1") == [] and MicrosoftAccounts().get(linked.company_id, CONTOSO, seed.EMI_ID) is None
    # The tenant admin's own link goes like any other (the tenant's admin credential stays for the rooms).
    assert linked.call("DELETE", f"/outlook/user-links/{links['herp-admin']['link_id']}").status_code == 204
    assert set(everyone()) == {"m2"}
    assert MicrosoftAccounts().get(linked.company_id, CONTOSO, seed.AIKO_ID) is not None
    # A recruiter is no admin here: someone else's link stays 404 for it.
    r = linked.call("DELETE", f"/outlook/user-links/{links['m2']['link_id']}", as_=("r1", "recruiter"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_not_found"


def test_calendars_match_the_emulator(linked, browser, ms):
    link_user(linked, browser, EMI, "m1")
    link_user(linked, fresh(browser), FUMI, "m1")
    body = linked.call("GET", "/outlook/calendars", as_=("m1", "member")).json()
    assert body["errors"] == []
    got = sorted(
        (c["account"]["id"], c["name"], c["is_default"], c["can_edit"], c["teams_available"]) for c in body["calendars"]
    )
    own = [
        (user["id"], name, n == 0, True, user["has_teams"])
        for user in (seed.USERS_BY_ID[seed.EMI_ID], seed.USERS_BY_ID[seed.FUMI_ID])
        for n, name in enumerate(user["calendars"])
    ]
    # A calendar another mailbox shares with Emi is listed, but it is not a writable target.
    shared = [
        (user_id, seed.USERS_BY_ID[owner]["displayName"], False, False, seed.USERS_BY_ID[owner]["has_teams"])
        for user_id in (seed.EMI_ID, seed.FUMI_ID)
        for owner, _name, _edit in seed.SHARED_CALENDARS.get(user_id, ())
    ]
    expected = sorted(own + shared)
    assert shared
    assert got == expected
    assert len({c["calendar_id"] for c in body["calendars"]}) == len(expected)
    assert (seed.EMI_ID, "Calendar", True, True, True) in expected  # Emi has Teams, Fumi has not
    assert (seed.FUMI_ID, "Calendar", True, True, False) in expected


def test_calendars_cost_one_graph_call_per_link_and_no_token_call(linked, browser, ms):
    link_user(linked, browser, EMI, "m1")
    link_user(linked, fresh(browser), GORO, "m1")
    ms.clear_calls()
    assert len(linked.call("GET", "/outlook/calendars", as_=("m1", "member")).json()["calendars"]) >= 2
    calls = ms.calls()
    assert [c["kind"] for c in calls].count("graph") == 2
    assert [c["kind"] for c in calls].count("token") == 0


def test_deleted_user_turns_reauth_required_and_relink_heals(linked, browser, ms):
    link_user(linked, browser, EMI, "m1")
    link_user(linked, fresh(browser), GORO, "m1")
    ms.post(f"users/{seed.GORO_ID}/delete")
    ms.post(f"users/{seed.EMI_ID}/revoke-sessions")
    ms.post("tokens/expire-access")
    body = linked.call("GET", "/outlook/calendars", as_=("m1", "member")).json()
    assert body["calendars"] == []
    assert sorted(e["code"] for e in body["errors"]) == ["reauth_required", "reauth_required"]
    statuses = {l["account"]["id"]: l["status"] for l in my_links(linked, "m1")}
    assert statuses == {seed.EMI_ID: "reauth_required", seed.GORO_ID: "reauth_required"}

    # Emi signs in again (her sessions were revoked, her account lives): the link heals.
    assert link_user(linked, fresh(browser), EMI, "m1").result == "linked"
    statuses = {l["account"]["id"]: l["status"] for l in my_links(linked, "m1")}
    assert statuses == {seed.EMI_ID: "active", seed.GORO_ID: "reauth_required"}
    body = linked.call("GET", "/outlook/calendars", as_=("m1", "member")).json()
    assert {c["account"]["id"] for c in body["calendars"]} == {seed.EMI_ID}
    assert [e["code"] for e in body["errors"]] == ["reauth_required"]
