"""Creating a Graph subscription (responses): what Graph is sent, what is kept."""

import json
from datetime import timedelta

import responses

from shared.mailbox import credentials
from shared.models import Account, MicrosoftAccount, parse_iso_required, utcnow
from shared.usecases.outlook_changes import subscriptions

GRAPH = "https://graph.example.test/v1.0"


@responses.activate
def test_a_subscription_asks_for_immutable_ids_lifecycle_events_and_at_most_4230_minutes(app_env, monkeypatch):
    account = MicrosoftAccount(company_id="co", tenant_id="t1", account=Account("oid-1", "emi@contoso.test", "Emi"))
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    saved, pointed = [], []
    monkeypatch.setattr(subscriptions.Subscriptions, "save", lambda self, s: saved.append(s) or s)
    monkeypatch.setattr(subscriptions, "_point", lambda account, calendar, entry: pointed.append((calendar, entry)))
    expiry = (utcnow() + timedelta(minutes=4200)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    responses.post(f"{GRAPH}/subscriptions", status=201, json={"id": "sub-9", "expirationDateTime": expiry})

    sub = subscriptions._create(credentials.Mailbox(account), "cal-2")

    [call] = responses.calls
    sent = json.loads(call.request.body)
    assert 'IdType="ImmutableId"' in call.request.headers["Prefer"]
    assert sent["changeType"] == "updated,deleted" and sent["resource"] == "me/calendars/cal-2/events"
    assert sent["notificationUrl"] == "http://localhost:7071/api/outlook/notifications"
    assert sent["lifecycleNotificationUrl"] == sent["notificationUrl"] + "/lifecycle"
    asked = parse_iso_required(sent["expirationDateTime"].split(".")[0] + "Z")
    assert timedelta(minutes=4100) < asked - utcnow() <= timedelta(minutes=4230)
    assert len(sent["clientState"]) >= 32
    [kept] = saved
    assert kept.client_state_hash == subscriptions.hash_state(sent["clientState"])  # only the hash is stored
    assert sent["clientState"] not in repr(kept.__dict__)
    assert (sub.id, sub.calendar) == ("sub-9", "cal-2") and pointed == [
        ("cal-2", {"id": "sub-9", "expires_at": expiry[:19] + "Z"})
    ]


def test_the_default_calendar_is_me_events(app_env):
    account = MicrosoftAccount(
        company_id="co", tenant_id="t1", account=Account("o", "", ""), calendars={"default": "c1"}
    )
    assert subscriptions.resource(subscriptions.calendar_key(account, "c1")) == "me/events"
    assert subscriptions.resource(subscriptions.calendar_key(account, None)) == "me/events"
    assert subscriptions.resource(subscriptions.calendar_key(account, "c2")) == "me/calendars/c2/events"


def test_the_notification_url_follows_the_redirect_uri_unless_set(app_env):
    from shared.settings import get_settings

    assert get_settings().notifications_url() == "http://localhost:7071/api/outlook/notifications"
    app_env(MS_NOTIFICATION_URL="https://hire-outlook.example.com/api/outlook/notifications/")
    assert get_settings().notifications_url() == "https://hire-outlook.example.com/api/outlook/notifications"
