"""Reactions: what one use case asks of another without importing it (docs/architecture.md
"Layers"). A use case calls a reaction declared here, with the signature declared here;
`shared.wiring` names the use-case function that answers each one. The wiring is imported at the
first reaction called, so indexing `function_app` loads no use case and a unit test of one use
case needs no set-up.

Each reaction is declared as a typed stub whose docstring says who reacts and why; the stub's
body never runs (hence no empty-body check here).
"""

# mypy: disable-error-code="empty-body"

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from shared.auth import Caller
    from shared.domain.event_input import EventInput
    from shared.domain.event_view import OutlookEvent
    from shared.mailbox.credentials import Mailbox
    from shared.models import Change, EventRecord, MicrosoftAccount

P = ParamSpec("P")
R = TypeVar("R")
WIRING = "shared.wiring"  # the composition of reactions, imported at the first call
_wiring_lock = threading.Lock()


class NotWired(RuntimeError):
    """A reaction was called that shared.wiring gives no handler."""


class Reaction(Generic[P, R]):
    """Called like its stub; runs the handler `shared.wiring` gave it."""

    def __init__(self, stub: Callable[P, R]):
        self.name = stub.__name__
        self.__doc__ = stub.__doc__
        self._handler: Callable[P, R] | None = None

    def handle(self, handler: Callable[P, R]) -> None:
        self._handler = handler

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._handler is None:
            with _wiring_lock:
                importlib.import_module(WIRING)
        if self._handler is None:
            raise NotWired(f"reaction {self.name} has no handler in {WIRING}")
        return self._handler(*args, **kwargs)


def reaction(stub: Callable[P, R]) -> Reaction[P, R]:
    return Reaction(stub)


# ---- linking


@reaction
def credential_died(account: MicrosoftAccount) -> None:
    """The account's credential was refused for good (shared.mailbox.credentials): linking marks
    the account `reauth_required` and reports it once."""


@reaction
def tenant_needs_renewal(company_id: str, tenant_id: str, **fields: str | None) -> None:
    """The tenant admin's credential cannot serve the room sync: linking moves the tenant link to
    `renewal_required` (with `fields`) and reports it once."""


@reaction
def tenant_linked(company_id: str, tenant_id: str) -> None:
    """A tenant was linked or renewed: rooms queues the sync of its room cache."""


@reaction
def tenant_unlinked(company_id: str, tenant_id: str) -> None:
    """A tenant link was removed: rooms drops the tenant's room cache unless another company
    still links the tenant."""


@reaction
def account_unlinking(account: MicrosoftAccount) -> None:
    """The account's last link is going: the Outlook subscriptions are deleted while its
    credential can still delete them in Graph."""


# ---- interviews


@reaction
def event_created(account: MicrosoftAccount, calendar_id: str | None) -> None:
    """An event was made in the calendar: its subscription is queued when the account has none."""


@reaction
def declined_room_seen(record: EventRecord, event: EventInput, shown: OutlookEvent) -> None:
    """A read of the event showed a booked room declining: the room fallback has the event
    compared with Outlook soon when that room is one it has not tried yet."""


# ---- scheduling


@reaction
def interview_for_hold(caller: Caller, body: dict) -> tuple[OutlookEvent, bool]:
    """A hold is confirmed (scheduling/holds): interviews creates the interview at the chosen slot
    exactly as `POST /events` does, idempotent by `schedule_id` (the event, and whether this call
    made it)."""


# ---- changes from Outlook


@reaction
def compare_soon(company_id: str, schedule_id: str) -> None:
    """Queue one comparison of the event with Outlook (as a notification would)."""


@reaction
def room_declined(company_id: str, schedule_id: str, declined: str, view: dict | None) -> Change | None:
    """A booked room declined the event (seen by a comparison): the room fallback books another
    and returns the Change it recorded."""


@reaction
def subscribed(box: Mailbox) -> int:
    """The account's calendar got a new subscription: what changed while nobody watched is caught
    up (how many events were compared)."""
