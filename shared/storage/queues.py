"""Queue Storage: messages for the queue triggers (base64 text, as the Functions host expects).

One lazily built service client; a queue is created once per process on first use. Bulk
enqueues run concurrently (Queue Storage has no batch send).
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from shared.settings import get_settings
from shared.storage.tables import connection_string, managed_identity_credential

ROOM_SYNC = "room-sync"
PARALLEL_SENDS = 16

_lock = threading.Lock()
_clients: dict[str, object] = {}


def _queue(name: str):
    client = _clients.get(name)
    if client is None:
        with _lock:
            client = _clients.get(name)
            if client is None:
                from azure.core.exceptions import ResourceExistsError
                from azure.storage.queue import QueueClient, TextBase64EncodePolicy

                settings = get_settings()
                if settings.storage_account_name:
                    url = f"https://{settings.storage_account_name}.queue.core.windows.net"
                    client = QueueClient(url, name, credential=managed_identity_credential(),
                                         message_encode_policy=TextBase64EncodePolicy())
                else:
                    client = QueueClient.from_connection_string(connection_string(), name,
                                                                message_encode_policy=TextBase64EncodePolicy())
                try:
                    client.create_queue()
                except ResourceExistsError:
                    pass
                _clients[name] = client
    return client


def enqueue(queue: str, payload: dict) -> None:
    _queue(queue).send_message(json.dumps(payload, separators=(",", ":")))


def enqueue_many(queue: str, payloads: Iterable[dict]) -> int:
    """Send every payload; returns how many. Sends run PARALLEL_SENDS at a time."""
    client = _queue(queue)
    with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
        sent = pool.map(lambda p: client.send_message(json.dumps(p, separators=(",", ":"))), payloads)
        return sum(1 for _ in sent)


def reset_clients() -> None:
    with _lock:
        _clients.clear()
