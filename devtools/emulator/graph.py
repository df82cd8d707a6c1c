"""Microsoft Graph v1.0 routes: /me, /users/{id|upn}, /organization, calendars, places.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib):
- api-reference/v1.0/api/user-get.md (default property set, $select, 404 for unknown id)
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
from .graph_http import GraphError, ok, require

DIRECTORY_DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
EXCHANGE_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
SELF_PROFILE = {"User.Read", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
OTHER_PROFILE = {"User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
ORG_FULL = {"Organization.Read.All", "Directory.Read.All"}
OWN_CALENDARS = {"Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared",
                 "Calendars.ReadWrite.Shared"}
PLACES = {"Place.Read.All"}
CALENDAR_PAGE = 10   # Outlook resources page at 10 by default
PLACES_PAGE = 100    # place-list.md: "By default, this operation returns 100 places per page."


# --- query options ---------------------------------------------------------------------------
def select_option(request, allowed, type_name):
    raw = request.args.get("$select")
    if not raw:
        return None
    canon = {k.lower(): k for k in allowed}
    out = []
    for name in (s.strip() for s in raw.split(",") if s.strip()):
        if name.lower() not in canon:
            raise GraphError(400, "BadRequest",
                             f"Could not find a property named '{name}' on type '{type_name}'.")
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
    chunk = items[skip:skip + top]
    body = {"@odata.context": context}
    if request.args.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    if next_link and skip + top < len(items):
        query = [(k, v) for k, v in request.args.items(multi=True) if k not in ("$skip", "$top")]
        query += [("$top", str(top)), ("$skip", str(skip + top))]
        body["@odata.nextLink"] = f"{state.base_url}{request.path}?{urlencode(query, safe='$')}"
    body["value"] = [shape(i) for i in chunk]
    return ok(body)


def _project(obj, selected, keep=("id",)):
    if selected is None:
        return obj
    return {k: obj[k] for k in obj if k in selected or k in keep}


# --- users -----------------------------------------------------------------------------------
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
USER_EXTRA = ("accountEnabled", "mailNickname", "usageLocation", "userType", "otherMails",
              "proxyAddresses", "createdDateTime")


def _user_json(u):
    return {
        "businessPhones": [], "displayName": u["displayName"], "givenName": u["givenName"],
        "jobTitle": None, "mail": u["mail"], "mobilePhone": None, "officeLocation": None,
        "preferredLanguage": u["preferredLanguage"], "surname": u["surname"],
        "userPrincipalName": u["userPrincipalName"], "id": u["id"],
        "accountEnabled": not u["disabled"], "mailNickname": u["userPrincipalName"].split("@")[0],
        "usageLocation": u["usageLocation"], "userType": "Member", "otherMails": [],
        "proxyAddresses": [f"SMTP:{u['mail']}"] if u["mail"] else [],
        "createdDateTime": "2023-04-01T00:00:00Z",
    }


def target_user(state, caller, ident):
    if ident is None or ident.lower() in (caller["id"].lower(), caller["userPrincipalName"].lower()):
        return caller
    target = state.user_by_id_or_upn(caller["tenant_id"], ident)
    if target is None:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{ident}' does not exist or one of its queried "
                         "reference-property objects are not present.")
    return target


def user(state, request, ctx, ident=None):
    caller, scp = ctx["user"], ctx["scp"]
    target = target_user(state, caller, ident)
    require(scp, SELF_PROFILE if target is caller else OTHER_PROFILE, *DIRECTORY_DENIED)
    selected = select_option(request, USER_DEFAULT + USER_EXTRA, "microsoft.graph.user")
    full = _user_json(target)
    if selected is None:
        body = {k: full[k] for k in USER_DEFAULT}
        context = "users/$entity"
    else:
        body = {k: full[k] for k in selected}
        context = f"users({','.join(selected)})/$entity"
    return ok({"@odata.context": f"{state.base_url}/v1.0/$metadata#{context}", **body})


# --- organization ----------------------------------------------------------------------------
def _org_json(t, full_access):
    org = {
        "id": t["id"], "deletedDateTime": None, "businessPhones": [], "city": "Tokyo",
        "country": "Japan", "countryLetterCode": "JP", "createdDateTime": t["createdDateTime"],
        "defaultUsageLocation": "JP", "displayName": t["displayName"],
        "isMultipleDataLocationsForServicesEnabled": None, "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": None, "onPremisesSyncEnabled": None, "postalCode": None,
        "preferredLanguage": "ja", "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [], "state": None, "street": None,
        "technicalNotificationMails": [], "tenantType": "AAD", "assignedPlans": [],
        "privacyProfile": None, "provisionedPlans": [],
        "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": True,
                             "isInitial": True, "name": t["domain"], "type": "Managed"}],
    }
    if not full_access:  # organization-get.md: User.Read reads only these three
        org = {k: (v if k in ("id", "displayName", "verifiedDomains") else None) for k, v in org.items()}
    return org


def organization(state, request, ctx, org_id=None):
    caller, scp = ctx["user"], ctx["scp"]
    require(scp, {"User.Read"} | ORG_FULL, *DIRECTORY_DENIED)
    tenant = state.tenants[caller["tenant_id"]]
    if org_id is not None and org_id.lower() != tenant["id"]:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{org_id}' does not exist or one of its queried "
                         "reference-property objects are not present.")
    org = _org_json(tenant, bool(scp & ORG_FULL))
    selected = select_option(request, tuple(org), "microsoft.graph.organization")
    org = _project(org, selected, keep=())
    sel = f"({','.join(selected)})" if selected else ""
    if org_id is not None:
        return ok({"@odata.context": f"{state.base_url}/v1.0/$metadata#organization{sel}/$entity", **org})
    return ok({"@odata.context": f"{state.base_url}/v1.0/$metadata#organization{sel}", "value": [org]})


# --- calendars -------------------------------------------------------------------------------
def calendar_id(u, name):
    digest = hashlib.sha256(f"{u['id']}|{name}".encode()).hexdigest()
    return "AAMkAG" + digest[:52] + "AAA="


def _calendar_json(u, key, name, owner, can_edit, default):
    teams, own = owner["has_teams"], owner["id"] == u["id"]
    return {
        "id": calendar_id(u, key), "name": name,
        "color": "auto" if default else "lightBlue", "hexColor": "" if default else "#a6d1f5",
        "isDefaultCalendar": default,
        "changeKey": hashlib.sha256(f"ck|{u['id']}|{key}".encode()).hexdigest()[:24] + "==",
        "canShare": own, "canViewPrivateItems": own, "canEdit": can_edit,
        # calendar.md: the providers this calendar can create online meetings with;
        # without a Teams licence the list has no teamsForBusiness.
        "allowedOnlineMeetingProviders": ["teamsForBusiness"] if teams else [],
        "defaultOnlineMeetingProvider": "teamsForBusiness" if teams else "unknown",
        "isTallyingResponses": default, "isRemovable": not default,
        "owner": {"name": owner["displayName"], "address": owner["mail"] or owner["userPrincipalName"]},
    }


def calendars_of(u):
    """The user's own calendars (the first is the default), then the calendars shared with them."""
    out = [_calendar_json(u, name, name, u, True, i == 0) for i, name in enumerate(u["calendars"])]
    for owner_id, cal_name, can_edit in seed.SHARED_CALENDARS.get(u["id"], ()):
        owner = seed.USERS_BY_ID[owner_id]
        out.append(_calendar_json(u, f"shared|{owner_id}|{cal_name}", owner["displayName"], owner,
                                  can_edit, False))
    return out


