"""POST /me/translateExchangeIds: migrate stored ids.

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

from .graph import mailbox_owner
from .graph_http import Caller, GraphError, GraphResult, read_json

READ_PROFILE = {"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All"}
ID_FORMATS = ("entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId")
EMULATED = {"restId": "id", "restImmutableEntryId": "key"}  # format -> Event field
MAX_IDS = 1000


def _format(params, name):
    value = params.get(name.lower())
    canon = {f.lower(): f for f in ID_FORMATS}
    if not isinstance(value, str) or value.lower() not in canon:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.exchangeIdFormat'.",
        )
    if canon[value.lower()] not in EMULATED:
        raise GraphError(
            400, "ErrorInvalidRequest", f"The emulator translates only restId and restImmutableEntryId, not {value}."
        )
    return EMULATED[canon[value.lower()]]


def translate_exchange_ids(state, request, caller: Caller):
    owner = mailbox_owner(caller, READ_PROFILE)
    params = {k.lower(): v for k, v in read_json(request).items()}
    ids = params.get("inputids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise GraphError(
            400, "ErrorInvalidRequest", "The parameter 'InputIds' must be a non-empty collection of strings."
        )
    if len(ids) > MAX_IDS:
        raise GraphError(
            400, "ErrorInvalidRequest", f"The parameter 'InputIds' holds {len(ids)} ids; the maximum is {MAX_IDS}."
        )
    source, target = _format(params, "sourceIdType"), _format(params, "targetIdType")
    value = []
    with state.lock:
        for given in ids:
            rec = next(
                (r for r in state.events.values() if r.owner == owner.id and r.live and getattr(r, source) == given),
                None,
            )
            value.append(
                {"sourceId": given, "targetId": getattr(rec, target)}
                if rec
                else {
                    "sourceId": given,
                    "errorDetails": {
                        "code": "ErrorItemNotFound",
                        "message": "The specified object was not found in the store.",
                    },
                }
            )
    context = f"{state.base_url}/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)"
    return GraphResult({"@odata.context": context, "value": value})
