"""Seed data of the local Microsoft identity platform + Graph emulator.

Importable constants: tests and other dev tools code against these values.
Nothing here does I/O; `state.State.reset()` copies these into mutable state.
"""

from __future__ import annotations

import uuid

# --- App registration (a confidential web app) ------------------------------------
CLIENT_ID = "3f7a9c1e-5b2d-4e8f-9a61-2c4d8e0b7f13"
CLIENT_SECRET = "sandbox-client-secret-for-the-local-emulator-only"
APP_DISPLAY_NAME = "HERP Hire Outlook integration (sandbox)"
# Registered redirect URIs. Entra ignores the port of http://localhost and
# http://127.0.0.1 redirect URIs (docs: "Redirect URI restrictions", localhost exceptions).
# Extra URIs can be registered with env EMULATOR_REDIRECT_URIS (comma-separated).
REDIRECT_URIS = (
    "http://localhost/api/outlook/callback",
    "http://127.0.0.1/api/outlook/callback",
)
# Statically configured API permissions of the app registration (what `/.default` means).
APP_REQUIRED_SCOPES = ("User.Read", "Calendars.ReadWrite", "MailboxSettings.Read", "Place.Read.All")
# App manifest `groupMembershipClaims` (reference-app-manifest): None, SecurityGroup,
# ApplicationGroup, DirectoryRole or All. Only the values that include directory roles make the
# tokens carry `wids` (access-token-claims-reference, `wids`: "The groupMembershipClaims
# property of the application manifest configures this claim ... Set the claim to All or
# DirectoryRole"; SecurityGroup is "for security groups and Microsoft Entra roles").
GROUP_MEMBERSHIP_CLAIMS = ("None", "SecurityGroup", "ApplicationGroup", "DirectoryRole", "All")
WIDS_GROUP_MEMBERSHIP_CLAIMS = frozenset({"SecurityGroup", "DirectoryRole", "All"})
APP_GROUP_MEMBERSHIP_CLAIMS = "DirectoryRole"

# --- Microsoft Graph as a resource ---------------------------------------------------
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Delegated Graph permissions the emulator knows (canonical casing). Scopes are
# case-insensitive on the wire. True = "Admin consent required" per the Graph
# permissions reference (Place.Read.All delegated: consent type Admin).
GRAPH_SCOPES = {
    "User.Read": False,
    "User.ReadBasic.All": False,
    "User.Read.All": True,
    "Calendars.Read": False,
    "Calendars.ReadWrite": False,
    "Calendars.Read.Shared": False,
    "Calendars.ReadWrite.Shared": False,
    "MailboxSettings.Read": False,
    "MailboxSettings.ReadWrite": False,
    "OnlineMeetings.ReadWrite": False,
    "Place.Read.All": True,
    "Organization.Read.All": True,
    "Directory.Read.All": True,
}
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

# --- Directory role template ids (Entra built-in roles) ------------------------------
ROLE_GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
ROLE_PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
ROLE_CLOUD_APP_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
ROLE_APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
# AI Administrator can grant tenant-wide admin consent too (Entra "Grant tenant-wide admin
# consent to an application": the roles that may; Entra built-in roles reference).
ROLE_AI_ADMIN = "d2562ede-74db-457e-a7b6-544e236ebb61"
ROLE_USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
# Every member user carries the "User" role template in `wids`, as Entra does.
ROLE_USER = "b79fbf4d-3ef9-4689-8143-76b194e85509"
# Roles that may grant tenant-wide admin consent to delegated Graph permissions.
CONSENT_GRANTING_ROLES = frozenset(
    {
        ROLE_GLOBAL_ADMIN,
        ROLE_PRIVILEGED_ROLE_ADMIN,
        ROLE_CLOUD_APP_ADMIN,
        ROLE_APP_ADMIN,
        ROLE_AI_ADMIN,
    }
)

# --- Tenants ---------------------------------------------------------------------------
CONTOSO_TENANT_ID = "c0a1c0a1-0000-4000-8000-000000000001"
CONTOSO_DOMAIN = "contoso.onmicrosoft.com"
FABRIKAM_TENANT_ID = "fab00000-0000-4000-8000-000000000002"
FABRIKAM_DOMAIN = "fabrikam.onmicrosoft.com"

# `user_consent_allowed` is the tenant's "User consent for applications" setting
# (configure-user-consent): Contoso is locked down ("Do not allow user consent"), Fabrikam keeps
# the default that lets users consent to permissions that need no admin.
TENANTS = (
    {
        "id": CONTOSO_TENANT_ID,
        "displayName": "Contoso Ltd.",
        "domain": CONTOSO_DOMAIN,
        "createdDateTime": "2021-04-01T00:00:00Z",
        "user_consent_allowed": False,
    },
    {
        "id": FABRIKAM_TENANT_ID,
        "displayName": "Fabrikam Inc.",
        "domain": FABRIKAM_DOMAIN,
        "createdDateTime": "2022-07-15T00:00:00Z",
        "user_consent_allowed": True,
    },
)

