"""Microsoft Graph v1.0 events: create, get, update, delete, cancel.

Routes (the signed-in user's mailbox, as the app calls them): POST /me/events and
/me/calendars/{id}/events; /me/events/{id} (GET, PATCH, DELETE); /me/events/{id}/cancel (POST).
A little over 400 lines: one resource, whose every handler shares the same find/validate/render
steps; split, they would import each other's internals.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/):
- api/user-post-events.md, api/calendar-post-events.md: 201 + the event; Calendars.ReadWrite;
  example 4: isOnlineMeeting + onlineMeetingProvider teamsForBusiness -> onlineMeeting.joinUrl.
- resources/event.md: property set, defaults (showAs busy, type singleInstance, reminder 15,
  responseRequested/allowNewTimeProposals true), webLink format, transactionId "only returned in
  a response payload if an app has set it" and "cannot change transactionId in a subsequent
  update"; "After you set isOnlineMeeting to true ... Outlook ignores any further changes to
  isOnlineMeeting, and the meeting remains available online"; "The maximum number of attendees
  included in an event ... is 500" (see event_input.py for the answer above it).
- transactionId retries: resources/event.md: "A custom identifier specified by a client app for
  the server to avoid redundant POST operations in case of client retries to create the same
  event"; a second POST with the same transactionId and the same content answers
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
from .event_input import empty_location, end_before_start, has_blob, normalize, preview, to_html, to_text, with_blob
from .graph import (
    EXCHANGE_DENIED,
    NOT_FOUND,
    calendars_of,
    deleted_items_id,
    find_calendar,
    mailbox_owner,
    select_option,
)
from .graph_http import Caller, GraphError, GraphResult, immutable_ids, read_json, require
from .records import Event, User, graph_fields, snake
from .timezones import iso_z, prefer, preference_applied, require_known_to_exchange
from .timezones import render as render_time

WRITE = {"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"}
EVENT_PROPS = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "parentFolderId",
)
# Properties a body sets as given (Graph names; the Event field is their snake_case).
SIMPLE = (
    "subject",
    "showAs",
    "sensitivity",
    "importance",
    "categories",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "isAllDay",
)
RENDERED_AS_IS = (
    "categories",
    "original_start_time_zone",
    "original_end_time_zone",
    "reminder_minutes_before_start",
    "is_reminder_on",
    "subject",
    "importance",
    "sensitivity",
    "is_all_day",
    "is_cancelled",
    "is_organizer",
    "response_requested",
    "show_as",
    "is_online_meeting",
    "online_meeting_provider",
    "allow_new_time_proposals",
    "hide_attendees",
    "locations",
)
NEVER = "0001-01-01T00:00:00Z"  # responseStatus.time before any answer (docs' examples)


# --- rendering --------------------------------------------------------------------------------------
def _status(response, time) -> dict:
    return {"response": response, "time": iso_z(time) if time else NEVER}


def render(state, rec: Event, tz=None, body_type=None, selected=None, context=True, immutable=False) -> dict:
    item_id = rec.key if immutable else rec.id
    attendees = rec.attendees
    if rec.hide_attendees and not rec.is_organizer:
        attendees = [a for a in attendees if a.address.lower() == state.users[rec.owner].address.lower()]
    meeting = rec.online_meeting
    full = {
        **graph_fields(rec, RENDERED_AS_IS),
        "id": item_id,
        "createdDateTime": iso_z(rec.created),
        "lastModifiedDateTime": iso_z(rec.modified),
        "changeKey": rec.change_key,
        **({"transactionId": rec.transaction_id} if rec.transaction_id else {}),
        "iCalUId": rec.ical,
        "hasAttachments": False,
        "bodyPreview": preview(rec.body),
        "seriesMasterId": None,
        "type": "singleInstance",
        "webLink": f"https://outlook.office365.com/owa/?itemid={quote(item_id, safe='')}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isDraft": False,
        "responseStatus": _status(rec.response, rec.response_time),
        "body": (
            {"contentType": "text", "content": to_text(rec.body)}
            if body_type == "text"
            else {"contentType": "html", "content": rec.body}
        ),
        "start": render_time(rec.start, tz),
        "end": render_time(rec.end, tz),
        "location": rec.location or empty_location(),
        "recurrence": None,
        "attendees": [
            {
                "type": a.type,
                "status": _status(a.response, a.time),
                "emailAddress": {"name": a.name, "address": a.address},
            }
            for a in attendees
        ],
        "organizer": {"emailAddress": {"name": rec.organizer_name, "address": rec.organizer_address}},
        # The folder that holds the item: its calendar, or Deleted Items once deleted in Outlook
        # or cancelled (outlook-immutable-id.md: the item moved; its immutable id still finds it).
        "parentFolderId": deleted_items_id(state.users[rec.owner]) if rec.in_deleted_items else rec.calendar_id,
        "onlineMeeting": meeting
        and {
            "joinUrl": meeting.join_url,
            "conferenceId": meeting.conference_id,
            "tollNumber": None,
            "tollFreeNumbers": [],
            "phones": [],
            "quickDial": None,
        },
    }
    if selected is not None:
        full = {k: v for k, v in full.items() if k in selected or k == "id"}
    full = copy.deepcopy(full)
    if not context:
        return full
    sel = f"({','.join(selected)})" if selected else ""
    return {
        "@odata.context": f"{state.base_url}/v1.0/$metadata#users('{rec.owner}')/events{sel}/$entity",
        "@odata.etag": f'W/"{rec.change_key}"',
        **full,
    }


# --- lookups ----------------------------------------------------------------------------------------
def _owner(caller: Caller, write: bool) -> User:
    owner = mailbox_owner(caller)
    if write:
        require(caller.scp, WRITE, *EXCHANGE_DENIED)
    return owner


def _find(state, owner: User, event_id: str, *, read: bool = False, calendar: str | None = None) -> Event:
    """The caller's live item `event_id`. A read by immutable id also finds an item in Deleted
    Items (a cancelled meeting, anything deleted in Outlook): its default id changed with the
    move, its immutable id did not (concepts/outlook-immutable-id.md; msgraph-sdk-dotnet #3047).
    `calendar`: a calendar-scoped path (/me/calendars/{id}/events/{id}) finds only the items in
    that calendar folder, so never one in Deleted Items."""
    rec = state.find_item(event_id)
    if rec is None or rec.owner != owner.id:
        raise GraphError(404, *NOT_FOUND)
    if not rec.live and not (read and calendar is None and rec.in_deleted_items and event_id == rec.key):
        raise GraphError(404, *NOT_FOUND)
    if calendar is not None and rec.calendar_id != calendar:
        raise GraphError(404, *NOT_FOUND)
    return rec


def _log_graph_call(rec: Event, request, action, raw) -> None:
    ev.log(rec, source="graph", action=action, method=request.method, path=request.path, fields=list(raw), body=raw)


# --- applying a body ----------------------------------------------------------------------------------
def _apply(state, rec: Event, norm: dict, owner: User) -> None:
    for key in SIMPLE:
        if key in norm:
            setattr(rec, snake(key), norm[key])
    if "body" in norm:
        rec.body = to_html(norm["body"])
    if "start" in norm:
        rec.start, rec.original_start_time_zone = norm["start"]["instant"], norm["start"]["timeZone"]
    if "end" in norm:
        rec.end, rec.original_end_time_zone = norm["end"]["instant"], norm["end"]["timeZone"]
    # event-update.md / event.md (`locations`): "The location and locations properties always
    # correspond with each other. If you update the location property, any prior locations in the
    # locations collection are removed and replaced by the new location value." A `location` sent
    # wins over `locations` sent with it: the rooms in `locations` are lost.
    if "locations" in norm:
        rec.locations = norm["locations"]
        if "location" not in norm:
            names = [loc["displayName"] for loc in norm["locations"] if loc["displayName"]]
            rec.location = dict(
                empty_location(),
                displayName="; ".join(names),
                **({"uniqueId": "; ".join(names), "uniqueIdType": "private"} if names else {}),
            )
    if "location" in norm:
        rec.location = norm["location"]
        rec.locations = (
            [{k: v for k, v in norm["location"].items() if k != "uniqueId"} | {"uniqueIdType": "unknown"}]
            if norm["location"]["displayName"]
            else []
        )
    if "attendees" in norm:
        before = {a.address.lower(): a for a in rec.attendees}
        fresh = []
        for a in norm["attendees"]:
            if a.address.lower() == owner.address.lower():  # the organizer is not one of their own attendees
                continue
            old = before.get(a.address.lower())
            if old is not None:
                a.response, a.time = old.response, old.time
            if not a.name:
                u = state.user_by_address(rec.tenant_id, a.address)
                a.name = (old.name if old else "") or (u.display_name if u else a.address)
            fresh.append(a)
        rec.attendees = fresh


def _online(state, rec: Event, norm: dict, owner: User) -> None:
    """event.md: setting isOnlineMeeting (or onlineMeetingProvider) initialises onlineMeeting with
    the calendar's provider; once set, Outlook ignores further changes to isOnlineMeeting
    (`false` answers 200 and the meeting stays online, same joinUrl). calendar.md: only providers
    in the calendar's allowedOnlineMeetingProviders can be used; otherwise the event stays a
    plain event. microsoft-graph-docs#9741: a user Teams makes no meeting for (no licence, or a
    meeting policy) gets a 201 with isOnlineMeeting false, provider unknown, onlineMeeting null,
    although the calendar lists teamsForBusiness."""
    if rec.online_meeting is not None:
        return
    asked = norm.get("isOnlineMeeting") is True or norm.get("onlineMeetingProvider") not in (None, "unknown")
    cal = next(c for c in calendars_of(state, owner) if c.id == rec.calendar_id)
    provider = norm.get("onlineMeetingProvider") or ("teamsForBusiness" if cal.teams else "unknown")
    if asked and provider == "teamsForBusiness" and cal.teams and owner.teams_meetings:
        rec.is_online_meeting, rec.online_meeting_provider = True, provider
        rec.online_meeting = ev.teams_meeting(rec.tenant_id, owner.id)
        rec.body = with_blob(rec.body, rec.online_meeting)
    else:
        rec.is_online_meeting, rec.online_meeting_provider, rec.online_meeting = False, "unknown", None


def _drop_meeting_without_blob(rec: Event, norm: dict) -> None:
    """event-update.md: a new body without the meeting blob disables the meeting online."""
    if "body" in norm and rec.online_meeting and not has_blob(rec.body, rec.online_meeting):
        rec.is_online_meeting, rec.online_meeting_provider, rec.online_meeting = False, "unknown", None


# --- handlers -----------------------------------------------------------------------------------------
def events_create(state, request, caller: Caller, cal_id=None):
    tz, body_type = prefer(request, state.accept_2026_ids)
    headers, immutable = preference_applied(tz, body_type), immutable_ids(request)
    with state.lock:
        owner = _owner(caller, write=True)
        cal = find_calendar(state, owner, cal_id) if cal_id else calendars_of(state, owner)[0]
        if cal.shared:
            require(caller.scp, {"Calendars.ReadWrite.Shared"}, *EXCHANGE_DENIED)
            raise GraphError(400, "ErrorInvalidRequest", "The emulator does not implement writing to shared calendars.")
        raw = read_json(request)
        norm = normalize(raw)
        require_known_to_exchange(state.accept_2026_ids, *(norm[k]["timeZone"] for k in ("start", "end") if k in norm))
        tx, fingerprint = norm.get("transactionId"), json.dumps(raw, sort_keys=True)
        if tx:
            same = next(
                (r for r in state.events.values() if r.owner == owner.id and r.transaction_id == tx and r.live), None
            )
            if same is not None:
                if same.tx_fingerprint != fingerprint:
                    raise GraphError(
                        400,
                        "ErrorDuplicateTransactionId",
                        "Your request can't be completed. The TransactionId specified in "
                        "the request has already been used to create a different event.",
                    )
                _log_graph_call(same, request, "create-replayed", raw)
                return GraphResult(render(state, same, tz, body_type, immutable=immutable), 201, headers)
        if "start" not in norm or "end" not in norm:
            raise GraphError(400, "ErrorPropertyValidationFailure", "At least one property failed validation.")
        end_before_start(norm["start"]["instant"], norm["end"]["instant"])
        when = ev.now()
        rec = ev.new_event(owner, cal.id, when)
        if tx:
            rec.transaction_id, rec.tx_fingerprint = tx, fingerprint
        _apply(state, rec, norm, owner)
        rec.location = rec.location or empty_location()
        _online(state, rec, norm, owner)
        ev.ask_rooms(state, rec, when)
        state.events[rec.key] = rec
        ev.sync_copies(state, rec, when)
        _log_graph_call(rec, request, "create", raw)
        return GraphResult(render(state, rec, tz, body_type, immutable=immutable), 201, headers)


def event(state, request, caller: Caller, event_id):
    handler = {"GET": _get, "PATCH": _update, "DELETE": _delete}[request.method]
    return handler(state, request, caller, event_id)


def calendar_event(state, request, caller: Caller, event_id, cal_id=None):
    """GET /me/calendar/events/{id}, /me/calendars/{cid}/events/{id}: the item only while it is
    in that calendar (an item in Deleted Items or in another calendar: 404)."""
    return _get(state, request, caller, event_id, cal_id or "")


def _get(state, request, caller: Caller, event_id, cal_id=None):
    tz, body_type = prefer(request, state.accept_2026_ids)
    selected = select_option(request, EVENT_PROPS, "microsoft.graph.event")
    with state.lock:
        owner = _owner(caller, write=False)
        calendar = None
        if cal_id is not None:
            calendar = (find_calendar(state, owner, cal_id) if cal_id else calendars_of(state, owner)[0]).id
        rec = _find(state, owner, event_id, read=True, calendar=calendar)
        return GraphResult(
            render(state, rec, tz, body_type, selected, immutable=immutable_ids(request)),
            200,
            preference_applied(tz, body_type),
        )


def _update(state, request, caller: Caller, event_id):
    tz, body_type = prefer(request, state.accept_2026_ids)
    with state.lock:
        owner = _owner(caller, write=True)
        rec = _find(state, owner, event_id)
        raw = read_json(request)
        norm = normalize(raw)
        require_known_to_exchange(state.accept_2026_ids, *(norm[k]["timeZone"] for k in ("start", "end") if k in norm))
        if norm.get("transactionId") and norm["transactionId"] != rec.transaction_id:
            raise GraphError(
                400, "ErrorInvalidRequest", "The transactionId of an event can't be changed after it's created."
            )
        start = norm["start"]["instant"] if "start" in norm else rec.start
        end = norm["end"]["instant"] if "end" in norm else rec.end
        end_before_start(start, end)
        when = ev.now()
        moved = (start, end) != (rec.start, rec.end)
        before = {a.address.lower() for a in rec.attendees}
        _apply(state, rec, norm, owner)
        if rec.is_organizer:
            _drop_meeting_without_blob(rec, norm)
            _online(state, rec, norm, owner)
            if moved:  # a new time is a new request: people answer again, rooms re-check
                for a in rec.attendees:
                    if state.room_by_address(rec.tenant_id, a.address) is None:
                        a.response, a.time = "none", None
                ev.ask_rooms(state, rec, when)
            elif "attendees" in norm:
                ev.ask_rooms(state, rec, when, only={a.address.lower() for a in rec.attendees} - before)
            if before or rec.attendees:
                ev.sync_copies(state, rec, when, reset_responses=moved)
        ev.touch(rec, when)
        _log_graph_call(rec, request, "update", raw)
        return GraphResult(
            render(state, rec, tz, body_type, immutable=immutable_ids(request)), 200, preference_applied(tz, body_type)
        )


def _delete(state, request, caller: Caller, event_id):
    with state.lock:
        rec = _find(state, _owner(caller, write=True), event_id)
        when = ev.now()
        if rec.is_organizer and rec.attendees:
            ev.cancel_meeting(state, rec, None, when, "delete")
        else:
            ev.delete(rec, when, "delete")
        _log_graph_call(rec, request, "delete", {})
    return GraphResult(None, 204)


def event_cancel(state, request, caller: Caller, event_id):
    with state.lock:
        rec = _find(state, _owner(caller, write=True), event_id)
        raw = read_json(request, required=False)
        comment = {k.lower(): v for k, v in raw.items()}.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise GraphError(
                400,
                "RequestBodyRead",
                "An unexpected value was found for parameter 'Comment'; a value of type 'Edm.String' was expected.",
            )
        if not rec.is_organizer:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. You need to be an organizer to cancel a meeting.",
            )
        ev.cancel_meeting(state, rec, comment, ev.now(), "cancel")
        _log_graph_call(rec, request, "cancel", raw)
    return GraphResult(None, 202)
