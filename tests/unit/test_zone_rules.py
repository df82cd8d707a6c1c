"""The zone rules in use are the shipped `tzdata` package's, at least as new as requirements.txt pins,
in the tests and in every process that loads the app or the emulator; never the host's database
(this machine's is 2025b: Vancouver at UTC-8 in January 2027, an hour wrong)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.time_zones import rules_version

ROOT = Path(__file__).resolve().parents[2]
WINTER_2027 = datetime(2027, 1, 15, 10)


def pinned() -> str:
    [line] = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("tzdata==")]
    return line.split("==")[1].strip()


def iana_release(package_version: str) -> str:
    """tzdata's package version names the IANA release: 2026.6 is 2026f (its sixth of the year)."""
    year, number = package_version.split(".")[:2]
    return f"{year}{chr(ord('a') + int(number) - 1)}"


def test_the_rules_in_use_are_the_pinned_release_or_newer():
    assert iana_release("2026.6") == "2026f" and iana_release("2025.2") == "2025b"
    assert importlib.metadata.version("tzdata") == pinned()
    release = rules_version()
    assert (int(release[:4]), release[4:]) >= (int(iana_release(pinned())[:4]), iana_release(pinned())[4:])
    assert zoneinfo.TZPATH == ()  # no system database on the path


def test_the_zoneinfo_in_use_knows_the_2026_laws():
    offsets = {
        name: WINTER_2027.replace(tzinfo=zoneinfo.ZoneInfo(name)).utcoffset()
        for name in ("America/Vancouver", "America/Edmonton", "America/Winnipeg", "Africa/Casablanca")
    }
    assert offsets == {
        "America/Vancouver": timedelta(hours=-7),
        "America/Edmonton": timedelta(hours=-6),
        "America/Winnipeg": timedelta(hours=-5),
        "Africa/Casablanca": timedelta(0),
    }


@pytest.mark.parametrize("module", ["function_app", "devtools.emulator"])
@pytest.mark.parametrize("zone_first", [False, True], ids=["zoneinfo-after", "zoneinfo-before"])
def test_a_process_that_loads_the_app_or_the_emulator_uses_the_shipped_rules(module, zone_first):
    # A fresh interpreter, without the PYTHONTZPATH this one has (shared/__init__.py sets it):
    # nothing but the import itself may switch the rules, whether zoneinfo was loaded before or not.
    vancouver = "zoneinfo.ZoneInfo('America/Vancouver')"
    code = (
        ("import zoneinfo, datetime; datetime.datetime.now(" + vancouver + "); " if zone_first else "")
        + f"import {module}, datetime, zoneinfo; "
        f"print(zoneinfo.TZPATH, datetime.datetime(2027, 1, 15, 10, tzinfo={vancouver}).utcoffset().total_seconds())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONTZPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["()", "-25200.0"], out.stderr


def test_indexing_the_app_does_not_load_zoneinfo():
    code = "import sys, function_app; print('zoneinfo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False"], out.stderr
