"""Typed repositories over Table Storage: records of shared.models <-> entities.

Every write that can race carries an ETag (`MatchConditions.IfNotModified`); a lost race raises
`ConcurrentUpdate`. Keys are escaped (`escape_key`); filters use `parameters=`.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Iterator

from shared.errors import Conflict
from shared.models import (
    Account,
    MicrosoftAccount,
    OAuthState,
    Room,
    UNLINKING,
    TenantLink,
    UserLink,
    account_key,
    iso,
    parse_iso,
)
from shared.storage import tables
from shared.storage.tables import escape_key, unescape_key

BATCH_LIMIT = 100  # entity group transactions: at most 100 operations, one partition


class ConcurrentUpdate(Conflict):
    """The row changed (or appeared) since it was read. Use cases retry or resolve it; one that
    reaches the edge is a 409 the client may simply repeat."""

    code, message = "concurrent_update", "The item was changed by another request at the same time; retry."

    def __init__(self, table: str = ""):
        super().__init__()
        self.table = table


def _etag(entity) -> str | None:
    return entity.metadata.get("etag") if hasattr(entity, "metadata") else None


def _write(table_name: str, entity: dict, etag: str | None, *, create: bool = False) -> str:
    """Insert (`create`), replace guarded by `etag`, or upsert; returns the new ETag."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import UpdateMode

    client = tables.table(table_name)
    try:
        if create:
            meta = client.create_entity(entity)
        elif etag:
            meta = client.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                        match_condition=MatchConditions.IfNotModified)
        else:
            meta = client.upsert_entity(entity, mode=UpdateMode.REPLACE)
    except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
        raise ConcurrentUpdate(table_name) from None
    return meta.get("etag")


def _get(table_name: str, partition_key: str, row_key: str):
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return tables.table(table_name).get_entity(escape_key(partition_key), escape_key(row_key))
    except ResourceNotFoundError:
        return None


def _query(table_name: str, partition_key: str, extra: str = "", **params) -> Iterator:
    flt = "PartitionKey eq @pk" + (f" and {extra}" if extra else "")
    return tables.table(table_name).query_entities(flt, parameters={"pk": escape_key(partition_key), **params})


def _delete(table_name: str, partition_key: str, row_key: str) -> None:
    # delete_entity answers silently when the row is already gone: deletes are repeatable.
    tables.table(table_name).delete_entity(escape_key(partition_key), escape_key(row_key))


def _submit_batches(table_name: str, operations: Iterable[tuple]) -> int:
    """Submit operations on one partition in transactions of <= 100; returns how many.

    A delete of a row that a twin run removed first fails its whole transaction (404): that
    chunk is then redone one row at a time (single deletes are silent on 404), so a repeat or
    an overlapping run does no harm.
    """
    from azure.data.tables import TableTransactionError, UpdateMode

    client = tables.table(table_name)
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


def _delete_many(table_name: str, entities: Iterable) -> int:
    """Delete rows of one partition in transactions of <= 100; returns how many."""
    return _submit_batches(table_name, (("delete", entity) for entity in entities))


# ---- tenant links: PartitionKey company_id, RowKey tenant_id


def _tenant_link_from(e) -> TenantLink:
    return TenantLink(
        company_id=unescape_key(e["PartitionKey"]),
        tenant_id=unescape_key(e["RowKey"]),
        tenant_name=e.get("tenant_name") or "",
        status=e["status"],
        admin=Account(e.get("admin_id") or "", e.get("admin_email") or "", e.get("admin_name") or ""),
        linked_by=e.get("linked_by") or "",
        linked_at=parse_iso(e.get("linked_at")),
        renewed_at=parse_iso(e.get("renewed_at")),
        rooms_count=int(e.get("rooms_count") or 0),
        rooms_synced_at=parse_iso(e.get("rooms_synced_at")),
        rooms_last_error=e.get("rooms_last_error"),
        etag=_etag(e),
    )


