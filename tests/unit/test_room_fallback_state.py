"""The room fallback's memory is per slot: moving the event arms it again."""

import json
from dataclasses import replace

from shared.domain.event_input import EventInput
from shared.models import EventRecord
from shared.usecases.interviews import room_fallback

EVENT = EventInput(
    schedule_id="s1",
    link_id="l1",
    calendar_id=None,
    subject="面接",
    body=None,
    start="2026-12-01T10:00:00",
    end="2026-12-01T11:00:00",
    time_zone="Asia/Tokyo",
    rooms=("a@contoso.test",),
    room_fallback=True,
)


def record(state: dict | None) -> EventRecord:
    return EventRecord(
        company_id="co",
        schedule_id="s1",
        link_id="l1",
        tenant_id="t1",
        account_id="o1",
        calendar_id=None,
        transaction_id="tx",
        input_hash="h",
        input_json=EVENT.to_json_text(),
        fallback_json=json.dumps(state) if state else None,
    )


def test_the_same_slot_remembers_what_was_tried():
    state = {"slot": room_fallback.slot_of(EVENT), "tried": ["a@contoso.test"], "replaced": 3, "pending": []}
    assert room_fallback.state_of(record(state), EVENT) == state


def test_a_moved_event_starts_afresh_but_keeps_pending_declines():
    state = {"slot": room_fallback.slot_of(EVENT), "tried": ["a@contoso.test"], "replaced": 3, "pending": ["b@x.test"]}
    moved = replace(EVENT, start="2026-12-01T13:00:00", end="2026-12-01T14:00:00")
    fresh = room_fallback.state_of(record(state), moved)
    assert fresh == {"slot": room_fallback.slot_of(moved), "tried": [], "replaced": 0, "pending": ["b@x.test"]}
    assert room_fallback.state_of(record(None), EVENT)["replaced"] == 0
