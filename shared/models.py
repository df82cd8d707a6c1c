"""Domain records and their status enums. `shared.storage` maps them to and from Table entities
(one module per table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class TenantStatus(StrEnum):
    ACTIVE = "active"
    RENEWAL_REQUIRED = "renewal_required"  # the admin credential died: rooms cannot be refreshed
    UNLINKING = "unlinking"  # a tenant unlink in progress: invisible, resumable


class AccountStatus(StrEnum):
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"  # the refresh token was refused for good


class EventStatus(StrEnum):
    CREATING = "creating"  # the schedule id is reserved; Outlook's answer not yet stored
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ChangeType(StrEnum):
    """What the change feed reports (README "Changes from Outlook")."""

    EVENT_UPDATED = "event.updated"
    RESPONSES_CHANGED = "event.responses_changed"
    DELETED_IN_OUTLOOK = "event.deleted_in_outlook"
    CANCELLED_IN_OUTLOOK = "event.cancelled_in_outlook"
    ROOM_DECLINED = "event.room_declined"
    ROOM_REPLACED = "event.room_replaced"
    LINK_REAUTH_REQUIRED = "link.reauth_required"
    TENANT_RENEWAL_REQUIRED = "tenant.renewal_required"


class Via(StrEnum):
    USER = "user"
    TENANT_ADMIN = "tenant_admin"


class Flow(StrEnum):
    TENANT_LINK = "tenant_link"
    TENANT_RENEW = "tenant_renew"
    USER_LINK = "user_link"


class Leg(StrEnum):
    CONSENT = "consent"
    SIGNIN = "signin"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def parse_iso_required(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Account:
    """A Microsoft 365 account as HERP shows it (`id` is the Entra object id)."""

    id: str
    email: str
    display_name: str

    def to_json(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name}


@dataclass
class TenantLink:
    company_id: str
    tenant_id: str
    tenant_name: str
    status: str
    admin: Account
    linked_by: str
    linked_at: datetime
    renewed_at: datetime | None = None
    rooms_count: int = 0
    rooms_synced_at: datetime | None = None
    rooms_last_error: str | None = None
    etag: str | None = None

    def to_json(self) -> dict:
        return {
            "tenant_id": self.tenant_id,
            "tenant_name": self.tenant_name,
            "status": self.status,
            "admin_account": self.admin.to_json(),
            "linked_at": iso(self.linked_at),
            "renewed_at": iso(self.renewed_at),
            "rooms": {
                "count": self.rooms_count,
                "synced_at": iso(self.rooms_synced_at),
                "last_error": self.rooms_last_error,
            },
        }


@dataclass
class MicrosoftAccount:
    """A Microsoft account known to one HERP company, with its (sealed) MSAL token cache."""

    company_id: str
    tenant_id: str
    account: Account
    status: str = AccountStatus.ACTIVE
    token_cache: str | None = None  # sealed, see shared.crypto
    updated_at: datetime | None = None
    # What Outlook said of the account's calendars: {"default": id, "teams": {id: bool}}.
    calendars: dict | None = None
    # Graph subscriptions on the account's events, per calendar ("" = the default calendar):
    # {calendar: {"id", "expires_at"}}. None: not looked at yet (accounts linked before them).
    subscriptions: dict | None = None
    reauth_since: datetime | None = None  # when the credential was found dead
    reauth_reported: bool = False  # its `link.reauth_required` Changes are in the feed
    credential_checked_at: datetime | None = None  # the last token redemption that succeeded (health)
    etag: str | None = None

    @property
    def key(self) -> str:
        return account_key(self.tenant_id, self.account.id)


def account_key(tenant_id: str, oid: str) -> str:
    return f"{tenant_id}:{oid}"


@dataclass
class UserLink:
    company_id: str
    link_id: str
    herp_account_id: str
    tenant_id: str
    account_id: str  # Entra object id
    via: str
    linked_at: datetime
    etag: str | None = None


@dataclass
class OAuthState:
    """A single-use state of one leg of a Microsoft sign-in flow (10 minutes)."""

    state_id: str
    flow: str
    leg: str
    company_id: str
    herp_account_id: str
    tenant_id: str | None
    expires_at: datetime
    auth_flow: str | None = None  # sealed MSAL flow dict (PKCE verifier, nonce)
    used: bool = False
    etag: str | None = None


@dataclass
class Room:
    """An Outlook meeting room of a tenant, as cached from Graph `places`."""

    email: str
    display_name: str
    capacity: int | None
    building: str | None
    floor: str | None
    room_list: str | None
    wheelchair_accessible: bool | None = None
    bookable: bool = True  # Graph `bookingType: reserved` rooms cannot be booked (room.md)
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "email": self.email,
            "display_name": self.display_name,
            "capacity": self.capacity,
            "building": self.building,
            "floor": self.floor,
            "room_list": self.room_list,
            "wheelchair_accessible": self.wheelchair_accessible,
            "bookable": self.bookable,
            "tags": list(self.tags),
        }


@dataclass
class EventRecord:
    """A HERP schedule's Outlook event: the normalised input and where Outlook keeps it."""

    company_id: str
    schedule_id: str
    link_id: str
    tenant_id: str
    account_id: str
    calendar_id: str | None
    transaction_id: str
    input_hash: str
    input_json: str
    status: str = EventStatus.CREATING
    graph_event_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    locked_until: datetime | None = None
    # Rows made before ids were asked immutable hold a default id (changes on a move); migrated on use.
    immutable_id: bool = False
    # The room names the POST carried, so a retry of a create of unknown outcome rebuilds the very same payload.
    room_names: dict | None = None
    # What Outlook held when this service last wrote or compared the event (event_changes.Snapshot JSON).
    outlook_json: str | None = None
    checked_at: datetime | None = None  # when the last comparison with Outlook began
    comparing_until: datetime | None = None  # a comparison is running (a short lease of its own)
    # Outlook's changeKeys of the versions compared or written here lately, newest first.
    change_keys: tuple[str, ...] = ()
    # Changes decided but not yet in the feed (JSON list): written with the snapshot, then appended.
    outbox_json: str | None = None
    # The room fallback's memory for the current slot: {"slot", "tried", "replaced", "pending"}.
    fallback_json: str | None = None
    # The HERP account (`sub`) that created it: it, a recruiter or an admin may edit and cancel it.
    # None on rows made before this was stored (their creator is the owner of their user link).
    created_by: str | None = None
    etag: str | None = None

    def remember_version(self, change_key: str | None) -> None:
        if change_key:
            self.change_keys = (change_key, *(k for k in self.change_keys if k != change_key))[:KEPT_VERSIONS]


