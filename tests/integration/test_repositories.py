"""Repositories against real Table Storage (Azurite)."""

import threading
from datetime import timedelta

import pytest

from shared.models import Account, MicrosoftAccount, OAuthState, TenantLink, TenantStatus, UserLink, utcnow
from shared.storage import connection, user_links
from shared.storage.base import ConcurrentUpdate
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.oauth_states import OAuthStates
from shared.storage.tenant_links import TenantLinks
from shared.storage.user_links import UserLinks
from tests.conftest import new_id, user_links_of_tenant

pytestmark = pytest.mark.integration


def tenant_link(company: str, tenant: str = "t1") -> TenantLink:
    return TenantLink(
        company_id=company,
        tenant_id=tenant,
        tenant_name="Contoso",
        status=TenantStatus.ACTIVE,
        admin=Account("oid-1", "a@contoso.test", "Aiko"),
        linked_by="herp-1",
        linked_at=utcnow(),
    )


def test_tenant_link_round_trip_and_create_conflict(storage):
    company = new_id("co")
    repo = TenantLinks()
    repo.save(tenant_link(company), create=True)
    got = repo.get(company, "t1")
    assert got.admin == Account("oid-1", "a@contoso.test", "Aiko") and got.status == TenantStatus.ACTIVE and got.etag
    with pytest.raises(ConcurrentUpdate):
        repo.save(tenant_link(company), create=True)


def test_etag_race_has_one_winner(storage):
    company = new_id("co")
    repo = TenantLinks()
    repo.save(tenant_link(company), create=True)
    first, second = repo.get(company, "t1"), repo.get(company, "t1")
    first.tenant_name = "first"
    repo.save(first)
    second.tenant_name = "second"
    with pytest.raises(ConcurrentUpdate):
        repo.save(second)
    assert repo.get(company, "t1").tenant_name == "first"


@pytest.mark.parametrize("company", ["co/with#odd?chars\\and%", "co'; or PartitionKey ne '", "会社\x01"])
def test_keys_with_unsafe_characters_round_trip(storage, company):
    repo = TenantLinks()
    repo.save(tenant_link(company, tenant="t/1#?"), create=True)
    got = repo.get(company, "t/1#?")
    assert (got.company_id, got.tenant_id) == (company, "t/1#?")
    assert [link.tenant_id for link in repo.list(company)] == ["t/1#?"]


def test_filters_are_parameterised(storage):
    company = new_id("co")
    links = UserLinks()
    for n, acct in enumerate(["herp-a", "herp-b"]):
        links.save(UserLink(company, f"l{n}", acct, "t1", f"oid-{n}", "user", utcnow()))
    assert [l.link_id for l in links.of_herp_account(company, "herp-a")] == ["l0"]
    assert links.of_herp_account(company, "herp-a' or herp_account_id ne 'x") == []


def test_accounts_of_a_tenant_are_found_by_key_prefix(storage):
    company = new_id("co")
    repo = MicrosoftAccounts()
    for tenant, oid in [("t1", "o1"), ("t1", "o2"), ("t10", "o3"), ("t2", "o4")]:
        repo.save(MicrosoftAccount(company, tenant, Account(oid, f"{oid}@x.test", oid), token_cache="sealed"))
    assert repo.delete_tenant(company, "t1") == 2
    assert sorted((a.tenant_id, a.account.id) for a in repo.list(company)) == [("t10", "o3"), ("t2", "o4")]


def test_delete_many_uses_batches_of_at_most_100(storage):
    company = new_id("co")
    repo = UserLinks()
    client = connection.table(user_links.TABLE)
    for start in range(0, 230, 100):
        client.submit_transaction(
            [
                (
                    "upsert",
                    {
                        "PartitionKey": company,
                        "RowKey": f"l{n:03}",
                        "herp_account_id": "h",
                        "tenant_id": "t1",
                        "account_id": f"o{n}",
                        "via": "user",
                    },
                )
                for n in range(start, min(start + 100, 230))
            ]
        )
    assert repo.delete_tenant(company, "t1") == 230
    assert user_links_of_tenant(company, "t1") == []


def state(**overrides) -> OAuthState:
    values = dict(
        state_id=new_id("st"),
        flow="tenant_link",
        leg="consent",
        company_id="co",
        herp_account_id="h",
        tenant_id=None,
        expires_at=utcnow() + timedelta(minutes=10),
    )
    values.update(overrides)
    return OAuthState(**values)


def test_state_is_consumed_once(storage):
    repo = OAuthStates()
    s = repo.create(state())
    assert repo.consume(s.state_id).company_id == "co"
    assert repo.consume(s.state_id) is None
    assert repo.consume("never-issued") is None


def test_racing_consumers_have_exactly_one_winner(storage):
    repo = OAuthStates()
    for _ in range(5):
        s = repo.create(state())
        results: list = []
        barrier = threading.Barrier(4)

        def take(s=s, barrier=barrier, results=results):
            barrier.wait()
            results.append(repo.consume(s.state_id))

        threads = [threading.Thread(target=take) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r is not None for r in results) == 1


def test_unlinking_status_round_trips(storage):
    company = new_id("co")
    repo = TenantLinks()
    link = repo.save(tenant_link(company), create=True)
    link.status = TenantStatus.UNLINKING
    repo.save(link)
    assert repo.get(company, "t1").status == TenantStatus.UNLINKING


def test_expired_states_are_purged(storage):
    from shared.usecases.linking.oauth_flows import purge_unfinished

    repo = OAuthStates()
    old = repo.create(state(expires_at=utcnow() - timedelta(minutes=1)))
    fresh = repo.create(state())
    assert purge_unfinished()[0] >= 1
    assert repo.consume(old.state_id) is None
    assert repo.consume(fresh.state_id) is not None


def test_a_hold_is_expired_from_the_second_its_expiry_names(storage):
    # Expiries are stored to the second: a timer run at 12:00:00.9 must find a hold expiring at
    # 12:00:00 (the strict comparison of the truncated times left it for the next run).
    from shared.models import HoldRecord
    from shared.storage.holds import Holds

    company = new_id("co")
    at = utcnow().replace(microsecond=0) + timedelta(days=3650)  # beyond the reach of the host's own timer
    Holds().create(HoldRecord(company, "h1", "ul_1", "t1", "oid-1", "herp-1", "hash", "{}", expires_at=at))
    assert "h1" not in {r.hold_id for r in Holds().expired(at - timedelta(seconds=1)) if r.company_id == company}
    assert "h1" in {r.hold_id for r in Holds().expired(at + timedelta(microseconds=900_000)) if r.company_id == company}
