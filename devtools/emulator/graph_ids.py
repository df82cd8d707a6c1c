"""POST /me/translateExchangeIds and /users/{id|upn}/translateExchangeIds: migrate stored ids.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib):
- api-reference/v1.0/api/user-translateexchangeids.md: body inputIds (at most 1000, one mailbox),
  sourceIdType, targetIdType (exchangeIdFormat: entryId, ewsId, immutableEntryId, restId,
  restImmutableEntryId); User.Read suffices; 200 with a convertIdResult collection.
- api-reference/v1.0/resources/convertidresult.md: sourceId, targetId, or errorDetails
  (genericError: code, message) when that id could not be converted.
- concepts/outlook-immutable-id.md: the way to migrate stored default ids to immutable ids.

Only the two REST formats are emulated (the ids the emulator hands out); an id that names no
item of the mailbox (a default id from before a move, an unknown id) gets errorDetails.
"""
from __future__ import annotations

from . import events as ev
from .event_input import read_json
from .graph import EXCHANGE_DENIED, target_user
from .graph_http import GraphError, GraphResult, require

READ_PROFILE = {"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All",
                "User.ReadWrite.All"}
ID_FORMATS = ("entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId")
EMULATED = {"restId": "id", "restImmutableEntryId": "key"}  # format -> record field
MAX_IDS = 1000


def _format(params, name):
    value = params.get(name.lower())
    canon = {f.lower(): f for f in ID_FORMATS}
    if not isinstance(value, str) or value.lower() not in canon:
        raise GraphError(400, "RequestBodyRead", f"Cannot convert the literal '{value}' to the "
                                                 "expected type 'microsoft.graph.exchangeIdFormat'.")
    if canon[value.lower()] not in EMULATED:
        raise GraphError(400, "ErrorInvalidRequest",
                         f"The emulator translates only restId and restImmutableEntryId, not {value}.")
    return EMULATED[canon[value.lower()]]


def translate_exchange_ids(state, request, ctx, ident=None):
    caller = ctx["user"]
    if target_user(state, caller, ident) is not caller:  # another mailbox: no delegated access
        require(set(), READ_PROFILE, *EXCHANGE_DENIED)
    require(ctx["scp"], READ_PROFILE, *EXCHANGE_DENIED)
    if not caller["has_mailbox"]:
        raise GraphError(404, "MailboxNotEnabledForRESTAPI",
                         "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    params = {k.lower(): v for k, v in read_json(request).items()}
    ids = params.get("inputids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise GraphError(400, "ErrorInvalidRequest", "The parameter 'InputIds' must be a non-empty "
                                                     "collection of strings.")
    if len(ids) > MAX_IDS:
        raise GraphError(400, "ErrorInvalidRequest",
                         f"The parameter 'InputIds' holds {len(ids)} ids; the maximum is {MAX_IDS}.")
    source, target = _format(params, "sourceIdType"), _format(params, "targetIdType")
    value = []
    with state.lock:
        for given in ids:
            rec = next((r for r in state.events.values() if r["owner"] == caller["id"]
                        and ev.live(r) and r[source] == given), None)
            value.append({"sourceId": given, "targetId": rec[target]} if rec else {
                "sourceId": given, "errorDetails": {
                    "code": "ErrorItemNotFound",
                    "message": "The specified object was not found in the store."}})
    context = f"{state.base_url}/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)"
    return GraphResult({"@odata.context": context, "value": value})


ROUTES = {"graph_translate_exchange_ids": translate_exchange_ids}
