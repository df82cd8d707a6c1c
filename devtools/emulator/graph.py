"""Microsoft Graph v1.0 routes: /me, /organization, the signed-in user's calendars, places.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib):
- api-reference/v1.0/api/user-get.md (default property set, $select)
- api-reference/v1.0/api/organization-get.md (User.Read sees only id, displayName,
  verifiedDomains; everything else null)
- api-reference/v1.0/api/user-list-calendars.md, calendar-get.md, resources/calendar.md
- api-reference/v1.0/api/place-list.md (100 places per page by default, $top/$skip/$count/
  $select), resources/room.md, resources/roomlist.md. Places never page by @odata.nextLink
  (microsoft-graph-docs-contrib issues 341, 6252, 7196; msgraph-sdk-dotnet issue 2190: 100 of
  1,535 rooms and no nextLink), see `_page`.
- resources/calendar.md, concepts/outlook-create-event-in-shared-delegated-calendar.md: a calendar
  shared with the user is listed among the user's calendars, named after its owner, with `owner`
  the sharing mailbox, canShare and canViewPrivateItems false, canEdit per the share.
- concepts/errors.md (error object with code/message/innerError, request-id header)
- MailboxNotEnabledForRESTAPI (404, "The mailbox is either inactive, soft-deleted, or is
  hosted on-premise.") is the known Exchange answer for a user without a mailbox.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, urlencode

from . import seed
from .graph_http import Caller, GraphError, GraphResult, require
from .records import HIERARCHY_PROPS, ROOM_LIST_PROPS, ROOM_PROPS, Calendar, User, camel, graph_fields

DIRECTORY_DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
EXCHANGE_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
SELF_PROFILE = {"User.Read", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
ORG_FULL = {"Organization.Read.All", "Directory.Read.All"}
OWN_CALENDARS = {"Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
PLACES = {"Place.Read.All"}
CALENDAR_PAGE = 10  # Outlook resources page at 10 by default
PLACES_PAGE = 100  # place-list.md: "By default, this operation returns 100 places per page."


# --- query options ---------------------------------------------------------------------------
def select_option(request, allowed, type_name):
    raw = request.args.get("$select")
    if not raw:
        return None
    canon = {k.lower(): k for k in allowed}
    out = []
    for name in (s.strip() for s in raw.split(",") if s.strip()):
        if name.lower() not in canon:
            raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type '{type_name}'.")
        out.append(canon[name.lower()])
    return out


def _int_option(request, name, default):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or (name == "$top" and int(raw) == 0):
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


def _page(state, request, items, default_size, context, shape, next_link=True):
    """One page: `$top` (default `default_size`), `$skip`, `$count=true`. Places answer without
    @odata.nextLink however many items are left (`next_link=False`): a client sees only the
    first page unless it walks `$skip` itself. No maximum `$top` is emulated: the field reports
    get every room with large pages ($top=999 in msgraph-sdk-powershell issue 2260, $top=10000
    returning all 1,535 rooms in msgraph-sdk-dotnet issue 2190)."""
    if "$filter" in request.args or "$orderby" in request.args:
        raise GraphError(400, "BadRequest", "The emulator does not implement $filter/$orderby.")
    top = _int_option(request, "$top", default_size)
    skip = _int_option(request, "$skip", 0)
    chunk = items[skip : skip + top]
    body = {"@odata.context": context}
    if request.args.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    if next_link and skip + top < len(items):
        query = [(k, v) for k, v in request.args.items(multi=True) if k not in ("$skip", "$top")]
        query += [("$top", str(top)), ("$skip", str(skip + top))]
        body["@odata.nextLink"] = f"{state.base_url}{request.path}?{urlencode(query, safe='$')}"
    body["value"] = [shape(i) for i in chunk]
    return GraphResult(body)


def _project(obj: dict, selected: list | None, keep=("id",)) -> dict:
    if selected is None:
        return obj
    return {k: obj[k] for k in obj if k in selected or k in keep}


NOT_FOUND = ("ErrorItemNotFound", "The specified object was not found in the store.")


# --- the signed-in user ----------------------------------------------------------------------
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_EXTRA = (
    "accountEnabled",
    "mailNickname",
    "usageLocation",
    "userType",
    "otherMails",
    "proxyAddresses",
    "createdDateTime",
)


def _user_json(u: User) -> dict:
    return {
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": u.given_name,
        "jobTitle": None,
        "mail": u.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": u.preferred_language,
        "surname": u.surname,
        "userPrincipalName": u.upn,
        "id": u.id,
        "accountEnabled": not u.disabled,
        "mailNickname": u.upn.split("@")[0],
        "usageLocation": u.usage_location,
        "userType": "Member",
        "otherMails": [],
        "proxyAddresses": [f"SMTP:{u.mail}"] if u.mail else [],
        "createdDateTime": "2023-04-01T00:00:00Z",
    }


def me(state, request, caller: Caller):
    require(caller.scp, SELF_PROFILE, *DIRECTORY_DENIED)
    selected = select_option(request, USER_DEFAULT + USER_EXTRA, "microsoft.graph.user")
    full = _user_json(caller.user)
    if selected is None:
        body, context = {k: full[k] for k in USER_DEFAULT}, "users/$entity"
    else:
        body, context = {k: full[k] for k in selected}, f"users({','.join(selected)})/$entity"
    return GraphResult({"@odata.context": f"{state.base_url}/v1.0/$metadata#{context}", **body})


# --- organization ----------------------------------------------------------------------------
def _org_json(t, full_access):
    org = {
        "id": t.id,
        "deletedDateTime": None,
        "businessPhones": [],
        "city": "Tokyo",
        "country": "Japan",
        "countryLetterCode": "JP",
        "createdDateTime": t.created,
        "defaultUsageLocation": "JP",
        "displayName": t.display_name,
        "isMultipleDataLocationsForServicesEnabled": None,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": None,
        "onPremisesSyncEnabled": None,
        "postalCode": None,
        "preferredLanguage": "ja",
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": None,
        "street": None,
        "technicalNotificationMails": [],
        "tenantType": "AAD",
        "assignedPlans": [],
        "privacyProfile": None,
        "provisionedPlans": [],
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": True,
                "isInitial": True,
                "name": t.domain,
                "type": "Managed",
            }
        ],
    }
    if not full_access:  # organization-get.md: User.Read reads only these three
        org = {k: (v if k in ("id", "displayName", "verifiedDomains") else None) for k, v in org.items()}
    return org


def organization(state, request, caller: Caller):
    require(caller.scp, {"User.Read"} | ORG_FULL, *DIRECTORY_DENIED)
    org = _org_json(state.tenants[caller.user.tenant_id], bool(caller.scp & ORG_FULL))
    selected = select_option(request, tuple(org), "microsoft.graph.organization")
    sel = f"({','.join(selected)})" if selected else ""
    return GraphResult(
        {
            "@odata.context": f"{state.base_url}/v1.0/$metadata#organization{sel}",
            "value": [_project(org, selected, keep=())],
        }
    )


# --- calendars -------------------------------------------------------------------------------
def calendar_id(u: User, key: str) -> str:
    digest = hashlib.sha256(f"{u.id}|{key}".encode()).hexdigest()
    return "AAMkAG" + digest[:52] + "AAA="


def deleted_items_id(u: User) -> str:
    """The id of the mailbox's Deleted Items folder, in the same shape as a calendar id (both are
    folder ids: an event's parentFolderId is its calendar's id while it is in one)."""
    return calendar_id(u, "|deleteditems")


def calendars_of(state, u: User) -> list[Calendar]:
    """The user's own calendars (the first is the default), then the calendars shared with them."""
    out = [Calendar(calendar_id(u, name), name, u, u, name, True, i == 0) for i, name in enumerate(u.calendars)]
    for owner_id, cal_name, can_edit in seed.SHARED_CALENDARS.get(u.id, ()):
        owner, key = state.users[owner_id], f"shared|{owner_id}|{cal_name}"
        out.append(Calendar(calendar_id(u, key), owner.display_name, u, owner, key, can_edit, False))
    return out


