"""HTTP trigger route templates, matched the way ASP.NET Core routing (and so Functions) does.

Supported: literal segments (case-insensitive), ``{name}``, optional ``{name?}``, defaults
``{name=value}``, constraints ``{id:int}``, ``{id:guid}``, ``{s:alpha}``, ``{s:length(2,5)}``,
``{s:regex(...)}``, ... (an unknown constraint accepts any value), complex segments such as
``{file}.{ext}``, and a trailing catch-all ``{*rest}`` / ``{**rest}``. One template segment
matches one percent-decoded path segment.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class RouteError(ValueError):
    pass


def _int_in(text, lo, hi):
    if not re.fullmatch(r"[+-]?\d+", text):
        return False
    return lo <= int(text) <= hi


def _float(text):
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")


def _datetime(text):
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


def _guid(text):
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


def _nums(args):
    return [int(a.strip()) for a in args.split(",")]


def _check(name: str, args: str | None, value: str) -> bool:
    """True when ``value`` satisfies constraint ``name(args)``; unknown constraints pass."""
    n = name.lower()
    if n == "int":
        return _int_in(value, *_INT32)
    if n == "long":
        return _int_in(value, *_INT64)
    if n in ("decimal", "double", "float"):
        return _float(value)
    if n == "bool":
        return value.lower() in ("true", "false")
    if n == "guid":
        return _guid(value)
    if n == "datetime":
        return _datetime(value)
    if n == "alpha":
        return re.fullmatch(r"[a-zA-Z]+", value) is not None
    if n == "required":
        return value != ""
    if n == "regex" and args is not None:
        return re.search(args, value, re.IGNORECASE) is not None
    if n in ("minlength", "maxlength", "length", "min", "max", "range") and args:
        nums = _nums(args)
        if n == "minlength":
            return len(value) >= nums[0]
        if n == "maxlength":
            return len(value) <= nums[0]
        if n == "length":
            return len(value) == nums[0] if len(nums) == 1 else nums[0] <= len(value) <= nums[1]
        if not _int_in(value, *_INT64):
            return False
        v = int(value)
        if n == "min":
            return v >= nums[0]
        if n == "max":
            return v <= nums[0]
        return nums[0] <= v <= nums[1]
    return True


def _split_constraints(text: str) -> list[str]:
    """Split ``name:c1:c2(a:b)`` on ':' outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


@dataclass
class Param:
    name: str
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    constraints: list = field(default_factory=list)  # [(name, args-or-None)]

    @classmethod
    def parse(cls, inner: str) -> Param:
        catch_all = inner.startswith("*")
        inner = inner.lstrip("*")
        default = None
        optional = False
        if "=" in inner:
            inner, default = inner.split("=", 1)
        if inner.endswith("?"):
            optional, inner = True, inner[:-1]
        name, *cons = _split_constraints(inner)
        if not name or not re.fullmatch(r"[A-Za-z_][\w]*", name):
            raise RouteError(f"bad route parameter name {name!r}")
        constraints = []
        for c in cons:
            m = re.fullmatch(r"(\w+)(?:\((.*)\))?", c, re.S)
            if not m:
                raise RouteError(f"bad route constraint {c!r}")
            constraints.append((m.group(1), m.group(2)))
        return cls(name, optional, default, catch_all, constraints)

    def accepts(self, value: str) -> bool:
        return all(_check(n, a, value) for n, a in self.constraints)


