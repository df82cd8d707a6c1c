"""Parse every infra/**/*.bicep with pycep and azure.yaml with PyYAML; print JSON.

Runs under .venv-tools/bin/python (pycep-parser and PyYAML come with checkov there):
    .venv-tools/bin/python tests/infra/parse_bicep.py <repo root>
Output: {"bicep": {"infra/main.bicep": {"tree": {...}} | {"error": "..."}, ...}, "azure_yaml": {...}}
"""

import json
import sys
from pathlib import Path

import yaml
from pycep import BicepParser


def main(root: Path) -> int:
    parser = BicepParser()
    result = {"bicep": {}, "azure_yaml": None}
    for path in sorted((root / "infra").rglob("*.bicep")):
        key = path.relative_to(root).as_posix()
        try:
            result["bicep"][key] = {"tree": parser.parse(file_path=path)}
        except Exception as exc:  # pycep raises lark errors of several kinds
            result["bicep"][key] = {"error": f"{type(exc).__name__}: {exc}"}
    azure_yaml = root / "azure.yaml"
    if azure_yaml.exists():
        result["azure_yaml"] = yaml.safe_load(azure_yaml.read_text())
    json.dump(result, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
