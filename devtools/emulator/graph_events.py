"""Microsoft Graph v1.0 events: create, get, update, delete, cancel.

Routes: /me/events, /me/calendar/events, /me/calendars/{id}/events and the same under
/users/{id|upn}/ (POST); .../events/{id} (GET, PATCH, DELETE); .../events/{id}/cancel (POST).

Docs followed (microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/):
- api/user-post-events.md, api/calendar-post-events.md: 201 + the event; Calendars.ReadWrite;
  example 4: isOnlineMeeting + onlineMeetingProvider teamsForBusiness -> onlineMeeting.joinUrl.
- resources/event.md: property set, defaults (showAs busy, type singleInstance, reminder 15,
  responseRequested/allowNewTimeProposals true), webLink format, transactionId "only returned in
  a response payload if an app has set it" and "cannot change transactionId in a subsequent
  update"; "After you set isOnlineMeeting to true ... Outlook ignores any further changes to
  isOnlineMeeting, and the meeting remains available online"; "The maximum number of attendees
  included in an event ... is 500" (see event_input.py for the answer above it).
- transactionId retries: a second POST with the same transactionId and the same content answers
  201 and creates nothing (blog.rykoma.net/2020/10/05/1559, a Microsoft support engineer's
  test); the same transactionId with different content answers 400 ErrorDuplicateTransactionId
  "Your request can't be completed. The TransactionId specified in the request has already been
  used to create a different event." (the error apps report and handle as BadRequest).
- api/event-get.md: Calendars.Read; $select; Prefer: outlook.timezone / outlook.body-content-type,
  Preference-Applied; start/end in UTC without it; body in HTML by default.
- api/event-update.md: 200 + the event; only the given properties change; an attendees-only
  update goes to the changed attendees; "Inadvertently removing the meeting blob from the body
  would disable meeting online": a body without the join block (event_input.has_blob) turns the
  meeting into a plain event (onlineMeeting null, the join link gone for every attendee).
- concepts/outlook-immutable-id.md: with `Prefer: IdType="ImmutableId"` the ids of the answer are
  immutable ids; either id kind addresses the item in a path.
- concepts/outlook-create-event-in-shared-delegated-calendar.md: creating events in a calendar
  another mailbox shared needs Calendars.ReadWrite.Shared; with Calendars.ReadWrite alone
  Exchange denies access (403 ErrorAccessDenied, the answer for every mailbox the token may not
  write; microsoft-graph-docs issue 11062: "you need Calendars.ReadWrite.Shared permission").
- api/event-delete.md: 204; the organizer's delete of a meeting cancels it for the attendees.
- api/event-cancel.md: 202, organizer only: an attendee gets 400 "Your request can't be
  completed. You need to be an organizer to cancel a meeting."; the event moves to Deleted
  Items (its default id no longer resolves: 404 ErrorItemNotFound, as for any moved item; the
  emulator answers the same for its immutable id, see README "Deviations").
"""
from __future__ import annotations

import copy
import json
from urllib.parse import quote

from . import events as ev
from .event_input import (empty_location, end_before_start, has_blob, normalize, preview, read_json,
                          to_html, to_text, with_blob)
from .graph import EXCHANGE_DENIED, calendars_of, is_shared, mailbox_owner, select_option
from .graph_http import GraphError, GraphResult, immutable_ids, require
from .timezones import iso_z, preference_applied, prefer, render as render_time

WRITE = {"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"}
NOT_FOUND = ("ErrorItemNotFound", "The specified object was not found in the store.")
EVENT_PROPS = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "transactionId",
    "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart",
    "isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity",
    "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "showAs",
    "type", "webLink", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider",
    "allowNewTimeProposals", "isDraft", "hideAttendees", "responseStatus", "body", "start", "end",
    "location", "locations", "recurrence", "attendees", "organizer", "onlineMeeting")
SIMPLE = ("subject", "showAs", "sensitivity", "importance", "categories",
          "reminderMinutesBeforeStart", "isReminderOn", "responseRequested",
          "allowNewTimeProposals", "hideAttendees", "isAllDay")
NEVER = "0001-01-01T00:00:00Z"  # responseStatus.time before any answer (docs' examples)


# --- rendering --------------------------------------------------------------------------------------
def _status(s):
    return {"response": s["response"], "time": iso_z(s["time"]) if s["time"] else NEVER}