KEPT_VERSIONS = 8


@dataclass
class Subscription:
    """A Graph change-notification subscription on one calendar of one Microsoft account."""

    id: str
    company_id: str
    tenant_id: str
    account_id: str
    calendar: str  # "" = the default calendar (resource me/events)
    client_state_hash: str  # sha256 hex of the clientState; the secret itself is never stored
    expires_at: datetime
    etag: str | None = None
    reauthorized_at: datetime | None = None  # the last create, renew or reauthorization
    authorized_until: datetime | None = None  # expiry of the token it was last authorized with
    last_notification_at: datetime | None = None  # stamped at most once a minute (health)


@dataclass
class Change:
    """One entry of a company's change feed (`seq` orders it; `id` names it for de-duplication)."""

    id: str
    company_id: str
    type: str
    occurred_at: datetime
    schedule_id: str | None = None
    fields: tuple[str, ...] = ()
    event: dict | None = None
    link: dict | None = None
    tenant_id: str | None = None
    detail: dict | None = None  # e.g. the old and the new room of event.room_replaced
    seq: int | None = None

    def to_json(self) -> dict:
        body = {
            "id": self.id,
            "company_id": self.company_id,  # whose change: one webhook URL serves every company
            "type": self.type,
            "schedule_id": self.schedule_id,
            "occurred_at": iso(self.occurred_at),
            "fields": list(self.fields),
            "event": self.event,
        }
        if self.link is not None:
            body["link"] = self.link
        if self.tenant_id is not None:
            body["tenant_id"] = self.tenant_id
        if self.detail:
            body.update(self.detail)
        return body

    @classmethod
    def from_json(cls, company_id: str, data: dict, seq: int | None = None) -> Change:
        known = {"id", "company_id", "type", "schedule_id", "occurred_at", "fields", "event", "link", "tenant_id"}
        return cls(
            id=data["id"],
            company_id=company_id,
            type=data["type"],
            occurred_at=parse_iso_required(data["occurred_at"]),
            schedule_id=data.get("schedule_id"),
            fields=tuple(data.get("fields") or ()),
            event=data.get("event"),
            link=data.get("link"),
            tenant_id=data.get("tenant_id"),
            detail={k: v for k, v in data.items() if k not in known} or None,
            seq=seq,
        )


@dataclass
class LinkCompletion:
    """The verified result of a link flow's last leg, waiting for its starter to confirm it."""

    code_hash: str
    flow: str
    company_id: str
    herp_account_id: str
    tenant_id: str
    expires_at: datetime
    sealed_result: str = ""  # shared.crypto blob, bound to (table, code_hash, row key)
    claimed_until: datetime | None = None  # a confirm is committing it until then
    etag: str | None = None


class HoldStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass
class HoldRecord:
    """A hold (仮押さえ): its normalised input and the Outlook events that hold its slots."""

    company_id: str
    hold_id: str
    link_id: str  # the organizer's link
    tenant_id: str
    account_id: str  # the organizer's Entra object id
    created_by: str  # the HERP account that made the hold
    input_hash: str
    input_json: str
    expires_at: datetime
    status: str = HoldStatus.HELD
    # {slot_id: [{"email", "oid", "event_id" (immutable id, None until made)}]}, JSON
    events_json: str = "{}"
    placed: bool = False  # every hold event was made (a repeat of the POST finishes it otherwise)
    # A confirm under way or done: the interview's schedule_id and the chosen slot.
    schedule_id: str | None = None
    confirm_slot_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    etag: str | None = None
