"""Creating a Graph subscription (responses): what Graph is sent, what is kept."""

import json
from datetime import timedelta

import responses

from shared.mailbox import credentials
from shared.models import Account, MicrosoftAccount, iso, parse_iso_required, utcnow
from shared.usecases.outlook_changes import subscriptions

GRAPH = "https://graph.example.test/v1.0"


@responses.activate
def test_a_subscription_asks_for_immutable_ids_lifecycle_events_and_at_most_10080_minutes(app_env, monkeypatch):
    account = MicrosoftAccount(company_id="co", tenant_id="t1", account=Account("oid-1", "emi@contoso.test", "Emi"))
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    saved, pointed = [], []
    monkeypatch.setattr(subscriptions.Subscriptions, "save", lambda self, s: saved.append(s) or s)
    monkeypatch.setattr(subscriptions, "_point", lambda account, calendar, entry: pointed.append((calendar, entry)))
    expiry = (utcnow() + timedelta(minutes=10050)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    responses.post(f"{GRAPH}/subscriptions", status=201, json={"id": "sub-9", "expirationDateTime": expiry})

    sub = subscriptions._create(credentials.Mailbox(account), "cal-2")

    [call] = responses.calls
    sent = json.loads(call.request.body)
    assert 'IdType="ImmutableId"' in call.request.headers["Prefer"]
    assert sent["changeType"] == "updated,deleted" and sent["resource"] == "me/calendars/cal-2/events"
    assert sent["notificationUrl"] == "http://localhost:7071/api/outlook/notifications"
    assert sent["lifecycleNotificationUrl"] == sent["notificationUrl"] + "/lifecycle"
    asked = parse_iso_required(sent["expirationDateTime"].split(".")[0] + "Z")
    assert timedelta(minutes=10000) < asked - utcnow() <= timedelta(minutes=10080)
    assert len(sent["clientState"]) >= 32
    [kept] = saved
    assert kept.client_state_hash == subscriptions.hash_state(sent["clientState"])  # only the hash is stored
    assert sent["clientState"] not in repr(kept.__dict__)
    assert (sub.id, sub.calendar) == ("sub-9", "cal-2") and pointed == [
        ("cal-2", {"id": "sub-9", "expires_at": expiry[:19] + "Z", "authorized_until": iso(kept.authorized_until)})
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


@responses.activate
def test_the_lifecycle_url_appends_to_the_path_and_keeps_the_function_key(app_env, monkeypatch):
    """CONTRACT 2: MS_NOTIFICATION_URL + "/lifecycle" on the path, the query (`?code=...`) kept."""
    app_env(MS_NOTIFICATION_URL="https://hire-outlook.example.com/api/outlook/notifications/?code=k3y%3D%3D")
    account = MicrosoftAccount(company_id="co", tenant_id="t1", account=Account("oid-1", "emi@contoso.test", "Emi"))
    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "tok")
    monkeypatch.setattr(subscriptions.Subscriptions, "save", lambda self, s: s)
    monkeypatch.setattr(subscriptions, "_point", lambda account, calendar, entry: None)
    expiry = (utcnow() + timedelta(minutes=10050)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    responses.post(f"{GRAPH}/subscriptions", status=201, json={"id": "sub-9", "expirationDateTime": expiry})

    subscriptions._create(credentials.Mailbox(account), "")

    sent = json.loads(responses.calls[0].request.body)
    assert sent["notificationUrl"] == "https://hire-outlook.example.com/api/outlook/notifications?code=k3y%3D%3D"
    assert sent["lifecycleNotificationUrl"] == (
        "https://hire-outlook.example.com/api/outlook/notifications/lifecycle?code=k3y%3D%3D"
    )


def test_the_authorization_lasts_until_the_redeemed_tokens_exp(app_env):
    import jwt

    exp = int(utcnow().timestamp()) + 3599
    token = jwt.encode({"exp": exp, "aud": "https://graph.microsoft.com"}, "k" * 32, algorithm="HS256")
    assert credentials.token_expiry(token).timestamp() == exp
    guess = credentials.token_expiry("EwBwA8l6BAAU-opaque") - utcnow()  # not a JWT: a cautious guess
    assert timedelta(minutes=30) < guess <= timedelta(minutes=60)


def test_the_hourly_run_reauthorizes_what_would_lapse_before_it_comes_again(app_env):
    now = utcnow()
    far = iso(now + timedelta(days=6))

    def entry(minutes_left: float | None) -> dict:
        until = iso(now + timedelta(minutes=minutes_left)) if minutes_left is not None else None
        return {"id": "s1", "expires_at": far, "authorized_until": until}

    assert subscriptions._entry_due(entry(None), now)  # never reauthorized with a known token
    assert subscriptions._entry_due(entry(50), now)  # lapses before the next run
    assert subscriptions._entry_due(entry(65), now)  # the next run may reach it only after it lapsed
    assert not subscriptions._entry_due(entry(6 * 60), now)  # a long-lived token: not this hour
