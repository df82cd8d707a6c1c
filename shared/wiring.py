"""The composition of reactions: which use case answers each reaction of `shared.reactions`.
Imported by `shared.reactions` at the first reaction called (never at indexing); mypy checks
every handler against its reaction's signature."""

from __future__ import annotations

from shared import reactions
from shared.usecases.interviews import events, room_fallback
from shared.usecases.linking import link_health
from shared.usecases.outlook_changes import notifications, subscriptions
from shared.usecases.rooms import rooms

reactions.credential_died.handle(link_health.credential_died)
reactions.tenant_needs_renewal.handle(link_health.tenant_needs_renewal)
reactions.tenant_linked.handle(rooms.request_sync_quietly)
reactions.tenant_unlinked.handle(rooms.drop_cache_if_unused)
reactions.account_unlinking.handle(subscriptions.drop_all)
reactions.event_created.handle(subscriptions.request_for_event)
reactions.declined_room_seen.handle(room_fallback.declined_room_seen)
reactions.interview_for_hold.handle(events.create)
reactions.compare_soon.handle(notifications.compare_soon)
reactions.room_declined.handle(room_fallback.replace_declined)
reactions.subscribed.handle(notifications.catch_up)