def calendar_json(cal: Calendar) -> dict:
    own, default = not cal.shared, cal.is_default
    return {
        "id": cal.id,
        "name": cal.name,
        "color": "auto" if default else "lightBlue",
        "hexColor": "" if default else "#a6d1f5",
        "isDefaultCalendar": default,
        "changeKey": hashlib.sha256(f"ck|{cal.viewer.id}|{cal.key}".encode()).hexdigest()[:24] + "==",
        "canShare": own,
        "canViewPrivateItems": own,
        "canEdit": cal.can_edit,
        # calendar.md: the providers this calendar can create online meetings with.
        "allowedOnlineMeetingProviders": ["teamsForBusiness"] if cal.teams else [],
        "defaultOnlineMeetingProvider": "teamsForBusiness" if cal.teams else "unknown",
        "isTallyingResponses": default,
        "isRemovable": not default,
        "owner": {"name": cal.owner.display_name, "address": cal.owner.address},
    }


CALENDAR_PROPS = (
    "id",
    "name",
    "color",
    "hexColor",
    "isDefaultCalendar",
    "changeKey",
    "canShare",
    "canViewPrivateItems",
    "canEdit",
    "allowedOnlineMeetingProviders",
    "defaultOnlineMeetingProvider",
    "isTallyingResponses",
    "isRemovable",
    "owner",
)


