"""docs/openapi.yaml is valid OpenAPI 3.1 and describes exactly the HTTP routes the app registers."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys

import pytest

from devtools import openapi_check
from devtools.stack import ROOT

PARAM = re.compile(r"\{([^}]+)\}")


@pytest.fixture(scope="module")
def spec() -> dict:
    return openapi_check.spec()


ROUTES_PROBE = """
import inspect, json
import function_app
out = []
for f in function_app.app.get_functions():
    for b in f.get_bindings_dict()["bindings"]:
        if b["type"] == "httpTrigger":
            source = inspect.getsource(f.get_user_function())
            for m in b["methods"]:
                out.append({"method": str(getattr(m, "value", m)).upper(), "path": "/" + b["route"], "source": source})
print(json.dumps(out))
"""


@functools.cache
def _http_functions() -> dict[tuple[str, str], str]:
    """(METHOD, "/" + route) -> handler source, for every HTTP trigger of function_app. Indexed in a
    child process: a FunctionApp can be indexed only once per process."""
    out = subprocess.run([sys.executable, "-c", ROUTES_PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    return {(r["method"], r["path"]): r["source"] for r in json.loads(out.stdout)}


def _operations(spec: dict) -> dict[tuple[str, str], dict]:
    return {
        (m.upper(), path): op
        for path, item in spec["paths"].items()
        for m, op in item.items()
        if m in openapi_check.METHODS
    }


def test_spec_is_valid_openapi_3_1(spec):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert spec["openapi"].startswith("3.1.")
    try:
        errors = [e.message[:300] for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    except Exception as exc:  # e.g. a $ref to nowhere: the validator raises (with the whole document)
        pytest.fail(f"{type(exc).__name__}: {str(exc)[:300]}")
    assert errors == []


def test_every_schema_is_valid_json_schema_2020_12_and_every_ref_resolves(spec):
    from jsonschema import Draft202012Validator

    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(spec))
    assert refs
    for ref in set(refs):
        assert ref.startswith("#/"), ref
        openapi_check._at(ref[1:])  # KeyError when it points nowhere


def test_spec_covers_every_http_route_both_ways(spec):
    registered = set(_http_functions())
    documented = set(_operations(spec))
    assert registered, "function_app registers no HTTP route?"
    assert sorted(registered - documented) == [], "routes missing from docs/openapi.yaml"
    assert sorted(documented - registered) == [], "operations in docs/openapi.yaml that the app does not serve"


def test_server_is_the_route_prefix(spec):
    host = json.loads((ROOT / "host.json").read_text())
    assert [s["url"] for s in spec["servers"]] == ["/" + host["extensions"]["http"]["routePrefix"]]


def test_path_parameters_are_declared(spec):
    for path, item in spec["paths"].items():
        for method in (m for m in item if m in openapi_check.METHODS):
            params = [
                openapi_check._deref(p, "")[0] for p in item.get("parameters", []) + item[method].get("parameters", [])
            ]
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == set(PARAM.findall(path)), f"{method.upper()} {path}"
            assert all(p.get("required") for p in params if p["in"] == "path")


# Routes whose 403 the record decides (a member editing an interview it did not create).
FORBIDDEN_BY_THE_RECORD = {("PATCH", "/outlook/events/{schedule_id}"), ("DELETE", "/outlook/events/{schedule_id}")}


def test_security_matches_the_code(spec):
    """Bearer JWT globally; the callback alone is anonymous. Routes that authenticate document 401
    (and 403 exactly when they demand an admin, or the record decides); routes that read a JSON
    body document it and 400."""
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    operations = _operations(spec)
    for key, source in _http_functions().items():
        op = operations[key]
        responses = op["responses"]
        authenticates = "authenticate(req" in source
        assert (op.get("security") != []) == authenticates, key
        assert ("401" in responses) == authenticates, key
        assert ("403" in responses) == ('role="admin"' in source or key in FORBIDDEN_BY_THE_RECORD), key
        reads_body = "json_body(req" in source
        assert ("400" in responses) == reads_body, key
        assert ("requestBody" in op) == reads_body, key
        assert "413" in responses and "500" in responses, key  # shared.http.handler, on every route


def test_no_yaml_slip_leaves_a_null_key(spec):
    """`{description: a, b}` in a YAML flow mapping silently makes a key `b` with value null."""

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                assert value is not None or key in ("default", "const", "example"), "/".join(map(str, path + [key]))
                walk(value, path + [key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + [i])

    walk(spec, [])


def test_errors_are_the_shared_closed_shape(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["additionalProperties"] is False and error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert inner["additionalProperties"] is False and inner["required"] == ["code", "message", "request_id"]
    for (method, path), op in _operations(spec).items():
        for status, response in op["responses"].items():
            if int(status) >= 400:
                response, _ = openapi_check._deref(response, "")
                schema = response["content"]["application/json"]["schema"]
                if (method, path, status) == ("GET", "/health", "503"):  # CONTRACT 8: {"status": "unavailable"}
                    assert schema["properties"] == {"status": {"const": "unavailable"}}
                    continue
                assert "components/schemas/Error" in json.dumps(schema), f"{method} {path} {status}"


def test_the_checker_finds_operations_and_rejects_what_the_spec_does_not_say():
    openapi_check.validate("GET", "/api/outlook/tenant-links", 200, {"tenant_links": []})
    openapi_check.validate("DELETE", "/api/outlook/events/sch-1", 204, None)
    assert (
        openapi_check.find_operation("POST", "/api/outlook/tenant-links/authorize")[0]
        == "/outlook/tenant-links/authorize"
    )
    assert (
        openapi_check.find_operation("GET", "/api/outlook/tenant-links/authorize")[0]
        == "/outlook/tenant-links/{tenant_id}"
    )
    bad = [
        ("GET", "/api/outlook/tenant-links", 200, {"tenant_links": [], "extra": 1}),
        ("GET", "/api/outlook/tenant-links", 418, None),
        ("PUT", "/api/outlook/tenant-links", 200, None),
        ("GET", "/api/outlook/nowhere", 200, None),
        ("GET", "/api/outlook/tenant-links", 401, {"error": {"code": "forbidden", "message": "x"}}),
        (
            "GET",
            "/api/outlook/tenant-links",
            401,
            {"error": {"code": "unauthenticated", "message": "x", "trace": "..."}},
        ),
        ("DELETE", "/api/outlook/events/sch-1", 204, {"unexpected": True}),
        ("GET", "/api/outlook/tenants/t/rooms", 200, {"rooms": [], "synced_at": "2026-11-25 03:00", "stale": False}),
    ]
    for case in bad:
        with pytest.raises(AssertionError):
            openapi_check.validate(*case)
