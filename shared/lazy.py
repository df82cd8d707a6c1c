"""Modules imported on first use. The function modules name their use cases through this, so
indexing `function_app` loads the triggers only and each use case loads at its first call.
The type checker sees the real module instead (tests/unit/test_typed_use_cases.py keeps it so):

    if TYPE_CHECKING:
        from shared.usecases.interviews import events
    else:
        events = lazy("shared.usecases.interviews.events")
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name` and imports it on the first attribute access."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


def lazy(name: str) -> Any:
    return LazyModule(name)
