"""The time zone rules every time computation of the service uses, and what Graph may refuse.

Rules: the shipped `tzdata` package (pinned in requirements.txt), never the host's zone database.
Python's `zoneinfo` reads the system database first, and a host's is often older than the laws in
force: with tzdata 2025b, Vancouver in January 2027 is UTC-8, an hour wrong, since British Columbia
stays at UTC-7 from November 2026 (tzdata 2026b; Alberta and the Northwest Territories UTC-6,
Manitoba UTC-5, Morocco UTC+0: 2026c-e). The `shared` package, when first imported, sets
PYTHONTZPATH empty, or runs `use_shipped_rules` if `zoneinfo` was loaded before (shared/__init__.py):
so before any ZoneInfo is built (ZoneInfo caches by key) in every process that loads function_app.py,
and in the tests.

Graph: Windows added ids for the 2026 laws ("British Columbia Standard Time", "Alberta Standard
Time", "Manitoba Standard Time": Windows update KB5124010, September 2026; CLDR windowsZones through
tzlocal 5.4.5, shared/windows_zones.py). An Exchange that has not taken the update refuses them like
any unknown name: 400 `TimeZoneNotSupportedException` (resources/datetimetimezone.md; the answer's
shape: microsoftgraph/microsoft-graph-docs issue #4758). The service then sends the same instants
in UTC, which every Exchange takes.
"""

from __future__ import annotations

import zoneinfo

import tzdata

from shared.errors import GraphError

ZONE_REFUSED = "TimeZoneNotSupportedException"


def use_shipped_rules() -> None:
    """Zone rules from the `tzdata` package only; forget any zone built before."""
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()


def rules_version() -> str:
    """The IANA release of the rules in use ("2026f"), for health; "host" if something put the
    system database back on zoneinfo's path."""
    return tzdata.IANA_VERSION if not zoneinfo.TZPATH else "host"


def zone_refused(exc: GraphError) -> bool:
    """Graph refused a time zone name we sent (an Exchange without the latest Windows zone ids)."""
    return type(exc) is GraphError and exc.status == 400 and exc.graph_code == ZONE_REFUSED
