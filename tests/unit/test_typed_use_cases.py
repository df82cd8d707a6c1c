"""Every use case a function module loads lazily is seen by mypy as the module itself (the
`if TYPE_CHECKING:` import beside `lazy()`), so each call from a trigger into a use case is
type-checked."""

import ast
from pathlib import Path

from devtools.stack import ROOT


def lazy_and_typed(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """name -> module, for the `name = lazy("module")` and the TYPE_CHECKING imports of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy, typed = {}, {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "lazy"
        ):
            lazy[node.targets[0].id] = node.value.args[0].value  # type: ignore[attr-defined]
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    typed.update({a.asname or a.name: f"{stmt.module}.{a.name}" for a in stmt.names})
    return lazy, typed


def test_each_lazy_use_case_has_its_typed_twin():
    checked = 0
    for path in sorted((ROOT / "functions").glob("*.py")):
        lazy, typed = lazy_and_typed(path)
        assert lazy == typed, path.name
        checked += len(lazy)
    assert checked >= 10
