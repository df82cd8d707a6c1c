import pytest
import requests
import responses

from shared import graph
from shared.errors import GraphError, GraphTimeout, GraphUnavailable

BASE = "https://graph.example.test/v1.0"


@pytest.fixture
def sleeps(app_env, monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(graph, "_sleep", waited.append)
    return waited


@responses.activate
def test_retries_429_honouring_retry_after(sleeps):
    responses.get(
        f"{BASE}/me",
        status=429,
        headers={"Retry-After": "3"},
        json={"error": {"code": "TooManyRequests", "message": "Please retry again later."}},
    )
    responses.get(
        f"{BASE}/me", status=503, headers={"Retry-After": "1"}, json={"error": {"code": "ServiceUnavailable"}}
    )
    responses.get(f"{BASE}/me", json={"id": "u1"})
    assert graph.get("/me", "tok") == {"id": "u1"}
    assert sleeps == [3.0, 1.0]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok"


@responses.activate
def test_gives_up_after_the_retry_count(sleeps):
    responses.get(f"{BASE}/me", status=504)
    with pytest.raises(GraphUnavailable):
        graph.get("/me", "tok")
    assert len(responses.calls) == graph.MAX_RETRIES + 1
    assert sleeps == [1.0, 2.0, 4.0]  # no Retry-After: exponential back-off


@responses.activate
def test_gives_up_when_retry_after_exceeds_the_budget(sleeps):
    responses.get(f"{BASE}/me", status=429, headers={"Retry-After": "120"})
    with pytest.raises(GraphUnavailable):
        graph.get("/me", "tok", budget=10)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_errors_carry_status_and_graph_code_but_not_the_body(sleeps):
    responses.get(
        f"{BASE}/me/calendar",
        status=404,
        json={"error": {"code": "MailboxNotEnabledForRESTAPI", "message": "mailbox of alice@contoso is inactive"}},
    )
    with pytest.raises(GraphError) as info:
        graph.get("/me/calendar", "tok")
    assert (info.value.status, info.value.graph_code) == (404, "MailboxNotEnabledForRESTAPI")
    assert "alice" not in str(info.value) and type(info.value) is GraphError


@responses.activate
def test_timeout_and_connection_failure(sleeps):
    responses.get(f"{BASE}/slow", body=requests.ReadTimeout())
    responses.get(f"{BASE}/down", body=requests.ConnectionError())
    with pytest.raises(GraphTimeout):
        graph.get("/slow", "tok")
    with pytest.raises(GraphUnavailable):
        graph.get("/down", "tok")


@responses.activate
def test_get_all_follows_next_links(sleeps):
    responses.get(
        f"{BASE}/places/microsoft.graph.room",
        match=[responses.matchers.query_param_matcher({"$top": "2"})],
        json={"value": [{"id": 1}, {"id": 2}], "@odata.nextLink": f"{BASE}/places/microsoft.graph.room?$skip=2"},
    )
    responses.get(
        f"{BASE}/places/microsoft.graph.room",
        match=[responses.matchers.query_param_matcher({"$skip": "2"})],
        json={"value": [{"id": 3}]},
    )
    items = list(
        graph.items(
            graph.pages(
                lambda path, **kw: graph.request("GET", path, "tok", **kw),
                "/places/microsoft.graph.room",
                params={"$top": "2"},
            )
        )
    )
    assert [i["id"] for i in items] == [1, 2, 3]
    assert len(responses.calls) == 2


@responses.activate
def test_no_content_is_none(sleeps):
    responses.delete(f"{BASE}/me/events/e1", status=204)
    assert graph.request("DELETE", "/me/events/e1", "tok") is None


def test_at_most_four_graph_calls_run_at_once_per_mailbox(app_env, monkeypatch):
    import threading
    import time
    from collections import Counter

    from shared.mailbox import credentials
    from shared.models import Account, MicrosoftAccount

    monkeypatch.setattr(credentials.Mailbox, "token", lambda self, force_refresh=False: "token")
    running, peak, lock = Counter(), Counter(), threading.Lock()

    def fake_request(method, path, token, **kwargs):
        oid = path.rsplit("/", 1)[-1]
        with lock:
            running[oid] += 1
            peak[oid] = max(peak[oid], running[oid])
        time.sleep(0.05)
        with lock:
            running[oid] -= 1

    monkeypatch.setattr(graph, "request", fake_request)
    boxes = {oid: credentials.Mailbox(MicrosoftAccount("co", "t", Account(oid, "", ""))) for oid in ("busy", "other")}
    threads = [threading.Thread(target=boxes[oid].get, args=(f"/me/{oid}",)) for oid in ["busy"] * 10 + ["other"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak["busy"] == 4  # ten callers of one mailbox: never more than four at once
    assert peak["other"] == 3  # another mailbox is not held up by the first


@responses.activate
def test_a_post_is_not_repeated_after_503_or_504_which_may_come_after_graph_carried_it_out(sleeps):
    for status in (503, 504):
        responses.post(f"{BASE}/subscriptions", status=status, headers={"Retry-After": "1"})
        with pytest.raises(GraphUnavailable):
            graph.request("POST", "/subscriptions", "tok", json={"resource": "me/events"})
        assert len(responses.calls) == 1 and sleeps == []
        responses.reset()


@responses.activate
def test_a_throttled_post_was_not_carried_out_and_is_retried(sleeps):
    responses.post(f"{BASE}/subscriptions", status=429, headers={"Retry-After": "2"})
    responses.post(f"{BASE}/subscriptions", status=201, json={"id": "s1"})
    assert graph.request("POST", "/subscriptions", "tok", json={}) == {"id": "s1"}
    assert sleeps == [2.0]


@responses.activate
def test_patch_delete_and_reads_sent_as_post_are_still_retried_on_503(sleeps):
    for method in ("PATCH", "DELETE"):
        responses.add(method, f"{BASE}/subscriptions/s1", status=503, headers={"Retry-After": "1"})
        responses.add(method, f"{BASE}/subscriptions/s1", status=204)
        assert graph.request(method, "/subscriptions/s1", "tok") is None
    responses.post(f"{BASE}/me/calendar/getSchedule", status=504, headers={"Retry-After": "1"})
    responses.post(f"{BASE}/me/calendar/getSchedule", json={"value": []})
    assert graph.request("POST", "/me/calendar/getSchedule", "tok", json={}, idempotent=True) == {"value": []}
    assert sleeps == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "next_link",
    [
        "https://evil.example.test/v1.0/me/events?$skiptoken=x",
        "http://graph.example.test/v1.0/me/events?$skiptoken=x",  # another scheme
        "https://graph.example.test:8443/v1.0/me/events?$skiptoken=x",  # another port
        "https://graph.example.test.evil.test/v1.0/me/events",
        "https://graph.example.test@evil.example.test/v1.0/me/events",  # userinfo trick
    ],
)
@responses.activate
def test_next_links_to_another_origin_are_not_followed_with_the_token(app_env, next_link):
    responses.get(f"{BASE}/me/events", json={"value": [{"id": "1"}], "@odata.nextLink": next_link})
    responses.get(next_link.split("?")[0], json={"value": [{"id": "stolen"}]})
    with pytest.raises(GraphError):
        list(graph.items(graph.pages(lambda path, **kw: graph.get(path, "tok", **kw), "/me/events")))
    assert [c.request.url.split("?")[0] for c in responses.calls] == [f"{BASE}/me/events"]


@responses.activate
def test_next_links_of_the_endpoints_own_origin_are_followed(app_env):
    assert graph._url("https://GRAPH.example.test:443/v1.0/x") == "https://GRAPH.example.test:443/v1.0/x"
    with pytest.raises(GraphError):
        graph._url("https://graph.example.test:notaport/v1.0/x")
    second = f"{BASE}/me/events?$skiptoken=2"
    responses.get(f"{BASE}/me/events", json={"value": [{"id": "1"}], "@odata.nextLink": second})
    responses.get(f"{BASE}/me/events", json={"value": [{"id": "2"}]})
    got = list(graph.items(graph.pages(lambda path, **kw: graph.get(path, "tok", **kw), "/me/events")))
    assert [e["id"] for e in got] == ["1", "2"]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok"