class TenantLinks:
    table = tables.TENANT_LINKS

    def get(self, company_id: str, tenant_id: str) -> TenantLink | None:
        e = _get(self.table, company_id, tenant_id)
        return _tenant_link_from(e) if e else None

    def list(self, company_id: str) -> list[TenantLink]:
        return [_tenant_link_from(e) for e in _query(self.table, company_id)]

    def get_linked(self, company_id: str, tenant_id: str) -> TenantLink | None:
        """The link, unless absent or being unlinked (an unlink in progress hides it at once)."""
        link = self.get(company_id, tenant_id)
        return link if link is not None and link.status != UNLINKING else None

    def list_linked(self, company_id: str) -> list[TenantLink]:
        return [link for link in self.list(company_id) if link.status != UNLINKING]

    def save(self, link: TenantLink, *, create: bool = False) -> TenantLink:
        entity = {
            "PartitionKey": escape_key(link.company_id),
            "RowKey": escape_key(link.tenant_id),
            "tenant_name": link.tenant_name,
            "status": link.status,
            "admin_id": link.admin.id,
            "admin_email": link.admin.email,
            "admin_name": link.admin.display_name,
            "linked_by": link.linked_by,
            "linked_at": iso(link.linked_at),
            "renewed_at": iso(link.renewed_at),
            "rooms_count": link.rooms_count,
            "rooms_synced_at": iso(link.rooms_synced_at),
            "rooms_last_error": link.rooms_last_error,
        }
        link.etag = _write(self.table, entity, link.etag, create=create)
        return link

    def delete(self, company_id: str, tenant_id: str) -> None:
        _delete(self.table, company_id, tenant_id)

    def all(self) -> Iterator[tuple[str, str, str]]:
        """(company_id, tenant_id, status) of every tenant link, paged by the SDK (the fan-out)."""
        rows = tables.table(self.table).list_entities(select=["PartitionKey", "RowKey", "status"], results_per_page=1000)
        for e in rows:
            yield unescape_key(e["PartitionKey"]), unescape_key(e["RowKey"]), e.get("status") or ""

    def companies_linking(self, tenant_id: str) -> list[str]:
        """Companies that link `tenant_id` (a cross-partition query: only on unlink)."""
        rows = tables.table(self.table).query_entities("RowKey eq @tid", parameters={"tid": escape_key(tenant_id)},
                                                       select=["PartitionKey", "status"])
        return [unescape_key(e["PartitionKey"]) for e in rows]


# ---- Microsoft accounts: PartitionKey company_id, RowKey "{tenant_id}:{oid}"


def _ms_account_from(e) -> MicrosoftAccount:
    tenant_id, _, oid = unescape_key(e["RowKey"]).partition(":")
    return MicrosoftAccount(
        company_id=unescape_key(e["PartitionKey"]),
        tenant_id=tenant_id,
        account=Account(oid, e.get("email") or "", e.get("display_name") or ""),
        status=e.get("status") or "active",
        token_cache=e.get("token_cache"),
        updated_at=parse_iso(e.get("updated_at")),
        calendars=json.loads(e["calendars"]) if e.get("calendars") else None,
        etag=_etag(e),
    )