@dataclass
class Segment:
    parts: list  # str literals and Param objects
    regex: re.Pattern

    @property
    def param(self):
        """The Param when the segment is exactly one parameter, else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Param):
            return self.parts[0]
        return None

    def precedence(self) -> int:
        """Lower sorts first: literal, complex, constrained, plain, optional, catch-all."""
        p = self.param
        if p is None:
            return 0 if all(isinstance(x, str) for x in self.parts) else 1
        if p.catch_all:
            return 5
        if p.optional or p.default is not None:
            return 4
        return 2 if p.constraints else 3


def _parse_segment(text: str) -> Segment:
    parts, pattern, pos = [], "", 0
    for m in re.finditer(r"\{([^{}]*)\}", text):
        literal = text[pos : m.start()]
        if literal:
            parts.append(literal)
            pattern += re.escape(literal)
        param = Param.parse(m.group(1))
        parts.append(param)
        pattern += f"(?P<{param.name}>.+?)"
        pos = m.end()
    literal = text[pos:]
    if "{" in literal or "}" in literal:
        raise RouteError(f"unbalanced braces in route segment {text!r}")
    if literal:
        parts.append(literal)
        pattern += re.escape(literal)
    return Segment(parts, re.compile(pattern, re.IGNORECASE | re.S))


class RouteTemplate:
    def __init__(self, template: str):
        self.template = template
        text = template.strip("/")
        self.segments = [_parse_segment(s) for s in text.split("/")] if text else []
        names = [p.name.lower() for s in self.segments for p in s.parts if isinstance(p, Param)]
        if len(names) != len(set(names)):
            raise RouteError(f"route {template!r} repeats a parameter name")
        for i, seg in enumerate(self.segments):
            for p in seg.parts:
                if isinstance(p, Param) and (p.catch_all or p.optional) and seg.param is None:
                    raise RouteError(f"route {template!r}: optional/catch-all must be a whole segment")
                if isinstance(p, Param) and p.catch_all and i != len(self.segments) - 1:
                    raise RouteError(f"route {template!r}: catch-all must be the last segment")

    def precedence(self):
        return tuple(s.precedence() for s in self.segments) + (9,)

    def match(self, raw_segments: list[str]) -> dict | None:
        """Match raw (still percent-encoded) path segments; returns route params or None."""
        values: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            p = seg.param
            if p is not None and p.catch_all:
                rest = "/".join(unquote(s) for s in raw_segments[i:])
                if rest or p.default is not None:
                    value = rest or p.default
                    if not p.accepts(value):
                        return None
                    values[p.name] = value
                return values
            if i >= len(raw_segments):
                if p is not None and (p.optional or p.default is not None):
                    if p.default is not None:
                        values[p.name] = p.default
                    continue
                return None
            text = unquote(raw_segments[i])
            m = seg.regex.fullmatch(text)
            if not m or text == "":
                return None
            for part in seg.parts:
                if isinstance(part, Param):
                    if not part.accepts(m.group(part.name)):
                        return None
                    values[part.name] = m.group(part.name)
        if len(raw_segments) > len(self.segments):
            return None
        return values


def split_path(raw_path: str) -> list[str]:
    """'/api/a//b/' -> ['api', 'a', '', 'b'] (a trailing slash is ignored)."""
    path = raw_path.split("?", 1)[0].lstrip("/")
    if path.endswith("/"):
        path = path[:-1]
    return path.split("/") if path else []


class Router:
    """Routes ordered by precedence; first template that matches and allows the method wins."""

    def __init__(self, prefix: str = "api"):
        self.prefix = [s.lower() for s in split_path(prefix)]
        self._routes: list[tuple[RouteTemplate, frozenset | None, object]] = []

    def add(self, template: str, methods, target) -> RouteTemplate:
        rt = RouteTemplate(template)
        allowed = frozenset(m.upper() for m in methods) if methods else None
        self._routes.append((rt, allowed, target))
        self._routes.sort(key=lambda r: r[0].precedence())
        return rt

    def match(self, method: str, raw_path: str):
        """-> (target, route_params) or None; a method mismatch counts as no match (404)."""
        segments = split_path(raw_path)
        n = len(self.prefix)
        if [unquote(s).lower() for s in segments[:n]] != self.prefix:
            return None
        segments = segments[n:]
        for rt, allowed, target in self._routes:
            if allowed is not None and method.upper() not in allowed:
                continue
            params = rt.match(segments)
            if params is not None:
                return target, params
        return None
