"""Queue triggers on Azure Storage queues (Azurite locally), polled like the Functions host."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage  # what the worker passes (with metadata)
from azure.storage.queue import QueueClient

from .settings import storage_connection_string

log = logging.getLogger("devtools.host")
# The SDK logs every HTTP call at INFO; polling would flood the log. Quiet for the host's own
# clients only (the app's clients keep the SDK's normal logging).
_sdk_quiet = logging.getLogger("devtools.host.storage")
_sdk_quiet.setLevel(logging.WARNING)

MIN_POLL = 0.1  # seconds; doubled while the queue is empty, up to maxPollingInterval
PROCESSING_VISIBILITY = 600  # the real host keeps a message invisible 10 min while running


def queue_client(connection: str | None, queue_name: str, environ) -> QueueClient:
    conn = storage_connection_string(connection, environ)
    return QueueClient.from_connection_string(conn, queue_name, logger=_sdk_quiet)


def ensure_queue(client: QueueClient) -> None:
    try:
        client.create_queue()
    except ResourceExistsError:
        pass


class QueueSender:
    """Queue output bindings: send bytes to the binding's queue (created when absent)."""

    def __init__(self, encoding: str, environ):
        self.encoding, self.environ = encoding, environ
        self._clients: dict = {}
        self._lock = threading.Lock()

    def __call__(self, binding: dict, body: bytes) -> None:
        key = (binding.get("connection"), binding["queueName"].lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = queue_client(key[0], key[1], self.environ)
                ensure_queue(client)
                self._clients[key] = client
        text = base64.b64encode(body).decode("ascii") if self.encoding == "base64" else body.decode("utf-8")
        client.send_message(text)


def admin_message(text: str) -> QueueMessage:
    """What an admin invocation passes: the input as body, no real queue behind it."""
    now = datetime.now(UTC)
    return QueueMessage(
        id=str(uuid.uuid4()),
        body=text.encode("utf-8"),
        dequeue_count=1,
        expiration_time=now + timedelta(days=7),
        insertion_time=now,
        time_next_visible=now,
        pop_receipt=None,
    )


class QueueListener:
    def __init__(self, function, options, invoke, stop: threading.Event, environ):
        self.function = function
        self.options = options
        self.invoke = invoke
        self.stop = stop
        self.queue_name = function.trigger["queueName"].lower()
        self.client = queue_client(function.trigger.get("connection"), self.queue_name, environ)
        self.poison = queue_client(function.trigger.get("connection"), self.queue_name + "-poison", environ)
        self.pool = ThreadPoolExecutor(options.batch_size, thread_name_prefix=f"queue:{function.name}")
        self._free = threading.Semaphore(options.batch_size)

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name=f"poll:{self.function.name}", daemon=True)
        t.start()
        return t

    def run(self) -> None:
        delay, created, failing = MIN_POLL, False, False
        while not self.stop.is_set():
            try:
                if not created:
                    ensure_queue(self.client)
                    created = True
                found = self.poll_once()
                failing = False
            except Exception as exc:  # storage down, Azurite not started yet, ...
                if not failing:  # once per outage, not once per poll
                    log.warning(
                        "polling queue '%s' failed: %s: %s",
                        self.queue_name,
                        type(exc).__name__,
                        str(exc).splitlines()[0][:200],
                    )
                failing, found = True, False
            if found:
                delay = MIN_POLL
                continue
            self.stop.wait(delay)
            delay = min(delay * 2, max(self.options.max_polling_interval, MIN_POLL))
        self.pool.shutdown(wait=True)

    def poll_once(self) -> bool:
        """Receive as many messages as there are free workers; False when none came."""
        if not self._free.acquire(timeout=0.5):
            return True  # all workers busy: come back as soon as one is free
        free = 1
        while free < self.options.batch_size and self._free.acquire(blocking=False):
            free += 1
        try:
            messages = list(
                self.client.receive_messages(
                    messages_per_page=min(free, 32), max_messages=free, visibility_timeout=PROCESSING_VISIBILITY
                )
            )
        except BaseException:
            for _ in range(free):
                self._free.release()
            raise
        for _ in range(free - len(messages)):
            self._free.release()
        for m in messages:
            self.pool.submit(self._process, m)
        return bool(messages)

    def _process(self, msg) -> None:
        try:
            self.process(msg)
        except Exception:
            log.exception("handling message %s of queue '%s' failed", msg.id, self.queue_name)
        finally:
            self._free.release()

    def process(self, msg) -> None:
        content = msg.content or ""
        if self.options.message_encoding == "base64":
            try:
                body = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                log.error(
                    "message %s of queue '%s' is not valid base64: moving it to '%s'",
                    msg.id,
                    self.queue_name,
                    self.queue_name + "-poison",
                )
                self.to_poison(msg)
                return
        else:
            body = content.encode("utf-8")
        qm = QueueMessage(
            id=msg.id,
            body=body,
            dequeue_count=msg.dequeue_count,
            expiration_time=msg.expires_on,
            insertion_time=msg.inserted_on,
            time_next_visible=msg.next_visible_on,
            pop_receipt=msg.pop_receipt,
        )
        try:
            self.invoke(self.function, qm)
        except Exception:  # logged by the invoker
            if (msg.dequeue_count or 0) >= self.options.max_dequeue_count:
                log.error(
                    "message %s has reached MaxDequeueCount of %d: moving it to '%s'",
                    msg.id,
                    self.options.max_dequeue_count,
                    self.queue_name + "-poison",
                )
                self.to_poison(msg)
            else:
                log.warning(
                    "message %s of queue '%s' failed (dequeue count %s); retry in %g s",
                    msg.id,
                    self.queue_name,
                    msg.dequeue_count,
                    self.options.visibility_timeout,
                )
                self.client.update_message(
                    msg.id, msg.pop_receipt, visibility_timeout=int(self.options.visibility_timeout)
                )
            return
        self.client.delete_message(msg.id, msg.pop_receipt)

    def to_poison(self, msg) -> None:
        ensure_queue(self.poison)
        self.poison.send_message(msg.content)
        self.client.delete_message(msg.id, msg.pop_receipt)