def render(state, rec, tz=None, body_type=None, selected=None, context=True, immutable=False) -> dict:
    p = rec["props"]
    item_id = rec["key"] if immutable else rec["id"]
    content = p["body"]["content"]
    body = ({"contentType": "text", "content": to_text(content)} if body_type == "text"
            else {"contentType": "html", "content": content})
    attendees = p["attendees"]
    if p["hideAttendees"] and not rec["is_organizer"]:
        me = ev.address_of(state.users[rec["owner"]]).lower()
        attendees = [a for a in attendees if a["emailAddress"]["address"].lower() == me]
    full = {
        "id": item_id, "createdDateTime": iso_z(rec["created"]),
        "lastModifiedDateTime": iso_z(rec["modified"]), "changeKey": rec["change_key"],
        "categories": p["categories"],
        **({"transactionId": rec["transaction_id"]} if rec["transaction_id"] else {}),
        "originalStartTimeZone": p["originalStartTimeZone"],
        "originalEndTimeZone": p["originalEndTimeZone"], "iCalUId": rec["ical"],
        "reminderMinutesBeforeStart": p["reminderMinutesBeforeStart"],
        "isReminderOn": p["isReminderOn"], "hasAttachments": False, "subject": p["subject"],
        "bodyPreview": preview(content), "importance": p["importance"],
        "sensitivity": p["sensitivity"], "isAllDay": p["isAllDay"], "isCancelled": p["isCancelled"],
        "isOrganizer": rec["is_organizer"], "responseRequested": p["responseRequested"],
        "seriesMasterId": None, "showAs": p["showAs"], "type": "singleInstance",
        "webLink": f"https://outlook.office365.com/owa/?itemid={quote(item_id, safe='')}"
                   "&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None, "isOnlineMeeting": p["isOnlineMeeting"],
        "onlineMeetingProvider": p["onlineMeetingProvider"],
        "allowNewTimeProposals": p["allowNewTimeProposals"], "isDraft": False,
        "hideAttendees": p["hideAttendees"], "responseStatus": _status(p["responseStatus"]),
        "body": body, "start": render_time(rec["start"], tz), "end": render_time(rec["end"], tz),
        "location": p["location"] or empty_location(), "locations": p["locations"],
        "recurrence": None,
        "attendees": [{"type": a["type"], "status": _status(a["status"]),
                       "emailAddress": a["emailAddress"]} for a in attendees],
        "organizer": p["organizer"], "onlineMeeting": p["onlineMeeting"],
    }
    if selected is not None:
        full = {k: v for k, v in full.items() if k in selected or k == "id"}
    full = copy.deepcopy(full)
    if not context:
        return full
    sel = f"({','.join(selected)})" if selected else ""
    return {"@odata.context": f"{state.base_url}/v1.0/$metadata#users('{rec['owner']}')/events{sel}/$entity",
            "@odata.etag": f'W/"{rec["change_key"]}"', **full}


# --- lookups ----------------------------------------------------------------------------------------
def _owner(state, ctx, ident, write):
    owner = mailbox_owner(state, ctx, ident)
    if write:
        require(ctx["scp"], WRITE, *EXCHANGE_DENIED)
    return owner


def _calendar(owner, cal_id, which):
    """The calendar a path names: None for /events (any), the default for /calendar."""
    cals = calendars_of(owner)
    if which == "one":
        cal = next((c for c in cals if c["id"] == cal_id), None)
        if cal is None:
            raise GraphError(404, *NOT_FOUND)
        return cal
    return cals[0] if which == "default" else None


def _find(state, owner, event_id, cal):
    rec = ev.find_item(state, event_id)
    if (rec is None or rec["owner"] != owner["id"] or not ev.live(rec)
            or (cal is not None and rec["calendar_id"] != cal["id"])):
        raise GraphError(404, *NOT_FOUND)
    return rec


def _record_call(rec, request, action, raw):
    ev.log(rec, source="graph", action=action, method=request.method, path=request.path,
           fields=list(raw), body=raw)


