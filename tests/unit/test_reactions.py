"""shared.reactions / shared.wiring: every reaction has its handler, wired at the first call only."""

import subprocess
import sys

import pytest

from devtools.stack import ROOT
from shared import reactions


def test_every_reaction_is_wired_to_a_use_case():
    import shared.wiring  # noqa: F401 - what the first reaction called imports

    declared = [r for r in vars(reactions).values() if isinstance(r, reactions.Reaction)]
    assert len(declared) == 11
    for r in declared:
        assert r._handler is not None, r.name
        assert r._handler.__module__.startswith("shared.usecases."), r.name


def test_indexing_loads_no_use_case_and_no_wiring():
    code = (
        "import sys, function_app; from shared import reactions; "
        "print(sorted(m for m in sys.modules if m.startswith(('shared.usecases', 'shared.wiring'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_reaction_without_handler_says_so():
    @reactions.reaction
    def unheard(company_id: str) -> None:
        """No use case answers this one."""

    with pytest.raises(reactions.NotWired, match="unheard"):
        unheard("co")
