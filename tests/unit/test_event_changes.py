"""What counts as a change in Outlook (shared.domain.event_changes): pure, no I/O."""

from shared.domain.event_changes import Snapshot, differences
from shared.models import ChangeType

ROOM, GORO = "room-a@contoso.test", "goro@contoso.test"


def graph_event(**over) -> dict:
    event = {
        "subject": "一次面接",
        "start": {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T02:00:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "Room A"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "Goro@contoso.test"}, "status": {"response": "none"}},
            {"type": "resource", "emailAddress": {"address": ROOM}, "status": {"response": "none"}},
        ],
        "isCancelled": False,
    }
    event.update(over)
    return event


def answered(who: str, response: str) -> list[dict]:
    out = []
    for a in graph_event()["attendees"]:
        if a["emailAddress"]["address"].lower() == who:
            a = {**a, "status": {"response": response}}
        out.append(a)
    return out


def test_the_snapshot_holds_times_in_utc_and_answers_by_lower_case_email():
    snap = Snapshot.from_graph(
        graph_event(start={"dateTime": "2026-12-01T10:00:00", "timeZone": "Tokyo Standard Time"})
    )
    assert snap.start == "2026-12-01T01:00:00Z"
    assert snap.people == {GORO: ("required", "none")} and snap.rooms == {ROOM: "none"}
    assert Snapshot.from_json_text(snap.to_json_text()) == snap


def test_the_same_event_is_no_change():
    assert differences(Snapshot.from_graph(graph_event()), Snapshot.from_graph(graph_event())) == []


def test_a_move_names_the_fields_that_changed():
    old = Snapshot.from_graph(graph_event())
    new = Snapshot.from_graph(graph_event(start={"dateTime": "2026-12-01T03:00:00", "timeZone": "UTC"}))
    assert differences(old, new) == [(ChangeType.EVENT_UPDATED, ("start",))]


def test_answers_are_responses_changed_with_the_emails():
    old = Snapshot.from_graph(graph_event())
    new = Snapshot.from_graph(graph_event(attendees=answered(GORO, "declined")))
    assert differences(old, new) == [(ChangeType.RESPONSES_CHANGED, (GORO,))]
    room = Snapshot.from_graph(graph_event(attendees=answered(ROOM, "accepted")))
    assert differences(old, room) == [(ChangeType.RESPONSES_CHANGED, (ROOM,))]
    # "organizer" and "tentativelyAccepted" are Graph's words for answers the API calls accepted/tentative
    tentative = Snapshot.from_graph(graph_event(attendees=answered(GORO, "tentativelyAccepted")))
    assert tentative.people[GORO] == ("required", "tentative")


def test_people_and_rooms_added_or_removed_are_updates():
    old = Snapshot.from_graph(graph_event())
    fewer = Snapshot.from_graph(graph_event(attendees=graph_event()["attendees"][:1]))
    assert differences(old, fewer) == [(ChangeType.EVENT_UPDATED, ("rooms",))]
    kinds = [{**a, "type": "optional"} if a["type"] == "required" else a for a in graph_event()["attendees"]]
    assert differences(old, Snapshot.from_graph(graph_event(attendees=kinds))) == [
        (ChangeType.EVENT_UPDATED, ("attendees",))
    ]


def test_gone_and_cancelled_are_reported_once_and_say_it_all():
    old = Snapshot.from_graph(graph_event())
    gone = Snapshot.gone(old)
    assert differences(old, gone) == [(ChangeType.DELETED_IN_OUTLOOK, ())]
    assert differences(gone, Snapshot.gone(gone)) == []
    cancelled = Snapshot.from_graph(graph_event(isCancelled=True, subject="Canceled: 一次面接"))
    assert differences(old, cancelled) == [(ChangeType.CANCELLED_IN_OUTLOOK, ())]
    assert differences(cancelled, cancelled) == []
