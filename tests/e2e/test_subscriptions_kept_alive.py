"""Subscriptions that never pause (CONTRACT 5, 6), end to end through the host and the emulator:
Graph holds a delegated subscription's notifications once the token it was last authorized with
expires (the emulator with short-lived tokens), and refuses a second subscription for the same
calendar with 409."""

from __future__ import annotations

import time

import pytest

from devtools.emulator import seed
from tests.e2e.conftest import CONTOSO, wait_for
from tests.e2e.test_changes_from_outlook import created, feed, run, subscriptions

pytestmark = pytest.mark.e2e
TOKEN_SECONDS = 20


def held(ms, sub_id: str) -> bool:
    return any(s["id"] == sub_id and s["held"] for s in subscriptions(ms))


def test_a_lost_reauthorization_required_does_not_pause_the_mailbox_past_the_renewal_run(ready, ms, host):
    ms.post("notifications/config", {"lose_lifecycle": True, "duplicates": 1})
    ms.post("tokens/lifetime", {"seconds": TOKEN_SECONDS})
    ms.post("tokens/expire-access")  # the link's cached token is refused: the next ones are short
    api, event, sub = created(ready, ms, host)
    assert sub["tokenExpires"] < time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + TOKEN_SECONDS + 5))
    wait_for(lambda: held(ms, sub["id"]), timeout=TOKEN_SECONDS + 10, what="Graph holding the notifications")
    before = feed(api)["next"]
    ms.post(f"events/{event['event_id']}/outlook-edit", {"subject": "止まらない購読"})
    time.sleep(2)
    assert feed(api, before)["changes"] == []  # held by Graph: the token expired, nobody reauthorized
    lost = [d for d in ms.session.get(f"{ms.url}/_emulator/notifications", timeout=10).json()["deliveries"]]
    assert any(d["change"] == "reauthorizationRequired" and d["status"] == "dropped" for d in lost)
    run(host, "renew_outlook_subscriptions")
    [change] = wait_for(lambda: feed(api, before)["changes"], what="the held notification after the renewal run")
    assert change["type"] == "event.updated" and change["fields"] == ["subject"]
    assert [s["id"] for s in subscriptions(ms)] == [sub["id"]]  # the same subscription, reauthorized


def test_reauthorization_required_reauthorizes_with_a_freshly_redeemed_token(ready, ms, host):
    # Tokens of 20 minutes: the authorization lapses before the next hourly run could renew it,
    # yet the token is not in its last quarter hour, when Graph (the emulator) sends
    # reauthorizationRequired by itself: the one sent below is the first, not a repeat the intake
    # drops (lifecycle events are queued once per subscription and event within 5 minutes).
    ms.post("tokens/lifetime", {"seconds": 1200})
    ms.post("tokens/expire-access")
    api, event, sub = created(ready, ms, host)
    time.sleep(1.1)  # a token redeemed now expires at a later second than the one the create used
    ms.post(f"subscriptions/{sub['id']}/lifecycle", {"event": "reauthorizationRequired"})
    [fresh] = wait_for(
        lambda: [s for s in subscriptions(ms) if s["id"] == sub["id"] and s["tokenExpires"] > sub["tokenExpires"]],
        what="the subscription reauthorized with a new token",
    )
    assert fresh["held"] is False


@pytest.mark.parametrize(
    "row_says",
    [
        None,  # never subscribed here (an earlier install's subscription): the create meets 409
        {"": {"id": None, "since": "2026-01-01T00:00:00Z"}},  # asked for, the answer lost: cleared first
    ],
    ids=["earlier-install-409", "lost-answer"],
)
def test_a_subscription_graph_already_holds_is_replaced_and_the_calendar_watched(ready, ms, host, storage, row_says):
    from shared.storage.microsoft_accounts import MicrosoftAccounts

    api, event, sub = created(ready, ms, host)
    account = (api.company_id, CONTOSO, seed.EMI_ID)
    row = MicrosoftAccounts().get(*account)
    row.subscriptions = row_says
    MicrosoftAccounts().save(row)
    run(
        host,
        "maintain_outlook_subscriptions",
        {"company_id": api.company_id, "tenant_id": CONTOSO, "oid": seed.EMI_ID, "renew": True},
    )
    [fresh] = wait_for(lambda: [s for s in subscriptions(ms) if s["id"] != sub["id"]], what="a new subscription")
    assert [s["id"] for s in subscriptions(ms)] == [fresh["id"]]  # the old one deleted in Graph
    wait_for(lambda: MicrosoftAccounts().get(*account).subscriptions[""].get("id") == fresh["id"], what="the row")
    before = feed(api)["next"]
    ms.post(f"events/{event['event_id']}/outlook-edit", {"subject": "見張られている"})
    changes = wait_for(lambda: feed(api, before)["changes"], what="a change through the new subscription")
    assert changes[-1]["type"] == "event.updated" and "subject" in changes[-1]["fields"]
