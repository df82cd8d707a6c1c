"""Queue Storage: the messages of the queue triggers. Bulk enqueues run concurrently (Queue
Storage has no batch send). The queue names are read at indexing, so this module is cheap to
import: the client comes from `connection` on first send."""

from __future__ import annotations

import json
from collections.abc import Iterable

ROOM_SYNC = "room-sync"  # functions/rooms.py `sync_tenant_rooms` listens here
PARALLEL_SENDS = 16


def _text(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def enqueue(queue: str, payload: dict) -> None:
    from shared.storage import connection

    connection.queue(queue).send_message(_text(payload))


def enqueue_many(queue: str, payloads: Iterable[dict]) -> int:
    """Send every payload; returns how many. Sends run PARALLEL_SENDS at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.storage import connection

    client = connection.queue(queue)
    with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
        return sum(1 for _ in pool.map(lambda p: client.send_message(_text(p)), payloads))