def mailbox_owner(caller: Caller, needed: set = OWN_CALENDARS) -> User:
    """The caller's mailbox, when the token may use it (any of `needed`) and it exists."""
    require(caller.scp, needed, *EXCHANGE_DENIED)
    if not caller.user.has_mailbox:
        raise GraphError(
            404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        )
    return caller.user


def find_calendar(state, owner: User, cal_id: str) -> Calendar:
    cal = next((c for c in calendars_of(state, owner) if c.id == cal_id), None)
    if cal is None:
        raise GraphError(404, *NOT_FOUND)
    return cal


def calendar(state, request, caller: Caller, cal_id=None):
    owner = mailbox_owner(caller)
    cal = calendars_of(state, owner)[0] if cal_id is None else find_calendar(state, owner, cal_id)
    selected = select_option(request, CALENDAR_PROPS, "microsoft.graph.calendar")
    context = f"{state.base_url}/v1.0/$metadata#me/{'calendar' if cal_id is None else 'calendars'}/$entity"
    return GraphResult({"@odata.context": context, **_project(calendar_json(cal), selected)})


def calendars(state, request, caller: Caller):
    owner = mailbox_owner(caller)
    selected = select_option(request, CALENDAR_PROPS, "microsoft.graph.calendar")
    return _page(
        state,
        request,
        calendars_of(state, owner),
        CALENDAR_PAGE,
        f"{state.base_url}/v1.0/$metadata#me/calendars",
        lambda c: _project(calendar_json(c), selected),
    )


# --- places ----------------------------------------------------------------------------------
def _places(state, request, caller: Caller, items, props, type_name, context):
    require(caller.scp, PLACES, *EXCHANGE_DENIED)
    selected = select_option(request, tuple(camel(p) for p in props), type_name)
    return _page(
        state,
        request,
        items,
        PLACES_PAGE,
        f"{state.base_url}/v1.0/$metadata#{context}",
        lambda r: _project(graph_fields(r, props), selected),
        next_link=False,
    )


def _listed(state, tid: str, items) -> list:
    """resources/places-api-overview.md: until Places is set up in the tenant, the list APIs "do
    not return any places" (200, an empty list), and the places cache is built per tenant
    (microsoft-graph-docs issue 7475): the control API's `tenants/{tid}/places` plays that."""
    return [] if tid in state.places_off else list(items)


def rooms(state, request, caller: Caller):
    with state.lock:
        items = _listed(state, caller.user.tenant_id, state.rooms.get(caller.user.tenant_id, []))
    return _places(state, request, caller, items, ROOM_PROPS, "microsoft.graph.room", "places/microsoft.graph.room")


def hierarchy_places(state, request, caller: Caller, kind: str):
    """GET /places/microsoft.graph.building, .floor, .section: the Places hierarchy above rooms
    (place-list.md; resources/building.md, floor.md, section.md), paged like rooms."""
    tid = caller.user.tenant_id
    with state.lock:
        items = _listed(state, tid, [p for p in state.hierarchy.get(tid, []) if p.kind == kind])
    return _places(
        state, request, caller, items, HIERARCHY_PROPS, f"microsoft.graph.{kind}", f"places/microsoft.graph.{kind}"
    )


def buildings(state, request, caller: Caller):
    return hierarchy_places(state, request, caller, "building")


def floors(state, request, caller: Caller):
    return hierarchy_places(state, request, caller, "floor")


def sections(state, request, caller: Caller):
    return hierarchy_places(state, request, caller, "section")


def room_lists(state, request, caller: Caller):
    with state.lock:
        items = _listed(state, caller.user.tenant_id, state.room_lists.get(caller.user.tenant_id, []))
    return _places(
        state, request, caller, items, ROOM_LIST_PROPS, "microsoft.graph.roomList", "places/microsoft.graph.roomList"
    )


def rooms_in_list(state, request, caller: Caller, list_email):
    require(caller.scp, PLACES, *EXCHANGE_DENIED)
    tid, low = caller.user.tenant_id, list_email.lower()
    with state.lock:
        known = any(rl.email_address.lower() == low for rl in state.room_lists.get(tid, []))
        items = _listed(
            state, tid, [r for r in state.rooms.get(tid, []) if (r.room_list_email_address or "").lower() == low]
        )
    if not known:
        raise GraphError(404, *NOT_FOUND)
    return _places(
        state,
        request,
        caller,
        items,
        ROOM_PROPS,
        "microsoft.graph.room",
        f"places('{quote(list_email, safe='')}')/microsoft.graph.roomList/rooms",
    )
