"""The webhook to HERP: each Change POSTed as JSON, one per request, signed
`X-HERP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

A delivery is a message on its own queue (`herp-webhooks`), so a slow or failing HERP never
slows the intake of Graph's notifications. A 2xx within 10 s is delivery; anything else is
tried again after a backoff (10 s, then doubling up to an hour) for 24 hours from the first
attempt, then the message goes to `herp-webhooks-dead` with one error line. The feed stays the
source of truth: the webhook only says "look now".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests

from shared.models import iso, parse_iso_required, utcnow
from shared.settings import get_settings
from shared.storage import queues
from shared.storage.changes import Changes
from shared.storage.deliveries import Deliveries

log = logging.getLogger("outlook.webhook")

TIMEOUT_SECONDS = 10
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600
GIVE_UP_AFTER = timedelta(hours=24)
_session = requests.Session()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff_seconds(attempt: int) -> int:
    """The wait after failed attempt `attempt` (1-based): 10 s, 20 s, 40 s ... at most an hour."""
    return min(FIRST_RETRY_SECONDS * 2 ** (attempt - 1), MAX_RETRY_SECONDS)


def _post(url: str, secret: str, raw: bytes) -> str | None:
    """None when HERP took it (2xx in time), else what went wrong (for the log)."""
    now = int(time.time())
    headers = {"Content-Type": "application/json", "X-HERP-Signature": signature(secret, now, raw)}
    try:
        response = _session.post(url, data=raw, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def deliver(message: dict) -> None:
    """One delivery attempt of the Change `message` names; schedules the next one on failure."""
    webhook = get_settings().webhook()
    if webhook is None:
        return  # the webhook was switched off meanwhile
    url, secret = webhook
    company_id, seq, attempt = str(message["company_id"]), int(message["seq"]), int(message.get("attempt") or 1)
    first = parse_iso_required(message["first_at"]) if message.get("first_at") else utcnow()
    change = Changes().get(company_id, seq)
    if change is None:
        log.info("webhook of change %d skipped: no longer in the feed", seq)
        return
    raw = json.dumps(change.to_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    problem = _post(url, secret, raw)
    if problem is None:
        log.info("webhook delivered change %s (attempt %d)", change.id, attempt)
        try:
            Deliveries().delivered(company_id, utcnow())
        except Exception as exc:  # noqa: BLE001 - a health detail: the delivery itself succeeded
            log.warning("last_delivered_at not stored (%s)", type(exc).__name__)
        return
    wait = backoff_seconds(attempt)
    payload = {"company_id": company_id, "seq": seq, "attempt": attempt + 1, "first_at": iso(first)}
    if utcnow() + timedelta(seconds=wait) - first > GIVE_UP_AFTER:
        queues.enqueue(queues.WEBHOOKS_DEAD, {**payload, "change_id": change.id, "last_error": problem})
        log.error(
            "webhook gave up on change %s after %d attempts over 24 h (last: %s); dead-lettered to %s",
            change.id,
            attempt,
            problem,
            queues.WEBHOOKS_DEAD,
        )
        return
    log.warning("webhook of change %s failed (%s); attempt %d in %d s", change.id, problem, attempt + 1, wait)
    queues.enqueue(queues.WEBHOOKS, payload, delay_seconds=wait)
