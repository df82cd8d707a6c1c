"""`make local.settings.json`: the sample's settings with a random HS256 secret of its own.

The sample's HERP_JWT_SECRET is public, so the app refuses it (CONTRACT 2); the API and the
sandbox console both read the new file, so they share the random secret.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_local_settings(root: Path = ROOT) -> Path:
    """Create root/local.settings.json from the sample (never overwrites an existing one)."""
    target = root / "local.settings.json"
    if target.exists():
        return target
    settings = json.loads((root / "local.settings.sample.json").read_text(encoding="utf-8"))
    settings["Values"]["HERP_JWT_SECRET"] = secrets.token_urlsafe(48)
    target.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write_local_settings().relative_to(ROOT)} (with a random HERP_JWT_SECRET)")
    sys.exit(0)
