"""room_fallback end to end: a booked room declines (it is busy), the service books the best
free room that fits instead, keeps the people, and says so in the feed; when none is left it
says that and changes nothing; it never loops."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.test_changes_from_outlook import changes_of, feed
from tests.e2e.test_events import GORO, M1, event_body, live
from tests.e2e.test_room_finder import make_busy, ranked

pytestmark = pytest.mark.e2e


def room(api, email: str) -> dict:
    rooms = api.call("GET", "/outlook/tenants/c0a1c0a1-0000-4000-8000-000000000001/rooms", as_=M1).json()["rooms"]
    return next(r for r in rooms if r["email"] == email)


def fallback_event(ready, ms, first: str) -> dict:
    api, link_id, _rooms = ready
    r = api.call("POST", "/outlook/events", as_=M1, json=event_body(link_id, [first], room_fallback=True))
    assert r.status_code == 201, r.text
    assert r.json()["room_fallback"] is True
    return r.json()


def candidates(api, first: str) -> list[str]:
    """The rooms the fallback may book instead of `first`, best first (the finder's order)."""
    booked = room(api, first)
    order = ranked(api, building=booked["building"], min_capacity=booked["capacity"])
    return [e for e in order if e.lower() != first.lower()]


def test_a_declined_room_is_replaced_and_the_people_stay(ready, ms):
    api = ready[0]
    first = ready[2][0]
    make_busy(ms, first)
    best = candidates(api, first)[0]
    fallback_event(ready, ms, first)
    [change] = wait_for(lambda: changes_of(api, "event.room_replaced"), timeout=40, what="the replacement")
    assert (change["old_room"], change["new_room"]) == (first, best)
    assert [r["email"] for r in change["event"]["rooms"]] == [best]
    [stored] = live(ms)
    addresses = [(a["emailAddress"]["address"].lower(), a["type"]) for a in stored["attendees"]]
    assert (GORO.lower(), "required") in addresses and (best.lower(), "resource") in addresses
    assert first.lower() not in [a for a, _t in addresses]
    assert best in [loc.get("locationEmailAddress") for loc in stored["locations"]]
    got = wait_for(
        lambda: (
            (e := api.call("GET", "/outlook/events/sch-1", as_=M1).json())["rooms"][0]["response"] == "accepted" and e
        ),
        what="the new room's acceptance",
    )
    assert got["rooms"] == [{"email": best, "response": "accepted"}] and got["attendees"][0]["email"] == GORO
    assert changes_of(api, "event.room_declined") == []


def test_with_no_room_left_the_decline_is_reported_and_nothing_else_changes(ready, ms):
    api = ready[0]
    first = ready[2][0]
    for email in [first, *candidates(api, first)]:
        make_busy(ms, email)
    fallback_event(ready, ms, first)
    [change] = wait_for(lambda: changes_of(api, "event.room_declined"), timeout=40, what="the decline")
    assert (change["old_room"], change["new_room"]) == (first, None)
    [stored] = live(ms)
    assert first.lower() in [a["emailAddress"]["address"].lower() for a in stored["attendees"]]
    assert changes_of(api, "event.room_replaced") == []


def at_most_30_minutes(ms, emails: list[str]) -> None:
    """These rooms' booking policy refuses meetings over 30 minutes (Exchange's
    MaximumDurationInMinutes): they look free in getSchedule and still decline an hour."""
    tenant = "c0a1c0a1-0000-4000-8000-000000000001"
    places = ms.session.get(f"{ms.url}/_emulator/tenants/{tenant}/rooms", timeout=10).json()
    low = {e.lower() for e in emails}
    for r in places["rooms"]:
        if r["emailAddress"].lower() in low:
            r["maximumDurationInMinutes"] = 30
    ms.post(f"tenants/{tenant}/rooms", places)


def test_the_fallback_never_loops(ready, ms):
    """The first room and the first three replacements all decline (free, but their policy
    refuses an hour): three replacements, then the decline is reported, and nothing more
    happens; no room is tried twice."""
    api = ready[0]
    first = ready[2][0]
    others = candidates(api, first)
    at_most_30_minutes(ms, [first, *others[:4]])
    fallback_event(ready, ms, first)
    wait_for(lambda: changes_of(api, "event.room_declined"), timeout=60, what="the fallback giving up")
    time.sleep(4)
    replaced = [(c["old_room"], c["new_room"]) for c in changes_of(api, "event.room_replaced")]
    assert replaced == [(first, others[0]), (others[0], others[1]), (others[1], others[2])]
    [declined] = changes_of(api, "event.room_declined")
    assert (declined["old_room"], declined["new_room"]) == (others[2], None)  # others[3] is never tried
    kinds = [c["type"] for c in feed(api)["changes"]]
    assert kinds.count("event.room_replaced") == 3 and kinds.count("event.room_declined") == 1
