"""The webhook to HERP: the signature HERP verifies, the backoff, one delivery attempt (responses)."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import responses

from shared.feed import webhook
from shared.models import Change, ChangeType, iso, utcnow

URL, SECRET = "https://hire.herp.test/webhooks/outlook", "s3cret"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    raw = b'{"id":"c1","type":"event.updated"}'
    header = webhook.signature(SECRET, 1_764_547_200, raw)
    t, v1 = (p.split("=", 1)[1] for p in header.split(","))
    assert t == "1764547200"
    assert v1 == hmac.new(SECRET.encode(), b"1764547200." + raw, hashlib.sha256).hexdigest()


def test_the_first_retry_comes_within_60_seconds_and_waits_grow_to_an_hour():
    waits = [webhook.backoff_seconds(n) for n in range(1, 14)]
    assert waits[0] <= 60 and waits == sorted(waits) and max(waits) == webhook.MAX_RETRY_SECONDS
    # Attempts keep coming for the whole 24 hours: about every hour at the end.
    assert sum(waits[:9]) < 24 * 3600


@pytest.fixture
def delivery(app_env, monkeypatch):
    app_env(HERP_WEBHOOK_URL=URL, HERP_WEBHOOK_SECRET=SECRET)
    change = Change(id="c1", company_id="co", type=ChangeType.EVENT_UPDATED, occurred_at=utcnow(), schedule_id="s1")
    change.seq = 7
    monkeypatch.setattr(webhook.Changes, "get", lambda self, company, seq: change if seq == 7 else None)
    sent: list[tuple[str, dict, int]] = []
    monkeypatch.setattr(webhook.queues, "enqueue", lambda q, p, delay_seconds=0: sent.append((q, p, delay_seconds)))
    return sent


@responses.activate
def test_a_2xx_is_delivery(delivery):
    responses.post(URL, status=204)
    webhook.deliver({"company_id": "co", "seq": 7, "attempt": 1})
    [call] = responses.calls
    assert json.loads(call.request.body)["id"] == "c1"
    assert call.request.headers["X-HERP-Signature"].startswith("t=")
    assert delivery == []


@responses.activate
def test_a_failure_is_tried_again_later_and_given_up_after_24_hours(delivery):
    responses.post(URL, status=500)
    webhook.deliver({"company_id": "co", "seq": 7, "attempt": 1})
    [(queue, payload, delay)] = delivery
    assert queue == webhook.queues.WEBHOOKS and payload["attempt"] == 2 and delay == webhook.FIRST_RETRY_SECONDS
    delivery.clear()
    first = iso(utcnow() - timedelta(hours=23, minutes=59))
    webhook.deliver({"company_id": "co", "seq": 7, "attempt": 30, "first_at": first})
    [(queue, payload, _delay)] = delivery
    assert queue == webhook.queues.WEBHOOKS_DEAD and payload["last_error"] == "HTTP 500"
