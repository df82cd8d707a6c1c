"""The storage account behind tables and queues: one lazily built client of each kind.

Locally `AzureWebJobsStorage` is a connection string (Azurite); in Azure `STORAGE_ACCOUNT_NAME`
selects managed identity (`DefaultAzureCredential`, imported only then). A table or queue is
created once per process, on first use. Table and queue modules both build on this one.
"""

from __future__ import annotations

import logging
import threading

from shared.settings import get_settings

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_lock = threading.Lock()
_table_service = None
_tables: dict[str, object] = {}
_queues: dict[str, object] = {}


def connection_string() -> str:
    """AzureWebJobsStorage with `UseDevelopmentStorage=true` spelt out (the queue SDK needs it)."""
    raw = get_settings().require("storage_connection")
    if raw.strip().lower() != "usedevelopmentstorage=true":
        return raw
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:10000/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:10001/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:10002/{AZURITE_ACCOUNT};"
    )


def _credential():
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _service():
    global _table_service
    if _table_service is None:
        from azure.data.tables import TableServiceClient

        # The SDK logs every request's headers at INFO; keep only its warnings.
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
        account = get_settings().storage_account_name
        if account:
            _table_service = TableServiceClient(f"https://{account}.table.core.windows.net", credential=_credential())
        else:
            _table_service = TableServiceClient.from_connection_string(connection_string())
    return _table_service


def table(name: str):
    """A TableClient for `name`; the table is created on first use in this process."""
    client = _tables.get(name)
    if client is None:
        with _lock:
            client = _tables.get(name)
            if client is None:
                client = _service().create_table_if_not_exists(name)
                _tables[name] = client
    return client


def queue(name: str):
    """A QueueClient for `name` (base64 text messages, as the Functions host expects); the queue
    is created on first use in this process."""
    client = _queues.get(name)
    if client is None:
        with _lock:
            client = _queues.get(name)
            if client is None:
                from azure.core.exceptions import ResourceExistsError
                from azure.storage.queue import QueueClient, TextBase64EncodePolicy

                account = get_settings().storage_account_name
                encode = TextBase64EncodePolicy()
                if account:
                    client = QueueClient(
                        f"https://{account}.queue.core.windows.net",
                        name,
                        credential=_credential(),
                        message_encode_policy=encode,
                    )
                else:
                    client = QueueClient.from_connection_string(connection_string(), name, message_encode_policy=encode)
                try:
                    client.create_queue()
                except ResourceExistsError:
                    pass
                _queues[name] = client
    return client


def reset_clients() -> None:
    """Forget every client (tests switch storage between runs)."""
    global _table_service
    with _lock:
        _table_service = None
        _tables.clear()
        _queues.clear()
