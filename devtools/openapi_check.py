"""Check real responses against docs/openapi.yaml (used by the tests).

    from devtools.openapi_check import validate, validate_response
    validate("GET", "/outlook/tenant-links/abc", 200, {...})   # path with or without the "/api" server prefix
    validate_response(requests_response)                          # the same, plus required headers

Raises AssertionError with the operation, status and the schema errors when the response is not
what the spec says. JSON Schema 2020-12 (OpenAPI 3.1); `$ref`s resolve inside the document.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
SPEC_URI = "urn:herp-outlook:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.cache
def spec() -> dict:
    import yaml

    with open(SPEC_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def server_prefix() -> str:
    return urlsplit(spec()["servers"][0]["url"]).path.rstrip("/")


@functools.cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT202012))


def _at(pointer: str):
    node = spec()
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _deref(node: dict, pointer: str) -> tuple[dict, str]:
    """Follow OpenAPI-level `$ref`s (responses, parameters); -> (object, its JSON pointer)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise AssertionError(f"only local $refs are supported, not {ref!r}")
        pointer = ref[1:]
        node = _at(pointer)
    return node, pointer


def operations() -> list[tuple[str, str]]:
    """Every documented (METHOD, template)."""
    return [(m.upper(), template) for template, item in spec()["paths"].items() for m in item if m in METHODS]


def find_operation(method: str, path: str) -> tuple[str, dict]:
    """The (template, operation) for a concrete path; literal segments win over parameters."""
    path = urlsplit(path).path  # segments stay percent-encoded: one segment, one parameter
    prefix = server_prefix()
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    segments = path.strip("/").split("/")
    candidates = []
    for template, item in spec()["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(segments):
            continue
        if all((p.startswith("{") and p.endswith("}") and s) or p == s for p, s in zip(parts, segments, strict=False)):
            literal = tuple(0 if p.startswith("{") else 1 for p in parts)
            candidates.append((literal, template, item))
    if not candidates:
        raise AssertionError(f"{method} {path}: no path of the spec matches")
    for _, template, item in sorted(candidates, key=lambda c: c[0], reverse=True):
        if method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(
        f"{method} {path}: the spec documents no {method.upper()} for {', '.join(c[1] for c in candidates)}"
    )


def _response_of(method: str, template: str, operation: dict, status: int) -> tuple[dict, str]:
    responses = operation.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
            return _deref(responses[key], pointer)
    raise AssertionError(
        f"{method.upper()} {template}: status {status} is not documented (documented: {', '.join(sorted(responses))})"
    )


def validate(method: str, path: str, status: int, body) -> None:
    """Assert that `status` is documented for the operation and `body` (parsed JSON, the text of a
    text/plain answer, or None) fits it."""
    from jsonschema import Draft202012Validator

    template, operation = find_operation(method, path)
    response, pointer = _response_of(method, template, operation, status)
    content = response.get("content") or {}
    where = f"{method.upper()} {template} -> {status}"
    if not content:
        if body is not None:
            raise AssertionError(f"{where}: the spec documents no body, got {body!r:.300}")
        return
    kinds = {m.split(";")[0].strip() for m in content}
    if kinds == {"text/plain"}:
        return  # a plain-text answer (Graph's validation handshake echoes any text it was sent)
    media = next((m for m in content if m.split(";")[0].strip() == "application/json"), None)
    if media is None:
        raise AssertionError(f"{where}: no application/json content documented")
    if body is None:
        raise AssertionError(f"{where}: a JSON body is documented, got none")
    schema = content[media].get("schema")
    if schema is None:
        return
    schema_ref = {"$ref": f"{SPEC_URI}#{pointer}/content/{_escape(media)}/schema"}
    validator = Draft202012Validator(
        schema_ref, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message:.300}" for e in errors[:10]]
        raise AssertionError(
            f"{where}: the body does not match the spec\n" + "\n".join(lines) + f"\nbody: {body!r:.1000}"
        )


def validate_response(response) -> None:
    """`validate` for a `requests.Response`, plus the documented required response headers."""
    request = response.request
    body = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(
                f"{request.method} {request.url} -> {response.status_code}: "
                f"the body is not JSON: {response.text[:300]!r}"
            ) from None
    path = urlsplit(request.url).path
    validate(request.method, path, response.status_code, body)
    template, operation = find_operation(request.method, path)
    documented, _ = _response_of(request.method, template, operation, response.status_code)
    for name, header in (documented.get("headers") or {}).items():
        header, _ = _deref(header, "")
        if header.get("required") and name not in response.headers:
            raise AssertionError(f"{request.method} {template} -> {response.status_code}: header {name} is missing")
