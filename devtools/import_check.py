"""Keeps the app's imports one way (docs/architecture.md "Layers"); part of `make lint`.

    .venv/bin/python -m devtools.import_check

Reads every import of `shared/`, `functions/` and `function_app.py` with `ast` (imports inside
functions included) and fails, listing each offence, when
- modules import each other in a circle (imports under `if TYPE_CHECKING:` left out: they never
  run, and a typed signature may name a type of a module that calls it);
- a module imports one of a higher layer (LAYERS, lowest first), for types only or not;
- a use case imports another use case (a sibling package of `shared.usecases`): a reaction that
  belongs to another use case goes through `shared.reactions`, wired in `shared.wiring`;
- a module is in no layer (a new folder must be placed in LAYERS first).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first: a module may import its own layer and the ones below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "shared.errors",
            "shared.settings",
            "shared.models",
            "shared.lazy",
            "shared.ncrontab",
            "shared.windows_zones",
            "shared.outbound",
            "shared.crypto",
            "shared.time_zones",
            "shared.client_state",
            "shared.telemetry",
            "shared.correlation",
        ),
    ),
    ("domain", ("shared.domain",)),
    ("adapters", ("shared.storage", "shared.graph", "shared.identity", "shared.auth")),
    ("mailbox and feed", ("shared.mailbox", "shared.feed", "shared.reactions")),
    ("use cases", ("shared.usecases",)),
    ("wiring", ("shared.wiring",)),
    ("triggers", ("shared.triggers", "shared.http", "functions", "function_app")),
]
# Top packages whose own __init__ is of the base layer (shared/__init__ selects the zone rules);
# their modules still need a layer of their own.
ROOT_PACKAGES = ("shared",)
# Packages whose subpackages (or modules) are independent units: no unit imports a sibling.
UNITS = ("shared.usecases",)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_only(tree: ast.AST) -> set[int]:
    """ids of the import statements under `if TYPE_CHECKING:`."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return ids


def imports_of(tree: ast.AST, module: str, is_package: bool, known: set[str], *, type_only: bool = True) -> set[str]:
    """The app modules `tree` imports, wherever the import statement sits (with `type_only`
    False, not those under `if TYPE_CHECKING:`)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    skip = set() if type_only else _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` names the module pkg.mod when there is one, else pkg itself.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known and "." in name:  # `import shared.storage.queues` -> that module
                name = name.rpartition(".")[0]
            if name in known and name != module:
                found.add(name)
    return found


def graph_of(root: Path = ROOT, *, type_only: bool = True) -> dict[str, set[str]]:
    """Module -> the app modules it imports, for shared/, functions/ and function_app.py (with
    `type_only` False, leaving out the imports under `if TYPE_CHECKING:`)."""
    files = [*sorted((root / "shared").rglob("*.py")), *sorted((root / "functions").rglob("*.py"))]
    if (root / "function_app.py").exists():
        files.append(root / "function_app.py")
    # An empty package __init__ imports nothing and is in no layer of its own.
    names = {module_name(f, root): f for f in files if f.name != "__init__.py" or f.stat().st_size}
    known = set(names)
    return {
        name: imports_of(
            ast.parse(f.read_text(encoding="utf-8"), str(f)), name, f.name == "__init__.py", known, type_only=type_only
        )
        for name, f in names.items()
    }


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    if module in ROOT_PACKAGES:
        return 0
    best: tuple[int, int] | None = None  # (prefix length, layer index): the longest prefix wins
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return best[1] if best else None


def unit_of(module: str, units: Iterable[str] = UNITS) -> str | None:
    for package in units:
        if module.startswith(package + "."):
            return package + "." + module[len(package) + 1 :].split(".")[0]
    return None


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(
    graph: Mapping[str, set[str]],
    layers: list[tuple[str, tuple[str, ...]]] = LAYERS,
    units: Iterable[str] = UNITS,
    runtime: Mapping[str, set[str]] | None = None,
) -> list[str]:
    """What breaks the rules in `graph` (every import); cycles are looked for in `runtime` (the
    imports that run), `graph` itself when not given."""
    out = [f"import cycle: {' <-> '.join(c)}" for c in cycles(graph if runtime is None else runtime)]
    for module in sorted(graph):
        mine = layer_of(module, layers)
        if mine is None:
            out.append(f"{module} is in no layer (add it to LAYERS in devtools/import_check.py)")
            continue
        for target in sorted(graph[module]):
            theirs = layer_of(target, layers)
            if theirs is not None and theirs > mine:
                out.append(f"{module} ({layers[mine][0]}) imports {target}, a higher layer ({layers[theirs][0]})")
            own_unit, their_unit = unit_of(module, units), unit_of(target, units)
            if own_unit and their_unit and own_unit != their_unit:
                out.append(f"{module} imports {target}: a use case never imports another ({their_unit})")
    return out


def main() -> int:
    found = problems(graph_of(), runtime=graph_of(type_only=False))
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print(f"{len(found)} import rule(s) broken (docs/architecture.md, Layers)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
