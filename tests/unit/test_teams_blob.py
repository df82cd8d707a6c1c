"""Editing the body of an online meeting keeps Outlook's Teams join block (event-update.md)."""

import time

import pytest

from shared.domain.event_input import parse_create, parse_patch
from shared.domain.event_to_graph import body_keeping_meeting, teams_block
from shared.domain.event_view import OutlookEvent
from shared.errors import TeamsBlockNotFound, ValidationFailed
from tests.unit.test_event_input import BASE

JOIN = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_YmE2OTE3%40thread.v2/0?context=%7b%22Tid%22%3a%22"
    "d8aac164%22%7d"
)
# The short link Teams writes into invitations now (MC772556), joinUrl keeping the long form.
SHORT = "https://teams.microsoft.com/meet/2345678901234?p=AbCdEfGhIjKl"
MIB = 1024 * 1024
# The shape Outlook writes today (field report: OfficeDev/microsoft-teams-library-js issue 2844).
BLOB = (
    '<div class="me-email-text" aria-label="Meeting join link" style="max-width:600px">\r\n'
    '<div style="margin-bottom:24px; overflow:hidden; white-space:nowrap">'
    "________________________________________________________________________________</div>\r\n"
    '<div style="margin-bottom:12px"><span class="me-email-text">Microsoft&nbsp;Teams</span></div>\r\n'
    f'<div style="margin-bottom:6px"><a href="{JOIN}" id="meet_invite_block.action.join_link">Join the meeting now</a>'
    "</div>\r\n<div>Meeting ID: 123 456 789</div>\r\n"
    "<div>________________________________________________________________________________</div>\r\n</div>\r\n"
)


def current(body_html: str, join_url: str = JOIN) -> dict:
    return {"body": {"contentType": "html", "content": body_html}, "onlineMeeting": {"joinUrl": join_url}}


def wrap(inner: str) -> str:
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n{inner}</body>\r\n</html>\r\n"
    )


def test_new_text_goes_before_the_blob_which_stays_intact():
    out = body_keeping_meeting(
        current(wrap("<div>old words</div>\r\n" + BLOB)), {"content_type": "text", "content": "new <words>\nline 2"}
    )
    assert out["contentType"] == "html"
    assert "old words" not in out["content"]
    assert out["content"].index("new &lt;words&gt;<br>") < out["content"].index(BLOB)
    assert BLOB in out["content"] and JOIN in out["content"]


def test_underscores_in_the_recruiters_own_text_are_not_taken_for_the_blob():
    mine = "<p>Sign here: ______________________________________</p>\r\n"
    out = body_keeping_meeting(current(wrap(mine + BLOB)), {"content_type": "html", "content": "<p>v2</p>"})
    assert "Sign here" not in out["content"] and out["content"].count("meet_invite_block") == 1


def test_the_older_span_blob_is_kept_too():
    old_style = (
        '<span style="line-height:1;">___________________________________________________</span><br>'
        f'<span>Microsoft Teams meeting</span><br><a href="{JOIN.replace("&", "&amp;")}">Click here to join</a>'
    )
    out = body_keeping_meeting(current(wrap("text<br>" + old_style)), {"content_type": "text", "content": "v2"})
    assert out["content"].startswith("<html><body>v2<span") and "Click here to join" in out["content"]


def test_the_short_link_teams_writes_now_is_found_too():
    short = BLOB.replace(JOIN, SHORT)
    out = body_keeping_meeting(current(wrap("<div>old</div>\r\n" + short)), {"content_type": "text", "content": "v2"})
    assert out["content"] == f"<html><body>v2{short}</body></html>"