def is_shared(u, cal) -> bool:
    """A calendar another mailbox owns, listed among `u`'s calendars because it was shared."""
    return cal["owner"]["address"].lower() != (u["mail"] or u["userPrincipalName"]).lower()


CALENDAR_PROPS = ("id", "name", "color", "hexColor", "isDefaultCalendar", "changeKey", "canShare",
                  "canViewPrivateItems", "canEdit", "allowedOnlineMeetingProviders",
                  "defaultOnlineMeetingProvider", "isTallyingResponses", "isRemovable", "owner")


def mailbox_owner(state, ctx, ident):
    caller = ctx["user"]
    target = target_user(state, caller, ident)
    if target is not caller:  # no calendar is shared with the caller in the emulator
        require(set(), OWN_CALENDARS, *EXCHANGE_DENIED)
    require(ctx["scp"], OWN_CALENDARS, *EXCHANGE_DENIED)
    if not target["has_mailbox"]:
        raise GraphError(404, "MailboxNotEnabledForRESTAPI",
                         "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    return target


def _scope_prefix(ident):
    return "me" if ident is None else f"users('{ident}')"


def calendar(state, request, ctx, ident=None, cal_id=None):
    target = mailbox_owner(state, ctx, ident)
    cals = calendars_of(target)
    if cal_id is None:
        cal, path = cals[0], "calendar"
    else:
        cal = next((c for c in cals if c["id"] == cal_id), None)
        if cal is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        path = "calendars"
    selected = select_option(request, CALENDAR_PROPS, "microsoft.graph.calendar")
    context = f"{state.base_url}/v1.0/$metadata#{_scope_prefix(ident)}/{path}/$entity"
    return ok({"@odata.context": context, **_project(cal, selected)})


def calendars(state, request, ctx, ident=None):
    target = mailbox_owner(state, ctx, ident)
    selected = select_option(request, CALENDAR_PROPS, "microsoft.graph.calendar")
    context = f"{state.base_url}/v1.0/$metadata#{_scope_prefix(ident)}/calendars"
    return _page(state, request, calendars_of(target), CALENDAR_PAGE, context,
                 lambda c: _project(c, selected))


# --- places ----------------------------------------------------------------------------------
ROOM_PROPS = ("id", "emailAddress", "displayName", "address", "geoCoordinates", "phone", "nickname",
              "label", "capacity", "building", "floorNumber", "floorLabel",
              "isWheelChairAccessible", "bookingType", "tags", "audioDeviceName",
              "videoDeviceName", "displayDeviceName")
ROOM_LIST_PROPS = ("id", "displayName", "address", "geoCoordinates", "phone", "emailAddress")


def _room_json(room, selected):
    return _project({k: room.get(k) for k in ROOM_PROPS}, selected)


def rooms(state, request, ctx):
    require(ctx["scp"], PLACES, *EXCHANGE_DENIED)
    with state.lock:
        items = list(state.rooms.get(ctx["user"]["tenant_id"], []))
    selected = select_option(request, ROOM_PROPS, "microsoft.graph.room")
    return _page(state, request, items, PLACES_PAGE,
                 f"{state.base_url}/v1.0/$metadata#places/microsoft.graph.room",
                 lambda r: _room_json(r, selected), next_link=False)


def room_lists(state, request, ctx):
    require(ctx["scp"], PLACES, *EXCHANGE_DENIED)
    with state.lock:
        items = list(state.room_lists.get(ctx["user"]["tenant_id"], []))
    selected = select_option(request, ROOM_LIST_PROPS, "microsoft.graph.roomList")
    return _page(state, request, items, PLACES_PAGE,
                 f"{state.base_url}/v1.0/$metadata#places/microsoft.graph.roomList",
                 lambda r: _project({k: r.get(k) for k in ROOM_LIST_PROPS}, selected),
                 next_link=False)


def rooms_in_list(state, request, ctx, list_email):
    require(ctx["scp"], PLACES, *EXCHANGE_DENIED)
    tid = ctx["user"]["tenant_id"]
    with state.lock:
        known = {rl["emailAddress"].lower() for rl in state.room_lists.get(tid, [])}
        items = [r for r in state.rooms.get(tid, [])
                 if (r.get("roomListEmailAddress") or "").lower() == list_email.lower()]
    if list_email.lower() not in known:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    selected = select_option(request, ROOM_PROPS, "microsoft.graph.room")
    context = (f"{state.base_url}/v1.0/$metadata#places('{quote(list_email, safe='')}')"
               "/microsoft.graph.roomList/rooms")
    return _page(state, request, items, PLACES_PAGE, context, lambda r: _room_json(r, selected),
                 next_link=False)


ROUTES = {  # endpoint name (see app.py) -> handler
    "graph_me": user, "graph_user": user, "graph_org": organization, "graph_org_one": organization,
    "graph_me_calendar": calendar, "graph_user_calendar": calendar,
    "graph_me_calendars": calendars, "graph_user_calendars": calendars,
    "graph_me_calendar_one": calendar, "graph_user_calendar_one": calendar,
    "graph_rooms": rooms, "graph_room_lists": room_lists, "graph_rooms_in_list": rooms_in_list,
}
