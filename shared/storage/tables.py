"""Table Storage access: one lazily built service client, tables created once, escaped keys.

Locally `AzureWebJobsStorage` is a connection string (Azurite); in Azure `STORAGE_ACCOUNT_NAME`
selects managed identity (`DefaultAzureCredential`, imported only then). Filters always go
through `parameters=` (see the repositories), never string formatting.
"""
from __future__ import annotations

import logging
import re
import threading

from shared.settings import get_settings

# The tables of DESIGN.md "Storage" (infra/ declares the same names).
TENANT_LINKS = "TenantLinks"
MICROSOFT_ACCOUNTS = "MicrosoftAccounts"
USER_LINKS = "UserLinks"
ROOMS = "Rooms"
EVENTS = "Events"
OAUTH_STATES = "OAuthStates"
LINK_COMPLETIONS = "LinkCompletions"

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_lock = threading.Lock()
_service = None
_ready: dict[str, object] = {}

# PartitionKey/RowKey may not hold / \ # ? or control characters; % is escaped too so that
# the mapping is reversible.
_UNSAFE_KEY_CHARS = re.compile(r"[/\\#?%\x00-\x1f\x7f-\x9f]")


def escape_key(value: str) -> str:
    return _UNSAFE_KEY_CHARS.sub(lambda m: "%{:02X}".format(ord(m.group())), value)


def unescape_key(value: str) -> str:
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


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


def managed_identity_credential():
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _service_client():
    global _service
    if _service is None:
        from azure.data.tables import TableServiceClient

        # The SDK logs every request's headers at INFO; keep only its warnings.
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)

        settings = get_settings()
        if settings.storage_account_name:
            endpoint = f"https://{settings.storage_account_name}.table.core.windows.net"
            _service = TableServiceClient(endpoint, credential=managed_identity_credential())
        else:
            _service = TableServiceClient.from_connection_string(connection_string())
    return _service


def table(name: str):
    """A TableClient for `name`; the table is created on first use in this process."""
    client = _ready.get(name)
    if client is None:
        with _lock:
            client = _ready.get(name)
            if client is None:
                client = _service_client().create_table_if_not_exists(name)
                _ready[name] = client
    return client


def reset_clients() -> None:
    """Forget cached clients (tests switch storage between runs)."""
    global _service
    with _lock:
        _service = None
        _ready.clear()
    from shared.storage import queues

    queues.reset_clients()
