"""What every table module builds on: escaped keys, point reads, parameterised partition
queries, ETag-guarded writes, batched transactions, and the one conditional-update loop.

Every write that can race carries an ETag (`MatchConditions.IfNotModified`); a lost race raises
`ConcurrentUpdate`. Keys are escaped (`escape_key`); filters always use `parameters=`, never
string formatting (filter injection). The SDK is imported on first use, never at indexing.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from shared.errors import Conflict
from shared.models import iso
from shared.storage.connection import table

R = TypeVar("R")
BATCH_LIMIT = 100  # entity group transactions: at most 100 operations, one partition
UPDATE_ATTEMPTS = 5
# A string property holds at most 64 KiB of UTF-16 (32,768 units; a character outside the BMP
# takes two), an entity at most 1 MiB: long texts go in 16,000-character parts, at most 15.
CHUNK = 16000
MAX_CHUNKS = 15

# PartitionKey/RowKey may not hold / \ # ? or control characters; % is escaped too so that
# the mapping is reversible.
_UNSAFE_KEY_CHARS = re.compile(r"[/\\#?%\x00-\x1f\x7f-\x9f]")


class ConcurrentUpdate(Conflict):
    """The row changed (or appeared) since it was read. Use cases retry or resolve it; one that
    reaches the edge is a 409 the client may simply repeat."""

    code, message = "concurrent_update", "The item was changed by another request at the same time; retry."

    def __init__(self, table_name: str = ""):
        super().__init__()
        self.table = table_name


def escape_key(value: str) -> str:
    return _UNSAFE_KEY_CHARS.sub(lambda m: f"%{ord(m.group()):02X}", value)


def unescape_key(value: str) -> str:
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def text_parts(name: str, text: str | None) -> dict:
    """A long text as entity properties `{name}_chunks`, `{name}_0`, `{name}_1`... (None: 0 parts)."""
    if text is None:
        return {f"{name}_chunks": 0}
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"{name} too large to store")
    return {f"{name}_chunks": len(chunks), **{f"{name}_{n}": chunk for n, chunk in enumerate(chunks)}}


def joined_text(entity, name: str) -> str | None:
    """The text `text_parts` stored (None when it stored none)."""
    count = int(entity.get(f"{name}_chunks") or 0)
    return "".join(entity.get(f"{name}_{n}") or "" for n in range(count)) if count else None


def etag_of(entity) -> str | None:
    return entity.metadata.get("etag") if hasattr(entity, "metadata") else None


def read(table_name: str, partition_key: str, row_key: str):
    """The entity, or None."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return table(table_name).get_entity(escape_key(partition_key), escape_key(row_key))
    except ResourceNotFoundError:
        return None


def query(
    table_name: str,
    partition_key: str,
    extra: str = "",
    *,
    select: list[str] | None = None,
    page_size: int | None = None,
    **params,
) -> Iterator:
    """Entities of one partition in RowKey order, optionally narrowed by `extra` (an OData filter
    over `@params`); `select` names the only properties to fetch (fewer to transfer and to parse)."""
    flt = "PartitionKey eq @pk" + (f" and {extra}" if extra else "")
    return table(table_name).query_entities(
        flt, parameters={"pk": escape_key(partition_key), **params}, select=select, results_per_page=page_size
    )


def write(table_name: str, entity: dict, etag: str | None, *, create: bool = False) -> str:
    """Insert (`create`), replace guarded by `etag`, or upsert; returns the new ETag."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import UpdateMode

    client = table(table_name)
    try:
        if create:
            meta = client.create_entity(entity)
        elif etag:
            meta = client.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        else:
            meta = client.upsert_entity(entity, mode=UpdateMode.REPLACE)
    except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
        raise ConcurrentUpdate(table_name) from None
    return meta.get("etag")


def delete(table_name: str, partition_key: str, row_key: str) -> None:
    # delete_entity answers silently when the row is already gone: deletes are repeatable.
    table(table_name).delete_entity(escape_key(partition_key), escape_key(row_key))


def update(
    load: Callable[[], R | None],
    change: Callable[[R], bool],
    save: Callable[[R], R],
    *,
    first: R | None = None,
    attempts: int = UPDATE_ATTEMPTS,
) -> R | None:
    """Read, change, save under the record's ETag; a lost race re-reads and tries again after a
    short random pause. Returns the saved record; the record unsaved when `change` returns False
    (nothing to do); None when `load` finds nothing. After `attempts` lost races it raises
    ConcurrentUpdate: each caller decides what that means for it.

    `first` is a record already in hand (saves the first read).
    """
    record = first if first is not None else load()
    for attempt in range(attempts):
        if record is None:
            return None
        if change(record) is False:
            return record
        try:
            return save(record)
        except ConcurrentUpdate:
            if attempt + 1 == attempts:
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
            record = load()
    raise AssertionError("unreachable")


def submit_batches(table_name: str, operations: Iterable[tuple]) -> int:
    """Submit operations on one partition in transactions of <= 100; returns how many.

    A delete of a row that a twin run removed first fails its whole transaction (404): that
    chunk is then redone one row at a time (single deletes are silent on 404), so a repeat or
    an overlapping run does no harm.
    """
    from azure.data.tables import TableTransactionError, UpdateMode

    client = table(table_name)
    count = 0

    def submit(chunk: list[tuple]) -> None:
        try:
            client.submit_transaction(chunk)
        except TableTransactionError:
            for op in chunk:
                if op[0] == "upsert":
                    client.upsert_entity(op[1], mode=UpdateMode.REPLACE)
                else:
                    client.delete_entity(op[1]["PartitionKey"], op[1]["RowKey"])

    chunk: list[tuple] = []
    for op in operations:
        chunk.append(op)
        if len(chunk) == BATCH_LIMIT:
            submit(chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        submit(chunk)
        count += len(chunk)
    return count


def delete_many(table_name: str, entities: Iterable) -> int:
    """Delete rows of one partition in transactions of <= 100; returns how many."""
    return submit_batches(table_name, (("delete", entity) for entity in entities))


def delete_partition(table_name: str, partition_key: str) -> int:
    """Delete every row of one partition (a company's data); repeatable. Returns how many."""
    return delete_many(table_name, query(table_name, partition_key, select=["PartitionKey", "RowKey"]))


def delete_where(table_name: str, flt: str, **params) -> int:
    """Delete the rows of any partition that `flt` (OData over `@params`) selects; repeatable."""
    client = table(table_name)
    rows = client.query_entities(flt, parameters=params, select=["PartitionKey", "RowKey"])
    count = 0
    for e in rows:
        client.delete_entity(e["PartitionKey"], e["RowKey"])
        count += 1
    return count


def delete_expired(table_name: str, before: datetime) -> int:
    """Remove the rows whose `expires_at` is before `before` (one partition each, so one delete each)."""
    client = table(table_name)
    rows = client.query_entities("expires_at lt @t", parameters={"t": iso(before)}, select=["PartitionKey", "RowKey"])
    count = 0
    for e in rows:
        client.delete_entity(e["PartitionKey"], e["RowKey"])
        count += 1
    return count