class MicrosoftAccounts:
    table = tables.MICROSOFT_ACCOUNTS

    def get(self, company_id: str, tenant_id: str, oid: str) -> MicrosoftAccount | None:
        e = _get(self.table, company_id, account_key(tenant_id, oid))
        return _ms_account_from(e) if e else None

    def list(self, company_id: str) -> list[MicrosoftAccount]:
        return [_ms_account_from(e) for e in _query(self.table, company_id)]

    def _of_tenant(self, company_id: str, tenant_id: str) -> Iterator:
        # Row keys of a tenant share the prefix "{tenant_id}:"; ";" sorts right after ":".
        lo, hi = escape_key(f"{tenant_id}:"), escape_key(f"{tenant_id};")
        return _query(self.table, company_id, "RowKey ge @lo and RowKey lt @hi", lo=lo, hi=hi)

    def save(self, account: MicrosoftAccount) -> MicrosoftAccount:
        entity = {
            "PartitionKey": escape_key(account.company_id),
            "RowKey": escape_key(account.key),
            "email": account.account.email,
            "display_name": account.account.display_name,
            "status": account.status,
            "token_cache": account.token_cache,
            "updated_at": iso(account.updated_at),
            "calendars": json.dumps(account.calendars, separators=(",", ":")) if account.calendars else None,
        }
        account.etag = _write(self.table, entity, account.etag)
        return account

    def delete(self, company_id: str, tenant_id: str, oid: str) -> None:
        _delete(self.table, company_id, account_key(tenant_id, oid))

    def delete_tenant(self, company_id: str, tenant_id: str) -> int:
        return _delete_many(self.table, self._of_tenant(company_id, tenant_id))


# ---- user links: PartitionKey company_id, RowKey link_id


def _user_link_from(e) -> UserLink:
    return UserLink(
        company_id=unescape_key(e["PartitionKey"]),
        link_id=unescape_key(e["RowKey"]),
        herp_account_id=e["herp_account_id"],
        tenant_id=e["tenant_id"],
        account_id=e["account_id"],
        via=e.get("via") or "user",
        linked_at=parse_iso(e.get("linked_at")),
        etag=_etag(e),
    )


class UserLinks:
    table = tables.USER_LINKS

    def get(self, company_id: str, link_id: str) -> UserLink | None:
        e = _get(self.table, company_id, link_id)
        return _user_link_from(e) if e else None

    def of_herp_account(self, company_id: str, herp_account_id: str) -> list[UserLink]:
        rows = _query(self.table, company_id, "herp_account_id eq @acct", acct=herp_account_id)
        return [_user_link_from(e) for e in rows]

    def of_tenant(self, company_id: str, tenant_id: str) -> list[UserLink]:
        return [_user_link_from(e) for e in _query(self.table, company_id, "tenant_id eq @tid", tid=tenant_id)]

    def of_microsoft_account(self, company_id: str, tenant_id: str, oid: str) -> list[UserLink]:
        rows = _query(self.table, company_id, "tenant_id eq @tid and account_id eq @oid", tid=tenant_id, oid=oid)
        return [_user_link_from(e) for e in rows]

    def save(self, link: UserLink) -> UserLink:
        entity = {
            "PartitionKey": escape_key(link.company_id),
            "RowKey": escape_key(link.link_id),
            "herp_account_id": link.herp_account_id,
            "tenant_id": link.tenant_id,
            "account_id": link.account_id,
            "via": link.via,
            "linked_at": iso(link.linked_at),
        }
        link.etag = _write(self.table, entity, link.etag)
        return link

    def delete(self, company_id: str, link_id: str) -> None:
        _delete(self.table, company_id, link_id)

    def delete_tenant(self, company_id: str, tenant_id: str) -> int:
        return _delete_many(self.table, _query(self.table, company_id, "tenant_id eq @tid", tid=tenant_id))


# ---- rooms: PartitionKey tenant_id, RowKey room email (lower case)


def _room_from(e) -> Room:
    capacity = e.get("capacity")
    return Room(email=e.get("email") or unescape_key(e["RowKey"]), display_name=e.get("display_name") or "",
                capacity=int(capacity) if capacity is not None else None, building=e.get("building"),
                floor=e.get("floor"), room_list=e.get("room_list"),
                wheelchair_accessible=e.get("wheelchair_accessible"),
                bookable=e.get("bookable") is not False,  # rows cached before the field existed
                tags=tuple(json.loads(e.get("tags") or "[]")))