# --- applying a body ----------------------------------------------------------------------------------
def _apply(state, rec, norm, owner) -> None:
    p = rec["props"]
    for key in SIMPLE:
        if key in norm:
            p[key] = norm[key]
    if "body" in norm:
        p["body"] = {"contentType": "html", "content": to_html(norm["body"])}
    for key, tz_key in (("start", "originalStartTimeZone"), ("end", "originalEndTimeZone")):
        if key in norm:
            rec[key], p[tz_key] = norm[key]["instant"], norm[key]["timeZone"]
    # event.md: location and locations always correspond; a new location replaces locations.
    if "locations" in norm:
        p["locations"] = norm["locations"]
        if "location" not in norm:
            names = [loc["displayName"] for loc in norm["locations"] if loc["displayName"]]
            p["location"] = dict(empty_location(), displayName="; ".join(names),
                                 **({"uniqueId": "; ".join(names), "uniqueIdType": "private"} if names else {}))
    if "location" in norm:
        p["location"] = norm["location"]
        if "locations" not in norm:
            p["locations"] = ([dict(norm["location"], uniqueIdType="unknown")]
                              if norm["location"]["displayName"] else [])
            p["locations"] = [{k: v for k, v in loc.items() if k != "uniqueId"} for loc in p["locations"]]
    if "attendees" in norm:
        before = {a["emailAddress"]["address"].lower(): a for a in p["attendees"]}
        me = ev.address_of(owner).lower()
        fresh = []
        for a in norm["attendees"]:
            low = a["emailAddress"]["address"].lower()
            if low == me:  # the organizer is not one of their own attendees
                continue
            old = before.get(low)
            if old is not None:
                a["status"] = old["status"]
            if not a["emailAddress"]["name"]:
                u = ev.user_by_address(state, rec["tenant_id"], a["emailAddress"]["address"])
                a["emailAddress"]["name"] = (old or {}).get("emailAddress", {}).get("name") or (
                    u["displayName"] if u else a["emailAddress"]["address"])
            fresh.append(a)
        p["attendees"] = fresh


def _online(state, rec, norm, owner) -> None:
    """event.md: setting isOnlineMeeting (or onlineMeetingProvider) initialises onlineMeeting with
    the calendar's provider; once set, Outlook ignores further changes to isOnlineMeeting
    (`false` answers 200 and the meeting stays online, same joinUrl). calendar.md: only providers
    in the calendar's allowedOnlineMeetingProviders can be used; otherwise the event stays a
    plain event."""
    p = rec["props"]
    if p["onlineMeeting"] is not None:
        return
    asked = norm.get("isOnlineMeeting") is True or norm.get("onlineMeetingProvider") not in (None, "unknown")
    cal = next(c for c in calendars_of(owner) if c["id"] == rec["calendar_id"])
    provider = norm.get("onlineMeetingProvider") or cal["defaultOnlineMeetingProvider"]
    if asked and provider == "teamsForBusiness" and provider in cal["allowedOnlineMeetingProviders"]:
        p.update(isOnlineMeeting=True, onlineMeetingProvider=provider,
                 onlineMeeting=ev.teams_meeting(rec["tenant_id"], owner["id"]))
        p["body"]["content"] = with_blob(p["body"]["content"], p["onlineMeeting"])
    else:
        p.update(isOnlineMeeting=False, onlineMeetingProvider="unknown", onlineMeeting=None)


def _drop_meeting_without_blob(rec, norm) -> None:
    """event-update.md: a new body without the meeting blob disables the meeting online."""
    p = rec["props"]
    if "body" in norm and p["onlineMeeting"] and not has_blob(p["body"]["content"],
                                                             p["onlineMeeting"]["joinUrl"]):
        p.update(isOnlineMeeting=False, onlineMeetingProvider="unknown", onlineMeeting=None)


# --- handlers -----------------------------------------------------------------------------------------
def create(state, request, ctx, ident=None, cal_id=None, which=None):
    tz, body_type = prefer(request)
    headers, immutable = preference_applied(tz, body_type), immutable_ids(request)
    with state.lock:
        owner = _owner(state, ctx, ident, write=True)
        cal = _calendar(owner, cal_id, which) or calendars_of(owner)[0]
        if is_shared(owner, cal):
            require(ctx["scp"], {"Calendars.ReadWrite.Shared"}, *EXCHANGE_DENIED)
            raise GraphError(400, "ErrorInvalidRequest",
                             "The emulator does not implement writing to shared calendars.")
        raw = read_json(request)
        norm = normalize(raw)
        tx, fingerprint = norm.get("transactionId"), json.dumps(raw, sort_keys=True)
        if tx:
            same = next((r for r in state.events.values() if r["owner"] == owner["id"]
                         and r["transaction_id"] == tx and ev.live(r)), None)
            if same is not None:
                if same["tx_fingerprint"] != fingerprint:
                    raise GraphError(400, "ErrorDuplicateTransactionId",
                                     "Your request can't be completed. The TransactionId specified in "
                                     "the request has already been used to create a different event.")
                _record_call(same, request, "create-replayed", raw)
                return GraphResult(render(state, same, tz, body_type, immutable=immutable), 201, headers)
        if "start" not in norm or "end" not in norm:
            raise GraphError(400, "ErrorPropertyValidationFailure", "At least one property failed validation.")
        end_before_start(norm["start"]["instant"], norm["end"]["instant"])
        when = ev.now()
        rec = ev.new_record(owner["tenant_id"], owner, cal["id"], ev.new_ical_uid(), None, True, when)
        rec["transaction_id"], rec["tx_fingerprint"] = (tx, fingerprint) if tx else (None, None)
        _apply(state, rec, norm, owner)
        if rec["props"]["location"] is None:
            rec["props"]["location"] = empty_location()
        _online(state, rec, norm, owner)
        ev.ask_rooms(state, rec, when)
        state.events[rec["key"]] = rec
        ev.sync_copies(state, rec, when)
        _record_call(rec, request, "create", raw)
        return GraphResult(render(state, rec, tz, body_type, immutable=immutable), 201, headers)


