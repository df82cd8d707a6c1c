"""Domain records. `shared.storage.repositories` maps them to and from Table entities."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

ACTIVE = "active"
RENEWAL_REQUIRED = "renewal_required"
REAUTH_REQUIRED = "reauth_required"
UNLINKING = "unlinking"  # a tenant unlink in progress: invisible, resumable

VIA_USER = "user"
VIA_TENANT_ADMIN = "tenant_admin"

FLOW_TENANT_LINK = "tenant_link"
FLOW_TENANT_RENEW = "tenant_renew"
FLOW_USER_LINK = "user_link"
LEG_CONSENT = "consent"
LEG_SIGNIN = "signin"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


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
    status: str = ACTIVE
    token_cache: str | None = None  # sealed, see shared.crypto
    updated_at: datetime | None = None
    # What Outlook said of the account's calendars: {"default": id, "teams": {id: bool}}.
    calendars: dict | None = None
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
        return {"email": self.email, "display_name": self.display_name, "capacity": self.capacity,
                "building": self.building, "floor": self.floor, "room_list": self.room_list,
                "wheelchair_accessible": self.wheelchair_accessible, "bookable": self.bookable,
                "tags": list(self.tags)}
