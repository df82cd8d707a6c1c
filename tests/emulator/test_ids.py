"""Outlook item ids in the emulator: default ids change when an item moves, immutable ids do not
(concepts/outlook-immutable-id.md); translateExchangeIds migrates stored ids."""

from __future__ import annotations

import pytest

from devtools.emulator import seed

from .calendar_helpers import BEN, Client, assert_graph_error, event_body, mailbox

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def _translate(client, ids, source="restId", target="restImmutableEntryId"):
    return client.call(
        "POST", "/me/translateExchangeIds", json={"inputIds": ids, "sourceIdType": source, "targetIdType": target}
    )


def test_the_prefer_header_chooses_the_id_kind_per_request(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body(), headers=IMMUTABLE).json()
    immutable = e["id"]
    assert immutable.startswith("AAkALgAA")
    default = emi.call("GET", f"/me/events/{immutable}").json()["id"]  # no header: default id
    assert default.startswith("AAMkAG") and default != immutable
    assert emi.call("GET", f"/me/events/{default}", headers=IMMUTABLE).json()["id"] == immutable
    patched = emi.call("PATCH", f"/me/events/{immutable}", json={"subject": "x"}, headers=IMMUTABLE).json()
    assert patched["id"] == immutable and immutable in patched["webLink"].replace("%3D", "=")
    [view] = mailbox(emu, seed.EMI_ID)
    assert (view["id"], view["_emulator"]["immutableId"]) == (default, immutable)


def test_a_move_changes_the_default_id_only(emu, emi):
    cals = {c["name"]: c["id"] for c in emi.call("GET", "/me/calendars").json()["value"]}
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required")])).json()
    immutable = emi.call("GET", f"/me/events/{e['id']}", headers=IMMUTABLE).json()["id"]
    moved = emu.control("POST", f"events/{e['id']}/move", json={"calendar_name": "Interviews"})
    assert moved["previousId"] == e["id"] and moved["immutableId"] == immutable
    assert moved["calendarId"] == cals["Interviews"] and moved["id"] not in (e["id"], immutable)
    for method in ("GET", "PATCH", "DELETE"):
        assert_graph_error(
            emi.call(method, f"/me/events/{e['id']}", json={"subject": "y"} if method == "PATCH" else None),
            404,
            "ErrorItemNotFound",
        )
    assert_graph_error(emi.call("POST", f"/me/events/{e['id']}/cancel", json={}), 404, "ErrorItemNotFound")
    assert emi.call("GET", f"/me/events/{moved['id']}").json()["subject"] == "Interview"
    assert mailbox(emu, seed.EMI_ID)[0]["_emulator"]["calendarId"] == cals["Interviews"]
    assert emi.call("PATCH", f"/me/events/{immutable}", json={"subject": "Moved"}).status_code == 200
    assert mailbox(emu, seed.BEN_ID)[0]["subject"] == "Moved"  # still the same meeting
    # Either id kind names the item in the control route; moving back gives yet another default id.
    back = emu.control("POST", f"events/{immutable}/move", json={"calendar_id": cals["Calendar"]})
    assert back["previousId"] == moved["id"] and back["id"] != e["id"]
    assert emi.call("POST", f"/me/events/{immutable}/cancel", json={}).status_code == 202
    assert_graph_error(emi.call("GET", f"/me/events/{back['id']}"), 404, "ErrorItemNotFound")


def test_the_move_control_route_refuses_what_a_user_cannot_do(emu, emi):
    e = emi.call("POST", "/me/events", json=event_body()).json()
    cases = [
        ({"calendar_name": "Calendar"}, 400),
        ({"calendar_name": "Ben Tanaka"}, 404),  # shared
        ({"calendar_name": "Nowhere"}, 404),
        ({}, 400),
        ({"calendar_name": "Interviews", "calendar_id": "x"}, 400),
    ]
    for body, status in cases:
        r = emu.http.post(f"{emu.base}/_emulator/events/{e['id']}/move", json=body)
        assert r.status_code == status, (body, r.text)
    assert (
        emu.http.post(f"{emu.base}/_emulator/events/AAMkAGnone/move", json={"calendar_name": "Interviews"}).status_code
        == 404
    )


