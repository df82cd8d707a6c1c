"""Link completions against real Table Storage (Azurite): single use, binding to the starter,
expiry, the confirm race, a failed confirm that can be repeated, the purge."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

import pytest

from shared.auth import Caller
from shared.errors import CompletionExpired, CompletionNotFound, StorageUnavailable, TenantNotLinked
from shared.mailbox import credentials
from shared.models import Account, Flow, iso, utcnow
from shared.storage import connection
from shared.storage import link_completions as completions_table
from shared.storage.link_completions import LinkCompletions
from shared.storage.microsoft_accounts import MicrosoftAccounts
from shared.storage.tenant_links import TenantLinks
from shared.usecases.linking import link_completions
from shared.usecases.linking.link_completions import SignInResult
from tests.conftest import new_id, user_links_of_tenant

pytestmark = pytest.mark.integration

TENANT = "c0a1c0a1-0000-4000-8000-000000000001"
CACHE = '{"RefreshToken": {"k": {"secret": "rt-secret-value"}}}'


def result(oid: str = "oid-aiko") -> SignInResult:
    return SignInResult(TENANT, "Contoso Ltd.", Account(oid, f"{oid}@contoso.test", oid.title()), CACHE)


def row(code: str):
    return LinkCompletions().get(hashlib.sha256(code.encode()).hexdigest())


def age(code: str, **fields) -> None:
    """Move the row's times into the past, as if that much time had gone by."""
    from azure.data.tables import UpdateMode

    past = iso(utcnow() - timedelta(seconds=1))
    connection.table(completions_table.TABLE).update_entity(
        {
            "PartitionKey": hashlib.sha256(code.encode()).hexdigest(),
            "RowKey": "completion",
            **{name: past for name in fields},
        },
        mode=UpdateMode.MERGE,
    )


@pytest.fixture
def company(storage):
    return new_id("co")


def admin(company: str, sub: str = "herp-admin") -> Caller:
    return Caller(account_id=sub, company_id=company, role="admin")


def test_the_row_holds_only_the_hash_and_a_sealed_result(company):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    stored = row(code)
    assert stored.company_id == company and stored.herp_account_id == "herp-admin" and stored.flow == Flow.TENANT_LINK
    assert stored.tenant_id == TENANT and stored.code_hash != code
    assert code not in stored.sealed_result and "rt-secret-value" not in stored.sealed_result
    lifetime = stored.expires_at - utcnow()
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)


def test_a_tenant_link_is_committed_once_by_its_starter(company, caplog):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    others = (
        admin(new_id("co")),
        admin(company, "herp-admin-2"),
        Caller(account_id="herp-admin", company_id=company, role="member"),
    )
    for caller in others:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="outlook"):
            with pytest.raises(CompletionNotFound):
                link_completions.confirm(caller, code)
        # A wrong-session attempt is logged as a warning naming both sessions, never the code.
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and caller.account_id in warnings[0].getMessage()
        assert caller.company_id in warnings[0].getMessage() and code not in caplog.text
    assert TenantLinks().get(company, TENANT) is None and row(code).claimed_until is None

    answer = link_completions.confirm(admin(company), code).to_json()
    assert answer["result"] == "linked" and answer["tenant_link"]["tenant_name"] == "Contoso Ltd."
    assert TenantLinks().get(company, TENANT).admin.id == "oid-aiko"
    assert [(l.herp_account_id, l.via) for l in user_links_of_tenant(company, TENANT)] == [
        ("herp-admin", "tenant_admin")
    ]
    assert credentials.open_cache(MicrosoftAccounts().get(company, TENANT, "oid-aiko")) == CACHE
    assert row(code) is None
    with pytest.raises(CompletionNotFound):
        link_completions.confirm(admin(company), code)


def test_a_user_link_needs_no_admin_and_a_linked_tenant(company):
    member = Caller(account_id="m1", company_id=company, role="member")
    code = link_completions.create(Flow.USER_LINK, company, "m1", result("oid-emi"))
    with pytest.raises(TenantNotLinked):
        link_completions.confirm(member, code)
    assert MicrosoftAccounts().get(company, TENANT, "oid-emi") is None
    link_completions.confirm(admin(company), link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result()))
    answer = link_completions.confirm(member, code).to_json()  # the failed confirm left the code usable
    assert answer["result"] == "linked" and answer["user_link"]["via"] == "user"
    assert answer["user_link"]["account"]["id"] == "oid-emi"


def test_a_renewal_of_an_unlinked_tenant_is_tenant_not_linked(company):
    code = link_completions.create(Flow.TENANT_RENEW, company, "herp-admin", result())
    with pytest.raises(TenantNotLinked):
        link_completions.confirm(admin(company), code)
    assert TenantLinks().get(company, TENANT) is None and MicrosoftAccounts().list(company) == []


def test_expired_is_410_for_the_starter_and_404_for_others(company):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    age(code, expires_at=True)
    with pytest.raises(CompletionNotFound):
        link_completions.confirm(admin(company, "someone-else"), code)
    with pytest.raises(CompletionExpired):
        link_completions.confirm(admin(company), code)
    assert TenantLinks().get(company, TENANT) is None


def test_two_claims_of_one_read_have_one_winner(company):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    first, second = row(code), row(code)
    now = utcnow()
    assert LinkCompletions().claim(first, now, now + timedelta(seconds=60)) is True
    assert LinkCompletions().claim(second, now, now + timedelta(seconds=60)) is False  # 412
    assert LinkCompletions().claim(row(code), now, now + timedelta(seconds=60)) is False  # held


def test_racing_confirms_commit_once(company):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    barrier, outcomes = threading.Barrier(4), []

    def confirm():
        barrier.wait()
        try:
            outcomes.append(link_completions.confirm(admin(company), code).result)
        except CompletionNotFound:
            outcomes.append("not_found")

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["linked", "not_found", "not_found", "not_found"]


def test_a_confirm_that_failed_midway_can_be_repeated(company, monkeypatch):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    real = credentials.store_sign_in

    def flaky(*args):
        monkeypatch.setattr(credentials, "store_sign_in", real)
        raise StorageUnavailable()

    monkeypatch.setattr(credentials, "store_sign_in", flaky)
    with pytest.raises(StorageUnavailable):
        link_completions.confirm(admin(company), code)
    assert row(code).claimed_until is None  # released at once
    assert link_completions.confirm(admin(company), code).result == "linked"


def test_a_confirm_that_died_holding_the_claim_frees_it_after_the_lease(company):
    code = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    stored, now = row(code), utcnow()
    LinkCompletions().claim(stored, now, now + timedelta(seconds=60))  # then the process died
    with pytest.raises(CompletionNotFound):
        link_completions.confirm(admin(company), code)
    age(code, claimed_until=True)  # the lease ran out
    assert link_completions.confirm(admin(company), code).result == "linked"


def test_the_purge_removes_only_expired_completions(company):
    old = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    age(old, expires_at=True)
    fresh = link_completions.create(Flow.TENANT_LINK, company, "herp-admin", result())
    assert link_completions.purge_expired() >= 1
    assert row(old) is None and row(fresh) is not None
