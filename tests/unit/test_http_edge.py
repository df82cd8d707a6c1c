import json
import logging

import azure.functions as func
import pytest

from shared.errors import ClientCredentialRejected, ConfigurationError, GraphUnavailable, LinkNotFound, ValidationFailed
from shared.http import MAX_BODY_BYTES, handler, json_body, json_response


def call(fn, body: bytes = b"{}"):
    return handler(fn)(func.HttpRequest("POST", "http://x/api/y", body=body, headers={}))


def payload(resp):
    return resp.status_code, json.loads(resp.get_body())


@pytest.mark.parametrize(
    "error,status,code",
    [
        (LinkNotFound(), 404, "link_not_found"),
        (ValidationFailed("bad time", code="invalid_time_range"), 422, "invalid_time_range"),
        (GraphUnavailable(), 503, "graph_unavailable"),
        (ConfigurationError("setting X is not set"), 503, "configuration_error"),
        (ClientCredentialRejected(), 503, "configuration_error"),  # our secret refused: retry once it is fixed
    ],
)
def test_domain_errors_map_to_contract_shape(error, status, code):
    def fn(req):
        raise error

    got_status, body = payload(call(fn))
    assert got_status == status
    assert body["error"]["code"] == code and body["error"]["message"]


def test_unexpected_error_is_500_without_trace_or_message(caplog):
    secret = "SECRET" + "123"

    def fn(req):
        raise RuntimeError(f"refresh_token={secret} leaked into a message")

    with caplog.at_level(logging.ERROR):
        status, body = payload(call(fn))
    assert status == 500 and body["error"]["code"] == "internal_error"
    assert "SECRET123" not in json.dumps(body)
    assert "SECRET123" not in caplog.text and "RuntimeError" in caplog.text


def test_storage_errors_are_503():
    from azure.core.exceptions import ServiceRequestError

    def fn(req):
        raise ServiceRequestError("connection refused")

    status, body = payload(call(fn))
    assert (status, body["error"]["code"]) == (503, "storage_unavailable")


@pytest.mark.parametrize("body", [b"[1,2]", b"not json", b'"text"', b"\xff\xfe"])
def test_json_body_must_be_an_object(body):
    status, out = payload(call(lambda req: json_response(json_body(req)), body))
    assert (status, out["error"]["code"]) == (400, "invalid_request")


def test_oversized_body_is_413():
    status, out = payload(call(lambda req: json_response({}), b"{" + b" " * MAX_BODY_BYTES + b"}"))
    assert (status, out["error"]["code"]) == (413, "payload_too_large")


def test_json_body_passes_objects():
    status, out = payload(call(lambda req: json_response(json_body(req)), b'{"a": 1}'))
    assert (status, out) == (200, {"a": 1})


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError inside json.loads
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"schedule_id": NaN}',
        b'{"limit": Infinity}',
        b'{"limit": -Infinity}',
        b'{"limit": 1e999}',  # parses as infinity
        b'{"limit": ' + b"9" * 5000 + b"}",  # over Python's int digit limit
        b'{"a": 1, "a": 2}',  # which one wins is ambiguous
        b'{"subject": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"emails": ["\\ud83d"]}',  # lone surrogates
        b"[]",
        b"1",
        b'"text"',
        b"null",
        b"\xff\xfe",
    ],
)
def test_hostile_json_is_400_invalid_request(raw):
    status, body = payload(call(lambda req: json_response(json_body(req)), raw))
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_astral_characters_and_big_finite_numbers_are_fine():
    raw = json.dumps({"subject": "面接 😀", "n": 1e308, "i": 10**100}).encode()
    status, body = payload(call(lambda req: json_response(json_body(req)), raw))
    assert status == 200 and body["subject"] == "面接 😀"


def test_configuration_errors_tell_the_caller_nothing_and_the_log_everything(caplog):
    def fn(req):
        raise ConfigurationError("setting HERP_JWT_SECRET is shorter than 32 bytes")

    with caplog.at_level(logging.ERROR):
        status, body = payload(call(fn))
    assert (status, body["error"]["code"]) == (503, "configuration_error")
    assert "HERP_JWT_SECRET" not in body["error"]["message"] and "32" not in body["error"]["message"]
    assert "HERP_JWT_SECRET is shorter than 32 bytes" in caplog.text


class UnreadableBody(func.HttpRequest):
    """A request whose body must not be read (the host passes it unread)."""

    def get_body(self) -> bytes:
        raise AssertionError("the body was read")


def test_a_body_declared_over_1_mib_is_refused_before_it_is_read():
    called = []
    req = UnreadableBody("POST", "http://x/api/y", body=b"", headers={"Content-Length": str(MAX_BODY_BYTES + 1)})
    status, body = payload(handler(lambda r: called.append(r))(req))
    assert (status, body["error"]["code"]) == (413, "payload_too_large") and not called