def test_translate_exchange_ids(emu, emi):
    a = emi.call("POST", "/me/events", json=event_body(subject="A")).json()
    b = emi.call("POST", "/me/events", json=event_body(subject="B")).json()
    r = _translate(emi, [a["id"], b["id"]])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#Collection(microsoft.graph.convertIdResult)")
    ids = [v["targetId"] for v in body["value"]]
    assert [v["sourceId"] for v in body["value"]] == [a["id"], b["id"]]
    assert ids == [emi.call("GET", f"/me/events/{x['id']}", headers=IMMUTABLE).json()["id"] for x in (a, b)]
    back = _translate(emi, ids, source="restImmutableEntryId", target="restId").json()["value"]
    assert [v["targetId"] for v in back] == [a["id"], b["id"]]
    # A default id stored before a move names nothing any more.
    emu.control("POST", f"events/{a['id']}/move", json={"calendar_name": "Interviews"})
    [stale] = _translate(emi, [a["id"]]).json()["value"]
    assert stale["sourceId"] == a["id"] and "targetId" not in stale
    assert stale["errorDetails"]["code"] == "ErrorItemNotFound"
    # Another mailbox's item is not in this one.
    ben = Client(emu, BEN)
    assert "errorDetails" in _translate(ben, [b["id"]]).json()["value"][0]


def test_translate_exchange_ids_refusals(emu, emi):
    assert_graph_error(_translate(emi, ["x"], source="restID2"), 400, "RequestBodyRead")
    assert_graph_error(_translate(emi, ["x"], target="ewsId"), 400, "ErrorInvalidRequest")
    assert_graph_error(_translate(emi, []), 400, "ErrorInvalidRequest")
    assert_graph_error(_translate(emi, ["x"] * 1001), 400, "ErrorInvalidRequest")
    assert _translate(emi, ["x"] * 1000).status_code == 200
    r = emi.call(
        "POST",
        "/me/translateexchangeids",  # segments are case-insensitive
        json={"inputIds": ["x"], "sourceIdType": "restId", "targetIdType": "restImmutableEntryId"},
    )
    assert r.status_code == 200


def test_a_delete_in_outlook_moves_the_item_to_deleted_items(emu, emi):
    """Deleting in Outlook moves the item to Deleted Items: its immutable id still reads it at
    /me/events/{id} (outlook-immutable-id.md; msgraph-sdk-dotnet #3047), with a parentFolderId that
    is no calendar of the mailbox; calendar-scoped paths no longer find it."""
    cals = {c["name"]: c["id"] for c in emi.call("GET", "/me/calendars").json()["value"]}
    e = emi.call("POST", "/me/events", json=event_body(attendees=[(BEN, "required")]), headers=IMMUTABLE).json()
    immutable = e["id"]
    assert e["parentFolderId"] == cals["Calendar"]
    for path in (f"/me/calendar/events/{immutable}", f"/me/calendars/{cals['Calendar']}/events/{immutable}"):
        assert emi.call("GET", path).status_code == 200
    assert_graph_error(
        emi.call("GET", f"/me/calendars/{cals['Interviews']}/events/{immutable}"), 404, "ErrorItemNotFound"
    )
    default = emi.call("GET", f"/me/events/{immutable}").json()["id"]
    emu.control("POST", f"users/{seed.EMI_ID}/events/{immutable}/delete", json={})
    got = emi.call("GET", f"/me/events/{immutable}", params={"$select": "isCancelled,parentFolderId"})
    assert got.status_code == 200
    assert got.json()["isCancelled"] is False and got.json()["parentFolderId"] not in cals.values()
    assert_graph_error(emi.call("GET", f"/me/events/{default}"), 404, "ErrorItemNotFound")
    for path in (f"/me/calendar/events/{immutable}", f"/me/calendars/{cals['Calendar']}/events/{immutable}"):
        assert_graph_error(emi.call("GET", path), 404, "ErrorItemNotFound")
    assert_graph_error(emi.call("PATCH", f"/me/events/{immutable}", json={"subject": "x"}), 404, "ErrorItemNotFound")
    assert_graph_error(emi.call("GET", f"/me/calendars/{got.json()['parentFolderId']}"), 404, "ErrorItemNotFound")
    assert mailbox(emu, seed.BEN_ID)[0]["isCancelled"] is True  # the attendees got the cancellation
    # A move to another calendar is no deletion: the item is there, in that calendar.
    m = emi.call("POST", "/me/events", json=event_body(), headers=IMMUTABLE).json()
    emu.control("POST", f"events/{m['id']}/move", json={"calendar_name": "Interviews"})
    assert emi.call("GET", f"/me/events/{m['id']}").json()["parentFolderId"] == cals["Interviews"]
    assert emi.call("GET", f"/me/calendars/{cals['Interviews']}/events/{m['id']}").status_code == 200
