"""Control API (under /_emulator, JSON, no auth): people acting "in Outlook" on an organizer's
event, and the change-notification machinery (subscriptions, the delivery log, its knobs). Not
part of any Microsoft surface. Every action that changes an item takes `"silent": true`: the
change happens and no notification is sent for it (to test `missed` handling).

- POST events/{event_id}/outlook-edit {"start"?, "end"? (ISO 8601 with Z/offset), "subject"?,
  "location"?, "silent"?}: the organizer edits the meeting in Outlook (a new time re-asks people
  and rooms, as a Graph PATCH does).
- POST events/{event_id}/outlook-cancel {"comment"?, "silent"?}: the organizer cancels it.
- GET subscriptions; POST subscriptions/{id}/expire {"in_seconds"}; POST subscriptions/{id}/drop;
  POST subscriptions/{id}/lifecycle {"event", "pause"?}.
- GET notifications (the delivery log, never clientState); GET/POST notifications/config.
"""

from __future__ import annotations

import datetime as dt
import time

from . import events as ev
from . import notifications as nt
from .control import BadRequest, read_body, reply
from .control_events import _instant, _silent, view
from .event_input import end_before_start, normalize
from .graph_events import _apply
from .graph_http import GraphError
from .records import Event

LIFECYCLE_EVENTS = ("reauthorizationRequired", "missed", "subscriptionRemoved")
CONFIG_KEYS = {
    "duplicates": ("duplicates_per_update", int, 1, 10),
    "retry_base_seconds": ("retry_base_seconds", float, 0.01, 3600),
    "max_retry_age_seconds": ("max_retry_age_seconds", float, 0, 4 * 3600),
    "timeout_seconds": ("timeout_seconds", float, 0.1, 30),
    "expiry_warning_seconds": ("expiry_warning_seconds", float, 0, 3 * 86400),
}
SWITCHES = ("paused", "lose_lifecycle")


def _organizer_item(state, event_id) -> Event | None:
    rec = state.find_item(event_id)
    return rec if rec is not None and rec.is_organizer and rec.live else None