def _room_entity(tenant_id: str, room: Room) -> dict:
    return {"PartitionKey": escape_key(tenant_id), "RowKey": escape_key(room.email.lower()), "email": room.email,
            "display_name": room.display_name, "capacity": room.capacity, "building": room.building,
            "floor": room.floor, "room_list": room.room_list,
            "wheelchair_accessible": room.wheelchair_accessible, "bookable": room.bookable,
            "tags": json.dumps(list(room.tags), ensure_ascii=False)}


class Rooms:
    table = tables.ROOMS

    def list(self, tenant_id: str) -> list[Room]:
        return [_room_from(e) for e in _query(self.table, tenant_id)]

    def get(self, tenant_id: str, email: str) -> Room | None:
        e = _get(self.table, tenant_id, email.lower())
        return _room_from(e) if e else None

    def apply(self, tenant_id: str, upserts: list[Room], deletes: list[str]) -> int:
        """Write changed rooms and delete gone ones (by email) in transactions of <= 100;
        returns the number of rows written. Repeating it, or racing a twin, does no harm."""
        from azure.data.tables import UpdateMode

        ops = [("upsert", _room_entity(tenant_id, r), {"mode": UpdateMode.REPLACE}) for r in upserts]
        ops += [("delete", {"PartitionKey": escape_key(tenant_id), "RowKey": escape_key(email.lower())}) for email in deletes]
        return _submit_batches(self.table, ops)

    def delete_tenant(self, tenant_id: str) -> int:
        return _delete_many(self.table, _query(self.table, tenant_id))


# ---- OAuth states: PartitionKey state id, RowKey "state"


def _state_from(e) -> OAuthState:
    return OAuthState(
        state_id=unescape_key(e["PartitionKey"]),
        flow=e["flow"],
        leg=e["leg"],
        company_id=e["company_id"],
        herp_account_id=e["herp_account_id"],
        tenant_id=e.get("tenant_id"),
        expires_at=parse_iso(e["expires_at"]),
        auth_flow=e.get("auth_flow"),
        used=bool(e.get("used")),
        etag=_etag(e),
    )


def _state_entity(state: OAuthState) -> dict:
    return {
        "PartitionKey": escape_key(state.state_id),
        "RowKey": "state",
        "flow": state.flow,
        "leg": state.leg,
        "company_id": state.company_id,
        "herp_account_id": state.herp_account_id,
        "tenant_id": state.tenant_id,
        "expires_at": iso(state.expires_at),
        "auth_flow": state.auth_flow,
        "used": state.used,
    }


class OAuthStates:
    table = tables.OAUTH_STATES
    ROW_KEY = "state"

    def create(self, state: OAuthState) -> OAuthState:
        state.etag = _write(self.table, _state_entity(state), None, create=True)
        return state

    def consume(self, state_id: str) -> OAuthState | None:
        """Take a state exactly once: None when unknown or already taken (also by a racing request).

        The row is first marked used under its ETag (a racing consumer gets 412 and loses), then
        deleted. A conditional delete alone would not do: the SDK's delete_entity is silent on
        404, so two racers could both "succeed".
        """
        entity = _get(self.table, state_id, self.ROW_KEY)
        if entity is None:
            return None
        state = _state_from(entity)
        if state.used:
            return None
        state.used = True
        try:
            _write(self.table, _state_entity(state), state.etag)
        except ConcurrentUpdate:
            return None
        _delete(self.table, state_id, self.ROW_KEY)
        return state

    def delete_expired(self, before: datetime) -> int:
        """Remove states that expired unused."""
        return delete_expired(self.table, before)


def delete_expired(table_name: str, before: datetime) -> int:
    """Remove the rows whose `expires_at` is before `before` (one partition each, so one delete each)."""
    client = tables.table(table_name)
    rows = client.query_entities("expires_at lt @t", parameters={"t": iso(before)}, select=["PartitionKey", "RowKey"])
    count = 0
    for e in rows:
        client.delete_entity(e["PartitionKey"], e["RowKey"])
        count += 1
    return count