def item(state, request, ctx, ident=None, cal_id=None, which=None, event_id=None):
    handler = {"GET": _get, "PATCH": _update, "DELETE": _delete}[request.method]
    return handler(state, request, ctx, ident, cal_id, which, event_id)


def _get(state, request, ctx, ident, cal_id, which, event_id):
    tz, body_type = prefer(request)
    selected = select_option(request, EVENT_PROPS, "microsoft.graph.event")
    with state.lock:
        owner = _owner(state, ctx, ident, write=False)
        rec = _find(state, owner, event_id, _calendar(owner, cal_id, which))
        return GraphResult(render(state, rec, tz, body_type, selected, immutable=immutable_ids(request)),
                           200, preference_applied(tz, body_type))


def _update(state, request, ctx, ident, cal_id, which, event_id):
    tz, body_type = prefer(request)
    with state.lock:
        owner = _owner(state, ctx, ident, write=True)
        rec = _find(state, owner, event_id, _calendar(owner, cal_id, which))
        raw = read_json(request)
        norm = normalize(raw)
        if norm.get("transactionId") and norm["transactionId"] != rec["transaction_id"]:
            raise GraphError(400, "ErrorInvalidRequest",
                             "The transactionId of an event can't be changed after it's created.")
        start = norm["start"]["instant"] if "start" in norm else rec["start"]
        end = norm["end"]["instant"] if "end" in norm else rec["end"]
        end_before_start(start, end)
        when = ev.now()
        moved = (start, end) != (rec["start"], rec["end"])
        before = {a["emailAddress"]["address"].lower() for a in rec["props"]["attendees"]}
        _apply(state, rec, norm, owner)
        if rec["is_organizer"]:
            _drop_meeting_without_blob(rec, norm)
            _online(state, rec, norm, owner)
            p = rec["props"]
            if moved:  # a new time is a new request: people answer again, rooms re-check
                for a in p["attendees"]:
                    if ev.room_by_address(state, rec["tenant_id"], a["emailAddress"]["address"]) is None:
                        a["status"] = {"response": "none", "time": None}
                ev.ask_rooms(state, rec, when)
            elif "attendees" in norm:
                added = {a["emailAddress"]["address"].lower() for a in p["attendees"]} - before
                ev.ask_rooms(state, rec, when, only=added)
            if before or p["attendees"]:
                ev.sync_copies(state, rec, when, reset_responses=moved)
        ev.touch(rec, when)
        _record_call(rec, request, "update", raw)
        return GraphResult(render(state, rec, tz, body_type, immutable=immutable_ids(request)), 200,
                           preference_applied(tz, body_type))


def _delete(state, request, ctx, ident, cal_id, which, event_id):
    with state.lock:
        owner = _owner(state, ctx, ident, write=True)
        rec = _find(state, owner, event_id, _calendar(owner, cal_id, which))
        when = ev.now()
        if rec["is_organizer"] and rec["props"]["attendees"]:
            ev.cancel_meeting(state, rec, None, when, "delete")
        else:
            rec["deleted"] = {"time": when.isoformat(), "how": "delete"}
        _record_call(rec, request, "delete", {})
    return GraphResult(None, 204)


def cancel(state, request, ctx, ident=None, cal_id=None, which=None, event_id=None):
    with state.lock:
        owner = _owner(state, ctx, ident, write=True)
        rec = _find(state, owner, event_id, _calendar(owner, cal_id, which))
        raw = read_json(request, required=False)
        comment = {k.lower(): v for k, v in raw.items()}.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise GraphError(400, "RequestBodyRead", "An unexpected value was found for parameter "
                                                     "'Comment'; a value of type 'Edm.String' was expected.")
        if not rec["is_organizer"]:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. You need "
                                                         "to be an organizer to cancel a meeting.")
        ev.cancel_meeting(state, rec, comment, ev.now(), "cancel")
        _record_call(rec, request, "cancel", raw)
    return GraphResult(None, 202)


ROUTES = {"graph_events_create": create, "graph_event": item, "graph_event_cancel": cancel}