def outlook_edit(state, request, event_id):
    body = read_body(request)
    silent = _silent(body)
    raw: dict = {}
    for name in ("start", "end"):
        if name in body:
            at = _instant(body[name], name)
            raw[name] = {"dateTime": at.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    if "subject" in body:
        if not isinstance(body["subject"], str):
            raise BadRequest("subject must be a string")
        raw["subject"] = body["subject"]
    if "location" in body:
        if not isinstance(body["location"], str):
            raise BadRequest("location must be a string (its display name)")
        raw["location"] = {"displayName": body["location"]}
    if "body" in body:
        # The organizer rewrites the body in Outlook (HTML). An Outlook client keeps the meeting
        # online whatever the body now says (its Teams toggle, not the body, holds the meeting):
        # only a Graph PATCH of the body turns it off (event-update.md).
        if not isinstance(body["body"], str):
            raise BadRequest("body must be a string (the new HTML)")
        raw["body"] = {"contentType": "html", "content": body["body"]}
    if not raw:
        raise BadRequest("give at least one of start, end, subject, location, body")
    with state.lock:
        rec = _organizer_item(state, event_id)
        if rec is None:
            return reply({"error": f"no live organizer's event {event_id}"}, 404)
        try:
            norm = normalize(raw)
            start = norm["start"]["instant"] if "start" in norm else rec.start
            end = norm["end"]["instant"] if "end" in norm else rec.end
            end_before_start(start, end)
        except GraphError as e:
            raise BadRequest(e.message) from None
        when = ev.now()
        moved = (start, end) != (rec.start, rec.end)
        _apply(state, rec, norm, state.users[rec.owner])
        if moved:  # as a Graph PATCH with a new time: people answer again, rooms re-check
            for a in rec.attendees:
                if state.room_by_address(rec.tenant_id, a.address) is None:
                    a.response, a.time = "none", None
            ev.ask_rooms(state, rec, when)
        if rec.attendees:
            ev.sync_copies(state, rec, when, reset_responses=moved)
        ev.touch(rec, when)
        ev.log(rec, source="emulator", action="outlook-edit", fields=sorted(raw), silent=silent)
        if silent:
            nt.hush(state, rec.ical)
        return reply(view(state, rec))


def outlook_cancel(state, request, event_id):
    body = read_body(request)
    silent, comment = _silent(body), body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise BadRequest("comment must be a string")
    with state.lock:
        rec = _organizer_item(state, event_id)
        if rec is None:
            return reply({"error": f"no live organizer's event {event_id}"}, 404)
        ev.cancel_meeting(state, rec, comment, ev.now(), "outlook-cancel")
        ev.log(rec, source="emulator", action="outlook-cancel", comment=comment, silent=silent)
        if silent:
            nt.hush(state, rec.ical)
        return reply(view(state, rec))


# --- subscriptions -------------------------------------------------------------------------------------
def _sub_view(state, sub) -> dict:
    return {
        "id": sub.id,
        "owner": sub.owner,
        "resource": sub.resource,
        "calendarId": sub.calendar_id,
        "changeType": ",".join(sub.change_types),
        "notificationUrl": sub.notification_url,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": nt.graph_time(sub.expiration),
        "immutableIds": sub.immutable_ids,
        "paused": sub.paused,
        "tokenExpires": nt._stamp(sub.token_exp),
        "held": nt.held(sub, time.time()),
        "delivered": sub.deliveries,
        "pending": sum(
            1 for d in state.deliveries if d.subscription_id == sub.id and d.status in ("pending", "sending")
        ),
    }


def subscriptions(state, request):
    with state.lock:
        return reply({"subscriptions": [_sub_view(state, s) for s in state.subscriptions.values()]})


def _sub(state, sub_id):
    sub = state.subscriptions.get(sub_id)
    if sub is None:
        return None, reply({"error": f"no subscription {sub_id}"}, 404)
    return sub, None


def subscription_expire(state, request, sub_id):
    seconds = read_body(request).get("in_seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise BadRequest("in_seconds must be a number >= 0")
    with state.lock:
        sub, missing = _sub(state, sub_id)
        if missing:
            return missing
        sub.expiration = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        return reply(_sub_view(state, sub))


def subscription_drop(state, request, sub_id):
    with state.lock:
        sub, missing = _sub(state, sub_id)
        if missing:
            return missing
        nt.remove(state, sub)
        return reply({"removed": sub.id})


def subscription_lifecycle(state, request, sub_id):
    body = read_body(request)
    event, pause = body.get("event"), body.get("pause", False)
    if event not in LIFECYCLE_EVENTS:
        raise BadRequest(f"event must be one of {list(LIFECYCLE_EVENTS)}")
    if not isinstance(pause, bool):
        raise BadRequest("pause must be a boolean")
    with state.lock:
        sub, missing = _sub(state, sub_id)
        if missing:
            return missing
        if event == "subscriptionRemoved":
            nt.remove(state, sub)
            return reply({"removed": sub.id})
        nt.queue_lifecycle(state, sub, event)
        if event == "reauthorizationRequired" and pause:
            sub.paused = True  # notifications stop until reauthorize / renew
        return reply(_sub_view(state, sub))


# --- the delivery log and its knobs -------------------------------------------------------------------------
def notifications_log(state, request):
    wanted = request.args.get("subscription")
    with state.lock:
        log = [nt.delivery_view(d) for d in state.deliveries if wanted in (None, d.subscription_id)]
    return reply({"deliveries": log})


def _config_view(cfg) -> dict:
    return {
        "duplicates": cfg.duplicates_per_update,
        "retry_base_seconds": cfg.retry_base_seconds,
        "max_retry_age_seconds": cfg.max_retry_age_seconds,
        "timeout_seconds": cfg.timeout_seconds,
        "expiry_warning_seconds": cfg.expiry_warning_seconds,
        "paused": cfg.paused,
        "lose_lifecycle": cfg.lose_lifecycle,
    }


def notifications_config(state, request):
    with state.lock:
        cfg = state.notify_config
        if request.method == "POST":
            body = read_body(request)
            unknown = set(body) - set(CONFIG_KEYS) - set(SWITCHES)
            if unknown:
                raise BadRequest(f"unknown settings {sorted(unknown)}; known: {sorted(CONFIG_KEYS) + list(SWITCHES)}")
            updates = {}
            for key, (attr, kind, low, high) in CONFIG_KEYS.items():
                if key in body:
                    v = body[key]
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
                        raise BadRequest(f"{key} must be a number from {low} to {high}")
                    if kind is int and int(v) != v:
                        raise BadRequest(f"{key} must be an integer")
                    updates[attr] = kind(v)
            for key in SWITCHES:
                if key in body:
                    if not isinstance(body[key], bool):
                        raise BadRequest(f"{key} must be a boolean")
                    updates[key] = body[key]
            for attr, v in updates.items():
                setattr(cfg, attr, v)
        return reply(_config_view(cfg))