def test_the_emulators_shape_with_the_short_link_is_kept_whole():
    rule = '<div style="width:100%"><span style="opacity:.36">' + "_" * 80 + "</span>\r\n</div>\r\n"
    block = (
        f'{rule}<div class="me-email-text" lang="en-US">\r\n<span>Microsoft Teams meeting</span>\r\n'
        f'<a href="{SHORT.replace("&", "&amp;")}" class="me-email-headline">Click here to join</a>\r\n</div>\r\n{rule}'
    )
    assert teams_block(wrap("<p>Agenda</p>\r\n" + block), JOIN) == block
    assert teams_block(wrap(block), JOIN) == block  # nothing before it: <body> is not taken along


@pytest.mark.parametrize(
    "body_html",
    [
        wrap("<div>no meeting here</div>"),
        wrap(f"<div>{'_' * 80}</div><div>join on the phone instead</div>"),  # a rule, no Teams link
        wrap(f'<a href="{SHORT}">join</a><div>{"_" * 80}</div>'),  # a link, no rule before it
        "",
    ],
)
def test_an_online_meeting_without_a_findable_block_is_409(body_html):
    assert teams_block(body_html, JOIN) is None
    with pytest.raises(TeamsBlockNotFound) as info:
        body_keeping_meeting(current(body_html), {"content_type": "text", "content": "v2"})
    assert info.value.code == "teams_block_not_found"
    with pytest.raises(TeamsBlockNotFound):  # Outlook's word is enough, the joinUrl aside
        body_keeping_meeting({"body": {"content": body_html}, "isOnlineMeeting": True, "onlineMeeting": None}, None)


def test_a_meeting_outlook_no_longer_holds_online_takes_the_content_alone():
    offline = {"body": {"content": wrap("<div>no meeting here</div>")}, "isOnlineMeeting": False, "onlineMeeting": None}
    assert body_keeping_meeting(offline, None) == {"contentType": "html", "content": ""}


@pytest.mark.parametrize(
    "adversarial",
    [
        '<div class="' * (MIB // 12),
        "<div class=" * (MIB // 11) + "me-email-text",
        "_" * MIB,
        ("_" * 29 + "<") * (MIB // 30),
        "_" * (MIB // 2) + "https://teams.microsoft.com/meet/" + "<span " * (MIB // 12),
        "https://teams.microsoft.com/meet/" * (MIB // 33),
        ("<b>" + "_" * 30) * (MIB // 33) + SHORT,
        JOIN[:-1] * (MIB // len(JOIN)),
        '<div class="' * (MIB // 12) + "_" * 30 + JOIN,  # the old wrapper regex: 7 s on 64 KB of this
        '<div class="me-email-text' * (MIB // 25) + "_" * 30 + SHORT,
        "<span>" * (MIB // 6) + "_" * 30 + SHORT,
    ],
)
def test_the_search_is_linear_on_adversarial_html(adversarial):
    """A security review found a regex here that took 7 s on 64 KB of crafted HTML."""
    began = time.perf_counter()
    for _ in range(2):
        try:
            body_keeping_meeting(current(adversarial), {"content_type": "text", "content": "v2"})
        except TeamsBlockNotFound:
            pass
    assert time.perf_counter() - began < 1.0  # two passes over 1 MiB each (the old code: 20 s on 64 KB)


def test_online_meeting_cannot_be_switched_off():
    online = parse_create(BASE)
    with pytest.raises(ValidationFailed) as info:
        parse_patch({"online_meeting": False}, online)
    assert info.value.code == "online_meeting_locked"
    assert parse_patch({"online_meeting": True, "subject": "x"}, online).online_meeting is True
    offline = parse_create({**BASE, "online_meeting": False})
    assert parse_patch({"online_meeting": True}, offline).online_meeting is True


def test_the_event_says_what_outlook_says_of_the_meeting():
    asked_off = parse_create({**BASE, "online_meeting": False})
    graph = {"id": "e1", "isOnlineMeeting": True, "onlineMeeting": {"joinUrl": JOIN}}
    out = OutlookEvent.from_graph(asked_off, graph, None).to_json()
    assert (out["online_meeting"], out["join_url"]) == (True, JOIN)
