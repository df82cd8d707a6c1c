"""Settings of the local host: local.settings.json, host.json, app-setting placeholders.

Mirrors what Core Tools does: ``local.settings.json`` ``Values`` become environment variables
unless the environment already has them; ``%NAME%`` in a binding property is replaced by the
app setting ``NAME``; ``UseDevelopmentStorage=true`` means the Azurite dev account.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)  # Azurite's well-known devstoreaccount1 key
DEFAULT_QUEUE_ENDPOINT = "http://127.0.0.1:10001/devstoreaccount1"

_PLACEHOLDER = re.compile(r"%([^%\s]+)%")


class SettingError(ValueError):
    """A setting or binding property that the host cannot use."""


def load_local_settings(app_dir: Path, environ=os.environ) -> dict:
    """Copy ``Values`` of ``local.settings.json`` into ``environ`` where not already set."""
    path = Path(app_dir) / "local.settings.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise SettingError(f"{path} is not valid JSON: {exc}") from None
    values = data.get("Values") or {}
    if not isinstance(values, dict):
        raise SettingError(f"{path}: 'Values' must be an object")
    for name, value in values.items():
        if value is None:
            continue
        environ.setdefault(str(name), value if isinstance(value, str) else json.dumps(value))
    return values


def parse_timespan(text: str) -> float:
    """``[d.]hh:mm:ss[.fffffff]`` (.NET TimeSpan) -> seconds."""
    from shared.ncrontab import ScheduleError
    from shared.ncrontab import parse_timespan as parse

    try:
        return parse(text)
    except ScheduleError as exc:
        raise SettingError(str(exc)) from None


@dataclass(frozen=True)
class QueueOptions:
    max_polling_interval: float = 2.0
    visibility_timeout: float = 0.0
    batch_size: int = 16
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = QueueOptions()


OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def _override(data: dict, environ) -> dict:
    """host.json values overridden by app settings, as the Functions host does: the setting
    ``AzureFunctionsJobHost__extensions__queues__maxPollingInterval`` sets
    ``extensions.queues.maxPollingInterval`` (names case-insensitive). Source: Microsoft Learn,
    "host.json reference for Azure Functions 2.x and later", "Override host.json values"."""
    for name, value in environ.items():
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        *parents, leaf = name[len(OVERRIDE_PREFIX) :].split("__")
        node = data
        for part in parents:
            key = next((k for k in node if k.lower() == part.lower()), part)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[next((k for k in node if k.lower() == leaf.lower()), leaf)] = value
    return data


def load_host_config(app_dir: Path, environ=os.environ) -> HostConfig:
    path = Path(app_dir) / "host.json"
    data: dict = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as exc:
            raise SettingError(f"{path} is not valid JSON: {exc}") from None
    data = _override(data, environ)
    ext = data.get("extensions") or {}
    http = ext.get("http") or {}
    q = ext.get("queues") or {}
    defaults = QueueOptions()
    encoding = str(q.get("messageEncoding", defaults.message_encoding)).lower()
    if encoding not in ("base64", "none"):
        raise SettingError(f"host.json: messageEncoding must be 'base64' or 'none', not {encoding!r}")
    queues = QueueOptions(
        max_polling_interval=(
            parse_timespan(q["maxPollingInterval"]) if "maxPollingInterval" in q else defaults.max_polling_interval
        ),
        visibility_timeout=(
            parse_timespan(q["visibilityTimeout"]) if "visibilityTimeout" in q else defaults.visibility_timeout
        ),
        batch_size=max(1, int(q.get("batchSize", defaults.batch_size))),
        max_dequeue_count=max(1, int(q.get("maxDequeueCount", defaults.max_dequeue_count))),
        message_encoding=encoding,
    )
    prefix = http.get("routePrefix", "api")
    return HostConfig(route_prefix=str(prefix if prefix is not None else "").strip("/"), queues=queues)


def resolve_placeholders(value, environ=os.environ):
    """Replace every ``%NAME%`` with the app setting NAME (like the Functions host does)."""
    if not isinstance(value, str):
        return value

    def repl(m):
        name = m.group(1)
        if name not in environ:
            raise SettingError(f"'%{name}%' does not resolve to a value")
        return environ[name]

    return _PLACEHOLDER.sub(repl, value)


def storage_connection_string(connection: str | None, environ=os.environ) -> str:
    """The connection string named by a binding's ``connection`` (default AzureWebJobsStorage)."""
    name = connection or "AzureWebJobsStorage"
    for candidate in (name, "AzureWebJobs" + name):
        value = environ.get(candidate)
        if value:
            return expand_development_storage(value, environ)
    raise SettingError(f"storage connection setting '{name}' is missing or empty")


def expand_development_storage(conn: str, environ=os.environ) -> str:
    parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    if parts.get("UseDevelopmentStorage", "").strip().lower() != "true":
        return conn
    queue = environ.get("AZURITE_QUEUE_ENDPOINT") or DEFAULT_QUEUE_ENDPOINT
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"QueueEndpoint={queue.rstrip('/')};"
    )
