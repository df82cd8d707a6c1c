import pytest

from devtools.host.routes import RouteError, Router, RouteTemplate, split_path


def match(template, path):
    return RouteTemplate(template).match(split_path(path))


@pytest.mark.parametrize(
    "template,path,expected",
    [
        ("items", "items", {}),
        ("items", "ITEMS/", {}),  # literals are case-insensitive
        ("items/{id}", "items/42", {"id": "42"}),
        ("items/{id}", "items/a%20b", {"id": "a b"}),  # percent-decoded
        ("items/{id}", "items/a%2Fb", {"id": "a/b"}),  # %2F stays inside one segment
        ("items/{id:int}", "items/-7", {"id": "-7"}),
        (
            "items/{id:guid}",
            "items/3f7a9c1e-5b2d-4e8f-9a61-2c4d8e0b7f13",
            {"id": "3f7a9c1e-5b2d-4e8f-9a61-2c4d8e0b7f13"},
        ),
        ("n/{s:alpha}", "n/Abc", {"s": "Abc"}),
        ("n/{s:length(2,3)}", "n/abc", {"s": "abc"}),
        ("n/{v:range(1,5)}", "n/5", {"v": "5"}),
        ("n/{s:regex(^a+$)}", "n/aaa", {"s": "aaa"}),
        ("n/{s:madeup}", "n/anything", {"s": "anything"}),  # unknown constraint: plain segment
        ("n/{s:bool}", "n/True", {"s": "True"}),
        ("opt/{a?}", "opt", {}),
        ("opt/{a?}", "opt/x", {"a": "x"}),
        ("opt/{a:int?}", "opt/5", {"a": "5"}),
        ("def/{a=zz}", "def", {"a": "zz"}),
        ("files/{*rest}", "files/a/b%20c/d", {"rest": "a/b c/d"}),
        ("files/{*rest}", "files", {}),
        ("files/{name}.{ext}", "files/report.pdf", {"name": "report", "ext": "pdf"}),
        ("outlook/calendars/{id}/events", "outlook/calendars/x1/events", {"id": "x1"}),
    ],
)
def test_matches(template, path, expected):
    assert match(template, path) == expected


@pytest.mark.parametrize(
    "template,path",
    [
        ("items", "items/1"),
        ("items/{id}", "items"),
        ("items/{id}", "items/1/2"),
        ("items/{id:int}", "items/abc"),
        ("items/{id:int}", "items/99999999999"),  # outside Int32
        ("items/{id:guid}", "items/not-a-guid"),
        ("n/{s:alpha}", "n/ab1"),
        ("n/{s:length(2,3)}", "n/abcd"),
        ("n/{v:min(3)}", "n/2"),
        ("opt/{a:int?}", "opt/x"),
        ("a/{x}/b", "a//b"),
    ],
)
def test_no_match(template, path):
    assert match(template, path) is None


@pytest.mark.parametrize("template", ["a/{*rest}/b", "a/{x}/{X}", "a/{x", "a/x{y?}"])
def test_invalid_templates(template):
    with pytest.raises(RouteError):
        RouteTemplate(template)


def test_router_prefix_methods_and_precedence():
    r = Router("api")
    r.add("items/{id}", ["GET"], "by_id")
    r.add("items/new", None, "new")
    r.add("items/{id:int}", ["GET"], "by_int")
    r.add("{*any}", ["POST"], "fallback")
    assert r.match("GET", "/api/items/new") == ("new", {})
    assert r.match("GET", "/api/items/5") == ("by_int", {"id": "5"})
    assert r.match("GET", "/api/items/x") == ("by_id", {"id": "x"})
    assert r.match("get", "/API/items/x?q=1") == ("by_id", {"id": "x"})
    # a route whose method is not allowed does not match (-> 404, as in Core Tools)
    assert r.match("DELETE", "/api/items/x") is None
    assert r.match("POST", "/api/items/x") == ("fallback", {"any": "items/x"})
    assert r.match("GET", "/items/x") is None  # outside the prefix


def test_empty_prefix():
    r = Router("")
    r.add("hello/{n}", None, "h")
    assert r.match("GET", "/hello/w") == ("h", {"n": "w"})
    assert r.match("GET", "/api/hello/w") is None