# --- Users -----------------------------------------------------------------------------
AIKO_ID = "c0a1c0a1-0000-4000-8000-0000000000a1"
BEN_ID = "c0a1c0a1-0000-4000-8000-0000000000a2"
CARL_ID = "c0a1c0a1-0000-4000-8000-0000000000a3"
DANA_ID = "c0a1c0a1-0000-4000-8000-0000000000a4"
EMI_ID = "c0a1c0a1-0000-4000-8000-0000000000b1"
FUMI_ID = "c0a1c0a1-0000-4000-8000-0000000000b2"
GORO_ID = "c0a1c0a1-0000-4000-8000-0000000000b3"
HANA_ID = "fab00000-0000-4000-8000-0000000000a1"
IVAN_ID = "fab00000-0000-4000-8000-0000000000b1"


def _user(
    oid, tenant_id, local, domain, given, surname, roles, mailbox, teams=True, mail=True, calendars=("Calendar",)
):
    upn = f"{local}@{domain}"
    return {
        "id": oid,
        "tenant_id": tenant_id,
        "userPrincipalName": upn,
        "displayName": f"{given} {surname}",
        "givenName": given,
        "surname": surname,
        # A user without an Exchange licence has no `mail`; Goro has a mailbox but `mail` null.
        "mail": upn if (mail and mailbox) else None,
        "roles": list(roles),
        "has_mailbox": mailbox,
        "has_teams": bool(mailbox and teams),
        "calendars": list(calendars) if mailbox else [],
        "preferredLanguage": "ja-JP",
        "usageLocation": "JP",
    }


USERS = (
    _user(AIKO_ID, CONTOSO_TENANT_ID, "aiko.admin", CONTOSO_DOMAIN, "Aiko", "Sato", [ROLE_GLOBAL_ADMIN], mailbox=True),
    _user(BEN_ID, CONTOSO_TENANT_ID, "ben.admin", CONTOSO_DOMAIN, "Ben", "Tanaka", [ROLE_APP_ADMIN], mailbox=True),
    _user(CARL_ID, CONTOSO_TENANT_ID, "carl.nomail", CONTOSO_DOMAIN, "Carl", "Ito", [ROLE_GLOBAL_ADMIN], mailbox=False),
    _user(
        DANA_ID, CONTOSO_TENANT_ID, "dana.useradmin", CONTOSO_DOMAIN, "Dana", "Kato", [ROLE_USER_ADMIN], mailbox=True
    ),
    _user(
        EMI_ID,
        CONTOSO_TENANT_ID,
        "emi.member",
        CONTOSO_DOMAIN,
        "Emi",
        "Suzuki",
        [],
        mailbox=True,
        calendars=("Calendar", "Interviews"),
    ),
    _user(FUMI_ID, CONTOSO_TENANT_ID, "fumi.member", CONTOSO_DOMAIN, "Fumi", "Watanabe", [], mailbox=True, teams=False),
    _user(GORO_ID, CONTOSO_TENANT_ID, "goro.member", CONTOSO_DOMAIN, "Goro", "Yamada", [], mailbox=True, mail=False),
    _user(
        HANA_ID, FABRIKAM_TENANT_ID, "hana.admin", FABRIKAM_DOMAIN, "Hana", "Kimura", [ROLE_GLOBAL_ADMIN], mailbox=True
    ),
    _user(IVAN_ID, FABRIKAM_TENANT_ID, "ivan.member", FABRIKAM_DOMAIN, "Ivan", "Mori", [], mailbox=True),
)
USERS_BY_ID = {u["id"]: u for u in USERS}
UPN = {u["id"]: u["userPrincipalName"] for u in USERS}

# --- Calendars shared with a user ------------------------------------------------------
# A calendar another mailbox shared with the user appears in the user's /me/calendars
# (resources/calendar.md: `owner` is the sharing mailbox; `canEdit` per the share;
# concepts/outlook-create-event-in-shared-delegated-calendar.md: named after the owner, canShare
# false). sharee oid -> ((owner oid, owner's calendar name, can edit), ...)
SHARED_CALENDARS = {EMI_ID: ((BEN_ID, "Calendar", True),)}

