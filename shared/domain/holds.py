"""Holds (仮押さえ, CONTRACT 7): the body of `POST /holds`, validated whole before any Graph call,
and the Outlook event that holds one slot on one calendar. Pure: no storage, no Graph.

A hold event is an ordinary event of the holder's own calendar: `[仮押さえ] <subject>`, shown as
tentative (resources/event.md `showAs`), no attendees (so nobody gets an invitation:
api/user-post-events.md sends invitations to attendees only) and no reminder (`isReminderOn`).
Its times go in UTC, which every Exchange accepts (DESIGN "Time"), so no zone can be refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from shared.domain.event_input import email_address, utc_slot, zone
from shared.domain.slots import slot_id
from shared.errors import ValidationFailed

PREFIX = "[仮押さえ] "
MAX_SLOTS = 20
MAX_INTERVIEWERS = 20
MAX_ID, MAX_SUBJECT = 255, 255
DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=30)
_TRANSACTION_NS = uuid.UUID("0f3a9d7e-2c4b-4f61-9a85-6d2e1b7c4a90")


def _fail(code: str, message: str) -> NoReturn:
    raise ValidationFailed(message, code=code)


@dataclass(frozen=True)
class HoldSlot:
    slot_id: str
    start: str  # local to the hold's time zone, as given (normalised)
    end: str
    start_utc: str
    end_utc: str
    room: str | None = None  # the search's room of the slot: only for its slot_id (a room is not held)


@dataclass(frozen=True)
class HoldInput:
    hold_id: str
    link_id: str
    subject: str
    time_zone: str
    interviewers: tuple[tuple[str | None, str | None], ...]  # (herp_account_id, email)
    slots: tuple[HoldSlot, ...]
    expires_at: str | None  # as given (UTC ISO), None: the default

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json_text().encode("utf-8")).hexdigest()

    def to_json_text(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json_text(cls, text: str) -> HoldInput:
        data = json.loads(text)
        return cls(
            hold_id=data["hold_id"],
            link_id=data["link_id"],
            subject=data["subject"],
            time_zone=data["time_zone"],
            interviewers=tuple((h, e) for h, e in data["interviewers"]),
            slots=tuple(HoldSlot(**s) for s in data["slots"]),
            expires_at=data.get("expires_at"),
        )


def _text(value, name: str, code: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        _fail(code, f"{name} must be a non-empty string of at most {limit} characters.")
    return value.strip()


def _interviewer(value) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        _fail("invalid_interviewers", "each interviewer must be an object with herp_account_id or email.")
    herp, email = value.get("herp_account_id"), value.get("email")
    if herp is None and email is None:
        _fail("invalid_interviewers", "each interviewer needs herp_account_id or email.")
    if herp is not None:
        herp = _text(herp, "herp_account_id", "invalid_interviewers", MAX_ID)
    return herp, email_address(email, "An interviewer's email").lower() if email is not None else None


def _slot(value, time_zone: str, now: datetime) -> HoldSlot:
    if not isinstance(value, dict):
        _fail("invalid_slots", "each slot must be an object {start, end}.")
    first, last = utc_slot(value.get("start"), value.get("end"), time_zone)
    if last <= now:
        _fail("invalid_slots", "A slot that has already ended cannot be held.")
    if last - first > timedelta(hours=24):
        _fail("invalid_slots", "A slot lasts at most 24 hours.")
    room = value.get("room")
    if room is not None:
        room = email_address(room, "A slot's room").lower()
    local = zone(time_zone)
    return HoldSlot(
        slot_id=slot_id([(first, last, room)]),  # the slot search's id of the same slot
        start=first.astimezone(local).replace(tzinfo=None).isoformat(timespec="seconds"),
        end=last.astimezone(local).replace(tzinfo=None).isoformat(timespec="seconds"),
        start_utc=iso_z(first),
        end_utc=iso_z(last),
        room=room,
    )


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _expires_at(value, now: datetime) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        _fail("invalid_expires_at", "expires_at must be an ISO 8601 date-time with Z or an offset.")
    if moment <= now:
        _fail("invalid_expires_at", "expires_at must be in the future.")
    if moment - now > MAX_EXPIRY:
        _fail("invalid_expires_at", "expires_at may be at most 30 days ahead.")
    return iso_z(moment)


def parse_hold(body: dict, now: datetime | None = None) -> HoldInput:
    """The whole body validated (422 codes of CONTRACT 7), before any storage or Graph call."""
    now = now or datetime.now(UTC)
    hold_id = _text(body.get("hold_id"), "hold_id", "invalid_hold_id", MAX_ID)
    link_id = _text(body.get("link_id"), "link_id", "invalid_link_id", MAX_ID)
    subject = _text(body.get("subject"), "subject", "invalid_subject", MAX_SUBJECT)
    time_zone = body.get("time_zone", "Asia/Tokyo")
    zone(time_zone)  # 422 invalid_time_zone
    people = body.get("interviewers")
    if not isinstance(people, list) or not people:
        _fail("invalid_interviewers", "interviewers must be a list of 1 to 20 interviewers.")
    if len(people) > MAX_INTERVIEWERS:
        _fail("too_many_interviewers", f"At most {MAX_INTERVIEWERS} interviewers.")
    interviewers = tuple(dict.fromkeys(_interviewer(p) for p in people))
    raw_slots = body.get("slots")
    if not isinstance(raw_slots, list) or not 1 <= len(raw_slots) <= MAX_SLOTS:
        _fail("invalid_slots", f"slots must be a list of 1 to {MAX_SLOTS} slots.")
    slots = tuple({s.slot_id: s for s in (_slot(v, time_zone, now) for v in raw_slots)}.values())
    return HoldInput(
        hold_id=hold_id,
        link_id=link_id,
        subject=subject,
        time_zone=time_zone,
        interviewers=interviewers,
        slots=slots,
        expires_at=_expires_at(body.get("expires_at"), now),
    )


def expiry_of(hold: HoldInput, now: datetime) -> datetime:
    if hold.expires_at:
        return datetime.fromisoformat(hold.expires_at.replace("Z", "+00:00"))
    return now + DEFAULT_EXPIRY


def transaction_id(company_id: str, hold_id: str, slot: str, oid: str) -> str:
    """The same hold event's POST carries the same transactionId: a retry finds, not duplicates."""
    return str(uuid.uuid5(_TRANSACTION_NS, f"{company_id}\n{hold_id}\n{slot}\n{oid}"))


def hold_event(hold: HoldInput, slot: HoldSlot, transaction: str) -> dict:
    """The Graph body of the event that holds `slot` on one calendar."""
    return {
        "subject": PREFIX + hold.subject,
        "start": {"dateTime": slot.start_utc.removesuffix("Z"), "timeZone": "UTC"},
        "end": {"dateTime": slot.end_utc.removesuffix("Z"), "timeZone": "UTC"},
        "showAs": "tentative",
        "isReminderOn": False,
        "attendees": [],
        "body": {"contentType": "text", "content": "HERP Hire: 面接日程の仮押さえ (tentative hold for an interview)"},
        "transactionId": transaction,
    }
