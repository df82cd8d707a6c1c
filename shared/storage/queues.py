"""Queue Storage: the messages of the queue triggers. Bulk enqueues run concurrently (Queue
Storage has no batch send). The queue names are read at indexing, so this module is cheap to
import: the client comes from `connection` on first send."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

ROOM_SYNC = "room-sync"  # functions/rooms.py `sync_tenant_rooms` listens here
NOTIFICATIONS = "outlook-notifications"  # functions/notifications.py `process_outlook_notifications`
SUBSCRIPTIONS = "outlook-subscriptions"  # functions/notifications.py `maintain_outlook_subscriptions`
CREDENTIALS = "credential-refresh"  # functions/links_alive.py `refresh_outlook_credential`
WEBHOOKS = "herp-webhooks"  # functions/changes.py `deliver_herp_webhook`
WEBHOOKS_DEAD = "herp-webhooks-dead"  # deliveries given up after 24 h (no trigger: for operators)
COMPANY_DATA = "company-data-deletion"  # functions/operations.py `delete_company_data`
PARALLEL_SENDS = 16
MAX_DELAY_SECONDS = 7 * 24 * 3600  # Queue Storage: a message may stay invisible at most 7 days


def _text(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def enqueue(queue: str, payload: dict, *, delay_seconds: int = 0) -> None:
    """Send one message; `delay_seconds` keeps it invisible that long (a retry with backoff)."""
    from shared.storage import connection

    delay = max(0, min(int(delay_seconds), MAX_DELAY_SECONDS)) or None
    connection.queue(queue).send_message(_text(payload), visibility_timeout=delay)


def enqueue_many(queue: str, payloads: Iterable[dict]) -> int:
    """Send every payload; returns how many. Sends run PARALLEL_SENDS at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.storage import connection

    client = connection.queue(queue)
    with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
        return sum(1 for _ in pool.map(lambda p: client.send_message(_text(p)), payloads))


def approximate_count(queue: str) -> int:
    """The queue's approximate message count (Queue Storage's own estimate; health)."""
    from shared.storage import connection

    return int(connection.queue(queue).get_queue_properties().approximate_message_count or 0)


def payload_of(msg, trigger: str, *required: str) -> dict | None:
    """A queue message's JSON object with every `required` key, or None: a malformed message,
    which `trigger` drops with a log line instead of retrying it into the poison queue."""
    try:
        payload = json.loads(msg.get_body())
    except (ValueError, UnicodeError):
        payload = None
    if not isinstance(payload, dict) or any(payload.get(k) in (None, "") for k in required):
        logging.getLogger("outlook").error("%s dropped a malformed message %s", trigger, msg.id)
        return None
    return payload


# Every queue an operator watches: the triggers' queues, the poison queues the Functions host
# moves a message to after its last retry (`<queue>-poison`), and the webhook dead letters.
TRIGGER_QUEUES = (ROOM_SYNC, NOTIFICATIONS, SUBSCRIPTIONS, CREDENTIALS, WEBHOOKS)
WATCHED_QUEUES = (*TRIGGER_QUEUES, *(f"{q}-poison" for q in TRIGGER_QUEUES), WEBHOOKS_DEAD)


def depths() -> dict[str, int]:
    """Approximate message count of each watched queue (the telemetry gauge `outlook.queue.depth`)."""
    from shared.storage import connection

    return {name: connection.queue(name).get_queue_properties().approximate_message_count for name in WATCHED_QUEUES}
