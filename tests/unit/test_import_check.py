"""devtools/import_check.py (in `make lint`): the import rules of docs/architecture.md "Layers"."""

from pathlib import Path

from devtools import import_check

LAYERS = [
    ("base", ("shared.models",)),
    ("mailbox", ("shared.mailbox",)),
    ("use cases", ("shared.usecases",)),
]
UNITS = ("shared.usecases",)


def tree(root: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_check.graph_of(root)


def test_a_clean_tree_passes(tmp_path):
    graph = tree(
        tmp_path,
        {
            "shared/__init__.py": "",
            "shared/models.py": "import json\n",
            "shared/mailbox/__init__.py": "",
            "shared/mailbox/credentials.py": "from shared.models import X\n",
            "shared/usecases/__init__.py": "",
            "shared/usecases/events/__init__.py": "",
            "shared/usecases/events/events.py": "from shared.mailbox import credentials\nimport shared.models\n",
            "shared/usecases/events/fallback.py": "from . import events\nfrom .events import create\n",
        },
    )
    assert graph["shared.usecases.events.fallback"] == {"shared.usecases.events.events"}
    assert graph["shared.usecases.events.events"] == {"shared.mailbox.credentials", "shared.models"}
    assert import_check.problems(graph, LAYERS, UNITS) == []


def test_a_cycle_is_caught_also_through_an_import_inside_a_function(tmp_path):
    graph = tree(
        tmp_path,
        {
            "shared/mailbox/credentials.py": "from shared.mailbox import health\n",
            "shared/mailbox/health.py": "def died():\n    from shared.mailbox.links import link_json\n",
            "shared/mailbox/links.py": "from shared.mailbox import credentials\n",
        },
    )
    assert import_check.problems(graph, LAYERS, UNITS) == [
        "import cycle: shared.mailbox.credentials <-> shared.mailbox.health <-> shared.mailbox.links"
    ]


def test_an_upward_import_is_caught(tmp_path):
    graph = tree(
        tmp_path,
        {
            "shared/models.py": "",
            "shared/mailbox/credentials.py": (
                "def refused():\n    from shared.usecases.linking import health\n    health.died()\n"
            ),
            "shared/usecases/linking/health.py": "from shared.models import X\n",
        },
    )
    assert import_check.problems(graph, LAYERS, UNITS) == [
        "shared.mailbox.credentials (mailbox) imports shared.usecases.linking.health, a higher layer (use cases)"
    ]


def test_a_use_case_importing_another_is_caught(tmp_path):
    graph = tree(
        tmp_path,
        {
            "shared/usecases/events/events.py": "from shared.usecases.outlook import subscriptions\n",
            "shared/usecases/outlook/subscriptions.py": "",
        },
    )
    assert import_check.problems(graph, LAYERS, UNITS) == [
        "shared.usecases.events.events imports shared.usecases.outlook.subscriptions: "
        "a use case never imports another (shared.usecases.outlook)"
    ]


def test_a_module_in_no_layer_is_caught(tmp_path):
    graph = tree(tmp_path, {"shared/helpers.py": ""})
    assert import_check.problems(graph, LAYERS, UNITS) == [
        "shared.helpers is in no layer (add it to LAYERS in devtools/import_check.py)"
    ]


def test_a_type_only_import_breaks_no_cycle_but_still_counts_for_the_layers(tmp_path):
    files = {
        "shared/models.py": "",
        "shared/mailbox/credentials.py": "from shared.mailbox import reactions\n",
        "shared/mailbox/reactions.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from shared.mailbox.credentials import Mailbox\n    from shared.usecases.events import events\n"
        ),
        "shared/usecases/events/events.py": "",
    }
    graph = tree(tmp_path, files)
    runtime = import_check.graph_of(tmp_path, type_only=False)
    assert runtime["shared.mailbox.reactions"] == set()
    assert import_check.problems(graph, LAYERS, UNITS, runtime=runtime) == [
        "shared.mailbox.reactions (mailbox) imports shared.usecases.events.events, a higher layer (use cases)"
    ]
    assert import_check.problems(graph, LAYERS, UNITS)[0].startswith("import cycle: shared.mailbox.credentials")


def test_the_app_keeps_the_rules():
    assert import_check.problems(import_check.graph_of(), runtime=import_check.graph_of(type_only=False)) == []
