"""Typed records of the emulator's state (see state.py for how they are held and locked).

Fields named after a Graph property are the snake_case of its name (`booking_type` for
`bookingType`), so that `graph_fields` renders them and `from_graph` reads them with one rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from .scopes import ScopeRequest


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def graph_fields(record: Any, names: tuple[str, ...]) -> dict:
    """The record's Graph properties `names` (snake_case) under their Graph names."""
    return {camel(name): getattr(record, name) for name in names}


def from_graph(cls: type, body: dict, **extra: Any):
    """A record from a Graph-shaped body: each field from the property of its camelCase name."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in extra]
    return cls(**{name: body.get(camel(name)) for name in names}, **extra)


# --- directory -------------------------------------------------------------------------------
@dataclass
class Tenant:
    id: str
    display_name: str
    domain: str
    created: str
    # The tenant's "User consent for applications" setting (configure-user-consent).
    user_consent_allowed: bool
    # Our service principal (enterprise app) exists in the tenant. The first consent creates it;
    # the customer deleting it removes every grant with it.
    app_installed: bool = False
    # The customer disabled our enterprise app ("Enabled for users to sign in": No, i.e. the
    # service principal's accountEnabled false): tokens are refused with AADSTS7000112.
    app_disabled: bool = False
    grants: set[str] = field(default_factory=set)  # tenant-wide (admin) consent


@dataclass
class Interrupt:
    """A sign-in requirement (MFA, Conditional Access) that refresh tokens issued before `since`
    cannot satisfy (control API)."""

    reason: str
    error: str
    since: float


@dataclass
class User:
    id: str
    tenant_id: str
    upn: str
    display_name: str
    given_name: str
    surname: str
    mail: str | None
    roles: list[str]
    has_mailbox: bool
    has_teams: bool
    calendars: list[str]  # names of the user's own calendars, the default first
    preferred_language: str
    usage_location: str
    deleted: bool = False
    disabled: bool = False
    revoked_before: float = 0.0  # revokeSignInSessions: refresh tokens issued before are refused
    interrupt: Interrupt | None = None
    grants: set[str] = field(default_factory=set)  # what the user consented to for themselves
    # False: the calendar still lists teamsForBusiness, but Teams makes no meeting for this user (no
    # Teams licence or a meeting policy that forbids it): a create asking for Teams answers 201 with
    # isOnlineMeeting false, provider unknown, onlineMeeting null (microsoft-graph-docs#9741).
    teams_meetings: bool = True

    @classmethod
    def from_seed(cls, u: dict) -> User:
        return cls(
            id=u["id"],
            tenant_id=u["tenant_id"],
            upn=u["userPrincipalName"],
            display_name=u["displayName"],
            given_name=u["givenName"],
            surname=u["surname"],
            mail=u["mail"],
            roles=list(u["roles"]),
            has_mailbox=u["has_mailbox"],
            has_teams=u["has_teams"],
            calendars=list(u["calendars"]),
            preferred_language=u["preferredLanguage"],
            usage_location=u["usageLocation"],
        )

    @property
    def address(self) -> str:
        """The SMTP address others reach the mailbox by (the UPN when `mail` is not set)."""
        return self.mail or self.upn


@dataclass
class AppRegistration:
    """Our app registration in the home tenant: the manifest setting and the client secret."""

    group_membership_claims: str
    secret: str
    secret_expired: bool = False
    # keyCredentials: certificates uploaded to the app (client_assertions.Certificate)
    certificates: list = field(default_factory=list)
    # federatedIdentityCredentials: [{"issuer", "subject", "audiences"}]
    federated_credentials: list = field(default_factory=list)


# --- identity platform -------------------------------------------------------------------------
@dataclass
class AuthCode:
    redirect_uri: str
    scope_req: ScopeRequest
    graph: set[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    oid: str
    tid: str
    authority: tuple[str, str]  # state.resolve_tenant() of the authorize request
    issued_at: float
    session_id: str
    used: bool = False
    expired: bool = False


@dataclass
class RefreshToken:
    oid: str
    tid: str
    scope_req: ScopeRequest
    graph: set[str]
    issued_at: float
    auth_time: float
    session_id: str | None
    inactive: bool = False


# --- places ------------------------------------------------------------------------------------
ROOM_PROPS = (
    "id",
    "email_address",
    "display_name",
    "address",
    "geo_coordinates",
    "phone",
    "nickname",
    "label",
    "capacity",
    "building",
    "floor_number",
    "floor_label",
    "is_wheel_chair_accessible",
    "booking_type",
    "tags",
    "audio_device_name",
    "video_device_name",
    "display_device_name",
    "place_id",
    "parent_id",
)  # resources/room.md (placeId, parentId: the 2026-09 page)
ROOM_LIST_PROPS = ("id", "display_name", "address", "geo_coordinates", "phone", "email_address")  # roomlist.md
# resources/building.md, floor.md, section.md: the Places hierarchy above rooms (parentId links
# room -> floor or section -> building).
HIERARCHY_PROPS = ("id", "place_id", "display_name", "parent_id")
HIERARCHY_KINDS = ("building", "floor", "section")


@dataclass
class Room:
    id: str
    email_address: str
    display_name: str | None
    address: dict | None
    geo_coordinates: dict | None
    phone: str | None
    nickname: str | None
    label: str | None
    capacity: int | None
    building: str | None
    floor_number: int | None
    floor_label: str | None
    is_wheel_chair_accessible: bool | None
    booking_type: str | None
    tags: list[str] | None
    audio_device_name: str | None
    video_device_name: str | None
    display_device_name: str | None
    room_list_email_address: str | None  # which room list holds it (not a Graph property)
    # Exchange's Set-CalendarProcessing -MaximumDurationInMinutes (not a Graph property; None =
    # Exchange's default 1440, 0 = no limit): booking.py.
    maximum_duration_in_minutes: int | None = None
    place_id: str | None = None
    parent_id: str | None = None  # the floor or section above it in the Places hierarchy


@dataclass
class Place:
    """A building, floor or section of the Places hierarchy (`kind`)."""

    id: str
    place_id: str | None
    display_name: str | None
    parent_id: str | None
    kind: str


@dataclass
class RoomList:
    id: str
    display_name: str | None
    address: dict | None
    geo_coordinates: dict | None
    phone: str | None
    email_address: str


# --- calendars -----------------------------------------------------------------------------------
@dataclass
class Calendar:
    """A calendar as listed to `viewer`: one of their own, or one `owner` shared with them."""

    id: str
    name: str
    viewer: User
    owner: User
    key: str  # what the id and changeKey derive from
    can_edit: bool
    is_default: bool

    @property
    def shared(self) -> bool:
        return self.owner.id != self.viewer.id

    @property
    def teams(self) -> bool:
        # calendar.md: allowedOnlineMeetingProviders lists teamsForBusiness only with a Teams licence.
        return self.owner.has_teams


@dataclass
class Attendee:
    address: str
    name: str = ""
    type: str = "required"
    response: str = "none"
    time: dt.datetime | None = None  # when the response came


@dataclass
class OnlineMeeting:
    join_url: str  # onlineMeeting.joinUrl: the long `meetup-join` form
    conference_id: str
    meeting_id: str = ""  # the 13-digit meeting ID invitations show
    passcode: str = ""

    @property
    def short_url(self) -> str:
        """The short join link Teams writes into invitations (message center MC772556, roadmap
        381953; microsoftgraph/microsoft-graph-comms-samples#847) while `joinUrl` keeps the long form."""
        return f"https://teams.microsoft.com/meet/{self.meeting_id}?p={self.passcode}"


@dataclass
class Deleted:
    time: str
    how: str  # delete, cancel, outlook-cancel, outlook-delete


IN_DELETED_ITEMS = ("cancel", "outlook-cancel", "outlook-delete")


@dataclass
class Cancellation:
    comment: str | None
    time: str


@dataclass
class Event:
    """One event item in one mailbox (the organizer's, or an attendee's copy). Ids: `key` is the
    immutable id, `id` the current default id (concepts/outlook-immutable-id.md)."""

    key: str
    id: str
    tenant_id: str
    owner: str  # oid of the mailbox
    calendar_id: str
    ical: str
    organizer_key: str
    is_organizer: bool
    created: dt.datetime
    modified: dt.datetime
    change_key: str
    organizer_name: str
    organizer_address: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    transaction_id: str | None = None
    tx_fingerprint: str | None = None
    deleted: Deleted | None = None
    cancellation: Cancellation | None = None
    history: list[dict] = field(default_factory=list)
    # Graph properties (resources/event.md defaults)
    subject: str | None = None
    body: str = ""  # HTML, as Outlook keeps it
    original_start_time_zone: str = "UTC"
    original_end_time_zone: str = "UTC"
    location: dict | None = None
    locations: list[dict] = field(default_factory=list)
    attendees: list[Attendee] = field(default_factory=list)
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    online_meeting: OnlineMeeting | None = None
    show_as: str = "busy"
    sensitivity: str = "normal"
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    reminder_minutes_before_start: int = 15
    is_reminder_on: bool = True
    response_requested: bool = True
    allow_new_time_proposals: bool = True
    hide_attendees: bool = False
    is_all_day: bool = False
    is_cancelled: bool = False
    response: str = "organizer"
    response_time: dt.datetime | None = None

    @property
    def live(self) -> bool:
        return self.deleted is None

    @property
    def in_deleted_items(self) -> bool:
        """Moved to the mailbox's Deleted Items folder, where its immutable id still finds it
        (concepts/outlook-immutable-id.md; msgraph-sdk-dotnet #3047): an organizer's cancel
        (event-cancel.md) and any delete in Outlook. A DELETE through Graph is emulated as gone."""
        return self.deleted is not None and self.deleted.how in IN_DELETED_ITEMS

    def attendee(self, address: str) -> Attendee | None:
        low = address.lower()
        return next((a for a in self.attendees if a.address.lower() == low), None)


@dataclass
class BusyBlock:
    """Busy time outside Graph (other calendars, manual room bookings), from the control API."""

    start: dt.datetime
    end: dt.datetime
    status: str
    subject: str | None


# --- faults and the call log -------------------------------------------------------------------------
@dataclass
class FaultRule:
    count: int
    status: int
    retry_after: int | None
    path_contains: str
    method: str


@dataclass
class Call:
    kind: str
    method: str
    path: str
    status: int
    tenant_id: str | None
    user_id: str | None
    time: str
    select: str | None = None  # a Graph call's $select (tests tell the app's kinds of reads apart by it)
    request_id: str | None = None  # the `request-id` header of the answer (what the app's audit log keeps)
    client_request_id: str | None = None  # the app's `client-request-id`, echoed by Graph


@dataclass
class CallInfo:
    """What the call log records of one request; its handler fills in who called."""

    kind: str | None = None
    tenant_id: str | None = None
    user_id: str | None = None


# --- change notifications (notifications.py, graph_subscriptions.py) ---------------------------
@dataclass
class Subscription:
    """A Graph subscription on the events of one calendar of one mailbox (resources/subscription.md).
    `seen` is what the notifier last saw of each item there: item key -> (default id, changeKey)."""

    id: str
    tenant_id: str
    owner: str  # oid of the mailbox
    calendar_id: str
    resource: str  # as the app sent it
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: dt.datetime
    application_id: str
    creator_id: str
    tls_version: str
    immutable_ids: bool  # created with Prefer: IdType="ImmutableId"
    created: float
    authorized_at: float  # creation, reauthorize or renew
    token_exp: float  # expiry of the access token behind the last authorization
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)
    paused: bool = False  # reauthorization required before notifications flow again
    reauth_sent_for: float | None = None  # token_exp a reauthorizationRequired was sent for
    held_sent_for: float | None = None  # token_exp whose expiry (delivery held) was announced
    expiry_warned_for: dt.datetime | None = None
    deliveries: int = 0  # notifications delivered (basic + lifecycle)


@dataclass
class Delivery:
    """One POST Graph owes a notification endpoint (or made, for a validation)."""

    id: int
    kind: str  # basic | lifecycle | validation
    subscription_id: str
    url: str
    items: list[dict]
    created: float
    due: float
    status: str = "pending"  # pending | sending | delivered | dropped | failed
    attempts: int = 0
    last_status: int | str | None = None
    delivered_at: str | None = None
    change: str | None = None  # changeType or lifecycleEvent


@dataclass
class NotifyConfig:
    """Delivery knobs (control API `notifications/config`)."""

    duplicates_per_update: int = 2  # field: several `updated` per change (docs-contrib #3073)
    retry_base_seconds: float = 5.0
    max_retry_age_seconds: float = 4 * 3600.0  # delivery-webhooks: "for up to 4 hours"
    timeout_seconds: float = 3.0  # delivery-webhooks: a 2xx "within 3 seconds"
    expiry_warning_seconds: float = 900.0
    paused: bool = False
    lose_lifecycle: bool = False  # lifecycle notifications are lost on the way (logged as dropped)