# --- Rooms (Exchange room mailboxes: resources, not sign-in users) --------------------
# (slug, display name, room count, city, street)
CONTOSO_ROOM_LISTS = (
    ("tokyo-hq", "Tokyo HQ", 120, "Chiyoda-ku, Tokyo", "1-1 Marunouchi"),
    ("osaka", "Osaka Office", 80, "Kita-ku, Osaka", "2-2 Umeda"),
    ("fukuoka", "Fukuoka Office", 50, "Hakata-ku, Fukuoka", "3-3 Hakata Ekimae"),
)
FABRIKAM_ROOM_LISTS = (("hq", "Fabrikam HQ", 3, "Minato-ku, Tokyo", "4-4 Shiba"),)
# Rooms with capacity null (not set by the Exchange admin): (list slug, room number).
NULL_CAPACITY_ROOMS = {("tokyo-hq", 7), ("osaka", 13)}
# Every 40th room of a list is `reserved` (room.md: first-come, first-served, can't be
# reserved): tokyo-hq 040/080/120, osaka 040/080, fukuoka 040. tokyo-hq-room120 lies past the
# first 100 rooms of the tenant and of its list.
RESERVED_EVERY = 40
# Buildings whose rooms carry no `building` of their own: the building is only in the Places
# hierarchy (resources/room.md 2026-09: parentId). Their rooms on odd floors hang under the
# floor, on even floors under a section of the floor ("{n}F North").
HIERARCHY_ONLY = {"fukuoka"}
_ROOM_NS = uuid.UUID("6f1b2c3d-0000-4000-8000-00000000e001")


def _place(key: str, name: str, parent: str | None, kind: str) -> dict:
    pid = str(uuid.uuid5(_ROOM_NS, key)).upper()
    return {"id": pid, "placeId": pid, "displayName": name, "parentId": parent, "kind": kind}


def build_places(domain: str, lists_spec) -> tuple[list, list, list]:
    """Deterministic rooms, room lists and the buildings/floors/sections above the rooms of one
    tenant, in Graph's place shapes.

    Each room carries one non-Graph key, `roomListEmailAddress`, saying which room list
    holds it; Graph responses strip it. Hierarchy places carry `kind` (building, floor, section)."""
    rooms, room_lists, hierarchy = [], [], []
    for slug, name, count, city, street in lists_spec:
        building = _place(f"building|{slug}@{domain}", name, None, "building")
        hierarchy.append(building)
        floors: dict[int, str] = {}
        address = {"street": street, "city": city, "state": None, "postalCode": None, "countryOrRegion": "JP"}
        list_email = f"{slug}@{domain}"
        room_lists.append(
            {
                "id": str(uuid.uuid5(_ROOM_NS, list_email)).upper(),
                "displayName": name,
                "address": address,
                "geoCoordinates": None,
                "phone": None,
                "emailAddress": list_email,
            }
        )
        for n in range(1, count + 1):
            floor = 1 + (n - 1) // 10
            email = f"{slug}-room{n:03d}@{domain}"
            if floor not in floors:
                f = _place(f"floor|{slug}@{domain}|{floor}", f"{name} {floor}F", building["id"], "floor")
                hierarchy.append(f)
                floors[floor] = f["id"]
                if floor % 2 == 0:
                    sec = _place(f"section|{slug}@{domain}|{floor}", f"{floor}F North", f["id"], "section")
                    hierarchy.append(sec)
                    floors[-floor] = sec["id"]
            parent = floors.get(-floor, floors[floor])
            room_id = str(uuid.uuid5(_ROOM_NS, email)).upper()
            rooms.append(
                {
                    "id": room_id,
                    "placeId": room_id,
                    "parentId": parent,
                    "emailAddress": email,
                    "displayName": f"{name} {floor}F Room {n:03d}",
                    "address": dict(address),
                    "geoCoordinates": None,
                    "phone": None,
                    "nickname": f"{name} {n:03d}",
                    "label": f"{n:03d}",
                    "capacity": None if (slug, n) in NULL_CAPACITY_ROOMS else (4, 6, 8, 10, 12, 20)[n % 6],
                    "building": None if slug in HIERARCHY_ONLY else name,
                    "floorNumber": floor,
                    "floorLabel": f"{floor}F",
                    "isWheelChairAccessible": n % 3 == 0,
                    "bookingType": "reserved" if n % RESERVED_EVERY == 0 else "standard",
                    "tags": [t for t, every in (("video", 4), ("whiteboard", 5)) if n % every == 0],
                    "audioDeviceName": None,
                    "videoDeviceName": "Teams Room" if n % 4 == 0 else None,
                    "displayDeviceName": None,
                    "roomListEmailAddress": list_email,
                }
            )
    return rooms, room_lists, hierarchy


def seed_places() -> dict:
    """{tenant_id: (rooms, room_lists, hierarchy)} for every tenant."""
    return {
        CONTOSO_TENANT_ID: build_places(CONTOSO_DOMAIN, CONTOSO_ROOM_LISTS),
        FABRIKAM_TENANT_ID: build_places(FABRIKAM_DOMAIN, FABRIKAM_ROOM_LISTS),
    }


# The Function App's user-assigned managed identity (Azure's App Service managed identity endpoint,
# emulated at /_emulator/managed-identity/token: IDENTITY_ENDPOINT + IDENTITY_HEADER). Its tokens
# are issued by the home tenant of the app registration (Contoso here).
MANAGED_IDENTITY_CLIENT_ID = "5d1c7e2a-8f3b-4a6e-9c0d-1b2e3f4a5b6c"
MANAGED_IDENTITY_OBJECT_ID = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"
MANAGED_IDENTITY_HEADER = "emulator-identity-header"
